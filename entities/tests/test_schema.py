"""The schema the graph relies on: indexes exist, are built without blocking writes, and
the queries that need them can use them."""

import importlib

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import connection, transaction

from entities.models import Entity
from entities.selectors import entity_search

pytestmark = pytest.mark.django_db

INDEXES = {
    "entities_entity": {
        "entities_entity_unique_name",
        "entities_owner_id",
        "entities_owner_type",
        "entities_name_trgm",
        "entities_aliases",
        "entities_search_fts",
        "entities_embedding_hnsw",
    },
    "relationships_relationship": {
        "relationships_unique_edge",
        "relationships_owner_id",
        "relationships_source_type",
        "relationships_target_type",
        "relationships_incoming_edge",
    },
}


def test_indexes_exist():
    with connection.cursor() as cursor:
        for table, names in INDEXES.items():
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
            assert names <= {row[0] for row in cursor.fetchall()}, table


@pytest.mark.parametrize(
    "module",
    ["entities.migrations.0002_search_and_owner_indexes", "relationships.migrations.0002_owner_id_index"],
)
def test_index_migrations_build_concurrently(module):
    migration = importlib.import_module(module).Migration
    assert migration.atomic is False
    assert any(isinstance(op, AddIndexConcurrently) for op in migration.operations)


def explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # On a handful of rows a sequential scan is cheapest; forbid it to see which index
        # the planner can use for this query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_full_text_search_can_use_its_indexes():
    # Across owners (a moderator's search) nothing narrows the rows first, so both halves of
    # the match must come from their indexes: the query's expression is the indexed one.
    plan = explain(entity_search(queryset=Entity.objects.all(), q="lovelace"))
    assert "entities_search_fts" in plan
    assert "entities_name_trgm" in plan
