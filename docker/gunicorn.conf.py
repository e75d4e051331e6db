"""gunicorn settings of the web container: uvicorn workers serving the ASGI app, logging
the same JSON lines as the application."""

import multiprocessing
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kglab.logging import build_logging_config

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "uvicorn_worker.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
# Requests that take longer than this are cut off and their worker replaced.
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The container is managed by its orchestrator, not through gunicorn's control socket (which
# would need a writable home directory).
control_socket_disable = True

# The application writes one structured access line per request itself; gunicorn's own
# lines (master and workers) go through the same JSON formatter.
accesslog = None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = build_logging_config(level=loglevel.upper(), fmt=os.environ.get("LOG_FORMAT", "json"))
logconfig_dict["loggers"]["gunicorn.error"] = {
    "handlers": ["stdout"],
    "level": loglevel.upper(),
    "propagate": False,
}

# Prometheus: every worker is its own process, so counters live in files that /metrics sums
# across workers (prometheus_client's multiprocess mode); a scrape that lands on any worker
# sees the numbers of all of them. Workers inherit the variable and load Django after fork.
# /tmp is private to the container and emptied by on_starting below.
METRICS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/kglab-prometheus")  # noqa: S108


def on_starting(server):
    # Numbers of an earlier run of this container must not leak into this one.
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
    os.makedirs(METRICS_DIR)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
