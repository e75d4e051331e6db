"""The extraction job services against the real database: a job's run into its owner's graph,
idempotence, resolution against existing entities, failures and retries."""

import psycopg
import pytest
from django.db import OperationalError, connection

from entities.models import Entity
from entities.services import entity_bulk_upsert
from integrations.extraction import UnprocessableTextError
from integrations.models import ExtractionJob
from integrations.services import (
    extraction_job_fail,
    extraction_job_retry,
    extraction_job_run,
    extraction_jobs_submit,
)
from integrations.tasks import extract_entities
from kglab.api.exceptions import Conflict
from kglab.models import Event
from relationships.models import Relationship

CURIE = (
    "Marie Curie worked at the University of Paris. She was born in Warsaw. "
    "Pierre Curie founded a laboratory in Paris with Paul Langevin."
)

pytestmark = pytest.mark.django_db


def submit(owner, text=CURIE, source="https://example.test/curie", title="Curie") -> ExtractionJob:
    _, [job] = extraction_jobs_submit(
        owner=owner, documents=[{"text": text, "source": source, "title": title}]
    )
    return job


def run(job) -> ExtractionJob:
    extraction_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_a_job_lands_as_entities_and_relationships_in_its_owners_graph(user):
    job = run(submit(user))
    assert job.status == "succeeded"
    assert job.attempts == 1
    assert job.started_at is not None
    assert job.finished_at >= job.started_at
    assert job.error == ""

    entities = {e.name: e for e in Entity.objects.filter(owner=user)}
    assert {"Marie Curie", "University of Paris", "Warsaw", "Paris", "Pierre Curie"} <= set(entities)
    curie = entities["Marie Curie"]
    assert curie.type == "person"
    assert curie.created_via == "extraction"
    assert 0 < curie.confidence <= 1
    assert curie.mention_count == 1
    [record] = curie.provenance
    assert record["job"] == job.pk
    assert record["source"] == "https://example.test/curie"
    assert record["offsets"] == [[0, 11]]
    assert job.entities_created == len(entities)

    worked = Relationship.objects.get(owner=user, type="work_at")
    assert worked.source == curie
    assert worked.target == entities["University of Paris"]
    assert 0 < worked.confidence <= 1
    assert worked.created_via == "extraction"
    [evidence] = worked.evidence
    assert evidence["sentence"] == "Marie Curie worked at the University of Paris."
    assert (evidence["start"], evidence["end"]) == (0, 46)
    assert evidence["job"] == job.pk
    assert job.relationships_created == Relationship.objects.filter(owner=user).count()

    stored = {item["name"]: item for item in job.result["entities"]}
    assert stored["Marie Curie"]["entity_id"] == curie.pk
    assert stored["Marie Curie"]["confidence"] == pytest.approx(curie.confidence, abs=1e-6)
    assert any(r["type"] == "work_at" for r in job.result["relationships"])
    # Events come with the graph writes.
    assert Event.objects.filter(owner=user, type="entity.created").count() == len(entities)


def test_re_extracting_the_same_document_creates_no_duplicates(user):
    first = run(submit(user))
    entities_before = Entity.objects.filter(owner=user).count()
    relationships_before = Relationship.objects.filter(owner=user).count()
    versions = dict(Entity.objects.filter(owner=user).values_list("id", "version"))

    second = run(submit(user))
    assert second.status == "succeeded"
    assert (second.entities_created, second.entities_updated) == (0, 0)
    assert second.entities_unchanged == first.entities_created
    assert (second.relationships_created, second.relationships_updated) == (0, 0)
    assert second.relationships_unchanged == first.relationships_created
    assert Entity.objects.filter(owner=user).count() == entities_before
    assert Relationship.objects.filter(owner=user).count() == relationships_before
    assert dict(Entity.objects.filter(owner=user).values_list("id", "version")) == versions
    assert Entity.objects.get(owner=user, name="Marie Curie").mention_count == 1


def test_a_redelivered_succeeded_job_does_nothing(user):
    job = run(submit(user))
    events = Event.objects.count()
    assert extraction_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.attempts == 1
    assert job.status == "succeeded"
    assert Event.objects.count() == events


def test_an_existing_entity_is_matched_by_alias(user):
    entity_bulk_upsert(
        owner=user,
        items=[{"name": "International Business Machines", "type": "organization", "aliases": ["IBM"]}],
    )
    job = run(submit(user, text="IBM opened a research lab in Zurich."))
    ibm = Entity.objects.get(owner=user, name="International Business Machines")
    assert not Entity.objects.filter(owner=user, normalized_name="ibm").exists()
    assert ibm.provenance[0]["job"] == job.pk
    stored = {item["name"]: item for item in job.result["entities"]}
    assert stored["IBM"]["entity_id"] == ibm.pk
    assert stored["IBM"]["stored_as"] == "International Business Machines"


def test_an_existing_entity_is_matched_by_trigram_similarity_of_the_same_type(user):
    entity_bulk_upsert(owner=user, items=[{"name": "Acme Corporations", "type": "organization"}])
    job = run(submit(user, text="Sarah Johnson joined Acme Corporation as chief engineer."))
    acme = Entity.objects.get(owner=user, name="Acme Corporations")
    assert not Entity.objects.filter(owner=user, name="Acme Corporation").exists()
    assert "Acme Corporation" in acme.aliases
    assert job.entities_updated == 1
    # The alias learnt on the way makes the next run an exact match.
    again = run(submit(user, text="Sarah Johnson joined Acme Corporation as chief engineer."))
    assert again.entities_created == again.entities_updated == 0


def test_similar_names_of_another_type_or_below_the_threshold_are_new_entities(user):
    entity_bulk_upsert(
        owner=user,
        items=[
            {"name": "Acme Corporations", "type": "location"},
            {"name": "Acne Co", "type": "organization"},
        ],
    )
    run(submit(user, text="Sarah Johnson joined Acme Corporation as chief engineer."))
    assert Entity.objects.filter(owner=user, name="Acme Corporation", type="organization").exists()


def test_a_jobs_entities_land_only_in_its_owners_graph(user, other_user):
    entity_bulk_upsert(owner=other_user, items=[{"name": "Marie Curie", "type": "person", "aliases": []}])
    run(submit(user))
    theirs = Entity.objects.get(owner=other_user, name="Marie Curie")
    assert theirs.provenance == []
    assert Entity.objects.filter(owner=other_user).count() == 1
    assert Relationship.objects.filter(owner=other_user).count() == 0
    assert Entity.objects.filter(owner=user, name="Marie Curie").exists()


def test_unprocessable_text_fails_the_attempt_with_its_error(user):
    job = submit(user, text="12345 678 !!!")
    with pytest.raises(UnprocessableTextError):
        extraction_job_run(job_id=job.pk)
    version = job.version
    job.refresh_from_db()
    assert job.version > version + 1  # claimed, then failed: each change is a new ETag
    assert job.status == "failed"
    assert job.attempts == 1
    assert "no letters" in job.error
    assert not Entity.objects.filter(owner=user).exists()


def test_the_task_marks_unprocessable_input_dead_without_retrying(user):
    job = submit(user, text="12345 678 !!!")
    result = extract_entities.apply(args=[job.pk])
    assert result.failed()
    job.refresh_from_db()
    assert job.status == "dead"
    assert job.attempts == 1
    assert "PermanentTaskError" in job.error
    assert "no letters" in job.error


def test_a_database_error_mid_run_fails_the_attempt_and_leaves_the_graph_untouched(user):
    """A real lock held by another session makes the graph write time out; the job says
    failed with the error, and the next attempt succeeds."""
    job = submit(user)
    dsn = f"dbname={connection.settings_dict['NAME']} host=127.0.0.1 user=postgres"
    with psycopg.connect(dsn, autocommit=False) as blocker:
        blocker.execute("LOCK TABLE entities_entity IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(OperationalError):
            extraction_job_run(job_id=job.pk)
        blocker.rollback()
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.attempts == 1
    assert "lock" in job.error.lower()
    assert not Entity.objects.filter(owner=user).exists()

    job = run(job)
    assert job.status == "succeeded"
    assert job.attempts == 2
    assert job.error == ""


def test_retry_queues_a_failed_or_dead_job_again(user, django_capture_on_commit_callbacks):
    job = submit(user)
    extraction_job_fail(job_id=job.pk, error="OperationalError: gone", dead=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        retried = extraction_job_retry(job=job)
    assert retried.status == "queued"
    assert retried.error == ""
    assert len(callbacks) == 1
    assert run(retried).status == "succeeded"


@pytest.mark.parametrize("status", ["queued", "running", "succeeded"])
def test_retry_of_a_job_that_is_not_failed_or_dead_is_a_conflict(user, status):
    job = submit(user)
    ExtractionJob.objects.filter(pk=job.pk).update(status=status)
    with pytest.raises(Conflict):
        extraction_job_retry(job=job)
    job.refresh_from_db()
    assert job.status == status


def test_failure_never_overwrites_a_success(user):
    job = run(submit(user))
    extraction_job_fail(job_id=job.pk, error="late failure", dead=True)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.error == ""
