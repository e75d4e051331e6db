"""Structured logs: one JSON object per line on stdout, with the request or task context."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client

from conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.urls("kglab.tests.urls")
def test_access_line_names_the_jwt_user(user, access_lines):
    response = client_for(user).get("/test/whoami/", HTTP_X_REQUEST_ID="req-jwt-1")
    assert response.status_code == 200
    [line] = access_lines()
    assert line["event"] == "request"
    assert line["logger"] == "kglab.access"
    assert line["level"] == "info"
    assert line["request_id"] == "req-jwt-1" == response["X-Request-ID"]
    assert line["user_id"] == user.pk
    assert line["method"] == "GET"
    assert line["path"] == "/test/whoami/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["timestamp"].endswith("Z")


@pytest.mark.django_db
@pytest.mark.urls("kglab.tests.urls")
def test_access_line_names_the_session_user(user, access_lines):
    client = Client()
    client.force_login(user)
    client.get("/test/whoami/")
    client.get("/definitely/not/here/")
    lines = access_lines()
    assert [line["user_id"] for line in lines] == [user.pk, user.pk]
    assert [line["status"] for line in lines] == [200, 404]


@pytest.mark.urls("kglab.tests.urls")
def test_access_line_of_an_anonymous_failure(access_lines):
    response = Client(raise_request_exception=False).get("/test/boom/")
    [line] = access_lines()
    assert line["user_id"] is None
    assert line["status"] == 500
    assert line["level"] == "warning"
    assert line["request_id"] == response["X-Request-ID"]


def test_web_and_worker_lines_are_json_on_stdout_with_task_context():
    script = textwrap.dedent(
        """
        import django, structlog
        django.setup()
        from celery import Celery
        from kglab.logging import setup_celery_logging

        app = Celery("logcheck", set_as_current=False)
        log = structlog.get_logger("kglab.logcheck")

        @app.task(name="logcheck.say_hello")
        def say_hello(who):
            log.warning("inside_task", who=who)

        setup_celery_logging()
        say_hello.apply(args=["world"], task_id="task-abc-1")
        log.warning("after_task")
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kglab.settings.test", "KGLAB_TEST_RUN": "platform"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    inside = next(line for line in lines if line["event"] == "inside_task")
    assert inside["task_id"] == "task-abc-1"
    assert inside["task_name"] == "logcheck.say_hello"
    assert inside["who"] == "world"
    assert inside["level"] == "warning"
    after = next(line for line in lines if line["event"] == "after_task")
    assert "task_id" not in after
