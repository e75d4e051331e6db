"""A real server recovers by itself when PostgreSQL drops its connection."""

import httpx
import pytest
from django.db import connection

from bench.common import server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_server_reconnects_after_its_database_connection_is_killed():
    database_url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    env = {"DATABASE_URL": database_url, "KGLAB_TEST_RUN": "platform"}
    with server(workers=1, settings="kglab.tests.live_settings", env=env) as base:
        first = httpx.get(f"{base}/test/db/default/", timeout=10)
        assert first.status_code == 200, first.text
        killed = first.json()["backend_pid"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [killed])
            assert cursor.fetchone() == (True,)

        after = httpx.get(f"{base}/test/db/default/", timeout=10)
        assert after.status_code == 200, after.text
        assert after.json()["backend_pid"] != killed
