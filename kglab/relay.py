"""The outbox relay: publishes committed `Event` rows to the RabbitMQ topic exchange
`kglab.events`, in sequence order, at least once, then stamps them `relayed_at`.

Triggers: a cheap nudge task enqueued on commit of every transaction that wrote events
(`relay_nudge_on_commit`, called by `kglab.events`), plus a periodic sweep by beat that
catches anything a lost nudge left behind. One relay runs at a time (a PostgreSQL advisory
lock), so concurrent relays never publish out of order."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu import Exchange

from kglab.celery import app
from kglab.models import Event

logger = structlog.get_logger(__name__)

EVENTS_EXCHANGE = "kglab.events"
events_exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)
# Transaction-level advisory lock held by the running relay ("kgev" in ASCII).
_RELAY_LOCK_KEY = 0x6B676576


def event_message(event: Event) -> dict:
    """The documented JSON body of an event message (docs/events.md)."""
    return {
        "sequence": event.sequence,
        "type": event.type,
        "owner_id": event.owner_id,
        "aggregate": {"type": event.aggregate_type, "id": event.aggregate_id},
        "payload": event.payload,
        "occurred_at": event.created_at.isoformat(),
    }


def _publish(producer, event: Event) -> None:
    producer.publish(
        event_message(event),
        exchange=events_exchange,
        routing_key=event.type,
        serializer="json",
        delivery_mode=2,
        message_id=str(event.sequence),
        headers={"sequence": event.sequence, "owner_id": event.owner_id},
        declare=[events_exchange],
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0.5},
    )


def event_relay(*, batch_size: int | None = None) -> int:
    """Publishes every unrelayed event in sequence order and marks it relayed. Returns the
    number published.

    Each batch is published inside the transaction that marks it, with publisher confirms:
    if publishing fails, the batch stays unrelayed and is published again later, so a
    consumer may see an event twice (at least once) but never misses one. A relay waits
    for the one already running, which keeps the order."""
    size = batch_size or settings.EVENT_RELAY_BATCH_SIZE
    published = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_RELAY_LOCK_KEY])
            batch = list(Event.objects.filter(relayed_at__isnull=True).order_by("sequence")[:size])
            if not batch:
                break
            with app.producer_or_acquire() as producer:
                for event in batch:
                    _publish(producer, event)
            Event.objects.filter(sequence__in=[e.sequence for e in batch]).update(relayed_at=timezone.now())
        published += len(batch)
        if len(batch) < size:
            break
    if published:
        logger.info("events_relayed", count=published)
    return published


def relay_nudge() -> None:
    """Asks a worker to run the relay now. Never raises: the sweep is the fallback."""
    from kglab.tasks import event_relay_task

    try:
        event_relay_task.apply_async(retry=False)
    except Exception as exc:
        logger.warning("event_relay_nudge_failed", error=repr(exc))


def relay_nudge_on_commit() -> None:
    """Registers one relay nudge for when the current transaction commits (nothing if it
    rolls back). Called by `kglab.events` whenever events are written."""
    conn = transaction.get_connection()
    # A nudge registered earlier is dropped only by the rollback of a savepoint still open
    # here, which drops this event as well; so one per transaction is enough.
    if any(func is relay_nudge for _savepoints, func, _robust in conn.run_on_commit):
        return
    transaction.on_commit(relay_nudge)
