"""Writing domain events into the outbox. Services call these inside the transaction that
makes the change, so an event exists exactly when its change was committed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from kglab.models import Event
from kglab.relay import relay_nudge_on_commit

# Namespace of the per-owner advisory locks below ("kgow" in ASCII).
_OWNER_LOCK_NAMESPACE = 0x6B676F77


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Domain events must be written inside the transaction of their change")


def _serialize_per_owner(owner_ids) -> None:
    """Transactions writing events of the same owner take turns (until commit), so an owner's
    events commit in sequence order and the relay, which publishes in sequence order, never
    publishes one of them before an earlier one. Locks are taken in id order: no deadlock."""
    ids = sorted({int(pk) for pk in owner_ids if pk is not None})
    if not ids:
        return
    with transaction.get_connection().cursor() as cursor:
        for owner_id in ids:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_OWNER_LOCK_NAMESPACE, owner_id & 0x7FFFFFFF]
            )


def event_record(*, type: str, owner, aggregate_type: str, aggregate_id, payload: dict) -> Event:
    """Writes one event row in the current transaction."""
    _require_transaction()
    owner_id = getattr(owner, "pk", owner)
    _serialize_per_owner([owner_id])
    event = Event.objects.create(
        type=type,
        owner_id=owner_id,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
    )
    relay_nudge_on_commit()
    return event


def event_record_many(events: Iterable[dict]) -> list[Event]:
    """Writes several events at once, in the given order (their sequence follows it).
    Each item has the keyword arguments of `event_record`."""
    _require_transaction()
    rows = [
        Event(
            type=e["type"],
            owner_id=getattr(e["owner"], "pk", e["owner"]),
            aggregate_type=e["aggregate_type"],
            aggregate_id=str(e["aggregate_id"]),
            payload=e["payload"],
        )
        for e in events
    ]
    if not rows:
        return []
    _serialize_per_owner(row.owner_id for row in rows)
    created = Event.objects.bulk_create(rows)
    relay_nudge_on_commit()
    return created
