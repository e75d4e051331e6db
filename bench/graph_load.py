"""Loads the synthetic graph of the graph benchmark into its own database, `kglab_bench`.

    .venv/bin/python -m bench.graph_load [--reload]

The database is created and migrated if needed; the `kglab` and test databases are never
touched. The graph is generated from a fixed seed, so the benchmark can rebuild the very same
graph in memory (networkx reference) without reading it back:

- owner A: 100,000 entities and 1,000,000 relationships. Sources are drawn half uniformly and
  half from a Zipf-like weight (rank^-0.8) over a shuffled ranking, targets from the same
  weight: in- and out-degrees are heavy-tailed (hubs with thousands of relationships next to
  entities with one or two), and the graph is full of cycles.
- owner B: 10,000 entities with the same names as owner A's first 10,000, and 50,000
  relationships: a second graph "connected by name" that traversals must never reach.

Rows go in with COPY (psycopg 3 `cursor.copy`); the secondary indexes of both tables are
dropped before the load and rebuilt after it, and their foreign keys are dropped and added
again (one validating join instead of a trigger per row); primary keys and unique constraints
stay. Then both tables are VACUUMed and ANALYZEd.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from bench.common import ROOT, VENV_BIN

BENCH_DB = "kglab_bench"
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}")
SEED = 20240611
OWNER_A_EMAIL = "graph-bench-a@example.test"
OWNER_B_EMAIL = "graph-bench-b@example.test"
ENTITY_TYPES = ["person", "organization", "location", "product", "event", "concept"]
RELATION_TYPES = ["related_to", "works_for", "located_in", "part_of", "knows", "mentions", "founded", "owns"]
# Entity ids are fixed so the in-memory reference and the database agree without a lookup.
OWNER_A_FIRST_ID = 1
OWNER_B_FIRST_ID = 1_000_001


@dataclass(frozen=True)
class SyntheticGraph:
    first_id: int
    entities: int
    sources: np.ndarray  # entity index (0-based) of each relationship's source
    targets: np.ndarray
    types: np.ndarray  # index into RELATION_TYPES
    confidences: np.ndarray

    def entity_id(self, index: int) -> int:
        return self.first_id + int(index)


def generate(*, entities: int, relationships: int, first_id: int, seed: int) -> SyntheticGraph:
    """A directed multigraph with heavy-tailed degrees; (source, target, type) unique and no
    self-loops, as the database requires."""
    rng = np.random.default_rng(seed)
    rank = rng.permutation(entities) + 1
    weight = rank.astype(np.float64) ** -0.8
    weight /= weight.sum()
    draw = int(relationships * 1.15)  # duplicates and self-loops are dropped below
    half = draw // 2
    sources = np.concatenate([rng.integers(0, entities, half), rng.choice(entities, draw - half, p=weight)])
    targets = rng.choice(entities, draw, p=weight)
    types = rng.integers(0, len(RELATION_TYPES), draw)
    keep = sources != targets
    sources, targets, types = sources[keep], targets[keep], types[keep]
    key = (sources.astype(np.int64) * entities + targets) * len(RELATION_TYPES) + types
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)[:relationships]
    if len(first) < relationships:
        raise RuntimeError("not enough distinct relationships drawn; raise the oversampling")
    confidences = np.round(rng.uniform(0.3, 1.0, len(first)), 3)
    return SyntheticGraph(first_id, entities, sources[first], targets[first], types[first], confidences)


def owner_a_graph() -> SyntheticGraph:
    return generate(entities=100_000, relationships=1_000_000, first_id=OWNER_A_FIRST_ID, seed=SEED)


def owner_b_graph() -> SyntheticGraph:
    return generate(entities=10_000, relationships=50_000, first_id=OWNER_B_FIRST_ID, seed=SEED + 1)


def entity_name(index: int) -> str:
    return f"Entity {index}"


def ensure_database() -> None:
    """Creates `kglab_bench` if missing and applies every migration to it."""
    import psycopg

    base = BENCH_DATABASE_URL.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": BENCH_DATABASE_URL,
            "DJANGO_SETTINGS_MODULE": "kglab.settings.local",
        },
        check=True,
    )


def setup_django() -> None:
    """Points Django at the benchmark database (must run before any model import)."""
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kglab.settings.local")
    import django

    django.setup()


def bench_users():
    from accounts.models import Role, User

    users = []
    for email in (OWNER_A_EMAIL, OWNER_B_EMAIL):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=None, role=Role.USER)
        users.append(user)
    return users


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.tablename = %s AND NOT EXISTS ("
        "   SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [table],
    )
    return cursor.fetchall()


def _foreign_keys(cursor, tables: list[str]) -> list[tuple[str, str, str]]:
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        [tables],
    )
    return cursor.fetchall()


def _copy_entities(cursor, graph: SyntheticGraph, owner_id: int, now: str) -> None:
    from entities.models import Entity, normalize_name

    columns = (
        "id, owner_id, created_at, updated_at, version, name, normalized_name, type, aliases,"
        " description, confidence, metadata, provenance, mention_count, created_via"
    )
    with cursor.copy(f"COPY {Entity._meta.db_table} ({columns}) FROM STDIN") as copy:
        for index in range(graph.entities):
            name = entity_name(index)
            copy.write_row(
                (
                    graph.entity_id(index),
                    owner_id,
                    now,
                    now,
                    1,
                    name,
                    normalize_name(name),
                    ENTITY_TYPES[index % len(ENTITY_TYPES)],
                    "{}",
                    "",
                    1.0,
                    "{}",
                    "[]",
                    0,
                    "bench",
                )
            )


def _copy_relationships(cursor, graph: SyntheticGraph, owner_id: int, first_rel_id: int, now: str) -> int:
    from relationships.models import Relationship

    columns = (
        "id, owner_id, created_at, updated_at, version, source_id, target_id, type, confidence,"
        " metadata, evidence, created_via"
    )
    lines = []
    sources = graph.sources + graph.first_id
    targets = graph.targets + graph.first_id
    for offset, (source, target, rtype, confidence) in enumerate(
        zip(sources.tolist(), targets.tolist(), graph.types.tolist(), graph.confidences.tolist(), strict=True)
    ):
        lines.append(
            f"{first_rel_id + offset}\t{owner_id}\t{now}\t{now}\t1\t{source}\t{target}\t"
            f"{RELATION_TYPES[rtype]}\t{confidence}\t{{}}\t[]\tbench\n"
        )
    with cursor.copy(f"COPY {Relationship._meta.db_table} ({columns}) FROM STDIN") as copy:
        for start in range(0, len(lines), 50_000):
            copy.write("".join(lines[start : start + 50_000]))
    return first_rel_id + len(lines)


def is_loaded() -> bool:
    from entities.models import Entity
    from relationships.models import Relationship

    a, b = bench_users()
    return (
        Entity.objects.filter(owner=a).count() == 100_000
        and Relationship.objects.filter(owner=a).count() == 1_000_000
        and Entity.objects.filter(owner=b).count() == 10_000
    )


def load() -> dict:
    """(Re)loads both owners' graphs; returns timings in seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from entities.models import Entity
    from relationships.models import Relationship

    a, b = bench_users()
    graphs = [(owner_a_graph(), a), (owner_b_graph(), b)]
    now = timezone.now().isoformat()
    timings = {}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        tables = [Relationship._meta.db_table, Entity._meta.db_table]
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        indexes = [index for table in tables for index in _secondary_indexes(cursor, table)]
        foreign_keys = _foreign_keys(cursor, tables)
        for table, name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        raw = cursor.cursor  # psycopg 3 cursor: COPY support
        for graph, owner in graphs:
            _copy_entities(raw, graph, owner.pk, now)
        timings["copy_entities_s"] = round(time.perf_counter() - started, 2)
        next_rel_id = 1
        for graph, owner in graphs:
            next_rel_id = _copy_relationships(raw, graph, owner.pk, next_rel_id, now)
        timings["copy_relationships_s"] = round(time.perf_counter() - started - timings["copy_entities_s"], 2)
        index_started = time.perf_counter()
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        timings["rebuild_indexes_s"] = round(time.perf_counter() - index_started, 2)
        check_started = time.perf_counter()
        # Re-adding a foreign key checks every row in one join: far cheaper than a trigger per row.
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        timings["check_foreign_keys_s"] = round(time.perf_counter() - check_started, 2)
        for table in tables:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM " + table + "))",
                [table],
            )
    # VACUUM sets the visibility map (as autovacuum would on a live system), which lets
    # index-only scans skip the table.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Entity._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {Relationship._meta.db_table}")
    timings["total_s"] = round(time.perf_counter() - started, 2)
    return timings


def ensure_loaded(*, reload: bool = False) -> dict | None:
    """Creates, migrates and loads the benchmark database unless it already holds the graph."""
    ensure_database()
    setup_django()
    if not reload and is_loaded():
        return None
    return load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reload", action="store_true", help="load again even if the graph is there")
    args = parser.parse_args()
    timings = ensure_loaded(reload=args.reload)
    print("graph already loaded" if timings is None else f"loaded: {timings}", file=sys.stderr)


if __name__ == "__main__":
    main()
