"""Rate limits of the auth endpoints, all read from settings on every request (so deployments
tune them with environment variables and tests lower them with override_settings).

- Login: django-ratelimit fixed windows per client IP (LOGIN_RATE_PER_IP) and per account email
  (LOGIN_RATE_PER_ACCOUNT), counted in the Redis cache; every attempt counts, successful or not.
- Registration: a DRF throttle per client IP (REGISTER_RATE).
- Everything else: the API's anon/user throttles (`kglab.api.throttling`, rates in
  REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).
All answer 429 in the error shape with Retry-After.
"""

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework import exceptions
from rest_framework.request import Request

from kglab.api.throttling import AnonRateThrottle


class RegisterRateThrottle(AnonRateThrottle):
    scope = "register"

    def get_rate(self) -> str:
        return settings.REGISTER_RATE

    def identity(self, request) -> str:
        return self.get_ident(request)


def login_rate_limit_check(*, request: Request, email: object) -> None:
    """Counts a login attempt against the client's IP and, when the body names one, the
    account; raises 429 (`rate_limited`, with the wait) once either is over its limit."""
    limits = [("accounts.login.ip", "ip", settings.LOGIN_RATE_PER_IP)]
    if isinstance(email, str) and email.strip():
        account = email.strip().lower()
        limits.append(("accounts.login.account", lambda group, req: account, settings.LOGIN_RATE_PER_ACCOUNT))
    for group, key, rate in limits:
        usage = get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)
        if usage is not None and usage["should_limit"]:
            raise exceptions.Throttled(
                wait=max(1, usage["time_left"]),
                detail="Too many login attempts; retry later.",
                code="rate_limited",
            )
