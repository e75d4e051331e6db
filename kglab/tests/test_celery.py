"""Celery reliability against the real RabbitMQ, with real worker processes: retries with
growing backoff, dead-lettering into the RabbitMQ DLX, replay, and redelivery after a worker
is killed."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from integrations.models import DeadLetter
from integrations.services_dead_letters import dead_letter_replay, dead_letters_drain
from kglab.celery import WORKER_HEARTBEAT_KEY, ReliableTask, app, retry_backoff_delay
from kglab.tests.test_celery_support import (
    always_transient,
    attempts,
    attempts_at_least,
    bug,
    celery_worker,
    count,
    effects_key,
    flaky,
    poison,
    purge_queues,
    slow_effect,
    wait_for,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        purge_queues()
        # Not on `events`: the redelivery test moves that queue to this worker itself.
        with celery_worker(queues="default") as process:
            yield process


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


def test_backoff_grows_exponentially_with_jitter():
    delays = [retry_backoff_delay(retries=n, base=1.0, maximum=600) for n in range(6)]
    for n, delay in enumerate(delays):
        assert 2**n / 2 <= delay <= 2**n
    assert delays == sorted(delays)
    assert retry_backoff_delay(retries=30, base=1.0, maximum=10) <= 10


def test_every_task_is_reliable_by_default():
    assert isinstance(flaky, ReliableTask)
    assert flaky.acks_late
    assert flaky.reject_on_worker_lost
    assert flaky.acks_on_failure is False
    assert flaky.acks_on_timeout is False


def test_transient_failures_are_retried_with_growing_delays(worker, token):
    flaky.delay(token, 2)

    runs = wait_for(lambda: attempts_at_least(token, 3))

    assert [run["retries"] for run in runs] == [0, 1, 2]
    first_delay = runs[1]["at"] - runs[0]["at"]
    second_delay = runs[2]["at"] - runs[1]["at"]
    assert 0.25 <= first_delay < second_delay
    assert second_delay >= 0.5
    assert not DeadLetter.objects.filter(task_name="tests.flaky").exists()


def test_exhausted_retries_land_in_the_dead_letter_queue(worker, token):
    result = always_transient.delay(token)

    row = wait_for(lambda: DeadLetter.objects.filter(task_id=result.id).first())
    assert len(attempts(token)) == 3  # the first run and max_retries=2 retries
    assert row.task_name == "tests.always_transient"
    assert row.attempts == 3
    assert row.queue == "default"
    assert row.args == [token]
    assert row.error.startswith("ConnectionError: broker flapping")

    wait_for(lambda: dead_letters_drain() or DeadLetter.objects.get(pk=row.pk).is_captured)
    row.refresh_from_db()
    assert row.reason == "rejected"
    assert row.message_routing_key == "default"
    assert row.message_headers["task"] == "tests.always_transient"
    assert DeadLetter.objects.filter(task_id=result.id).count() == 1


def test_poison_message_is_dead_lettered_at_once_and_replay_runs_it_again(worker, token):
    result = poison.delay(token)

    row = wait_for(lambda: DeadLetter.objects.filter(task_id=result.id).first())
    assert len(attempts(token)) == 1
    assert row.error == "PermanentTaskError: unprocessable input"
    wait_for(lambda: dead_letters_drain() or DeadLetter.objects.get(pk=row.pk).is_captured)

    cache.set(f"test-celery:fixed:{token}", True, timeout=300)
    dead_letter_replay(dead_letter=DeadLetter.objects.get(pk=row.pk))

    runs = wait_for(lambda: attempts_at_least(token, 2))
    assert runs[1]["retries"] == 0
    row.refresh_from_db()
    assert row.is_replayed
    assert row.replay_count == 1
    assert DeadLetter.objects.filter(task_id=result.id).count() == 1


def test_unexpected_exception_calls_on_dead_once_and_dead_letters(worker, token):
    result = bug.delay(token)

    wait_for(lambda: DeadLetter.objects.filter(task_id=result.id).exists())
    assert cache.get(f"test-celery:on-dead:{token}") == f"ValueError:{result.id}"
    assert len(attempts(token)) == 1


def test_a_message_dead_lettered_without_a_row_gets_one_from_the_drain(worker, token):
    """The database may be down when a task gives up; the drain still records the letter."""
    result = always_transient.delay(token)
    wait_for(lambda: DeadLetter.objects.filter(task_id=result.id).exists())
    DeadLetter.objects.filter(task_id=result.id).delete()

    wait_for(lambda: dead_letters_drain() or DeadLetter.objects.filter(task_id=result.id).exists())

    row = DeadLetter.objects.get(task_id=result.id)
    assert row.task_name == "tests.always_transient"
    assert row.args == [token]
    assert row.queue == "default"
    assert row.is_captured


def test_a_running_worker_refreshes_its_heartbeat(worker):
    first = wait_for(lambda: cache.get(WORKER_HEARTBEAT_KEY))
    later = wait_for(lambda: (beat := cache.get(WORKER_HEARTBEAT_KEY)) > first and beat, timeout=10)
    assert time.time() - later < 5
    client = Client()
    with override_settings(HEALTH_CHECKS=["integrations.health.WorkerCheck"]):
        assert client.get("/health/ready/").json()["checks"]["worker"]["status"] == "ok"


def test_a_thousand_messages_are_all_processed(worker, token):
    sent = {count.delay(token).id for _ in range(1000)}

    done = wait_for(
        lambda: len(members := cache.client.get_client().smembers(effects_key(token))) == 1000 and members
    )

    assert {member.decode() for member in done} == sent
    assert not DeadLetter.objects.exists()


def test_killed_worker_loses_no_job_and_the_effect_happens_once(worker, token):
    with celery_worker(concurrency=1, queues="events") as first:
        result = slow_effect.apply_async((token, 3.0), queue="events")
        running = wait_for(lambda: attempts(token))[0]
        # The whole worker dies at once: the pool process running the task and its parent.
        os.kill(running["pid"], signal.SIGKILL)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert cache.client.get_client().scard(effects_key(token)) == 0

    # Another worker starts consuming the queue and gets the unacknowledged message again.
    app.control.add_consumer("events", destination=[worker.node_name], reply=True)
    try:
        wait_for(lambda: cache.client.get_client().scard(effects_key(token)), timeout=30)
    finally:
        app.control.cancel_consumer("events", destination=[worker.node_name], reply=True)
    runs = attempts(token)

    assert len(runs) == 2
    assert runs[1]["redelivered"] is True
    assert runs[1]["pid"] != running["pid"]
    assert cache.client.get_client().smembers(effects_key(token)) == {result.id.encode()}
