"""relationship_bulk_upsert: ends by id or by (type, name), merge rules, idempotency."""

import pytest
from rest_framework.exceptions import ValidationError

from entities.services import entity_bulk_upsert
from kglab.models import Event
from relationships.models import Relationship
from relationships.services import relationship_bulk_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(user):
    result = entity_bulk_upsert(
        owner=user,
        items=[
            {"name": "Ada Lovelace", "type": "person"},
            {"name": "Charles Babbage", "type": "person"},
            {"name": "Analytical Engine", "type": "product"},
        ],
    )
    return result.objects


def test_ends_by_id_and_by_name_then_idempotent(user, people):
    ada, charles, engine = people
    items = [
        {
            "source": ada.pk,
            "target": charles.pk,
            "type": "collaborated_with",
            "confidence": 0.8,
            "evidence": [{"text": "Ada worked with Babbage", "source": "doc-1"}],
        },
        {
            "source": {"type": "person", "name": "charles  babbage"},
            "target": {"type": "product", "name": "Analytical Engine"},
            "type": "designed",
            "valid_from": "1834-01-01T00:00:00Z",
        },
    ]
    first = relationship_bulk_upsert(owner=user, items=items)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert [(r.source_id, r.target_id) for r in first.objects] == [
        (ada.pk, charles.pk),
        (charles.pk, engine.pk),
    ]
    events = Event.objects.count()
    second = relationship_bulk_upsert(owner=user, items=items)
    assert second.statuses == ["unchanged", "unchanged"]
    assert Event.objects.count() == events

    third = relationship_bulk_upsert(
        owner=user,
        items=[
            {
                "source": ada.pk,
                "target": charles.pk,
                "type": "collaborated_with",
                "confidence": 0.6,
                "evidence": [{"text": "Letters", "source": "doc-2"}],
                "metadata": {"k": 1},
            }
        ],
    )
    assert third.statuses == ["updated"]
    edge = Relationship.objects.get(type="collaborated_with")
    assert edge.confidence == 0.8
    assert len(edge.evidence) == 2
    assert (edge.metadata, edge.version) == ({"k": 1}, 2)


def test_unknown_and_foreign_ends_are_item_errors(user, other_user, people):
    ada, charles, _ = people
    foreign = entity_bulk_upsert(owner=other_user, items=[{"name": "Mallory", "type": "person"}]).objects[0]
    with pytest.raises(ValidationError) as caught:
        relationship_bulk_upsert(
            owner=user,
            items=[
                {"source": ada.pk, "target": charles.pk, "type": "knows"},
                {"source": ada.pk, "target": foreign.pk, "type": "knows"},
                {"source": {"type": "person", "name": "Nobody"}, "target": ada.pk, "type": "knows"},
                {"source": ada.pk, "target": ada.pk, "type": "knows"},
            ],
        )
    errors = caught.value.detail["items"]
    assert errors[0] == {}
    assert errors[1] == {"target": ["Entity not found."]}
    assert errors[2] == {"source": ["Entity not found."]}
    assert "target" in errors[3]
    assert not Relationship.objects.exists()
