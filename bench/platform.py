"""What the cross-cutting layer costs per request, against the liveness probe.

Reference: `GET /health/live/` (async view, the full middleware chain, nothing else).
Measured in the same run, same server: the readiness probe (every HEALTH_CHECKS check, each
opening its own connection), the Prometheus exposition, and a 404 in the error shape (URL
resolution + error handler). Production settings, one uvicorn worker, wrk closed loop.

    .venv/bin/python -m bench.platform
"""

from __future__ import annotations

import secrets

from bench.common import save, server, wrk

CONNECTIONS = 16
DURATION_S = 10
TARGETS = {
    "live (reference)": "/health/live/",
    "ready": "/health/ready/",
    "metrics": "/metrics",
    "404 error shape": "/api/v1/definitely-not-here/",
}


def main() -> None:
    env = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    results = {}
    with server(workers=1, settings="kglab.settings.production", env=env) as base:
        for name, path in TARGETS.items():
            results[name] = {"path": path, **wrk(base + path, connections=CONNECTIONS, duration_s=DURATION_S)}
    reference = results["live (reference)"]
    for figures in results.values():
        figures["p50_ratio_to_reference"] = round(figures["p50_ms"] / reference["p50_ms"], 2)
        figures["p95_ratio_to_reference"] = round(figures["p95_ms"] / reference["p95_ms"], 2)
        figures["rps_ratio_to_reference"] = round(figures["rps"] / reference["rps"], 3)
    save(
        "platform",
        {
            "load_generator": {
                "tool": "wrk",
                "connections": CONNECTIONS,
                "threads": 1,
                "duration_s": DURATION_S,
            },
            "server": {"uvicorn_workers": 1, "settings": "kglab.settings.production"},
            "reference": "live (reference)",
            "results": results,
        },
    )
    print()
    print(f"{'endpoint':<20} {'rps':>9} {'p50 ms':>8} {'p95 ms':>8} {'p50 x':>6} {'p95 x':>6} {'non-2xx':>8}")
    for name, figures in results.items():
        print(
            f"{name:<20} {figures['rps']:>9.1f} {figures['p50_ms']:>8.2f} {figures['p95_ms']:>8.2f} "
            f"{figures['p50_ratio_to_reference']:>6.2f} {figures['p95_ratio_to_reference']:>6.2f} "
            f"{figures.get('non_2xx', 0):>8}"
        )


if __name__ == "__main__":
    main()
