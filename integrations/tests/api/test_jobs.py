"""The extraction job endpoints: submission and its validation, listing with filters, detail,
retry, and owner isolation."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.models import ExtractionJob
from integrations.services import extraction_job_fail, extraction_job_run, extraction_jobs_submit

pytestmark = pytest.mark.django_db

URL = "/api/v1/extraction/jobs/"
TEXT = "Marie Curie worked at the University of Paris."


def detail_url(job) -> str:
    return f"{URL}{job.pk}/"


def submit(owner, count=1, text=TEXT) -> list[ExtractionJob]:
    _, jobs = extraction_jobs_submit(owner=owner, documents=[{"text": f"{text} ({i})"} for i in range(count)])
    return jobs


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_anonymous_requests_are_refused(anon_client):
    assert_error(anon_client.get(URL), 401, "not_authenticated")
    assert_error(anon_client.post(URL, {"text": TEXT}), 401, "not_authenticated")


def test_one_document_is_accepted_and_enqueued_after_commit(
    user, user_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = user_client.post(URL, {"text": TEXT, "title": "Curie", "source": "https://example.test/1"})
    assert response.status_code == 202, response.content
    body = response.json()
    [job_body] = body["jobs"]
    assert job_body["status"] == "queued"
    assert job_body["batch_id"] == body["batch_id"]
    job = ExtractionJob.objects.get(pk=job_body["id"])
    assert job.owner == user
    assert (job.text, job.title, job.source) == (TEXT, "Curie", "https://example.test/1")
    assert str(job.batch_id) == body["batch_id"]
    assert len(callbacks) == 1  # published only once the rows are committed


def test_a_batch_shares_one_batch_id(user_client, django_capture_on_commit_callbacks):
    documents = [
        {"text": f"{TEXT} Number {i}.", "source": f"doc-{i}"} for i in range(settings.EXTRACTION_MAX_BATCH)
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = user_client.post(URL, {"documents": documents})
    assert response.status_code == 202
    body = response.json()
    assert len(body["jobs"]) == settings.EXTRACTION_MAX_BATCH
    jobs = ExtractionJob.objects.filter(batch_id=body["batch_id"]).order_by("id")
    assert [j.source for j in jobs] == [d["source"] for d in documents]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"title": "no text"}, "text"),
        ({}, "text"),
        ({"text": "x" * (100_000 + 1)}, "text"),
        ({"documents": []}, "documents"),
        ({"documents": [{"text": "fine"}, {"text": ""}]}, "documents"),
        ({"documents": [{"text": "fine"}] * 101}, "documents"),
        ({"documents": "not a list"}, "documents"),
        ({"documents": [{"text": "fine"}], "text": "also"}, "non_field_errors"),
    ],
    ids=[
        "empty",
        "blank",
        "missing",
        "no-body",
        "too-long",
        "empty-batch",
        "empty-text-in-batch",
        "over-100",
        "not-a-list",
        "both-shapes",
    ],
)
def test_bad_submissions_are_400_and_write_nothing(user_client, payload, field):
    error = assert_error(user_client.post(URL, payload, format="json"), 400, "validation_error")
    assert field in error["details"]["fields"]
    assert not ExtractionJob.objects.exists()


def test_list_is_paginated_and_shows_only_your_jobs(user, other_user, user_client):
    mine = submit(user, count=3)
    submit(other_user, count=2)
    body = user_client.get(URL, {"page_size": 2}).json()
    assert body["count"] == 3
    assert body["total_pages"] == 2
    assert [j["id"] for j in body["results"]] == [mine[2].pk, mine[1].pk]
    assert "text" not in body["results"][0]


def test_admins_list_every_owners_jobs(user, other_user, admin_client_api):
    submit(user, count=2)
    submit(other_user, count=1)
    assert admin_client_api.get(URL).json()["count"] == 3


def test_list_filters_by_status_batch_and_creation_time(user, user_client):
    first = submit(user, count=2)
    second = submit(user, count=1)
    extraction_job_fail(job_id=first[0].pk, error="boom", dead=True)

    def ids(**params):
        return {j["id"] for j in user_client.get(URL, params).json()["results"]}

    assert ids(status="dead") == {first[0].pk}
    assert ids(status=["dead", "queued"]) == {j.pk for j in first + second}
    assert ids(batch=str(second[0].batch_id)) == {second[0].pk}
    assert ids(batch=str(uuid.uuid4())) == set()
    old = timezone.now() - timedelta(days=2)
    ExtractionJob.objects.filter(pk=first[1].pk).update(created_at=old)
    cutoff = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(created_before=cutoff) == {first[1].pk}
    assert first[1].pk not in ids(created_after=cutoff)


def test_bad_filters_are_400(user_client):
    assert_error(user_client.get(URL, {"status": "exploded"}), 400, "validation_error")
    assert_error(user_client.get(URL, {"batch": "not-a-uuid"}), 400, "validation_error")
    assert_error(user_client.get(URL, {"created_after": "yesterday"}), 400, "validation_error")


def test_detail_has_the_text_counts_and_extracted_items(user, user_client):
    [job] = submit(user, text="Marie Curie worked at the University of Paris.")
    extraction_job_run(job_id=job.pk)
    response = user_client.get(detail_url(job))
    assert response.status_code == 200
    assert response["ETag"]
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["attempts"] == 1
    assert body["text"].startswith("Marie Curie")
    assert body["entities_created"] >= 2
    names = {e["name"]: e for e in body["result"]["entities"]}
    assert names["Marie Curie"]["type"] == "person"
    assert 0 < names["Marie Curie"]["confidence"] <= 1
    [worked] = [r for r in body["result"]["relationships"] if r["type"] == "work_at"]
    assert worked["evidence"][0]["sentence"] == "Marie Curie worked at the University of Paris."


def test_another_users_job_is_404(user, other_client):
    [job] = submit(user)
    extraction_job_fail(job_id=job.pk, error="boom")
    assert_error(other_client.get(detail_url(job)), 404, "not_found")
    assert_error(other_client.post(f"{detail_url(job)}retry/"), 404, "not_found")
    job.refresh_from_db()
    assert job.status == "failed"


def test_retry_queues_a_failed_job(user, user_client, django_capture_on_commit_callbacks):
    [job] = submit(user)
    extraction_job_fail(job_id=job.pk, error="OperationalError: database gone")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = user_client.post(f"{detail_url(job)}retry/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["error"] == ""
    assert len(callbacks) == 1


@pytest.mark.parametrize("status", ["queued", "running", "succeeded"])
def test_retry_of_a_job_that_is_not_failed_or_dead_is_409(user, user_client, status):
    [job] = submit(user)
    ExtractionJob.objects.filter(pk=job.pk).update(status=status)
    error = assert_error(user_client.post(f"{detail_url(job)}retry/"), 409, "job_not_retryable")
    assert error["details"]["status"] == status


def test_jobs_cannot_be_edited_or_deleted(user, user_client):
    [job] = submit(user)
    assert_error(user_client.patch(detail_url(job), {"status": "succeeded"}), 405, "method_not_allowed")
    assert_error(user_client.delete(detail_url(job)), 405, "method_not_allowed")
    job.refresh_from_db()
    assert job.status == "queued"
