"""entity_bulk_upsert: the contract the extraction pipeline codes against."""

import pytest
from rest_framework.exceptions import ValidationError

from entities.models import Entity
from entities.services import BULK_MAX_ITEMS, entity_bulk_upsert
from kglab.models import Event

pytestmark = pytest.mark.django_db

BATCH = [
    {
        "name": "Ada Lovelace",
        "type": "person",
        "aliases": ["Countess of Lovelace"],
        "confidence": 0.7,
        "provenance": [{"source": "doc-1", "offsets": [0, 12]}],
        "mention_count": 2,
    },
    {"name": "Analytical Engine", "type": "product", "metadata": {"era": "1830s"}},
]


def test_creates_then_second_identical_batch_is_unchanged(user):
    first = entity_bulk_upsert(owner=user, items=BATCH)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert first.statuses == ["created", "created"]
    assert [e.name for e in first.objects] == ["Ada Lovelace", "Analytical Engine"]
    assert all(e.pk for e in first.objects)
    events = Event.objects.count()
    versions = dict(Entity.objects.values_list("pk", "version"))

    second = entity_bulk_upsert(owner=user, items=BATCH)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert second.statuses == ["unchanged", "unchanged"]
    assert [e.pk for e in second.objects] == [e.pk for e in first.objects]
    assert Event.objects.count() == events
    assert dict(Entity.objects.values_list("pk", "version")) == versions


def test_merge_rules(user):
    entity_bulk_upsert(owner=user, items=BATCH)
    result = entity_bulk_upsert(
        owner=user,
        items=[
            {
                "name": "ada  LOVELACE",
                "type": "person",
                "aliases": ["Ada King", "countess of lovelace", "Ada Lovelace"],
                "confidence": 0.4,
                "description": "Mathematician",
                "provenance": [{"source": "doc-2"}],
                "mention_count": 3,
                "metadata": {"born": 1815},
            }
        ],
    )
    assert result.statuses == ["updated"]
    ada = Entity.objects.get(type="person")
    assert ada.name == "Ada Lovelace"
    assert ada.aliases == ["Countess of Lovelace", "Ada King"]
    assert ada.confidence == 0.7  # max, not the lower new value
    assert ada.description == "Mathematician"
    assert ada.mention_count == 5
    assert ada.metadata == {"born": 1815}
    assert ada.version == 2
    assert [p["source"] for p in ada.provenance] == ["doc-1", "doc-2"]

    # Same provenance again: mention_count is not added a second time.
    again = entity_bulk_upsert(
        owner=user,
        items=[
            {
                "name": "Ada Lovelace",
                "type": "person",
                "provenance": [{"source": "doc-2"}],
                "mention_count": 3,
            }
        ],
    )
    assert again.statuses == ["unchanged"]
    ada.refresh_from_db()
    assert ada.mention_count == 5


def test_items_with_one_key_are_combined_first(user):
    result = entity_bulk_upsert(
        owner=user,
        items=[
            {"name": "IBM", "type": "organization", "confidence": 0.5, "mention_count": 1},
            {
                "name": "ibm",
                "type": "organization",
                "confidence": 0.9,
                "aliases": ["Big Blue"],
                "mention_count": 2,
            },
        ],
    )
    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    assert result.statuses == ["created", "created"]
    assert result.objects[0] is result.objects[1]
    ibm = Entity.objects.get()
    assert (ibm.confidence, ibm.aliases, ibm.mention_count) == (0.9, ["Big Blue"], 3)
    assert Event.objects.filter(type="entity.created").count() == 1


def test_validation_names_the_item_and_writes_nothing(user):
    with pytest.raises(ValidationError) as caught:
        entity_bulk_upsert(
            owner=user,
            items=[BATCH[0], {"name": "x", "type": "Not A Slug"}, {"type": "person", "confidence": 2}],
        )
    errors = caught.value.detail["items"]
    assert errors[0] == {}
    assert "type" in errors[1]
    assert set(errors[2]) == {"name", "confidence"}
    assert not Entity.objects.exists()
    assert not Event.objects.exists()


def test_batch_size_limit(user):
    with pytest.raises(ValidationError):
        entity_bulk_upsert(
            owner=user, items=[{"name": f"n{i}", "type": "concept"} for i in range(BULK_MAX_ITEMS + 1)]
        )
    with pytest.raises(ValidationError):
        entity_bulk_upsert(owner=user, items=[])


def test_owners_are_separate(user, other_user):
    entity_bulk_upsert(owner=user, items=BATCH)
    result = entity_bulk_upsert(owner=other_user, items=BATCH)
    assert result.created == 2
    assert Entity.objects.count() == 4
