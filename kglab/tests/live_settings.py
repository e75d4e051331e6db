"""Settings of the server processes that live tests start: the test settings plus the
test-only URLconf."""

from kglab.settings.test import *  # noqa: F403

ROOT_URLCONF = "kglab.tests.urls"
