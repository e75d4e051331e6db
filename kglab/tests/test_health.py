"""Liveness and readiness: the answers an orchestrator and an operator rely on."""

import time

import pytest
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import get_resolver

from kglab.tests.conftest import closed_port

CORE_CHECKS = [
    "kglab.health.DatabaseCheck",
    "kglab.health.MigrationsCheck",
    "kglab.health.RedisCheck",
    "kglab.health.BrokerCheck",
]


@pytest.fixture
def core_checks(settings):
    settings.HEALTH_CHECKS = CORE_CHECKS
    # The first request of a process imports every view; time only the probe itself.
    get_resolver().url_patterns  # noqa: B018
    return settings


def test_live_answers_without_touching_the_database():
    # No django_db mark: pytest-django makes any database access here an error.
    response = Client().get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_live_refuses_writes_in_the_error_shape():
    response = Client().post("/health/live/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/health/ready/", "/health/"])
def test_ready_when_every_dependency_is_up(core_checks, url):
    response = Client().get(url)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "redis", "broker"}
    for name, check in body["checks"].items():
        assert check["status"] == "ok", name
        assert check["error"] is None
        assert check["took_ms"] >= 0
    assert "no-cache" in response["Cache-Control"]


def _assert_only_failing(response, name: str, elapsed: float, *, also: tuple[str, ...] = ()) -> dict:
    body = response.json()
    failing = sorted([name, *also])
    assert response.status_code == 503, body
    assert body["status"] == "unavailable"
    assert body["failing"] == failing
    for each in failing:
        assert body["checks"][each]["status"] == "unavailable"
        assert body["checks"][each]["error"]
        # A dead dependency fails fast: the client timeout is 2 s, the probe never hangs.
        assert body["checks"][each]["took_ms"] < 3000, body
    others = {key: value["status"] for key, value in body["checks"].items() if key not in failing}
    assert set(others.values()) == {"ok"}
    assert elapsed < 4, body
    return body


@pytest.mark.django_db
def test_ready_names_the_database_when_its_port_is_closed(core_checks, unreachable_db_alias):
    core_checks.HEALTH_CHECKS = [
        ("kglab.health.DatabaseCheck", {"alias": unreachable_db_alias}),
        *CORE_CHECKS[1:],
    ]
    started = time.monotonic()
    response = Client().get("/health/ready/")
    _assert_only_failing(response, "database", time.monotonic() - started)


@pytest.mark.django_db
def test_ready_names_redis_when_its_port_is_closed(core_checks):
    core_checks.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    started = time.monotonic()
    response = Client().get("/health/ready/")
    body = _assert_only_failing(response, "redis", time.monotonic() - started)
    assert "connect" in body["checks"]["redis"]["error"].lower()


@pytest.mark.django_db
def test_ready_names_the_broker_when_its_port_is_closed(core_checks):
    core_checks.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    started = time.monotonic()
    response = Client().get("/health/ready/")
    _assert_only_failing(response, "broker", time.monotonic() - started)


@pytest.mark.django_db
def test_ready_names_the_broker_when_the_login_is_wrong(core_checks):
    core_checks.CELERY_BROKER_URL = "amqp://guest:not-the-password@127.0.0.1:5672//"
    started = time.monotonic()
    response = Client().get("/health/ready/")
    _assert_only_failing(response, "broker", time.monotonic() - started)


@pytest.mark.django_db
@pytest.mark.parametrize("dependency", ["database", "redis", "broker"])
def test_a_hung_dependency_fails_its_check_within_the_timeout(core_checks, silent_port, dependency):
    also: tuple[str, ...] = ()
    if dependency == "database":
        connections.settings["silent"] = {**connections.settings["default"], "PORT": str(silent_port)}
        core_checks.HEALTH_CHECKS = [
            ("kglab.health.DatabaseCheck", {"alias": "silent"}),
            ("kglab.health.MigrationsCheck", {"alias": "silent"}),
            *CORE_CHECKS[2:],
        ]
        also = ("migrations",)
    elif dependency == "redis":
        core_checks.REDIS_URL = f"redis://127.0.0.1:{silent_port}/0"
    else:
        core_checks.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{silent_port}//"
    try:
        started = time.monotonic()
        response = Client().get("/health/ready/")
        elapsed = time.monotonic() - started
    finally:
        connections.settings.pop("silent", None)
    body = _assert_only_failing(response, dependency, elapsed, also=also)
    assert body["checks"][dependency]["took_ms"] >= 1500, "the check gave up before its timeout"


@pytest.mark.django_db(transaction=True)
def test_ready_names_unapplied_migrations(core_checks):
    recorder = MigrationRecorder(connection)
    app, name = max(key for key in recorder.applied_migrations() if key[0] == "kglab")
    recorder.record_unapplied(app, name)
    try:
        started = time.monotonic()
        response = Client().get("/health/ready/")
    finally:
        recorder.record_applied(app, name)
    body = _assert_only_failing(response, "migrations", time.monotonic() - started)
    assert f"{app}.{name}" in body["checks"]["migrations"]["error"]


@pytest.mark.django_db
def test_a_warning_is_reported_without_making_the_process_unready(core_checks):
    core_checks.HEALTH_CHECKS = [*CORE_CHECKS, "kglab.tests.health_checks.DegradedCheck"]
    response = Client().get("/health/ready/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["warnings"] == ["backlog"]
    assert body["checks"]["backlog"] == {
        "status": "warning",
        "took_ms": body["checks"]["backlog"]["took_ms"],
        "error": "backlog of 250 messages",
    }


@pytest.mark.django_db
def test_a_check_that_crashes_is_unavailable_without_leaking_its_exception(core_checks):
    core_checks.HEALTH_CHECKS = [*CORE_CHECKS, "kglab.tests.health_checks.BrokenCheck"]
    response = Client().get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broken"]
    assert body["checks"]["broken"]["error"] == "unknown error"
    assert "s3cr3t" not in response.content.decode()
