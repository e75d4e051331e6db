"""Tasks and helpers for the worker tests. A subprocess worker imports this module
(`celery worker --include`), so the tasks exist there; it holds no tests itself.

The tasks report each attempt to Redis, where the test reads them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError

from kglab.celery import (
    PermanentTaskError,
    app,
    dead_letter_queue,
    dead_letter_topology_declare,
)

ROOT = Path(__file__).resolve().parents[2]


def attempts_key(token: str) -> str:
    return f"test-celery:attempts:{token}"


def record_attempt(token: str, **fields) -> int:
    """Appends one attempt (time, pid, fields) and returns how many there were."""
    client = cache.client.get_client()
    return client.rpush(attempts_key(token), json.dumps({"at": time.time(), "pid": os.getpid(), **fields}))


def attempts(token: str) -> list[dict]:
    client = cache.client.get_client()
    return [json.loads(item) for item in client.lrange(attempts_key(token), 0, -1)]


def attempts_at_least(token: str, count: int) -> list[dict] | None:
    found = attempts(token)
    return found if len(found) >= count else None


@app.task(bind=True, name="tests.flaky", retry_delay_base=0.5, max_retries=4)
def flaky(self, token: str, failures: int) -> None:
    """Fails with a transient database error `failures` times, then succeeds."""
    if record_attempt(token, retries=self.request.retries) <= failures:
        raise OperationalError("database briefly unreachable")


@app.task(bind=True, name="tests.always_transient", retry_delay_base=0.05, max_retries=2)
def always_transient(self, token: str) -> None:
    record_attempt(token, retries=self.request.retries)
    raise ConnectionError("broker flapping")


@app.task(bind=True, name="tests.poison")
def poison(self, token: str) -> None:
    """Fails permanently unless the switch in Redis says the input was fixed."""
    record_attempt(token, retries=self.request.retries)
    if not cache.get(f"test-celery:fixed:{token}"):
        raise PermanentTaskError("unprocessable input")


class _MarksDead(app.Task):
    def on_dead(self, exc, task_id, args, kwargs):
        cache.set(f"test-celery:on-dead:{args[0]}", f"{type(exc).__name__}:{task_id}", timeout=300)


@app.task(bind=True, base=_MarksDead, name="tests.bug")
def bug(self, token: str) -> None:
    record_attempt(token, retries=self.request.retries)
    raise ValueError("a bug, not an outage")


def effects_key(token: str) -> str:
    return f"test-celery:effects:{token}"


@app.task(bind=True, name="tests.slow_effect")
def slow_effect(self, token: str, seconds: float) -> None:
    """Idempotent: its effect is keyed by the task id (a set member), so however often the
    message is delivered, the effect happens once."""
    record_attempt(token, redelivered=bool(self.request.delivery_info.get("redelivered")))
    time.sleep(seconds)
    cache.client.get_client().sadd(effects_key(token), self.request.id)


@app.task(bind=True, name="tests.count")
def count(self, token: str) -> None:
    """Notes its own task id in a set: the set's size is how many distinct tasks ran."""
    cache.client.get_client().sadd(effects_key(token), self.request.id)


def purge_queues() -> None:
    """Declares this run's queues and empties them: each test starts with none of an earlier
    test's messages."""
    with app.connection_for_write() as conn:
        dead_letter_topology_declare(conn)
        with conn.channel() as channel:
            for queue in (*app.conf.task_queues, dead_letter_queue):
                bound = queue.bind(channel)
                bound.declare()
                bound.purge()


def worker_env() -> dict[str, str]:
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kglab.settings.test",
        "KGLAB_TEST_RUN": os.environ.get("KGLAB_TEST_RUN", "kglab"),
        # The test database (pytest-django renamed it in this process only).
        "DATABASE_URL": urlunsplit(
            (
                "postgres",
                f"{quote(database['USER'] or '')}:{quote(database['PASSWORD'] or '')}"
                f"@{database['HOST']}:{database['PORT']}",
                f"/{database['NAME']}",
                "",
                "",
            )
        ),
        "CELERY_WORKER_HEARTBEAT_INTERVAL": "1",
    }


@contextmanager
def celery_worker(
    *,
    concurrency: int = 2,
    pool: str = "prefork",
    queues: str = "default,events",
    extra: tuple[str, ...] = (),
):
    """A real `celery worker` process on this run's virtual host, consuming `queues` (not
    `extraction` by default: a worker on that queue loads the spaCy pipeline first); yields
    the Popen (with its `node_name`) and stops it (SIGTERM, then SIGKILL) afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kglab",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-P",
            pool,
            "--include",
            "kglab.tests.test_celery_support",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@{socket.gethostname()}",
            "--loglevel",
            "WARNING",
            *extra,
        ],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while not _worker_answers(name):
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError("the test worker did not start")
            time.sleep(0.2)
        process.node_name = f"{name}@{socket.gethostname()}"
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _worker_answers(name: str) -> bool:
    replies = app.control.ping(timeout=0.5)
    return any(node.startswith(f"{name}@") for reply in replies for node in reply)


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
