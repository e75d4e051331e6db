"""Cross-cutting models: the owner-scoping base every user-owned model inherits, and the
transactional outbox of domain events."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OwnedQuerySet(models.QuerySet):
    """The one place where owner isolation is decided.

    `visible_to` is what a user may read, `editable_by` what they may change. Admins and
    moderators read across owners; admins and moderators edit (moderate) across owners; a
    plain user reads and edits only rows they own. Anything else (anonymous) sees nothing."""

    def visible_to(self, user) -> OwnedQuerySet:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.sees_all_owners:
            return self
        return self.filter(owner_id=user.pk)

    def editable_by(self, user) -> OwnedQuerySet:
        return self.visible_to(user)

    def owned_by(self, owner) -> OwnedQuerySet:
        return self.filter(owner_id=getattr(owner, "pk", owner))


class OwnedModel(models.Model):
    """A row that belongs to one user. `version` grows by one on every change and is the
    basis of ETags and optimistic concurrency (If-Match)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class Event(models.Model):
    """A domain event, written in the same transaction as the change it describes.

    `sequence` is the event's position: it only grows, so a client resumes with `since=`.
    The relay publishes unrelayed events in sequence order and stamps `relayed_at`."""

    sequence = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=64, db_index=True)  # e.g. "entity.created"
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    aggregate_type = models.CharField(max_length=64)  # e.g. "entity"
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["owner", "sequence"], name="kglab_event_owner_seq"),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="kglab_event_aggregate"),
            models.Index(
                fields=["sequence"],
                name="kglab_event_unrelayed",
                condition=models.Q(relayed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.type} {self.aggregate_type}:{self.aggregate_id}"
