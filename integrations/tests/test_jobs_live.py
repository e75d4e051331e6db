"""End to end with real processes: documents submitted over HTTP, a real Celery worker on the
real RabbitMQ, results in PostgreSQL."""

import psycopg
import pytest
from django.db import connection

from entities.models import Entity
from integrations.models import ExtractionJob
from kglab.tests.test_celery_support import celery_worker, purge_queues, wait_for
from relationships.models import Relationship

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/extraction/jobs/"
CURIE = "Marie Curie worked at the University of Paris. She was born in Warsaw."
FIRST_NAMES = ["Alice", "Bruno", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Julia"]
LAST_NAMES = [
    "Moreau",
    "Schmidt",
    "Okafor",
    "Tanaka",
    "Novak",
    "Silva",
    "Larsen",
    "Kowalski",
    "Rossi",
    "Haddad",
]
CITIES = ["London", "Berlin", "Madrid", "Chicago", "Toronto", "Sydney", "Mumbai", "Nairobi", "Oslo", "Lima"]
COMPANIES = [
    "Microsoft",
    "Google",
    "Toyota",
    "Siemens",
    "Nokia",
    "IBM",
    "Samsung",
    "Intel",
    "Oracle",
    "Amazon",
]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """One worker for the module. Its database sessions give up waiting for a lock after
    300 ms, so a lock held by a test is a real transient database error for it, and its
    retries start after at most half a second."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGOPTIONS", "-c lock_timeout=300")
        patch.setenv("CELERY_TASK_RETRY_BACKOFF_BASE", "0.25")
        with django_db_blocker.unblock():
            purge_queues()
            with celery_worker(concurrency=2, queues="extraction") as process:
                yield process


def job_done(job_id):
    job = ExtractionJob.objects.get(pk=job_id)
    return job if job.status in {"succeeded", "dead"} else None


def document(i: int) -> str:
    person = f"{FIRST_NAMES[i % 10]} {LAST_NAMES[(i // 10) % 10]}"
    return (
        f"{person} worked at {COMPANIES[i % 10]} in {CITIES[(i + 3) % 10]}. "
        f"Later {person} moved to {CITIES[(i + 5) % 10]} "
        f"with {FIRST_NAMES[(i + 1) % 10]} {LAST_NAMES[i % 10]}."
    )


def test_a_document_submitted_over_http_lands_in_the_graph(worker, user, user_client):
    # How fast is measured by bench/extraction.py on a quiet machine; here it must simply
    # arrive by itself, through the real broker and worker.
    response = user_client.post(URL, {"text": CURIE, "source": "https://example.test/curie"})
    assert response.status_code == 202
    job_id = response.json()["jobs"][0]["id"]
    job = wait_for(lambda: job_done(job_id), timeout=30, interval=0.02)
    assert job.status == "succeeded", job.error

    curie = Entity.objects.get(owner=user, name="Marie Curie")
    assert curie.type == "person"
    assert 0 < curie.confidence <= 1
    assert curie.provenance[0]["job"] == job_id
    worked = Relationship.objects.get(owner=user, source=curie, type="work_at")
    assert worked.target.name == "University of Paris"
    assert 0 < worked.confidence <= 1
    assert worked.evidence[0]["sentence"] == "Marie Curie worked at the University of Paris."
    body = user_client.get(f"{URL}{job_id}/").json()
    assert body["status"] == "succeeded"
    assert body["attempts"] == 1


def test_a_batch_of_one_hundred_documents_is_all_processed(worker, user, user_client):
    documents = [{"text": document(i), "source": f"doc-{i}"} for i in range(100)]
    response = user_client.post(URL, {"documents": documents}, format="json")
    assert response.status_code == 202
    batch = response.json()["batch_id"]

    def all_finished():
        return (
            not ExtractionJob.objects.filter(batch_id=batch)
            .exclude(status__in=["succeeded", "dead"])
            .exists()
        )

    wait_for(all_finished, timeout=90, interval=0.2)
    jobs = ExtractionJob.objects.filter(batch_id=batch)
    assert jobs.count() == 100
    assert set(jobs.values_list("status", flat=True)) == {"succeeded"}
    for i in (0, 42, 99):
        person = f"{FIRST_NAMES[i % 10]} {LAST_NAMES[(i // 10) % 10]}"
        assert Entity.objects.filter(owner=user, name=person, type="person").exists()
    listed = user_client.get(URL, {"batch": batch, "status": "succeeded", "page_size": 100}).json()
    assert listed["count"] == 100


def test_a_transient_database_error_is_retried_and_tracked(worker, user, user_client):
    dsn = f"dbname={connection.settings_dict['NAME']} host=127.0.0.1 user=postgres"
    with psycopg.connect(dsn, autocommit=False) as blocker:
        blocker.execute("LOCK TABLE entities_entity IN ACCESS EXCLUSIVE MODE")
        response = user_client.post(URL, {"text": CURIE})
        job_id = response.json()["jobs"][0]["id"]
        failed = wait_for(
            lambda: ExtractionJob.objects.filter(pk=job_id, status="failed").first(),
            timeout=20,
            interval=0.02,
        )
        assert failed.attempts >= 1
        assert "lock" in failed.error.lower()
        blocker.rollback()
    job = wait_for(lambda: job_done(job_id), timeout=30)
    assert job.status == "succeeded", job.error
    assert job.attempts >= 2
    assert job.error == ""
    assert Entity.objects.filter(owner=user, name="Marie Curie").count() == 1


def test_unprocessable_input_ends_dead_with_its_error_and_can_be_retried(worker, user, user_client):
    response = user_client.post(URL, {"text": "1234 5678 90 !!!"})
    job_id = response.json()["jobs"][0]["id"]
    job = wait_for(lambda: job_done(job_id), timeout=15)
    assert job.status == "dead"
    assert job.attempts == 1
    assert "no letters" in job.error

    ExtractionJob.objects.filter(pk=job_id).update(text=CURIE)
    assert user_client.post(f"{URL}{job_id}/retry/").status_code == 202
    job = wait_for(lambda: job_done(job_id), timeout=15)
    assert job.status == "succeeded"
    assert job.attempts == 2
