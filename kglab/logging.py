"""structlog configuration: one JSON object per line on stdout, for web and worker alike.

Request-scoped values (request_id, user_id) are bound in contextvars by the request middleware;
task-scoped values (task_id, task_name) by the Celery signal handlers below, so every log line
written while serving a request or running a task carries them. Lines from the standard
library's `logging` (Django, Celery, kombu) go through the same formatter."""

from __future__ import annotations

import logging
import logging.config

import structlog

_SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def build_logging_config(*, level: str, fmt: str) -> dict:
    """The LOGGING setting. `fmt` is `json` (default) or `console` (human-readable)."""
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*_SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": _SHARED_PROCESSORS,
            }
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "structured",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Replaces Django's default console handler, which would print a second, plain line.
            "django": {"handlers": ["stdout"], "level": level, "propagate": False},
            # The access log middleware writes one line per request; these would repeat it.
            "django.server": {"level": logging.WARNING},
            "django.request": {"level": logging.ERROR},
            # uvicorn's worker processes log through our handler once the app is loaded (its
            # parent process never loads Django, so its few start/stop lines stay plain).
            "uvicorn": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": logging.WARNING},
            # A failing check is reported in the readiness response and the access log; the
            # library's per-check traceback adds nothing. Unexpected errors still log.
            "health_check": {"level": logging.ERROR},
        },
    }


def setup_celery_logging(**kwargs) -> None:
    """Receiver for Celery's `setup_logging` signal: the worker and beat log through Django's
    LOGGING (structlog JSON on stdout) instead of Celery's own format, and every line written
    while a task runs carries its `task_id` and `task_name`.

    Connect it in the Celery app module: `setup_logging.connect(setup_celery_logging)`."""
    from celery.signals import task_postrun, task_prerun
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    task_prerun.connect(bind_task_log_context, weak=False, dispatch_uid="kglab.logging.bind")
    task_postrun.connect(clear_task_log_context, weak=False, dispatch_uid="kglab.logging.clear")


def bind_task_log_context(task_id: str | None = None, task=None, **kwargs) -> None:
    """`task_prerun` receiver: binds the running task's id and name to the log context."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task_name=getattr(task, "name", None))


def clear_task_log_context(**kwargs) -> None:
    """`task_postrun` receiver: the next task on this worker starts with a clean context."""
    structlog.contextvars.clear_contextvars()
