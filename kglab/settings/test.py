"""pytest: real PostgreSQL, Redis and RabbitMQ, isolated by name so runs do not collide."""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *
from .base import (
    CACHES,
    CELERY_BROKER_URL,
    DATABASES,
    LOG_FORMAT,
    REST_FRAMEWORK,
    SIMPLE_JWT,
    build_logging_config,
)

DEBUG = False
# Several test runs may share one machine's services: each keys its data by a prefix.
_RUN = os.environ.get("KGLAB_TEST_RUN", "kglab")
DATABASES["default"]["TEST"] = {"NAME": f"test_{_RUN}"}
# Tests swap connection settings per test (closed ports, killed connections); a process-wide
# pool would keep serving the old ones. The pool is off unless DB_POOL_MAX_SIZE asks for it
# (the live-server tests do, for the processes they start).
if "DB_POOL_MAX_SIZE" not in os.environ:
    DATABASES["default"]["OPTIONS"].pop("pool", None)
    DATABASES["default"]["CONN_MAX_AGE"] = 60
CACHES["default"]["KEY_PREFIX"] = f"test-{_RUN}"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")],
            "prefix": f"test-{_RUN}-asgi",
        },
    }
}
# Each run has its own RabbitMQ virtual host (created by the session fixture in conftest.py),
# so its workers never consume another run's messages.
CELERY_BROKER_URL = urlunsplit(urlsplit(CELERY_BROKER_URL)._replace(path=f"/test-{_RUN}"))
# Fast hashing keeps the suite quick; the Argon2 parameters are tested on their own.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"},
}
SIMPLE_JWT = {**SIMPLE_JWT}
# Login and registration limits out of the way; the auth tests lower them where they test them.
LOGIN_RATE_PER_IP = "100000/m"
LOGIN_RATE_PER_ACCOUNT = "100000/m"
REGISTER_RATE = "100000/m"
# Static files come from the apps, as in development; production serves collected ones.
WHITENOISE_USE_FINDERS = True
LOG_LEVEL = "WARNING"
LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
