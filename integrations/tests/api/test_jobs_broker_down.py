"""Submitting while RabbitMQ is unreachable: 503 in the error shape, the jobs recorded as
failed (so a retry enqueues them once the broker is back), never silently queued forever."""

import socket

import kombu.pools
import pytest

from integrations.models import ExtractionJob
from kglab.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/extraction/jobs/"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_connections() -> None:
    # The app's connection pool lives in kombu's process-wide registry (keyed by broker URL):
    # closing it without emptying the registry would hand the closed pool to the next caller.
    kombu.pools.reset()
    app._after_fork()  # drops the app's references to the pools


@pytest.fixture
def broker_down():
    original = app.conf.broker_url
    policy = app.conf.broker_connection_max_retries
    reset_connections()
    app.conf.broker_url = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    app.conf.broker_connection_max_retries = 1
    yield
    reset_connections()
    app.conf.broker_url = original
    app.conf.broker_connection_max_retries = policy


def test_submitting_while_the_broker_is_down_is_503_and_the_jobs_say_failed(user_client, broker_down):
    response = user_client.post(
        URL, {"documents": [{"text": "Marie Curie"}, {"text": "Paris"}]}, format="json"
    )
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "broker_unavailable"
    jobs = ExtractionJob.objects.order_by("id")
    assert sorted(error["details"]["jobs"]) == [str(job.pk) for job in jobs]
    assert [job.status for job in jobs] == ["failed", "failed"]
    assert all("broker" in job.error for job in jobs)
