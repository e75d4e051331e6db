"""Shared pieces of the benchmarks: start the real server, drive it with wrk, summarise
timings, and save figures under bench/results/.

Benchmarks are run on purpose (see the README), never by the test suite."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = ROOT / ".venv" / "bin"
WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def server(
    *, workers: int = 2, settings: str = "kglab.settings.local", env: dict | None = None
) -> Iterator[str]:
    """Runs the ASGI app under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    proc_env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "LOG_LEVEL": "WARNING", **(env or {})}
    cmd = [
        str(VENV_BIN / "uvicorn"),
        "kglab.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=proc_env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health/live/")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def wrk(
    url: str,
    *,
    connections: int,
    duration_s: int = 10,
    threads: int = 1,
    method: str = "GET",
    body: str | None = None,
    paths: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """Drives `url` with wrk (closed loop: each connection sends its next request when the
    previous one is answered) and returns its summary: requests, rps, errors, p50/p95/p99."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    env = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_BODY": body or "",
        "WRK_PATHS": ",".join(paths or []),
        "WRK_HEADERS": "|".join(f"{k}: {v}" for k, v in (headers or {}).items()),
    }
    if body is None:
        env.pop("WRK_BODY")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result.update({"connections": connections, "threads": threads, "duration_s_requested": duration_s})
    return result


def summarize_ms(samples_s: list[float]) -> dict:
    """p50 / p95 / p99 / mean in milliseconds from durations in seconds."""
    ordered = sorted(samples_s)
    n = len(ordered)

    def pct(p: float) -> float:
        return round(ordered[min(n - 1, max(0, round(p / 100 * n + 0.5) - 1))] * 1000, 3)

    return {
        "n": n,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save(name: str, figures: dict) -> Path:
    """Writes bench/results/<name>.json and prints the figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {"benchmark": name, "machine": machine(), **figures}
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))
    return path
