"""A real server recovers by itself when PostgreSQL drops its connection."""

import os

import httpx
import pytest
from django.db import connection

from bench.common import server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_server_reconnects_after_its_database_connection_is_killed():
    database_url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    # A pool of two connections, as production pools them: readiness probes (whose checks
    # open connections in threads of their own) must give every connection back.
    env = {"DATABASE_URL": database_url, "DB_POOL_MAX_SIZE": "2"}
    env["KGLAB_TEST_RUN"] = os.environ.get("KGLAB_TEST_RUN", "kglab")  # same cache prefix as this run
    with server(workers=1, settings="kglab.tests.live_settings", env=env) as base:
        for _ in range(5):
            assert httpx.get(f"{base}/health/ready/", timeout=10).status_code in {200, 503}
        first = httpx.get(f"{base}/test/db/default/", timeout=5)
        assert first.status_code == 200, first.text
        killed = first.json()["backend_pid"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [killed])
            assert cursor.fetchone() == (True,)

        after = httpx.get(f"{base}/test/db/default/", timeout=10)
        assert after.status_code == 200, after.text
        assert after.json()["backend_pid"] != killed
