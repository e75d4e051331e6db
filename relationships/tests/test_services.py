"""Relationship services: updates, ends, and edge redirection during merges."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import ValidationError

from entities.services import entity_merge
from entities.tests.factories import make_entity
from kglab.api.exceptions import Conflict
from kglab.api.testing import assert_error
from relationships.models import Relationship
from relationships.services import relationship_update
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


def test_update_onto_an_existing_edge_is_409(user):
    a, b = make_entity(user), make_entity(user)
    first = make_relationship(user, source=a, target=b, type="knows")
    second = make_relationship(user, source=a, target=b, type="likes")
    with pytest.raises(Conflict) as caught:
        relationship_update(relationship=second, data={"type": "knows"})
    assert caught.value.detail["existing_id"] == first.pk
    second.refresh_from_db()
    assert (second.type, second.version) == ("likes", 1)


def test_update_cannot_move_an_end_to_another_owner(user, other_user):
    edge = make_relationship(user)
    with pytest.raises(ValidationError):
        relationship_update(relationship=edge, data={"target": make_entity(other_user)})


def test_patch_end_to_a_foreign_entity_is_not_found(user_client, user, other_user):
    edge = make_relationship(user)
    foreign = make_entity(other_user)
    details = assert_error(
        user_client.patch(f"/api/v1/relationships/{edge.pk}/", {"target": foreign.pk}),
        400,
        "validation_error",
    )
    assert details["fields"]["target"] == ["Entity not found."]


def test_merging_several_entities_redirects_and_combines_every_edge(user):
    survivor, dup1, dup2 = (make_entity(user, name=n, type="person") for n in ("Ada", "A. L.", "Lovelace"))
    x, y = make_entity(user, name="X"), make_entity(user, name="Y")
    make_relationship(user, source=dup1, target=x, type="knows", confidence=0.3)
    make_relationship(user, source=dup2, target=x, type="knows", confidence=0.6, evidence=[{"t": 2}])
    make_relationship(user, source=y, target=dup2, type="cites")
    make_relationship(user, source=dup1, target=dup2, type="same_as")  # becomes a self-loop
    make_relationship(user, source=dup2, target=dup1, type="knows")  # becomes a self-loop
    make_relationship(user, source=survivor, target=y, type="knows")  # untouched

    result = entity_merge(survivor=survivor, merge_ids=[dup1.pk, dup2.pk])
    assert result["relationships"] == {"redirected": 2, "combined": 1, "dropped_self_loops": 2}
    edges = {(r.source_id, r.target_id, r.type): r for r in Relationship.objects.all()}
    assert set(edges) == {
        (survivor.pk, x.pk, "knows"),
        (y.pk, survivor.pk, "cites"),
        (survivor.pk, y.pk, "knows"),
    }
    combined = edges[(survivor.pk, x.pk, "knows")]
    assert combined.confidence == 0.6
    assert combined.evidence == [{"t": 2}]
    assert edges[(survivor.pk, y.pk, "knows")].version == 1


def test_update_reads_no_entity_unless_an_end_changes(user):
    edge = make_relationship(user)
    with CaptureQueriesContext(connection) as queries:
        relationship_update(relationship=edge, data={"confidence": 0.3})
    assert not [q for q in queries if '"entities_entity"' in q["sql"]]
