"""Dead letters through the admin API and `manage.py replay_dead_letters`, with messages that
really went through RabbitMQ's dead-letter exchange."""

from __future__ import annotations

import json
import uuid

import pytest
from celery import Celery
from django.core.management import CommandError, call_command

from integrations import services_dead_letters
from integrations.models import DeadLetter
from integrations.services_dead_letters import dead_letter_capture, dead_letters_drain
from kglab.celery import app, dead_letter_queue, dead_letter_topology_declare
from kglab.tests.test_celery_support import purge_queues, wait_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations/dead-letters/"


@pytest.fixture(autouse=True)
def empty_queues():
    purge_queues()


def dead_letter_a_message(task_name: str = "tests.poison", args=None) -> str:
    """Sends a task message and has a consumer reject it without requeue, as a worker that
    gives up does: RabbitMQ moves it to `dead_letters`. Returns the task id."""
    result = app.send_task(task_name, args=args if args is not None else [uuid.uuid4().hex], queue="default")
    with app.connection_for_write() as conn:
        dead_letter_topology_declare(conn)
        with conn.channel() as channel:
            queue = app.amqp.queues["default"].bind(channel)
            message = wait_for(lambda: queue.get(no_ack=False), timeout=10)
            assert message.headers["id"] == result.id
            message.reject(requeue=False)
    return result.id


def take_published(queue_name: str = "default"):
    with app.connection_for_write() as conn, conn.channel() as channel:
        queue = app.amqp.queues[queue_name].bind(channel)
        message = wait_for(lambda: queue.get(no_ack=True), timeout=10)
        return message.headers, json.loads(message.body)


def captured_letter(task_name: str = "tests.poison", args=None) -> DeadLetter:
    task_id = dead_letter_a_message(task_name, args)
    wait_for(lambda: dead_letters_drain() or DeadLetter.objects.filter(task_id=task_id).exists(), timeout=10)
    return DeadLetter.objects.get(task_id=task_id)


def test_drain_records_a_dead_lettered_message_with_its_origin():
    letter = captured_letter(args=["abc", 3])

    assert letter.task_name == "tests.poison"
    assert letter.args == ["abc", 3]
    assert letter.queue == "default"
    assert letter.reason == "rejected"
    assert letter.is_captured
    assert letter.message_routing_key == "default"
    assert "x-death" not in letter.message_headers
    assert dead_letters_drain() == 0


def test_a_redelivered_dead_letter_is_recorded_once():
    dead_letter_a_message()
    with app.connection_for_write() as conn, conn.channel() as channel:
        queue = dead_letter_queue.bind(channel)
        message = wait_for(lambda: queue.get(no_ack=False), timeout=10)
        assert dead_letter_capture(message=message) is not None
        assert dead_letter_capture(message=message) is None
        message.ack()
    assert DeadLetter.objects.count() == 1


def test_only_admins_see_dead_letters(anon_client, user_client, moderator_client):
    DeadLetter.objects.create(task_id="t", task_name="tests.poison", queue="default")
    assert anon_client.get(URL).status_code == 401
    assert user_client.get(URL).status_code == 403
    assert moderator_client.get(URL).status_code == 403
    assert moderator_client.post(f"{URL}replay/", {"all": True}, format="json").status_code == 403


def test_list_is_paginated_newest_first_and_filters(admin_client_api):
    old = DeadLetter.objects.create(task_id="a", task_name="tests.poison", queue="default")
    extraction = DeadLetter.objects.create(
        task_id="b", task_name="integrations.tasks.extract_entities", queue="extraction"
    )
    replayed = DeadLetter.objects.create(
        task_id="c", task_name="tests.poison", queue="default", replayed_at="2026-01-01T00:00:00Z"
    )

    page = admin_client_api.get(URL).json()
    assert page["count"] == 3
    assert [row["id"] for row in page["results"]] == [replayed.pk, extraction.pk, old.pk]
    assert page["results"][0]["replayed"] is True

    def ids(**params):
        return [row["id"] for row in admin_client_api.get(URL, params).json()["results"]]

    assert ids(task="integrations.tasks.extract_entities") == [extraction.pk]
    assert ids(queue="default") == [replayed.pk, old.pk]
    assert ids(replayed="false") == [extraction.pk, old.pk]
    assert ids(replayed="true") == [replayed.pk]
    assert admin_client_api.get(f"{URL}{old.pk}/").json()["task_id"] == "a"
    assert admin_client_api.get(f"{URL}999999/").status_code == 404


def test_replay_publishes_the_original_message_once(admin_client_api, admin_user):
    letter = captured_letter(args=["payload"])

    response = admin_client_api.post(f"{URL}{letter.pk}/replay/")

    assert response.status_code == 200
    assert response.json()["replayed"] is True
    assert response.json()["replayed_by"] == admin_user.pk
    headers, body = take_published()
    assert headers["id"] == letter.task_id
    assert headers["task"] == "tests.poison"
    assert headers["retries"] == 0
    assert body[0] == ["payload"]

    again = admin_client_api.post(f"{URL}{letter.pk}/replay/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_replayed"
    assert DeadLetter.objects.get(pk=letter.pk).replay_count == 1


def test_replay_without_the_original_message_is_a_conflict(admin_client_api):
    letter = DeadLetter.objects.create(task_id="gone", task_name="tests.poison", queue="default")

    response = admin_client_api.post(f"{URL}{letter.pk}/replay/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "message_not_captured"
    assert not DeadLetter.objects.get(pk=letter.pk).is_replayed


def test_bulk_replay_by_ids_and_all(admin_client_api):
    first, second, third = (captured_letter() for _ in range(3))

    by_ids = admin_client_api.post(f"{URL}replay/", {"ids": [first.pk]}, format="json")
    assert by_ids.status_code == 200
    assert by_ids.json() == {"replayed": [first.pk], "skipped": []}

    everything = admin_client_api.post(f"{URL}replay/", {"all": True}, format="json")
    assert everything.json() == {"replayed": [second.pk, third.pk], "skipped": []}
    assert not DeadLetter.objects.filter(replayed_at__isnull=True).exists()

    again = admin_client_api.post(f"{URL}replay/", {"ids": [first.pk]}, format="json")
    assert again.json() == {"replayed": [], "skipped": [first.pk]}


@pytest.mark.parametrize("payload", [{}, {"ids": [1], "all": True}, {"ids": []}, {"ids": ["x"]}])
def test_bulk_replay_validates_its_input(admin_client_api, payload):
    response = admin_client_api.post(f"{URL}replay/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_management_command_replays_by_task_and_id(capsys):
    poison = captured_letter("tests.poison")
    other = captured_letter("tests.bug")

    call_command("replay_dead_letters", "--all", "--task", "tests.bug")
    assert DeadLetter.objects.get(pk=other.pk).is_replayed
    assert not DeadLetter.objects.get(pk=poison.pk).is_replayed

    call_command("replay_dead_letters", "--id", str(poison.pk))
    assert DeadLetter.objects.get(pk=poison.pk).is_replayed
    assert "1 replayed, 0 skipped" in capsys.readouterr().out

    with pytest.raises(CommandError, match="not found"):
        call_command("replay_dead_letters", "--id", "999999")
    with pytest.raises(CommandError):
        call_command("replay_dead_letters")


def test_replay_while_the_broker_is_down_is_a_503_and_changes_nothing(admin_client_api, monkeypatch):
    letter = captured_letter()
    dead_broker = Celery("kglab", broker="amqp://guest:guest@127.0.0.1:1//", set_as_current=False)
    dead_broker.conf.broker_connection_timeout = 0.5
    dead_broker.conf.task_queues = app.conf.task_queues
    monkeypatch.setattr(services_dead_letters, "app", dead_broker)

    response = admin_client_api.post(f"{URL}{letter.pk}/replay/")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "broker_unavailable"
    assert not DeadLetter.objects.get(pk=letter.pk).is_replayed
