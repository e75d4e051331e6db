"""Checks that only the tests configure: a degraded dependency and a broken check."""

import dataclasses
import typing

from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning


@dataclasses.dataclass
class DegradedCheck(HealthCheck):
    name: typing.ClassVar[str] = "backlog"

    def run(self) -> None:
        raise ServiceWarning("backlog of 250 messages")


@dataclasses.dataclass
class BrokenCheck(HealthCheck):
    name: typing.ClassVar[str] = "broken"
    secret: str = dataclasses.field(default="s3cr3t-token", repr=False)

    def run(self) -> None:
        raise RuntimeError(f"unexpected failure holding {self.secret}")
