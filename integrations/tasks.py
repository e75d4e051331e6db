"""Tasks of the integrations app. Each is a thin wrapper around a service."""

from __future__ import annotations

from celery import signals

from integrations.extraction import UnprocessableTextError, pipeline
from integrations.services import extraction_job_fail, extraction_job_run
from kglab.celery import QUEUE_EXTRACTION, PermanentTaskError, ReliableTask, app


class ExtractionTask(ReliableTask):
    """Marks the job `dead` with its error when the message is given up."""

    def on_dead(self, exc: BaseException, task_id: str, args, kwargs) -> None:
        job_id = kwargs["job_id"] if "job_id" in kwargs else args[0]
        extraction_job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}", dead=True)


@app.task(base=ExtractionTask, name="integrations.tasks.extract_entities", queue=QUEUE_EXTRACTION)
def extract_entities(job_id: int) -> None:
    """Extracts one job's document into its owner's graph. Safe to deliver twice: a job that
    already succeeded is left alone. Text the pipeline cannot analyse is a permanent error
    (no retry); database and broker outages are retried with backoff."""
    try:
        extraction_job_run(job_id=job_id)
    except UnprocessableTextError as exc:
        raise PermanentTaskError(str(exc)) from exc


@signals.worker_init.connect
def _pipeline_preload(sender=None, **kwargs) -> None:
    """A worker that consumes the extraction queue loads the spaCy pipeline before it forks
    its pool: the children share it and the first job pays no load time."""
    if QUEUE_EXTRACTION in sender.app.amqp.queues.consume_from:
        pipeline()
