"""Extraction jobs: one document submitted for entity extraction, its state and its outcome."""

from __future__ import annotations

import uuid

from django.db import models

from kglab.models import OwnedModel


class ExtractionJobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the last attempt failed; a retry may follow
    DEAD = "dead"  # given up: permanent error or retries exhausted


class ExtractionJob(OwnedModel):
    """One document and what extraction made of it.

    The extracted items (entities with their mentions and confidences, relationships with their
    evidence) are kept as one JSON document in `result`: they are a write-once record of a run,
    read only together with the job. The queryable form of the same facts is the graph itself
    (entities and relationships with provenance), so a child table would add a row per item to
    every job for no query that needs it."""

    Status = ExtractionJobStatus

    batch_id = models.UUIDField(default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=512, blank=True, default="")
    source = models.CharField(max_length=2048, blank=True, default="")
    text = models.TextField()
    # sha256 of the text: the same document re-submitted is recognised in provenance.
    text_sha256 = models.CharField(max_length=64, editable=False)
    status = models.CharField(max_length=16, choices=ExtractionJobStatus.choices, default="queued")
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    entities_created = models.PositiveIntegerField(default=0)
    entities_updated = models.PositiveIntegerField(default=0)
    entities_unchanged = models.PositiveIntegerField(default=0)
    relationships_created = models.PositiveIntegerField(default=0)
    relationships_updated = models.PositiveIntegerField(default=0)
    relationships_unchanged = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)  # {"entities": [...], "relationships": [...]}

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ExtractionJobStatus.values),
                name="integrations_extractionjob_status",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="integrations_job_owner_status"),
            models.Index(fields=["owner", "batch_id"], name="integrations_job_owner_batch"),
            models.Index(fields=["owner", "created_at"], name="integrations_job_owner_created"),
        ]

    def __str__(self) -> str:
        return f"extraction job {self.pk} ({self.status})"
