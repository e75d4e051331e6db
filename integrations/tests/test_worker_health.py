"""Worker and dead-letter health checks, through /health/ready/ (that a running worker
refreshes its heartbeat is tested with a real worker in kglab/tests/test_celery.py)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from integrations.models import DeadLetter
from kglab.celery import WORKER_HEARTBEAT_KEY

READY = "/health/ready/"


@pytest.fixture
def worker_check_only(settings):
    settings.HEALTH_CHECKS = ["integrations.health.WorkerCheck"]
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 3
    cache.delete(WORKER_HEARTBEAT_KEY)
    return settings


def worker_report(client) -> tuple[int, dict]:
    response = client.get(READY)
    return response.status_code, response.json()["checks"]["worker"]


def test_no_heartbeat_means_the_worker_is_down(client, worker_check_only):
    status, report = worker_report(client)
    assert status == 503
    assert report["status"] == "unavailable"
    assert "no worker has sent a heartbeat" in report["error"]


def test_a_stale_heartbeat_means_the_worker_is_down(client, worker_check_only):
    cache.set(WORKER_HEARTBEAT_KEY, time.time() - 10, timeout=None)
    status, report = worker_report(client)
    assert status == 503
    assert "no worker heartbeat for 10s" in report["error"]

    cache.set(WORKER_HEARTBEAT_KEY, time.time(), timeout=None)
    status, report = worker_report(client)
    assert status == 200
    assert report["status"] == "ok"
    assert report["error"] is None


@pytest.mark.django_db(transaction=True)  # the check runs in a thread with its own connection
def test_dead_letter_check_warns_above_its_threshold_without_making_the_process_unready(client, settings):
    settings.HEALTH_CHECKS = [("integrations.health.DeadLettersCheck", {"threshold": 1})]
    DeadLetter.objects.create(task_id="a", task_name="t", queue="default")
    assert client.get(READY).status_code == 200
    DeadLetter.objects.create(task_id="b", task_name="t", queue="default")
    DeadLetter.objects.create(task_id="c", task_name="t", queue="default", replayed_at="2026-01-01T00:00:00Z")

    response = client.get(READY)

    assert response.status_code == 200
    assert response.json()["warnings"] == ["dead_letters"]
    report = response.json()["checks"]["dead_letters"]
    assert report["status"] == "warning"
    assert report["error"] == "2 dead letters wait for replay (threshold 1)"
