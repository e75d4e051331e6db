"""The Celery app and the reliability rules every task follows.

Configuration lives in Django settings under the CELERY_ namespace; the queue topology (which
needs kombu objects) is declared here. Three durable work queues (`extraction`, `events`,
`default`) dead-letter into the fanout exchange `kglab.dead_letters`, bound to the durable
queue `dead_letters`: a message a worker rejects without requeueing lands there, carrying its
original headers and body, and nothing is lost silently.

`ReliableTask` is the base of every task: late acks, requeue when the worker dies, automatic
retries of transient errors with exponential backoff and jitter, and, when a task is given up,
a `DeadLetter` row plus a reject that makes RabbitMQ dead-letter the message."""

from __future__ import annotations

import os
import random
import time

import amqp.exceptions
import celery
import kombu.exceptions
import redis.exceptions
import structlog
from celery import Celery, bootsteps, signals
from django.db import InterfaceError, OperationalError
from kombu import Exchange, Queue

from kglab.logging import setup_celery_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kglab.settings.local")

logger = structlog.get_logger(__name__)

QUEUE_EXTRACTION = "extraction"
QUEUE_EVENTS = "events"
QUEUE_DEFAULT = "default"
WORK_QUEUES = (QUEUE_EXTRACTION, QUEUE_EVENTS, QUEUE_DEFAULT)
DEAD_LETTER_EXCHANGE = "kglab.dead_letters"
DEAD_LETTER_QUEUE = "dead_letters"
# Cache key the workers refresh while alive; the health check reads it.
WORKER_HEARTBEAT_KEY = "celery:worker-heartbeat"

dead_letter_exchange = Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
dead_letter_queue = Queue(DEAD_LETTER_QUEUE, exchange=dead_letter_exchange, routing_key="", durable=True)


def _work_queue(name: str) -> Queue:
    return Queue(
        name,
        Exchange(name, type="direct", durable=True),
        routing_key=name,
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE},
    )


app = Celery("kglab", task_cls="kglab.celery:ReliableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(_work_queue(name) for name in WORK_QUEUES)
app.conf.task_default_queue = QUEUE_DEFAULT
app.conf.task_default_exchange = QUEUE_DEFAULT
app.conf.task_default_routing_key = QUEUE_DEFAULT
app.autodiscover_tasks()


class PermanentTaskError(Exception):
    """Raised by a task for input it can never process: no retry, the message is
    dead-lettered at once."""


# Errors that may go away by themselves: a database, broker or cache that is briefly
# unreachable, a network timeout. Anything else is treated as permanent.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    amqp.exceptions.ConnectionError,
    amqp.exceptions.RecoverableConnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def retry_backoff_delay(*, retries: int, base: float, maximum: float) -> float:
    """Seconds to wait before retry number `retries + 1`: exponential with "equal jitter".

    The delay is uniform in [b/2, b] with b = base * 2**retries (capped at `maximum`), so
    workers retrying together spread out, yet every delay is at least as long as the
    previous one could have been."""
    ceiling = min(maximum, base * (2**retries))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not secrecy


class ReliableTask(celery.Task):
    """Base class of every task.

    - `acks_late` + `reject_on_worker_lost`: a worker killed mid-task leaves the message
      unacknowledged, so RabbitMQ redelivers it; tasks must therefore be idempotent.
    - `autoretry_for = TRANSIENT_ERRORS`: retried with `retry_backoff_delay` up to
      `max_retries` times (settings.CELERY_TASK_MAX_RETRIES unless the task sets its own).
    - Given up (a `PermanentTaskError`, any other exception, a time limit or exhausted
      retries): `on_dead` runs once, a `DeadLetter` row records the failure and the worker
      rejects the message without requeue, so RabbitMQ moves it to `dead_letters`.
    """

    acks_late = True
    reject_on_worker_lost = True
    # A failed or timed-out task is rejected (-> dead-letter exchange), never acked away.
    acks_on_failure = False
    acks_on_timeout = False
    autoretry_for = TRANSIENT_ERRORS
    dont_autoretry_for = (PermanentTaskError,)
    # Celery's own backoff uses full jitter (a later delay may be shorter); `retry` below
    # computes ours when no explicit countdown is given.
    retry_backoff = False
    retry_jitter = False
    retry_delay_base: float | None = None
    retry_delay_max: float | None = None

    @property
    def max_retries(self) -> int:
        return app.conf.task_max_retries

    def _backoff_setting(self, own: float | None, name: str) -> float:
        return float(own if own is not None else app.conf[name])

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, **options):
        if eta is None and countdown is None:
            countdown = retry_backoff_delay(
                retries=self.request.retries,
                base=self._backoff_setting(self.retry_delay_base, "task_retry_backoff_base"),
                maximum=self._backoff_setting(self.retry_delay_max, "task_retry_backoff_max"),
            )
        logger.info(
            "task_retry",
            attempt=self.request.retries + 1,
            countdown_s=round(countdown, 3) if countdown is not None else None,
            error=repr(exc),
        )
        return super().retry(
            args=args, kwargs=kwargs, exc=exc, throw=throw, eta=eta, countdown=countdown, **options
        )

    def on_dead(self, exc: BaseException, task_id: str, args, kwargs) -> None:
        """Hook called once when the message is given up (permanent error or retries
        exhausted), before it is dead-lettered. Subclasses/tasks mark their job row dead here."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from integrations.services_dead_letters import dead_letter_record

        delivery = self.request.delivery_info or {}
        logger.error("task_dead", attempts=self.request.retries + 1, error=repr(exc))
        try:
            self.on_dead(exc, task_id, args, kwargs)
        finally:
            # If the database is what failed, the row cannot be written now; the drain of
            # the dead-letter queue creates it from the message itself.
            try:
                dead_letter_record(
                    task_id=task_id,
                    task_name=self.name,
                    args=list(args or ()),
                    kwargs=dict(kwargs or {}),
                    error=f"{type(exc).__name__}: {exc}",
                    traceback=str(einfo.traceback) if einfo is not None else "",
                    attempts=self.request.retries + 1,
                    queue=delivery.get("routing_key") or "",
                )
            except Exception as record_exc:
                logger.warning("dead_letter_record_failed", error=repr(record_exc))


def dead_letter_topology_declare(connection) -> None:
    """Declares the dead-letter exchange and queue. Must exist before any work queue rejects
    a message, otherwise RabbitMQ drops it; workers declare it when they start."""
    with connection.channel() as channel:
        dead_letter_queue.bind(channel).declare()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Refreshes a cache key every few seconds while the worker runs; the health check
    reports the workers down when the key is stale."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        self.beat()
        self.tref = worker.timer.call_repeatedly(app.conf.worker_heartbeat_interval, self.beat)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def beat(self):
        from django.core.cache import cache

        try:
            cache.set(WORKER_HEARTBEAT_KEY, time.time(), timeout=None)
        except redis.exceptions.RedisError as exc:
            logger.warning("worker_heartbeat_failed", error=repr(exc))


app.steps["worker"].add(WorkerHeartbeat)
# Worker and beat log through Django's LOGGING, with task_id/task_name bound per task.
signals.setup_logging.connect(setup_celery_logging)


@signals.worker_ready.connect
def _declare_dead_letters(sender=None, **kwargs):
    with app.connection_for_write() as connection:
        dead_letter_topology_declare(connection)
