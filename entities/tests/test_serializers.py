"""The hand-written representations equal DRF's generic field-by-field output."""

from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from entities.api.serializers import EntitySerializer
from entities.tests.factories import make_entity
from relationships.api.serializers import RelationshipSerializer
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


def generic(serializer_class, instance) -> dict:
    return dict(serializers.ModelSerializer.to_representation(serializer_class(), instance))


def test_entity_representation_matches_the_generic_one(user):
    entity = make_entity(
        user,
        name="Ada",
        type="person",
        aliases=["Countess"],
        metadata={"k": [1, 2]},
        provenance=[{"source": "doc"}],
        mention_count=3,
        confidence=0.25,
        actor=user,
    )
    assert EntitySerializer(entity).data == generic(EntitySerializer, entity)
    assert list(EntitySerializer(entity).data) == list(EntitySerializer.Meta.fields)


@pytest.mark.parametrize(
    "period", [(None, None), (datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC))]
)
def test_relationship_representation_matches_the_generic_one(user, period):
    edge = make_relationship(
        user, valid_from=period[0], valid_to=period[1], evidence=[{"text": "t"}], actor=user
    )
    assert RelationshipSerializer(edge).data == generic(RelationshipSerializer, edge)
    assert list(RelationshipSerializer(edge).data) == list(RelationshipSerializer.Meta.fields)
