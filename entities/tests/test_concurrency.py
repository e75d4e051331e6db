"""Concurrent writers against the live database (each thread has its own connection)."""

import threading

import pytest
from django.db import connection

from entities.models import Entity
from entities.services import entity_bulk_upsert
from entities.tests.factories import make_entity
from kglab.api.concurrency import etag_for
from kglab.api.testing import api_client
from kglab.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(functions):
    """Runs the functions in threads released at the same instant; returns their results."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)
    errors = []

    def worker(index, function):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def test_with_if_match_exactly_one_of_two_writers_wins(user):
    entity = make_entity(user, description="start")
    tag = etag_for(entity)
    url = f"/api/v1/entities/{entity.pk}/"

    def writer(text):
        return lambda: api_client(user).patch(url, {"description": text}, HTTP_IF_MATCH=tag).status_code

    statuses = run_together([writer("first"), writer("second"), writer("third")])
    assert sorted(statuses) == [200, 412, 412]
    entity.refresh_from_db()
    assert entity.version == 2
    assert entity.description in {"first", "second", "third"}
    assert Event.objects.filter(type="entity.updated", aggregate_id=str(entity.pk)).count() == 1


def test_without_if_match_concurrent_patches_of_different_fields_all_land(user):
    entity = make_entity(user, name="Ada", type="person")
    url = f"/api/v1/entities/{entity.pk}/"
    changes = [
        {"description": "Mathematician"},
        {"confidence": 0.42},
        {"aliases": ["Countess"]},
        {"metadata": {"born": 1815}},
        {"mention_count": 7},
    ]

    def writer(change):
        return lambda: api_client(user).patch(url, change).status_code

    assert run_together([writer(change) for change in changes]) == [200] * len(changes)
    entity.refresh_from_db()
    assert entity.description == "Mathematician"
    assert entity.confidence == 0.42
    assert entity.aliases == ["Countess"]
    assert entity.metadata == {"born": 1815}
    assert entity.mention_count == 7
    assert entity.version == 1 + len(changes)


def test_concurrent_bulk_upserts_of_one_key_never_fail_nor_lose_aliases(user):
    def upsert(alias):
        return lambda: entity_bulk_upsert(
            owner=user,
            items=[
                {"name": "Ada Lovelace", "type": "person", "aliases": [alias]},
                {"name": f"Only {alias}", "type": "concept"},
            ],
        ).statuses[0]

    aliases = [f"Alias {i}" for i in range(6)]
    statuses = run_together([upsert(alias) for alias in aliases])
    assert statuses.count("created") == 1
    assert statuses.count("updated") == len(aliases) - 1
    ada = Entity.objects.get(type="person")
    assert sorted(ada.aliases) == aliases
    assert ada.version == len(aliases)
    assert Entity.objects.count() == 1 + len(aliases)
