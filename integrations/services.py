"""Writes of the extraction pipeline: submitting documents, running a job into the owner's
graph, recording failures, and retrying.

A job's life: `queued` (row written, message published after commit) -> `running` (a worker
claimed it; attempts + 1) -> `succeeded`, or `failed` (the attempt raised; a retry may follow)
-> `dead` (permanent error or retries exhausted). A failed or dead job can be retried by hand."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import kombu.exceptions
import structlog
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from entities.services import BULK_MAX_ITEMS, entity_bulk_upsert
from integrations.extraction import ExtractedEntity, Extraction, extract
from integrations.models import ExtractionJob, ExtractionJobStatus
from integrations.selectors import entity_resolve_for_extraction, relationship_seen_for_extraction
from kglab.api.exceptions import Conflict, ServiceUnavailable
from relationships.services import relationship_bulk_upsert

logger = structlog.get_logger(__name__)

VIA = "extraction"
RETRYABLE_STATUSES = (ExtractionJobStatus.FAILED, ExtractionJobStatus.DEAD)
# A delivery of a job in any other state (succeeded, dead) does nothing: redelivery is safe.
RUNNABLE_STATUSES = (ExtractionJobStatus.QUEUED, ExtractionJobStatus.RUNNING, ExtractionJobStatus.FAILED)
_ERROR_MAX_CHARS = 4000


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.created + other.created, self.updated + other.updated, self.unchanged + other.unchanged
        )


def _chunks(items: list, size: int = BULK_MAX_ITEMS) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _enqueue(job_ids: list[int]) -> None:
    """Publishes one message per job. Runs after the jobs' transaction committed. If the broker
    refuses, the jobs not published are marked failed (a retry re-enqueues them) and the
    request answers 503."""
    from integrations.tasks import extract_entities

    for position, job_id in enumerate(job_ids):
        try:
            extract_entities.apply_async(args=[job_id])
        except kombu.exceptions.OperationalError as exc:
            pending = job_ids[position:]
            ExtractionJob.objects.filter(pk__in=pending).update(
                status=ExtractionJobStatus.FAILED,
                error=f"Could not enqueue: the message broker is unavailable ({exc}).",
                updated_at=timezone.now(),
                version=F("version") + 1,
            )
            logger.warning("extraction_enqueue_failed", jobs=pending, error=repr(exc))
            raise ServiceUnavailable(
                {
                    "code": "broker_unavailable",
                    "detail": "The message broker is unavailable; the jobs are marked failed, "
                    "retry them shortly.",
                    "jobs": pending,
                }
            ) from exc


def extraction_jobs_submit(*, owner: User, documents: list[dict]) -> tuple[uuid.UUID, list[ExtractionJob]]:
    """Records one extraction job per document (`text`, optional `title` and `source`), all in
    one batch, and enqueues them once the rows are committed. Returns the batch id and the
    jobs in input order."""
    batch_id = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        jobs = ExtractionJob.objects.bulk_create(
            [
                ExtractionJob(
                    owner=owner,
                    batch_id=batch_id,
                    text=document["text"],
                    text_sha256=hashlib.sha256(document["text"].encode()).hexdigest(),
                    title=document.get("title", ""),
                    source=document.get("source", ""),
                    queued_at=now,
                )
                for document in documents
            ]
        )
        job_ids = [job.pk for job in jobs]
        transaction.on_commit(lambda: _enqueue(job_ids))
    return batch_id, jobs


def extraction_job_retry(*, job: ExtractionJob) -> ExtractionJob:
    """Puts a failed or dead job back in the queue (attempt history kept). Any other state is
    a 409: a queued or running job is already on its way, a succeeded one is done."""
    with transaction.atomic():
        locked = ExtractionJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in RETRYABLE_STATUSES:
            raise Conflict(
                {
                    "code": "job_not_retryable",
                    "detail": f"Only failed or dead jobs can be retried; this one is {locked.status}.",
                    "status": locked.status,
                }
            )
        locked.status = ExtractionJobStatus.QUEUED
        locked.queued_at = timezone.now()
        locked.error = ""
        locked.finished_at = None
        locked.version += 1
        locked.save(update_fields=["status", "queued_at", "error", "finished_at", "version", "updated_at"])
        transaction.on_commit(lambda: _enqueue([locked.pk]))
    return locked


def _job_claim(job_id: int) -> ExtractionJob | None:
    with transaction.atomic():
        job = ExtractionJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in RUNNABLE_STATUSES:
            return None
        job.status = ExtractionJobStatus.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.finished_at = None
        job.error = ""
        job.version += 1
        job.save(
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "finished_at",
                "error",
                "version",
                "updated_at",
            ]
        )
    return job


def extraction_job_run(*, job_id: int) -> ExtractionJob | None:
    """Runs one extraction job: claims it (running, attempts + 1), extracts outside any
    transaction, then writes entities, relationships and the job's outcome in one transaction.

    Idempotent: a job that is not queued, running or failed is left alone (returns None), and
    the graph writes are upserts keyed so that the same document adds nothing twice. Raises
    `UnprocessableTextError` for text that cannot be analysed; any exception leaves the job
    `failed` with its error (if the database can still be written)."""
    job = _job_claim(job_id)
    if job is None:
        return None
    try:
        extraction = extract(job.text)
        with transaction.atomic():
            locked = ExtractionJob.objects.select_for_update().get(pk=job_id)
            if locked.status != ExtractionJobStatus.RUNNING or locked.attempts != job.attempts:
                return None  # a concurrent delivery of the same job got there first
            _extraction_store(job=locked, extraction=extraction)
            return locked
    except Exception as exc:
        extraction_job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise


def extraction_job_fail(*, job_id: int, error: str, dead: bool = False) -> None:
    """Records a failed attempt (`failed`) or the end of the road (`dead`) with its error.
    A job that already succeeded keeps its state. Failures to write are logged, not raised:
    this runs while handling another error, often a database outage."""
    status = ExtractionJobStatus.DEAD if dead else ExtractionJobStatus.FAILED
    try:
        ExtractionJob.objects.filter(pk=job_id).exclude(status=ExtractionJobStatus.SUCCEEDED).update(
            status=status,
            error=error[:_ERROR_MAX_CHARS],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            version=F("version") + 1,
        )
    except Exception as exc:
        logger.warning("extraction_job_fail_unrecorded", job_id=job_id, status=status, error=repr(exc))


def _provenance(job: ExtractionJob, entity: ExtractedEntity) -> dict:
    return {
        "job": job.pk,
        "source": job.source,
        "document": job.text_sha256,
        "offsets": [[m.start, m.end] for m in entity.mentions],
    }


def _extraction_store(*, job: ExtractionJob, extraction: Extraction) -> None:
    """Resolves the extraction into the owner's graph and records the outcome on the job.
    Must run inside the job's transaction."""
    owner = job.owner
    resolved = entity_resolve_for_extraction(
        owner=owner, names=[(e.type, e.name) for e in extraction.entities], document=job.text_sha256
    )
    entity_items = []
    for entity in extraction.entities:
        existing = resolved.get((entity.type, entity.name))
        repeat = existing is not None and existing.seen_document
        entity_items.append(
            {
                "name": existing.name if existing is not None else entity.name,
                "type": entity.type,
                "aliases": [entity.name] if existing is not None else [],
                "confidence": entity.confidence,
                # The same document seen again adds no mention and no provenance record.
                "provenance": [] if repeat else [_provenance(job, entity)],
                "mention_count": 0 if repeat else len(entity.mentions),
            }
        )

    entity_counts = Counts()
    entity_rows, entity_statuses = [], []
    for chunk in _chunks(entity_items):
        result = entity_bulk_upsert(owner=owner, items=chunk, actor=None, via=VIA)
        entity_counts += Counts(result.created, result.updated, result.unchanged)
        entity_rows += result.objects
        entity_statuses += result.statuses
    row_by_key = {e.key: row for e, row in zip(extraction.entities, entity_rows, strict=True)}

    relations = [
        (rel, row_by_key[rel.source], row_by_key[rel.target])
        for rel in extraction.relationships
        if row_by_key[rel.source].pk != row_by_key[rel.target].pk
    ]
    seen_edges = relationship_seen_for_extraction(
        owner=owner, triples=[(s.pk, t.pk, rel.type) for rel, s, t in relations], document=job.text_sha256
    )
    relationship_items = []
    for rel, source, target in relations:
        repeat = (source.pk, target.pk, rel.type) in seen_edges
        relationship_items.append(
            {
                "source": source.pk,
                "target": target.pk,
                "type": rel.type,
                "confidence": rel.confidence,
                "evidence": []
                if repeat
                else [
                    {
                        "job": job.pk,
                        "source": job.source,
                        "document": job.text_sha256,
                        **evidence.as_dict(),
                    }
                    for evidence in rel.evidence
                ],
            }
        )

    relationship_counts = Counts()
    relationship_rows, relationship_statuses = [], []
    for chunk in _chunks(relationship_items):
        result = relationship_bulk_upsert(owner=owner, items=chunk, actor=None, via=VIA)
        relationship_counts += Counts(result.created, result.updated, result.unchanged)
        relationship_rows += result.objects
        relationship_statuses += result.statuses

    job.result = {
        "entities": [
            {**entity.as_dict(), "entity_id": row.pk, "stored_as": row.name, "status": status}
            for entity, row, status in zip(extraction.entities, entity_rows, entity_statuses, strict=True)
        ],
        "relationships": [
            {
                "source": source.name,
                "source_id": source.pk,
                "target": target.name,
                "target_id": target.pk,
                "type": rel.type,
                "confidence": round(rel.confidence, 6),
                "evidence": [evidence.as_dict() for evidence in rel.evidence],
                "relationship_id": row.pk,
                "status": status,
            }
            for (rel, source, target), row, status in zip(
                relations, relationship_rows, relationship_statuses, strict=True
            )
        ],
    }
    job.entities_created = entity_counts.created
    job.entities_updated = entity_counts.updated
    job.entities_unchanged = entity_counts.unchanged
    job.relationships_created = relationship_counts.created
    job.relationships_updated = relationship_counts.updated
    job.relationships_unchanged = relationship_counts.unchanged
    job.status = ExtractionJobStatus.SUCCEEDED
    job.finished_at = timezone.now()
    job.version += 1
    job.save()
