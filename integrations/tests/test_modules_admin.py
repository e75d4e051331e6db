"""Modules and dead letters in the Django admin: admins only; registering shows the secret
once; the rotate action replaces it."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password

from integrations.models import DeadLetter, Module
from integrations.services_modules import module_create

pytestmark = pytest.mark.django_db


def test_admin_registers_a_module_and_sees_its_secret_once(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/integrations/module/add/",
        {
            "name": "publisher",
            "kind": "publishing",
            "description": "",
            "scopes": ["publishing:write"],
            "is_active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    module = Module.objects.get(name="publisher")
    assert module.scopes == ["publishing:write"]
    assert module.service_account.is_active
    shown = [str(m) for m in response.context["messages"]]
    secret = shown[0].split("client_secret ")[1].split(" ")[0]
    assert check_password(secret, module.client_secret_hash)


def test_rotate_action_replaces_the_secret(client, admin_user):
    credentials = module_create(name="ai", kind="ai", scopes=[])
    client.force_login(admin_user)

    response = client.post(
        "/admin/integrations/module/",
        {"action": "rotate_secret", "_selected_action": [credentials.module.pk]},
        follow=True,
    )

    assert response.status_code == 200
    module = Module.objects.get(pk=credentials.module.pk)
    assert not check_password(credentials.client_secret, module.client_secret_hash)
    new_secret = next(str(m) for m in response.context["messages"]).split("client_secret ")[1].split(" ")[0]
    assert check_password(new_secret, module.client_secret_hash)


def test_moderators_cannot_open_modules_or_dead_letters(client, moderator):
    DeadLetter.objects.create(task_id="x", task_name="t", queue="default")
    client.force_login(moderator)
    assert client.get("/admin/integrations/module/").status_code == 403
    assert client.get("/admin/integrations/deadletter/").status_code == 403


def test_admin_lists_dead_letters(client, admin_user):
    DeadLetter.objects.create(
        task_id="x", task_name="tests.poison", queue="default", error="PermanentTaskError: bad"
    )
    client.force_login(admin_user)
    response = client.get("/admin/integrations/deadletter/")
    assert response.status_code == 200
    assert b"tests.poison" in response.content


def test_admin_replay_action_reports_letters_it_cannot_replay(client, admin_user):
    letter = DeadLetter.objects.create(task_id="x", task_name="tests.poison", queue="default")
    client.force_login(admin_user)

    response = client.post(
        "/admin/integrations/deadletter/", {"action": "replay", "_selected_action": [letter.pk]}, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"Dead letter {letter.pk}: The original message of this dead letter is not available."]
    assert not DeadLetter.objects.get(pk=letter.pk).is_replayed
