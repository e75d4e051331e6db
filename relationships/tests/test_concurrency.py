"""Concurrent bulk upserts of the same edges (threads with their own connections)."""

import pytest

from entities.services import entity_bulk_upsert
from entities.tests.test_concurrency import run_together
from relationships.models import Relationship
from relationships.services import relationship_bulk_upsert

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_upserts_of_one_edge_never_fail_nor_lose_evidence(user):
    ada, charles = entity_bulk_upsert(
        owner=user, items=[{"name": "Ada", "type": "person"}, {"name": "Charles", "type": "person"}]
    ).objects

    def upsert(index):
        return lambda: relationship_bulk_upsert(
            owner=user,
            items=[
                {
                    "source": ada.pk,
                    "target": charles.pk,
                    "type": "knows",
                    "confidence": index / 10,
                    "evidence": [{"text": f"letter {index}"}],
                },
                {
                    "source": {"type": "person", "name": "Charles"},
                    "target": {"type": "person", "name": "Ada"},
                    "type": "knows",
                },
            ],
        ).statuses[0]

    statuses = run_together([upsert(i) for i in range(1, 7)])
    assert statuses.count("created") == 1
    assert statuses.count("updated") == 5
    edge = Relationship.objects.get(source=ada, target=charles)
    assert sorted(e["text"] for e in edge.evidence) == [f"letter {i}" for i in range(1, 7)]
    assert edge.confidence == 0.6
    assert Relationship.objects.count() == 2
