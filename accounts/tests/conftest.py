import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and the deny-list start empty in every test. Only this run's keys
    (the test settings' KEY_PREFIX) are deleted; other runs on the same Redis are untouched."""
    cache.delete_pattern("*")
    yield
    cache.delete_pattern("*")
