"""Writing domain events into the outbox. Services call these inside the transaction that
makes the change, so an event exists exactly when its change was committed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from kglab.models import Event


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Domain events must be written inside the transaction of their change")


def event_record(*, type: str, owner, aggregate_type: str, aggregate_id, payload: dict) -> Event:
    """Writes one event row in the current transaction."""
    _require_transaction()
    return Event.objects.create(
        type=type,
        owner_id=getattr(owner, "pk", owner),
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
    )


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
    return Event.objects.bulk_create(rows)
