"""Every migration applies on an empty database, reverses to zero and applies again."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

OUR_APPS = ["accounts", "kglab", "entities", "relationships", "publishing", "integrations"]


@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_to_zero_and_forward_again():
    def tables() -> set[str]:
        return set(connection.introspection.table_names())

    assert "entities_entity" in tables()
    for app in reversed(OUR_APPS):
        call_command("migrate", app, "zero", verbosity=0)
    remaining = {t for t in tables() if t.split("_", 1)[0] in OUR_APPS}
    assert remaining == set()
    call_command("migrate", verbosity=0)
    assert {"entities_entity", "relationships_relationship", "kglab_event", "accounts_user"} <= tables()
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
