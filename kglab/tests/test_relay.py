"""The outbox relay against the real RabbitMQ: a test queue bound to `kglab.events` receives
what the relay publishes."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import kombu.exceptions
import pytest
from celery import Celery
from django.db import connection, transaction
from kombu import Queue

from conftest import make_user
from kglab import relay
from kglab.celery import app
from kglab.events import event_record, event_record_many
from kglab.models import Event
from kglab.relay import event_relay, events_exchange
from kglab.tasks import event_relay_sweep_task
from kglab.tests.test_celery_support import worker_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscriber():
    """A queue bound to every routing key of `kglab.events`; yields a function returning the
    messages received so far (decoded bodies, with routing key), in arrival order."""
    with app.connection_for_write() as conn, conn.channel() as channel:
        queue = Queue(
            f"test-relay-{uuid.uuid4().hex}",
            exchange=events_exchange,
            routing_key="#",
            exclusive=True,
            auto_delete=True,
        ).bind(channel)
        events_exchange.bind(channel).declare()
        queue.declare()

        def received() -> list[dict]:
            messages = []
            while (message := queue.get(no_ack=True)) is not None:
                messages.append({**message.decode(), "routing_key": message.delivery_info["routing_key"]})
            return messages

        received()  # anything published before the test started
        Event.objects.filter(relayed_at__isnull=True).update(relayed_at="2000-01-01T00:00:00Z")
        yield received


def nudges_waiting() -> int:
    with app.connection_for_write() as conn, conn.channel() as channel:
        queue = app.amqp.queues["events"].bind(channel)
        return queue.queue_declare(passive=True).message_count


def purge_nudges() -> None:
    with app.connection_for_write() as conn, conn.channel() as channel:
        queue = app.amqp.queues["events"].bind(channel)
        queue.declare()
        queue.purge()


def record(owner, n: int, type: str = "entity.created") -> None:
    event_record(type=type, owner=owner, aggregate_type="entity", aggregate_id=n, payload={"n": n})


def test_committed_events_are_published_in_order_and_marked(subscriber):
    owner = make_user()
    with transaction.atomic():
        record(owner, 1)
        record(owner, 2, type="entity.updated")
        event_record_many(
            [
                {
                    "type": "relationship.created",
                    "owner": owner,
                    "aggregate_type": "relationship",
                    "aggregate_id": 3,
                    "payload": {"n": 3},
                },
            ]
        )

    assert event_relay() == 3

    messages = subscriber()
    assert [m["routing_key"] for m in messages] == [
        "entity.created",
        "entity.updated",
        "relationship.created",
    ]
    first = messages[0]
    event = Event.objects.order_by("sequence").filter(owner=owner).first()
    assert first["sequence"] == event.sequence
    assert first["owner_id"] == owner.pk
    assert first["aggregate"] == {"type": "entity", "id": "1"}
    assert first["payload"] == {"n": 1}
    assert first["occurred_at"] == event.created_at.isoformat()
    assert [m["sequence"] for m in messages] == sorted(m["sequence"] for m in messages)
    assert not Event.objects.filter(owner=owner, relayed_at__isnull=True).exists()
    assert event_relay() == 0
    assert subscriber() == []


def test_commit_enqueues_one_nudge_and_a_rollback_none(subscriber):
    owner = make_user()
    purge_nudges()

    def failing_change():
        with transaction.atomic():
            record(owner, 1)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert nudges_waiting() == 0
    assert event_relay() == 0
    assert subscriber() == []

    with transaction.atomic():
        record(owner, 2)
        record(owner, 3)
    assert nudges_waiting() == 1


def test_an_event_after_a_rolled_back_savepoint_still_gets_its_nudge(subscriber):
    owner = make_user()
    purge_nudges()

    with transaction.atomic():
        try:
            with transaction.atomic():
                record(owner, 1)
                raise RuntimeError("the inner change failed")
        except RuntimeError:
            pass
        record(owner, 2)

    assert nudges_waiting() == 1
    assert event_relay() == 1
    assert [m["payload"] for m in subscriber()] == [{"n": 2}]


def test_sweep_publishes_events_whose_nudge_was_lost(subscriber):
    owner = make_user()
    with transaction.atomic():
        record(owner, 1)
    purge_nudges()  # the nudge is lost

    assert event_relay_sweep_task.apply().get() == 1
    assert [m["payload"] for m in subscriber()] == [{"n": 1}]


def test_concurrent_relays_publish_each_event_once_in_sequence_order(subscriber):
    owners = [make_user(), make_user()]
    with transaction.atomic():
        event_record_many(
            [
                {
                    "type": "entity.created",
                    "owner": owners[n % 2],
                    "aggregate_type": "entity",
                    "aggregate_id": n,
                    "payload": {"n": n},
                }
                for n in range(300)
            ]
        )

    def relay():
        try:
            event_relay(batch_size=50)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sequences = [m["sequence"] for m in subscriber()]
    assert len(sequences) == 300
    assert sequences == sorted(set(sequences))


def test_transactions_of_one_owner_commit_their_events_in_sequence_order():
    owner = make_user()
    second_done = threading.Event()

    def second_writer():
        try:
            with transaction.atomic():
                record(owner, 2)
        finally:
            connection.close()
            second_done.set()

    with transaction.atomic():
        record(owner, 1)
        thread = threading.Thread(target=second_writer)
        thread.start()
        # The second transaction waits for this one: its event cannot get in first.
        assert not second_done.wait(0.5)
    thread.join(5)

    ordered = list(Event.objects.filter(owner=owner).order_by("sequence").values_list("payload", flat=True))
    assert ordered == [{"n": 1}, {"n": 2}]


def test_an_unreachable_broker_leaves_the_events_unrelayed(subscriber, monkeypatch):
    owner = make_user()
    with transaction.atomic():
        record(owner, 1)
    dead_broker = Celery("kglab", broker="amqp://guest:guest@127.0.0.1:1//", set_as_current=False)
    dead_broker.conf.broker_connection_timeout = 0.5
    monkeypatch.setattr(relay, "app", dead_broker)

    with pytest.raises(kombu.exceptions.OperationalError):
        relay.event_relay()

    assert Event.objects.filter(owner=owner, relayed_at__isnull=True).count() == 1
    monkeypatch.undo()
    assert relay.event_relay() == 1
    assert [m["payload"] for m in subscriber()] == [{"n": 1}]


def test_a_broker_outage_does_not_fail_the_committed_change():
    """The nudge after commit cannot reach RabbitMQ: the change stays committed, the failure is
    logged, and the sweep relays the event later."""
    owner = make_user()
    script = (
        "import django; django.setup()\n"
        "from django.db import transaction\n"
        "from kglab.events import event_record\n"
        "with transaction.atomic():\n"
        f"    event_record(type='entity.created', owner={owner.pk}, aggregate_type='entity',"
        " aggregate_id=1, payload={})\n"
    )
    env = {**worker_env(), "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//", "LOG_LEVEL": "WARNING"}

    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert "event_relay_nudge_failed" in done.stdout + done.stderr
    assert Event.objects.filter(owner=owner, relayed_at__isnull=True).count() == 1
