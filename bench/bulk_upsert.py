"""Bulk upsert benchmark: `entity_bulk_upsert` on batches of 1,000 entities, against a
reference measured in the same run: the same work done row by row with the single-entity
services (`entity_create` / `entity_update`, one locked lookup per item), which is what the
bulk service replaces.

    .venv/bin/python -m bench.bulk_upsert [--rounds 5] [--items 1000]

Each round uses fresh names and measures three phases on a fresh owner per implementation:
- create: every item new;
- resend: the same batch again (everything unchanged: no write, no event);
- update: the same keys with a new alias and a new provenance record (every row updated).
Runs in its own database, `kglab_bench_bulk` (created and migrated on first use).
Timings are wall clock in this process (PostgreSQL on loopback, local settings), one batch
per sample; p50/p95 over the rounds; ratio = row-by-row / bulk. The owners and their rows are
removed at the end. Figures go to bench/results/bulk_upsert.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import uuid

import django
import psycopg

from bench.common import ROOT, VENV_BIN

BENCH_DB = "kglab_bench_bulk"
BENCH_DATABASE_URL = os.environ.get(
    "BENCH_BULK_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
)


def ensure_database() -> None:
    """Creates the benchmark's own database if missing and applies every migration to it."""
    base, name = BENCH_DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
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


ensure_database()
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kglab.settings.local")
django.setup()

from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.common import save, summarize_ms  # noqa: E402
from entities.models import Entity, normalize_name  # noqa: E402
from entities.services import entity_bulk_upsert, entity_create, entity_update  # noqa: E402
from kglab.models import Event  # noqa: E402

PHASES = ("create", "resend", "update")


def batch(round_no: int, size: int) -> list[dict]:
    return [
        {
            "name": f"Bench Entity {round_no}-{i}",
            "type": ("person", "organization", "location", "concept")[i % 4],
            "aliases": [f"BE {round_no}-{i}"],
            "confidence": 0.5 + (i % 50) / 100,
            "metadata": {"round": round_no},
            "provenance": [{"source": f"doc-{round_no}", "offsets": [i, i + 5]}],
            "mention_count": 1,
        }
        for i in range(size)
    ]


def updated(items: list[dict]) -> list[dict]:
    return [
        {
            **item,
            "aliases": [*item["aliases"], f"{item['name']} (alt)"],
            "provenance": [{"source": "doc-update", "offsets": [0, 5]}],
        }
        for item in items
    ]


def row_by_row(owner: User, items: list[dict]) -> None:
    """The reference: one transaction, one locked lookup and one write per item."""
    with transaction.atomic():
        for item in items:
            existing = (
                Entity.objects.defer("embedding")
                .select_for_update()
                .filter(owner=owner, type=item["type"], normalized_name=normalize_name(item["name"]))
                .first()
            )
            if existing is None:
                entity_create(owner=owner, via="bulk", **item)
                continue
            aliases = existing.aliases + [a for a in item["aliases"] if a not in existing.aliases]
            provenance = existing.provenance + [p for p in item["provenance"] if p not in existing.provenance]
            entity_update(
                entity=existing,
                data={
                    "aliases": aliases,
                    "provenance": provenance,
                    "confidence": max(existing.confidence, item["confidence"]),
                    "metadata": {**existing.metadata, **item["metadata"]},
                },
            )


def remove_owners(owners: list[User]) -> None:
    """Deletes the bench owners with their entities and events (and nothing else)."""
    ids = [owner.pk for owner in owners]
    with transaction.atomic():
        Event.objects.filter(owner_id__in=ids).delete()
        Entity.objects.filter(owner_id__in=ids).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_user WHERE id = ANY(%s)", [ids])


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    owners = {
        "bulk": User.objects.create_user(email=f"bench-bulk-{tag}@example.test", password=None),
        "row_by_row": User.objects.create_user(email=f"bench-rows-{tag}@example.test", password=None),
    }
    samples = {impl: {phase: [] for phase in PHASES} for impl in owners}
    try:
        for round_no in range(args.rounds):
            items = batch(round_no, args.items)
            for impl, owner in owners.items():
                run = (
                    (lambda owner=owner, items=items: entity_bulk_upsert(owner=owner, items=items))
                    if impl == "bulk"
                    else (lambda owner=owner, items=items: row_by_row(owner, items))
                )
                samples[impl]["create"].append(timed(run))
                samples[impl]["resend"].append(timed(run))
                changed = updated(items)
                samples[impl]["update"].append(
                    timed(
                        (lambda owner=owner, changed=changed: entity_bulk_upsert(owner=owner, items=changed))
                        if impl == "bulk"
                        else (lambda owner=owner, changed=changed: row_by_row(owner, changed))
                    )
                )
            print(f"round {round_no + 1}/{args.rounds} done", flush=True)
        check = entity_bulk_upsert(owner=owners["bulk"], items=updated(batch(0, args.items)))
        assert check.unchanged == args.items, "the update phase must leave a re-sent batch unchanged"
    finally:
        remove_owners(list(owners.values()))

    figures: dict = {"settings": {"rounds": args.rounds, "items_per_batch": args.items}, "phases": {}}
    for phase in PHASES:
        bulk = summarize_ms(samples["bulk"][phase])
        rows = summarize_ms(samples["row_by_row"][phase])
        figures["phases"][phase] = {
            "bulk": bulk,
            "reference_row_by_row": rows,
            "ratio_p50": round(rows["p50_ms"] / bulk["p50_ms"], 2),
            "ratio_p95": round(rows["p95_ms"] / bulk["p95_ms"], 2),
            "bulk_items_per_s_p50": round(args.items / (bulk["p50_ms"] / 1000)),
        }
    save("bulk_upsert", figures)


if __name__ == "__main__":
    main()
