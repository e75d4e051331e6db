"""Django admin for moderators: searching, filtering, edge inlines, merge action, edits via services."""

import pytest
from django.test import Client

from entities.models import Entity
from entities.tests.factories import make_entity
from kglab.models import Event
from relationships.models import Relationship
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator_browser(moderator):
    client = Client()
    client.force_login(moderator)
    return client


def test_moderator_searches_and_filters_entities(moderator_browser, user, other_user):
    ada = make_entity(user, name="Ada Lovelace", type="person", confidence=0.9)
    make_entity(other_user, name="IBM", type="organization", confidence=0.2)
    page = moderator_browser.get("/admin/entities/entity/", {"q": "lovelace"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [ada]
    assert list(
        moderator_browser.get("/admin/entities/entity/", {"confidence_band": "high"})
        .context["cl"]
        .result_list
    ) == [ada]
    assert list(
        moderator_browser.get("/admin/entities/entity/", {"type": "person"}).context["cl"].result_list
    ) == [ada]
    assert list(
        moderator_browser.get("/admin/entities/entity/", {"owner__id__exact": user.pk})
        .context["cl"]
        .result_list
    ) == [ada]


def test_entity_page_shows_edges_in_both_directions(moderator_browser, user):
    hub = make_entity(user, name="Hub")
    make_relationship(user, source=hub, target=make_entity(user, name="Downstream"), type="feeds")
    make_relationship(user, source=make_entity(user, name="Upstream"), target=hub, type="cites")
    page = moderator_browser.get(f"/admin/entities/entity/{hub.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "outgoing relationships" in html.lower()
    assert "Downstream" in html
    assert "Upstream" in html


def test_merge_action_folds_into_the_most_confident(moderator_browser, user):
    weak = make_entity(user, name="A. Lovelace", type="person", confidence=0.3)
    strong = make_entity(user, name="Ada Lovelace", type="person", confidence=0.9)
    edge = make_relationship(user, source=weak, type="knows")
    response = moderator_browser.post(
        "/admin/entities/entity/",
        {"action": "merge_selected", "_selected_action": [weak.pk, strong.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert not Entity.objects.filter(pk=weak.pk).exists()
    strong.refresh_from_db()
    assert "A. Lovelace" in strong.aliases
    assert Relationship.objects.get(pk=edge.pk).source_id == strong.pk
    assert Event.objects.filter(type="entity.merged", aggregate_id=str(strong.pk)).exists()


def test_merge_across_owners_is_refused_with_a_message(moderator_browser, user, other_user):
    a = make_entity(user, name="Same", confidence=0.9)
    b = make_entity(other_user, name="Same", confidence=0.1)
    response = moderator_browser.post(
        "/admin/entities/entity/", {"action": "merge_selected", "_selected_action": [a.pk, b.pk]}, follow=True
    )
    assert "Not merged" in response.content.decode()
    assert Entity.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_admin_edit_and_delete_go_through_services(moderator_browser, user):
    entity = make_entity(user, name="Ada", type="person")
    response = moderator_browser.post(
        f"/admin/entities/entity/{entity.pk}/change/",
        {
            "name": "Ada",
            "type": "person",
            "aliases": "",
            "description": "Mathematician",
            "confidence": "0.5",
            "metadata": "{}",
            "provenance": "[]",
            "mention_count": "0",
            "outgoing-TOTAL_FORMS": "0",
            "outgoing-INITIAL_FORMS": "0",
            "incoming-TOTAL_FORMS": "0",
            "incoming-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entity.refresh_from_db()
    assert (entity.description, entity.confidence, entity.version) == ("Mathematician", 0.5, 2)
    assert Event.objects.filter(type="entity.updated", aggregate_id=str(entity.pk)).exists()

    edge = make_relationship(user, source=entity)
    response = moderator_browser.post(f"/admin/entities/entity/{entity.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Relationship.objects.filter(pk=edge.pk).exists()
    assert Event.objects.get(type="entity.deleted", aggregate_id=str(entity.pk)).payload[
        "deleted_relationship_ids"
    ] == [edge.pk]


def test_relationship_changelist(moderator_browser, user):
    edge = make_relationship(user, type="knows", confidence=0.1)
    page = moderator_browser.get(
        "/admin/relationships/relationship/", {"confidence_band": "low", "type": "knows"}
    )
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [edge]


def test_a_refused_admin_change_is_a_message_not_a_server_error(moderator_browser, user):
    make_entity(user, name="Ada", type="person")
    other = make_entity(user, name="Grace", type="person")
    response = moderator_browser.post(
        f"/admin/entities/entity/{other.pk}/change/",
        {
            "name": "ADA",
            "type": "person",
            "aliases": "",
            "description": "",
            "confidence": "1",
            "metadata": "{}",
            "provenance": "[]",
            "mention_count": "0",
            "outgoing-TOTAL_FORMS": "0",
            "outgoing-INITIAL_FORMS": "0",
            "incoming-TOTAL_FORMS": "0",
            "incoming-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Not saved: An entity with this type and name already exists" in response.content.decode()
    other.refresh_from_db()
    assert (other.name, other.version) == ("Grace", 1)


def test_admin_refuses_an_edge_between_two_owners(moderator_browser, user, other_user):
    a, b = make_entity(user), make_entity(other_user)
    response = moderator_browser.post(
        "/admin/relationships/relationship/add/",
        {
            "owner": user.pk,
            "source": a.pk,
            "target": b.pk,
            "type": "knows",
            "confidence": "1",
            "metadata": "{}",
            "evidence": "[]",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Not saved" in response.content.decode()
    assert not Relationship.objects.exists()
