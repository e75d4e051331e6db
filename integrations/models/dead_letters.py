"""Dead letters: task messages given up after a permanent error or exhausted retries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DeadLetter(models.Model):
    """One task message that RabbitMQ dead-lettered.

    A row is written by the failing task (error, traceback, attempts) and completed by the
    drain of the `dead_letters` queue with the original message (headers, properties, body),
    which is what a replay publishes again. A message dead-lettered without a row (for
    example, the database was down when the task gave up) gets its row from the drain."""

    task_id = models.CharField(max_length=255, db_index=True)
    task_name = models.CharField(max_length=255, db_index=True)
    queue = models.CharField(max_length=255, db_index=True, help_text="Queue the message died in.")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    reason = models.CharField(
        max_length=32, blank=True, help_text="RabbitMQ's reason: rejected, expired, maxlen, delivery_limit."
    )
    dead_lettered_at = models.DateTimeField(default=timezone.now, db_index=True)

    # The original message, captured by the drain; replay publishes exactly this again.
    message_exchange = models.CharField(max_length=255, blank=True)
    message_routing_key = models.CharField(max_length=255, blank=True)
    message_headers = models.JSONField(default=dict, blank=True)
    message_properties = models.JSONField(default=dict, blank=True)
    message_content_type = models.CharField(max_length=128, blank=True)
    message_content_encoding = models.CharField(max_length=64, blank=True)
    message_body = models.BinaryField(null=True, blank=True)
    message_fingerprint = models.CharField(max_length=64, null=True, blank=True, unique=True)
    captured_at = models.DateTimeField(null=True, blank=True)

    replayed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    replay_count = models.PositiveIntegerField(default=0)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-dead_lettered_at", "-id"]
        indexes = [
            models.Index(fields=["task_id", "captured_at"], name="integ_deadletter_capture"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}] in {self.queue or '?'}"

    @property
    def is_replayed(self) -> bool:
        return self.replayed_at is not None

    @property
    def is_captured(self) -> bool:
        return self.captured_at is not None
