"""Health checks of the async machinery, for `HEALTH_CHECKS` (see kglab/health.py)."""

from __future__ import annotations

import dataclasses
import time
import typing

from django.conf import settings
from django.core.cache import cache
from django.db import Error as DatabaseError
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from redis.exceptions import RedisError

from integrations.selectors_dead_letters import dead_letter_count
from kglab.celery import WORKER_HEARTBEAT_KEY


@dataclasses.dataclass
class WorkerCheck(HealthCheck):
    """At least one Celery worker refreshed its heartbeat (a cache key, see
    `kglab.celery.WorkerHeartbeat`) within WORKER_HEARTBEAT_STALE_SECONDS. One Redis GET: no
    broadcast ping, so the probe stays cheap and fast."""

    name: typing.ClassVar[str] = "worker"

    def run(self) -> None:
        try:
            last_beat = cache.get(WORKER_HEARTBEAT_KEY)
        except RedisError as exc:
            raise ServiceUnavailable(f"cannot read the worker heartbeat: {exc}") from exc
        if last_beat is None:
            raise ServiceUnavailable("no worker has sent a heartbeat")
        age = time.time() - float(last_beat)
        if age > settings.WORKER_HEARTBEAT_STALE_SECONDS:
            raise ServiceUnavailable(f"no worker heartbeat for {age:.0f}s")


@dataclasses.dataclass
class DeadLettersCheck(HealthCheck):
    """Warns when more than `threshold` dead letters wait for replay (the message carries the
    count): something fails systematically."""

    name: typing.ClassVar[str] = "dead_letters"
    threshold: int = dataclasses.field(default_factory=lambda: settings.DEAD_LETTER_ALERT_THRESHOLD)

    def run(self) -> None:
        try:
            pending = dead_letter_count()
        except DatabaseError as exc:
            raise ServiceUnavailable(f"cannot count dead letters: {exc}") from exc
        if pending > self.threshold:
            raise ServiceWarning(f"{pending} dead letters wait for replay (threshold {self.threshold})")
