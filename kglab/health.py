"""Liveness and readiness.

`/health/live/` answers as long as the process can serve a request: it touches no database,
cache or broker, so an orchestrator restarts the process only when the process itself is stuck.

`/health/ready/` (and `/health/`) run every check named in the `HEALTH_CHECKS` setting at the
same time and answer 200 when all pass, 503 naming the failing ones otherwise. A check is a
`health_check.base.HealthCheck` dataclass (django-health-check); its `name` class attribute is
its key in the response. Client timeouts come from `HEALTH_CHECK_TIMEOUT_SECONDS`, so a dead
dependency costs about that long and never hangs the probe."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime
import functools
import typing
import weakref
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseError
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.module_loading import import_string
from health_check.base import HealthCheck, HealthCheckResult
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from kombu import Connection as BrokerConnection
from redis.asyncio import Redis
from redis.exceptions import RedisError

from kglab.api.exceptions import error_response


def check_timeout() -> datetime.timedelta:
    """`HEALTH_CHECK_TIMEOUT_SECONDS` as a timedelta: the default `timeout` of every check."""
    return datetime.timedelta(seconds=settings.HEALTH_CHECK_TIMEOUT_SECONDS)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:300]


@dataclasses.dataclass
class DatabaseCheck(HealthCheck):
    """PostgreSQL answers `SELECT 1` on a connection of its own, opened with a short connect
    timeout and closed afterwards, so the probe neither waits on nor disturbs the connections
    that serve requests."""

    name: typing.ClassVar[str] = "database"
    alias: str = DEFAULT_DB_ALIAS
    timeout: datetime.timedelta = dataclasses.field(default_factory=check_timeout, repr=False)

    def run(self) -> None:
        wrapper = connections[self.alias]
        params = {
            **wrapper.get_connection_params(),
            "connect_timeout": max(1, int(self.timeout.total_seconds())),
        }
        try:
            # Straight to the server, past the connection pool: the probe asks whether
            # PostgreSQL answers, and must not take a slot requests are waiting for.
            raw = wrapper.Database.connect(**params)
            try:
                with raw.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    row = cursor.fetchone()
            finally:
                raw.close()
        except (DatabaseError, wrapper.Database.Error) as exc:
            raise ServiceUnavailable(_first_line(exc)) from exc
        if row != (1,):
            raise ServiceUnavailable("SELECT 1 did not return 1")


@functools.cache
def _shipped_migrations() -> tuple[tuple[tuple[str, str], tuple[tuple[str, str], ...]], ...]:
    """Every migration of the code this process runs, with the migrations each one replaces.
    Read from disk once: the code does not change while the process lives."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return tuple((key, tuple(migration.replaces or ())) for key, migration in graph.nodes.items())


@dataclasses.dataclass
class MigrationsCheck(HealthCheck):
    """Every migration the code ships is applied: a process with newer code than its schema
    must not take traffic. Costs one query: the migrations on disk are read once per process."""

    name: typing.ClassVar[str] = "migrations"
    alias: str = DEFAULT_DB_ALIAS
    timeout: datetime.timedelta = dataclasses.field(default_factory=check_timeout, repr=False)

    def run(self) -> None:
        # A connection wrapper of its own, with the short connect timeout, closed afterwards:
        # the probe runs in a pool thread and must leave no connection behind there.
        settings_dict = copy.deepcopy(connections.settings[self.alias])
        settings_dict["OPTIONS"]["connect_timeout"] = max(1, int(self.timeout.total_seconds()))
        settings_dict["OPTIONS"].pop("pool", None)
        connection = type(connections[self.alias])(settings_dict, self.alias)
        try:
            applied = set(MigrationRecorder(connection).applied_migrations())
        except DatabaseError as exc:
            raise ServiceUnavailable(_first_line(exc)) from exc
        finally:
            connection.close()
        pending = sorted(
            {
                f"{app}.{name}"
                for (app, name), replaces in _shipped_migrations()
                if (app, name) not in applied and not (replaces and set(replaces) <= applied)
            }
        )
        if pending:
            raise ServiceUnavailable(f"{len(pending)} unapplied migration(s): {', '.join(pending[:5])}")


@dataclasses.dataclass
class RedisCheck(HealthCheck):
    """Redis (cache, rate limits, Channels layer) answers PING at `REDIS_URL`."""

    name: typing.ClassVar[str] = "redis"
    timeout: datetime.timedelta = dataclasses.field(default_factory=check_timeout, repr=False)

    async def run(self) -> None:
        seconds = self.timeout.total_seconds()
        client = Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=seconds, socket_timeout=seconds, retry=None
        )
        try:
            if not await client.ping():
                raise ServiceUnavailable("PING was not answered with PONG")
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable(_first_line(exc)) from exc
        finally:
            await client.aclose()


@dataclasses.dataclass
class BrokerCheck(HealthCheck):
    """RabbitMQ accepts an AMQP connection (login included) at `CELERY_BROKER_URL`."""

    name: typing.ClassVar[str] = "broker"
    timeout: datetime.timedelta = dataclasses.field(default_factory=check_timeout, repr=False)

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        connection = BrokerConnection(
            settings.CELERY_BROKER_URL, connect_timeout=seconds, transport_options={"max_retries": 0}
        )
        try:
            connection.ensure_connection(max_retries=1, timeout=seconds)
        except Exception as exc:
            # kombu wraps socket, AMQP and authentication failures in several exception types;
            # every one of them means the broker cannot be used.
            raise ServiceUnavailable(_first_line(exc)) from exc
        finally:
            connection.release()


def health_checks() -> list[HealthCheck]:
    """The checks named in `HEALTH_CHECKS`: dotted paths of HealthCheck classes, or
    `(dotted path, {keyword arguments})` pairs."""
    checks = []
    for entry in settings.HEALTH_CHECKS:
        path, kwargs = (entry, {}) if isinstance(entry, str) else entry
        checks.append(import_string(path)(**kwargs))
    return checks


def check_name(check: HealthCheck) -> str:
    return getattr(check, "name", None) or check.__class__.__name__.lower()


def _report(result: HealthCheckResult) -> dict:
    error = result.error
    if error is None:
        status = "ok"
    elif isinstance(error, ServiceWarning):
        status = "warning"
    else:
        status = "unavailable"
    return {
        "status": status,
        "took_ms": round(result.time_taken * 1000, 1),
        "error": error.message if error is not None else None,
    }


def _closing_connections(fn, /, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()


class _CheckExecutor(ThreadPoolExecutor):
    """Runs sync checks, each followed by closing the Django connections it opened in its
    thread: with the connection pool, a connection a finished thread still holds is a slot
    lost for good."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(_closing_connections, fn, *args, **kwargs)


async def _run_checks() -> tuple[bool, dict[str, dict]]:
    checks = health_checks()
    # Threads of its own, one per check, so a busy default executor never delays a probe;
    # not waiting for them on the way out keeps a check stuck past its timeout from holding
    # the response.
    executor = _CheckExecutor(max_workers=max(1, len(checks)), thread_name_prefix="health")
    try:
        results = await asyncio.gather(*(check.get_result(executor) for check in checks))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    report = {check_name(result.check): _report(result) for result in results}
    return all(entry["status"] != "unavailable" for entry in report.values()), report


_in_flight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = weakref.WeakKeyDictionary()


async def run_health_checks() -> tuple[bool, dict[str, dict]]:
    """Runs every configured check concurrently; returns (ready, report per check).

    Probes that arrive while a run is in flight share its result instead of starting their
    own, so a burst of probes costs one round of connections.

    A check raising `ServiceWarning` (degraded but working, e.g. a growing backlog) is
    reported as "warning" and does not make the process unready: taking it out of the load
    balancer would not help."""
    loop = asyncio.get_running_loop()
    task = _in_flight.get(loop)
    if task is None:
        task = loop.create_task(_run_checks())
        _in_flight[loop] = task
        task.add_done_callback(lambda _: _in_flight.pop(loop, None))
    return await asyncio.shield(task)


_SAFE_METHODS = ("GET", "HEAD")


def _method_not_allowed(request: HttpRequest) -> JsonResponse:
    return error_response(
        request,
        status=405,
        message=f'Method "{request.method}" not allowed.',
        headers={"Allow": ", ".join(_SAFE_METHODS)},
    )


async def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches nothing else."""
    if request.method not in _SAFE_METHODS:
        return _method_not_allowed(request)
    return JsonResponse({"status": "ok"})


async def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: every dependency in `HEALTH_CHECKS` works; 503 names the ones that do not."""
    if request.method not in _SAFE_METHODS:
        return _method_not_allowed(request)
    healthy, report = await run_health_checks()
    body: dict[str, typing.Any] = {"status": "ok" if healthy else "unavailable", "checks": report}
    if not healthy:
        body["failing"] = sorted(name for name, entry in report.items() if entry["status"] == "unavailable")
    warnings = sorted(name for name, entry in report.items() if entry["status"] == "warning")
    if warnings:
        body["warnings"] = warnings
    response = JsonResponse(body, status=200 if healthy else 503)
    add_never_cache_headers(response)
    return response
