"""Auth benchmark: login, refresh and `me` against the real server, with `/health/live/` as
the reference, measured right before each endpoint in the same run.

    .venv/bin/python -m bench.auth [--duration 10]

- Server: `bench.common.server(workers=2)` (uvicorn, local settings with DEBUG off) on the
  development database `kglab` through the settings' connection pool; login limits and DRF
  throttles raised through environment variables so the load generator measures the work, not
  the 429s.
- Bench user `auth-bench@kglab.local` is created (or its password reset) before the run.
- Load: wrk, closed loop, 1 thread, at 1 and 8 connections, `--duration` seconds each.
  * login: the same email + password every request (Argon2id verify on each);
  * refresh: every request presents a different refresh token, pre-minted (and recorded as
    outstanding) before the run and fed to wrk by bench/auth_refresh.lua, because a refresh
    token works only once; any reuse would show up as non-2xx;
  * me: GET /api/v1/auth/me/ with one access token;
  * live: GET /health/live/, no database, the reference.
- Also measured in-process: Argon2id hash and verify time of the configured hasher.

Figures go to bench/results/auth.json: p50/p95/p99, rps, errors, and each endpoint's
p50/p95 as a ratio of the reference measured just before it at the same concurrency (on a
shared machine the load changes within a run; adjacent references follow it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, save, server, summarize_ms, wrk

BENCH_EMAIL = "auth-bench@kglab.local"
BENCH_PASSWORD = "auth-bench-passphrase-2024"
CONCURRENCIES = (1, 8)
REFRESH_SCRIPT = ROOT / "bench" / "auth_refresh.lua"
SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "LOGIN_RATE_PER_IP": "1000000/m",
    "LOGIN_RATE_PER_ACCOUNT": "1000000/m",
    "THROTTLE_ANON": "1000000/min",
    "THROTTLE_USER": "1000000/min",
}
# Enough single-use refresh tokens for the fastest plausible rate (well above what two
# workers reach) over every refresh run.
REFRESH_TOKENS_PER_SECOND = 600


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kglab.settings.local")
    import django

    django.setup()


def bench_user():
    from accounts.models import User

    user = User.objects.filter(email=BENCH_EMAIL).first() or User(email=BENCH_EMAIL, name="Auth bench")
    user.is_active = True
    user.set_password(BENCH_PASSWORD)
    user.save()
    return user


def hasher_timings(samples: int = 30) -> dict:
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher()
    encoded = hasher.encode(BENCH_PASSWORD, hasher.salt())
    hash_s, verify_s = [], []
    for _ in range(samples):
        start = time.perf_counter()
        hasher.encode(BENCH_PASSWORD, hasher.salt())
        hash_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        hasher.verify(BENCH_PASSWORD, encoded)
        verify_s.append(time.perf_counter() - start)
    return {
        "hasher": f"{type(hasher).__module__}.{type(hasher).__name__}",
        "params": {
            "memory_kib": hasher.memory_cost,
            "time_cost": hasher.time_cost,
            "parallelism": hasher.parallelism,
        },
        "hash": summarize_ms(hash_s),
        "verify": summarize_ms(verify_s),
        # The fastest sample is the closest to the uncontended cost on this shared machine.
        "hash_min_ms": round(min(hash_s) * 1000, 3),
        "verify_min_ms": round(min(verify_s) * 1000, 3),
    }


def mint_refresh_tokens(user, count: int) -> list[str]:
    from django.db import transaction

    from accounts.tokens import RefreshToken

    with transaction.atomic():
        return [str(RefreshToken.for_user(user)) for _ in range(count)]


def wrk_refresh(url: str, *, tokens_file: Path, connections: int, duration_s: int) -> dict:
    """wrk with bench/auth_refresh.lua: one distinct refresh token per request."""
    env = {
        **os.environ,
        "WRK_TOKENS_FILE": str(tokens_file),
        "WRK_REPORT": str(ROOT / "bench" / "wrk_report.lua"),
    }
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(REFRESH_SCRIPT),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result.update({"connections": connections, "threads": 1, "duration_s_requested": duration_s})
    return result


def login_once(base: str) -> dict:
    import urllib.request

    request = urllib.request.Request(
        f"{base}/api/v1/auth/token/",
        data=json.dumps({"email": BENCH_EMAIL, "password": BENCH_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def ratios(runs: dict, references: dict) -> dict:
    """Each endpoint against the reference measured just before it."""
    out = {}
    for name, by_c in references.items():
        out[name] = {
            c: {
                "reference_p50_ms": ref["p50_ms"],
                "reference_p95_ms": ref["p95_ms"],
                "p50_x_reference": round(runs[name][c]["p50_ms"] / ref["p50_ms"], 2),
                "p95_x_reference": round(runs[name][c]["p95_ms"] / ref["p95_ms"], 2),
            }
            for c, ref in by_c.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    args = parser.parse_args()

    _django()
    user = bench_user()
    hashing = hasher_timings()
    print(f"argon2id hash p50 {hashing['hash']['p50_ms']} ms, verify p50 {hashing['verify']['p50_ms']} ms")

    n_tokens = REFRESH_TOKENS_PER_SECOND * args.duration
    runs: dict[str, dict] = {"live": {}, "login": {}, "refresh": {}, "me": {}}
    references: dict[str, dict] = {}
    login_body = json.dumps({"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    json_headers = {"Content-Type": "application/json"}

    load_before = os.getloadavg()
    with server(workers=2, env=SERVER_ENV) as base, tempfile.TemporaryDirectory() as tmp:
        access = login_once(base)["access"]
        me_headers = {"Authorization": f"Bearer {access}"}
        for c in CONCURRENCIES:
            tokens_file = Path(tmp) / f"refresh-{c}.txt"
            tokens_file.write_text("\n".join(mint_refresh_tokens(user, n_tokens)) + "\n")
            # Warm-up of every path (connections, imports, caches) before measuring.
            wrk(f"{base}/health/live/", connections=c, duration_s=2)
            wrk(f"{base}/api/v1/auth/me/", connections=c, duration_s=2, headers=me_headers)

            measure = {
                "login": lambda c=c: wrk(
                    f"{base}/api/v1/auth/token/",
                    connections=c,
                    duration_s=args.duration,
                    method="POST",
                    body=login_body,
                    headers=json_headers,
                ),
                "refresh": lambda c=c, tokens_file=tokens_file: wrk_refresh(
                    f"{base}/api/v1/auth/token/refresh/",
                    tokens_file=tokens_file,
                    connections=c,
                    duration_s=args.duration,
                ),
                "me": lambda c=c: wrk(
                    f"{base}/api/v1/auth/me/", connections=c, duration_s=args.duration, headers=me_headers
                ),
            }
            for name, run in measure.items():
                # The reference right before each endpoint, so both see the same machine load.
                references.setdefault(name, {})[c] = wrk(
                    f"{base}/health/live/", connections=c, duration_s=args.duration
                )
                runs[name][c] = run()
            runs["live"][c] = references["login"][c]
            for name in runs:
                r = runs[name][c]
                print(
                    f"c={c} {name:8s} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  "
                    f"rps {r['rps']:8.1f}  non_2xx {r['non_2xx']}  errors {r['errors']}"
                )
            if runs["refresh"][c]["requests"] > n_tokens:
                print(
                    f"warning: refresh at c={c} ran out of pre-minted tokens; raise REFRESH_TOKENS_PER_SECOND"
                )

    # The bench user's tokens (thousands per run) are of no further use.
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    OutstandingToken.objects.filter(user=user).delete()

    targets = {"login_p95_ms": 75, "refresh_p95_ms": 20, "me_p95_ms": 20}
    path = save(
        "auth",
        {
            "load_generator": {
                "tool": "wrk (closed loop)",
                "threads": 1,
                "connections": list(CONCURRENCIES),
                "duration_s": args.duration,
                "server": "uvicorn, 2 workers, local settings (connection pool), DEBUG off, db kglab",
                "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
                "refresh": "one distinct pre-minted refresh token per request (bench/auth_refresh.lua)",
            },
            "reference": (
                "GET /health/live/ (no database), same server, measured right before each endpoint "
                "at the same concurrency; `runs.live` is the one before login"
            ),
            "password_hashing": hashing,
            "runs": {name: {str(c): r for c, r in by_c.items()} for name, by_c in runs.items()},
            "ratios_to_reference": {
                name: {str(c): v for c, v in by_c.items()} for name, by_c in ratios(runs, references).items()
            },
            "targets": targets,
            "targets_met_at_c1": {
                "login": runs["login"][1]["p95_ms"] < targets["login_p95_ms"],
                "refresh": runs["refresh"][1]["p95_ms"] < targets["refresh_p95_ms"],
                "me": runs["me"][1]["p95_ms"] < targets["me_p95_ms"],
            },
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
