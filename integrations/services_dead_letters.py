"""Dead letters: recording a task given up, draining RabbitMQ's `dead_letters` queue into rows,
and replaying the original messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

import structlog
from django.db import transaction
from django.utils import timezone
from kombu import Connection
from kombu.message import Message

from integrations.models import DeadLetter
from kglab.api.exceptions import Conflict
from kglab.celery import app, dead_letter_queue, dead_letter_topology_declare

logger = structlog.get_logger(__name__)

# Headers RabbitMQ adds when it dead-letters a message; a replay starts without them.
_DEATH_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)


def dead_letter_record(
    *,
    task_id: str,
    task_name: str,
    args: list,
    kwargs: dict,
    error: str,
    traceback: str,
    attempts: int,
    queue: str,
) -> DeadLetter:
    """Records a task message being given up, just before the worker rejects it to the
    dead-letter exchange. The drain attaches the message itself later."""
    return DeadLetter.objects.create(
        task_id=task_id,
        task_name=task_name,
        args=_jsonable(args),
        kwargs=_jsonable(kwargs),
        error=error,
        traceback=traceback,
        attempts=attempts,
        queue=queue,
        reason="rejected",
    )


def _jsonable(value):
    """Message headers and task arguments as JSON (AMQP tables hold datetimes and bytes)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _task_arguments(message: Message) -> tuple[list, dict]:
    """Arguments of a Celery (protocol 2) JSON message: the body is [args, kwargs, embed]."""
    if message.content_type != "application/json":
        return [], {}
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        return [], {}
    if isinstance(body, list) and len(body) >= 2 and isinstance(body[0], list) and isinstance(body[1], dict):
        return body[0], body[1]
    return [], {}


def dead_letter_capture(*, message: Message) -> DeadLetter | None:
    """Stores one message taken from the `dead_letters` queue. Completes the row the task
    wrote when it gave up, or creates one. Returns None for a message already captured (a
    redelivery after a crash between commit and ack)."""
    raw_headers = dict(message.headers or {})
    deaths = raw_headers.get("x-death") or [{}]
    death = deaths[0]
    body = message.body if message.body is not None else b""
    if isinstance(body, str):  # py-amqp hands text bodies over decoded
        body = body.encode(message.content_encoding or "utf-8")
    fingerprint = hashlib.sha256(
        body + json.dumps(_jsonable(raw_headers), sort_keys=True).encode()
    ).hexdigest()
    headers = {k: _jsonable(v) for k, v in raw_headers.items() if k not in _DEATH_HEADERS}
    properties = {
        k: _jsonable(v)
        for k, v in (message.properties or {}).items()
        if k in {"correlation_id", "reply_to", "priority", "message_id", "type", "app_id", "expiration"}
    }
    routing_keys = death.get("routing-keys") or [message.delivery_info.get("routing_key", "")]
    died_at = death.get("time")
    if isinstance(died_at, dt.datetime) and timezone.is_naive(died_at):
        died_at = timezone.make_aware(died_at, dt.UTC)
    task_id = str(headers.get("id") or properties.get("correlation_id") or "")
    args, kwargs = _task_arguments(message)
    captured = {
        "message_exchange": _jsonable(death.get("exchange", "")),
        "message_routing_key": _jsonable(routing_keys[0] if routing_keys else ""),
        "message_headers": headers,
        "message_properties": properties,
        "message_content_type": message.content_type or "",
        "message_content_encoding": message.content_encoding or "",
        "message_body": body,
        "message_fingerprint": fingerprint,
        "captured_at": timezone.now(),
        "reason": _jsonable(death.get("reason", "")),
    }
    with transaction.atomic():
        if DeadLetter.objects.filter(message_fingerprint=fingerprint).exists():
            return None
        row = (
            DeadLetter.objects.select_for_update()
            .filter(task_id=task_id, captured_at__isnull=True)
            .order_by("-id")
            .first()
            if task_id
            else None
        )
        if row is None:
            row = DeadLetter(
                task_id=task_id,
                task_name=str(headers.get("task") or ""),
                queue=_jsonable(death.get("queue", "")),
                args=_jsonable(args),
                kwargs=_jsonable(kwargs),
                attempts=int(headers.get("retries") or 0) + 1,
                error=f"Dead-lettered by the broker ({captured['reason'] or 'unknown reason'}).",
                dead_lettered_at=died_at or timezone.now(),
            )
        for field, value in captured.items():
            setattr(row, field, value)
        if not row.queue:
            row.queue = _jsonable(death.get("queue", ""))
        row.save()
    return row


def dead_letters_drain(*, limit: int = 1000) -> int:
    """Moves up to `limit` messages from RabbitMQ's `dead_letters` queue into `DeadLetter`
    rows, acknowledging each only after its row is committed (at least once; duplicates are
    recognised by fingerprint). Returns how many messages were taken."""
    taken = 0
    with app.connection_for_write() as connection:
        dead_letter_topology_declare(connection)
        with connection.channel() as channel:
            queue = dead_letter_queue.bind(channel)
            while taken < limit:
                message = queue.get(no_ack=False, accept=None)
                if message is None:
                    break
                dead_letter_capture(message=message)
                message.ack()
                taken += 1
    if taken:
        logger.info("dead_letters_drained", count=taken)
    return taken


def _publish_again(*, connection: Connection, dead_letter: DeadLetter) -> None:
    headers = {**dead_letter.message_headers}
    if "task" in headers:
        # A replayed task gets its full number of attempts again.
        headers["retries"] = 0
    declare = [q for q in app.conf.task_queues if q.name == dead_letter.message_routing_key]
    producer = connection.Producer()
    producer.publish(
        bytes(dead_letter.message_body),
        exchange=dead_letter.message_exchange,
        routing_key=dead_letter.message_routing_key,
        headers=headers,
        content_type=dead_letter.message_content_type or "application/octet-stream",
        content_encoding=dead_letter.message_content_encoding or "binary",
        delivery_mode=2,
        declare=declare,
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0.5},
        **dead_letter.message_properties,
    )


def dead_letter_replay(*, dead_letter: DeadLetter, by=None) -> DeadLetter:
    """Publishes the original message of a dead letter again (to the exchange and routing
    key it was first sent with, retry counter reset) and marks the row replayed.

    A letter whose message is still waiting in the `dead_letters` queue is drained first.
    Raises Conflict if it was replayed already or its message was never captured."""
    if not dead_letter.is_captured:
        dead_letters_drain()
    with transaction.atomic():
        row = DeadLetter.objects.select_for_update().get(pk=dead_letter.pk)
        if row.is_replayed:
            raise Conflict({"code": "already_replayed", "detail": "This dead letter was replayed already."})
        if not row.is_captured:
            raise Conflict(
                {
                    "code": "message_not_captured",
                    "detail": "The original message of this dead letter is not available.",
                }
            )
        with app.connection_for_write() as connection:
            _publish_again(connection=connection, dead_letter=row)
        row.replayed_at = timezone.now()
        row.replay_count += 1
        row.replayed_by = by if getattr(by, "pk", None) else None
        row.save(update_fields=["replayed_at", "replay_count", "replayed_by"])
    logger.info("dead_letter_replayed", dead_letter_id=row.pk, task_name=row.task_name, task_id=row.task_id)
    return row


def dead_letters_replay(
    *, ids: Iterable[int] | None = None, task_name: str | None = None, by=None
) -> dict[str, list[int]]:
    """Replays several dead letters: the given ids, or (ids=None) every letter not replayed
    yet, optionally only those of one task. Returns the ids replayed and those skipped
    (already replayed or without a message)."""
    dead_letters_drain()
    rows = DeadLetter.objects.all()
    rows = rows.filter(pk__in=list(ids)) if ids is not None else rows.filter(replayed_at__isnull=True)
    if task_name:
        rows = rows.filter(task_name=task_name)
    result: dict[str, list[int]] = {"replayed": [], "skipped": []}
    for row in rows.order_by("id"):
        if row.is_replayed or not row.is_captured:
            result["skipped"].append(row.pk)
            continue
        dead_letter_replay(dead_letter=row, by=by)
        result["replayed"].append(row.pk)
    return result
