"""API throttles as fixed-window counters in Redis, counted by django-ratelimit.

DRF's own `SimpleRateThrottle` keeps each client's request timestamps as one list in the
cache and reads, filters and writes that whole list on every request: at the user limit of
6,000 a minute the list holds thousands of floats, pickled twice per request (about 2.4 ms of
a 10 ms request here). A counter per window costs one add-or-increment, whatever the limit.
The trade-off is the fixed window's: a client may spend up to twice the rate across a window
boundary. Rates are read on every request, so settings overrides apply at once."""

from __future__ import annotations

from django_ratelimit.core import get_usage
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle


class FixedWindowRateThrottle(BaseThrottle):
    """Allows `rate` requests per window for each identity; `wait()` is the rest of the
    window. Subclasses name the `scope` (a key of DEFAULT_THROTTLE_RATES, or override
    `get_rate`) and the identity (`identity`, None to skip the throttle)."""

    scope: str = ""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def identity(self, request) -> str | None:
        return self.get_ident(request)

    def allow_request(self, request, view) -> bool:
        self._wait: float | None = None
        rate = self.get_rate()
        ident = self.identity(request) if rate else None
        if ident is None:
            return True
        usage = get_usage(
            request,
            group=f"throttle.{self.scope}",
            key=lambda group, req: ident,
            rate=rate,
            increment=True,
        )
        if usage is None or not usage["should_limit"]:
            return True
        self._wait = max(1, usage["time_left"])
        return False

    def wait(self) -> float | None:
        return self._wait


class AnonRateThrottle(FixedWindowRateThrottle):
    """Anonymous requests, per client IP."""

    scope = "anon"

    def identity(self, request) -> str | None:
        return None if request.user and request.user.is_authenticated else self.get_ident(request)


class UserRateThrottle(FixedWindowRateThrottle):
    """Authenticated requests per user (anonymous ones per client IP)."""

    scope = "user"

    def identity(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return self.get_ident(request)
