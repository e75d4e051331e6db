"""Graph benchmark: entity list/detail, k-hop neighbours and shortest paths over HTTP on a
graph of 100,000 entities and 1,000,000 relationships, against two references measured in
the same run: the traversal's own SQL timed inside PostgreSQL, and networkx on the same
graph in memory.

    .venv/bin/python -m bench.graph [--duration 8] [--reload]

- Data: `bench.graph_load` (database `kglab_bench`, created, migrated and loaded on first
  use; a second owner's graph shares names with the first and must never be reached).
- Server: `bench.common.server(workers=2)` (uvicorn, local settings with DEBUG off) on
  `kglab_bench` through the settings' connection pool, throttles raised; every request carries
  a real JWT.
- Load: wrk, closed loop, at 1 and 8 connections (16 too for list and detail), each run
  rotating through sample ids/pairs; then a paced run (a fixed pause per request on 16
  connections) that offers about 500 requests/second to list and detail.
- Neighbours: 40 random entities, depth 1, 2, 3, both directions, limit 500.
- Paths: outgoing shortest paths between pairs whose distance networkx measured as exactly
  4, 5 and 6 hops (12 pairs each); every HTTP answer is checked against that length first.
- SQL reference: each traversal's statements (captured from the same code the endpoint runs)
  replayed with EXPLAIN (ANALYZE, TIMING OFF); planning + execution time summed per traversal.
  "in_process" is the traversal function called directly (SQL round trips + Python, no HTTP).
- HTTP floor: `/health/live/` (no authentication, no database) under the same load.
- networkx reference: `bfs_edges` with `depth_limit`, stopped at 500 nodes, and
  `bidirectional_shortest_path`, on a DiGraph of the same edges.

Figures go to bench/results/graph.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import networkx as nx

from bench import graph_load
from bench.common import ROOT, WRK_SCRIPT, save, server, summarize_ms, wrk

SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "THROTTLE_ANON": "100000000/min",
    "THROTTLE_USER": "100000000/min",
    "JWT_ACCESS_MINUTES": "240",
}
NEIGHBOR_SAMPLES = 40
NEIGHBOR_LIMIT = 500
PATH_DISTANCES = (4, 5, 6)
PAIRS_PER_DISTANCE = 12
CONCURRENCIES = (1, 8)
THROUGHPUT_CONCURRENCY = 16
PACED_CONNECTIONS = 16
PACED_TARGET_RPS = 500
PACED_SCRIPT = ROOT / "bench" / "graph_paced.lua"
TARGETS_MS = {"traversal_c1": 50, "traversal_c8": 200, "list_detail": 50}


# --- reference graph -----------------------------------------------------------------------


def reference_graph() -> nx.DiGraph:
    graph = graph_load.owner_a_graph()
    reference = nx.DiGraph()
    reference.add_nodes_from(range(graph.first_id, graph.first_id + graph.entities))
    reference.add_edges_from(
        zip((graph.sources + graph.first_id).tolist(), (graph.targets + graph.first_id).tolist(), strict=True)
    )
    return reference


def path_pairs(reference: nx.DiGraph, rng: random.Random) -> dict[int, list[tuple[int, int]]]:
    """Pairs (source, target) whose outgoing shortest-path length is exactly 4, 5 and 6."""
    pairs: dict[int, list[tuple[int, int]]] = {d: [] for d in PATH_DISTANCES}
    nodes = list(reference.nodes)
    while any(len(found) < PAIRS_PER_DISTANCE for found in pairs.values()):
        source = rng.choice(nodes)
        lengths = nx.single_source_shortest_path_length(reference, source, cutoff=max(PATH_DISTANCES))
        for distance in PATH_DISTANCES:
            at = sorted(n for n, d in lengths.items() if d == distance)
            if at and len(pairs[distance]) < PAIRS_PER_DISTANCE:
                pairs[distance].append((source, rng.choice(at)))
    return pairs


def networkx_neighbors(graph: nx.Graph, source: int, depth: int, limit: int) -> int:
    """Breadth-first to `depth`, stopped after `limit` neighbours, like the endpoint."""
    reached = 0
    for _ in nx.bfs_edges(graph, source, depth_limit=depth):
        reached += 1
        if reached >= limit:
            break
    return reached


def timed(calls: list[Callable[[], object]], repeats: int = 1) -> dict:
    samples = []
    for _ in range(repeats):
        for call in calls:
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
    return summarize_ms(samples)


# --- SQL reference -------------------------------------------------------------------------


def sql_reference(calls: list[Callable[[], object]]) -> dict:
    """Per traversal: the function called in-process, and the sum of planning + execution
    time of its statements replayed with EXPLAIN ANALYZE (PostgreSQL alone)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    in_process, in_database, statements = [], [], []
    for call in calls:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            in_process.append(time.perf_counter() - started)
        total_ms = 0.0
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {query['sql']}")
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                total_ms += plan[0]["Planning Time"] + plan[0]["Execution Time"]
        in_database.append(total_ms / 1000)
        statements.append(len(captured.captured_queries))
    return {
        "in_process": summarize_ms(in_process),
        "sql_in_postgresql": summarize_ms(in_database),
        "statements_per_traversal_max": max(statements),
    }


# --- HTTP ----------------------------------------------------------------------------------


def access_token() -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    owner, _ = graph_load.bench_users()
    return str(RefreshToken.for_user(owner).access_token)


def get_json(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def paced(url: str, *, paths: list[str], headers: dict[str, str], duration_s: int) -> dict:
    """wrk with a fixed pause before each request: about PACED_TARGET_RPS offered."""
    delay_ms = round(1000 * PACED_CONNECTIONS / PACED_TARGET_RPS)
    env = {
        **os.environ,
        "WRK_SHARED_SCRIPT": str(WRK_SCRIPT),
        "WRK_DELAY_MS": str(delay_ms),
        "WRK_METHOD": "GET",
        "WRK_PATHS": ",".join(paths),
        "WRK_HEADERS": "|".join(f"{k}: {v}" for k, v in headers.items()),
    }
    cmd = [
        "wrk",
        "-t2",
        f"-c{PACED_CONNECTIONS}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(PACED_SCRIPT),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result.update(
        {
            "connections": PACED_CONNECTIONS,
            "delay_ms_per_request": delay_ms,
            "offered_rps_at_zero_latency": round(1000 * PACED_CONNECTIONS / delay_ms),
        }
    )
    return result


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--reload", action="store_true", help="load the graph again")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    os.environ.update({k: v for k, v in SERVER_ENV.items() if k.startswith("JWT")})
    load_timings = graph_load.ensure_loaded(reload=args.reload)

    from entities.models import Entity
    from relationships import traversal

    rng = random.Random(7)
    print("building the networkx reference graph ...", file=sys.stderr)
    reference = reference_graph()
    undirected = reference.to_undirected(as_view=True)
    sample_ids = rng.sample(
        range(graph_load.OWNER_A_FIRST_ID, graph_load.OWNER_A_FIRST_ID + 100_000), NEIGHBOR_SAMPLES
    )
    pairs = path_pairs(reference, rng)
    entities = Entity.objects.in_bulk({*sample_ids, *(e for ps in pairs.values() for p in ps for e in p)})

    figures: dict = {
        "graph": {
            "entities": 100_000,
            "relationships": 1_000_000,
            "second_owner": {"entities": 10_000, "relationships": 50_000},
            "load_seconds": load_timings,
        },
        "settings": {
            "server": "uvicorn, 2 workers, local settings, DEBUG off, database kglab_bench",
            "load_generator": f"wrk closed loop, {args.duration}s per run, 1 thread",
            "neighbor_samples": NEIGHBOR_SAMPLES,
            "neighbor_limit": NEIGHBOR_LIMIT,
            "pairs_per_distance": PAIRS_PER_DISTANCE,
            "path_direction": "outgoing",
        },
        "scenarios": {},
    }

    scenarios: dict[str, dict] = {}
    for depth in (1, 2, 3):
        name = f"neighbors_depth{depth}"
        calls = [
            lambda e=entities[i], d=depth: traversal.neighbors(entity=e, depth=d, limit=NEIGHBOR_LIMIT)
            for i in sample_ids
        ]
        nx_calls = [
            lambda i=i, d=depth: networkx_neighbors(undirected, i, d, NEIGHBOR_LIMIT) for i in sample_ids
        ]
        scenarios[name] = {
            "paths": [
                f"/api/v1/entities/{i}/neighbors/?depth={depth}&limit={NEIGHBOR_LIMIT}" for i in sample_ids
            ],
            "reference": {**sql_reference(calls), "networkx": timed(nx_calls, repeats=3)},
        }
    for distance, found in pairs.items():
        name = f"path_{distance}_hops"
        calls = [
            lambda s=entities[s], t=entities[t]: traversal.shortest_path(
                source=s, target=t, direction="outgoing"
            )
            for s, t in found
        ]
        nx_calls = [lambda s=s, t=t: nx.bidirectional_shortest_path(reference, s, t) for s, t in found]
        scenarios[name] = {
            "paths": [f"/api/v1/graph/path/?source={s}&target={t}&direction=outgoing" for s, t in found],
            "reference": {**sql_reference(calls), "networkx": timed(nx_calls, repeats=3)},
            "pairs": found,
        }
    # The floor of this machine and server in the same run: no auth, no database.
    scenarios["health_live"] = {"paths": ["/health/live/"]}
    scenarios["entity_list"] = {"paths": ["/api/v1/entities/"]}
    scenarios["entity_detail"] = {"paths": [f"/api/v1/entities/{i}/" for i in sample_ids]}

    token = access_token()
    headers = {"Authorization": f"Bearer {token}"}
    with server(workers=2, env={**SERVER_ENV, "DATABASE_URL": graph_load.BENCH_DATABASE_URL}) as base:
        # Correctness first: every path has the length networkx measured, every page answers.
        for distance, found in pairs.items():
            for s, t in found:
                status, body = get_json(
                    f"{base}/api/v1/graph/path/?source={s}&target={t}&direction=outgoing", token
                )
                if status != 200 or body["length"] != distance:
                    sys.exit(f"path {s}->{t}: HTTP {status}, expected {distance} hops, got {body}")
        for name, scenario in scenarios.items():
            status, _ = get_json(base + scenario["paths"][0], token)
            if status != 200:
                sys.exit(f"{name}: HTTP {status} for {scenario['paths'][0]}")

        for name, scenario in scenarios.items():
            print(f"wrk: {name}", file=sys.stderr)
            wrk(
                base + scenario["paths"][0],
                connections=2,
                duration_s=2,
                paths=scenario["paths"],
                headers=headers,
            )
            runs = {
                f"c{c}": wrk(
                    base + scenario["paths"][0],
                    connections=c,
                    duration_s=args.duration,
                    paths=scenario["paths"],
                    headers=headers,
                )
                for c in CONCURRENCIES
            }
            if name in {"entity_list", "entity_detail"}:
                runs[f"c{THROUGHPUT_CONCURRENCY}"] = wrk(
                    base + scenario["paths"][0],
                    connections=THROUGHPUT_CONCURRENCY,
                    duration_s=args.duration,
                    paths=scenario["paths"],
                    headers=headers,
                )
                runs["paced_500rps"] = paced(
                    base + scenario["paths"][0],
                    paths=scenario["paths"],
                    headers=headers,
                    duration_s=args.duration,
                )
            entry = {"http": runs}
            if "reference" in scenario:
                ref = scenario["reference"]
                entry["reference"] = ref
                entry["ratios_p50"] = {
                    "http_c1_vs_in_process": ratio(runs["c1"]["p50_ms"], ref["in_process"]["p50_ms"]),
                    "http_c1_vs_sql": ratio(runs["c1"]["p50_ms"], ref["sql_in_postgresql"]["p50_ms"]),
                    "http_c1_vs_networkx": ratio(runs["c1"]["p50_ms"], ref["networkx"]["p50_ms"]),
                    "sql_vs_networkx": ratio(ref["sql_in_postgresql"]["p50_ms"], ref["networkx"]["p50_ms"]),
                }
            if "pairs" in scenario:
                entry["pairs"] = scenario["pairs"]
            figures["scenarios"][name] = entry

    figures["verdicts"] = verdicts(figures["scenarios"])
    path = save("graph", figures)
    print(f"saved {path}", file=sys.stderr)


def verdicts(scenarios: dict) -> dict:
    traversal_names = ["neighbors_depth3", *[f"path_{d}_hops" for d in PATH_DISTANCES]]
    out = {}
    for name in traversal_names:
        http = scenarios[name]["http"]
        out[name] = {
            "p95_c1_ms": http["c1"]["p95_ms"],
            "p95_c1_under_50ms": http["c1"]["p95_ms"] < TARGETS_MS["traversal_c1"],
            "p95_c8_ms": http["c8"]["p95_ms"],
            "p95_c8_under_200ms": http["c8"]["p95_ms"] < TARGETS_MS["traversal_c8"],
        }
    for name in ("entity_list", "entity_detail"):
        http = scenarios[name]["http"]
        at_500 = [run for run in http.values() if run["rps"] >= PACED_TARGET_RPS and not run["errors"]]
        out[name] = {
            "p95_c1_under_50ms": http["c1"]["p95_ms"] < TARGETS_MS["list_detail"],
            "p95_c8_under_50ms": http["c8"]["p95_ms"] < TARGETS_MS["list_detail"],
            "max_rps": max(run["rps"] for run in http.values()),
            "reached_500_rps": bool(at_500),
            "p95_under_50ms_at_500_rps": any(run["p95_ms"] < TARGETS_MS["list_detail"] for run in at_500),
        }
    return out


if __name__ == "__main__":
    main()
