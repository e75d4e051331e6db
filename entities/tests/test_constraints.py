"""Constraints enforced by the database itself, whatever the application does."""

import pytest
from django.db import IntegrityError, connection, transaction

from entities.tests.factories import make_entity
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


def raw(sql, params):
    """Runs one statement with every constraint checked at once (Django declares foreign keys
    DEFERRABLE INITIALLY DEFERRED, which would postpone the check to the commit)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


ENTITY_INSERT = (
    "INSERT INTO entities_entity (owner_id, name, normalized_name, type, aliases, description, confidence, "
    "metadata, provenance, mention_count, created_via, created_at, updated_at, version) "
    "VALUES (%s, %s, %s, %s, '{}', '', %s, '{}', '[]', 0, 'sql', now(), now(), 1)"
)
EDGE_INSERT = (
    "INSERT INTO relationships_relationship (owner_id, source_id, target_id, type, confidence, metadata, "
    "evidence, valid_from, valid_to, created_via, created_at, updated_at, version) "
    "VALUES (%s, %s, %s, %s, %s, '{}', '[]', %s, %s, 'sql', now(), now(), 1)"
)


def test_entity_rows_are_checked(user):
    raw(ENTITY_INSERT, [user.pk, "Ok", "ok", "person", 0.5])
    for params in (
        [user.pk, "Dup", "ok", "person", 0.5],  # unique (owner, type, normalized_name)
        [user.pk, "Bad", "bad", "person", 1.5],  # confidence above 1
        [user.pk, "Bad", "bad", "person", -0.5],  # confidence below 0
        [user.pk, "Bad", "bad", "Not A Slug", 0.5],  # type is a slug
        [10**9, "Bad", "bad", "person", 0.5],  # owner must exist
    ):
        with pytest.raises(IntegrityError):
            raw(ENTITY_INSERT, params)


def test_relationship_rows_are_checked(user):
    a, b = make_entity(user), make_entity(user)
    raw(EDGE_INSERT, [user.pk, a.pk, b.pk, "knows", 0.5, None, None])
    for params in (
        [user.pk, a.pk, b.pk, "knows", 0.5, None, None],  # unique edge
        [user.pk, a.pk, 10**9, "knows", 0.5, None, None],  # target must exist
        [user.pk, 10**9, b.pk, "knows", 0.5, None, None],  # source must exist
        [user.pk, a.pk, b.pk, "other", 2.0, None, None],  # confidence range
        [user.pk, a.pk, b.pk, "other", 0.5, "2024-02-01", "2024-01-01"],  # period order
        [user.pk, a.pk, b.pk, "Bad Type", 0.5, None, None],  # type slug
    ):
        with pytest.raises(IntegrityError):
            raw(EDGE_INSERT, params)


def test_an_entity_with_edges_cannot_be_deleted_behind_the_services_back(user):
    # `entity_delete` removes the edges first (and records it); raw SQL that skips them fails.
    edge = make_relationship(user)
    with pytest.raises(IntegrityError):
        raw("DELETE FROM entities_entity WHERE id = %s", [edge.source_id])
