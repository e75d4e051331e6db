import pytest
from django.core.cache import cache

# Keys the auth code writes: django-ratelimit counters, DRF throttle histories and the
# access-token deny-list. Only these, and only under this run's KEY_PREFIX, are deleted.
AUTH_KEY_PATTERNS = ("rl:*", "throttle_*", "auth:*")


def _clear_auth_keys() -> None:
    for pattern in AUTH_KEY_PATTERNS:
        cache.delete_pattern(pattern)


@pytest.fixture(autouse=True)
def _fresh_auth_keys():
    """Rate-limit counters and the deny-list start empty in every test."""
    _clear_auth_keys()
    yield
    _clear_auth_keys()
