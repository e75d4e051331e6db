"""pytest: real PostgreSQL, Redis and RabbitMQ, isolated by name so runs do not collide."""

import os

from .base import *
from .base import CACHES, DATABASES, LOG_FORMAT, REST_FRAMEWORK, SIMPLE_JWT, build_logging_config

DEBUG = False
# Several test runs may share one machine's services: each keys its data by a prefix.
_RUN = os.environ.get("KGLAB_TEST_RUN", "kglab")
DATABASES["default"]["TEST"] = {"NAME": f"test_{_RUN}"}
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
# Fast hashing keeps the suite quick; the Argon2 parameters are tested on their own.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"},
}
SIMPLE_JWT = {**SIMPLE_JWT}
LOG_LEVEL = "WARNING"
LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
