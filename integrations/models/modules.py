"""The module registry: the other parts of the system (AI, Frontend, Publishing, ...) that
call this backend, each with OAuth2 client credentials and a service account."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class ModuleKind(models.TextChoices):
    AI = "ai", "AI"
    FRONTEND = "frontend", "Frontend"
    PUBLISHING = "publishing", "Publishing"
    OTHER = "other", "Other"


class ModuleStatus(models.TextChoices):
    """Computed from heartbeats (see `integrations.selectors_modules`)."""

    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    OFFLINE = "offline", "Offline"


class ModuleScope(models.TextChoices):
    """What a module's token may do. Endpoints state the scope they need with
    `integrations.permissions.HasModuleScope`."""

    ENTITIES_READ = "entities:read", "Read entities and relationships"
    ENTITIES_WRITE = "entities:write", "Create and change entities and relationships"
    EXTRACTION_READ = "extraction:read", "Read extraction jobs"
    EXTRACTION_WRITE = "extraction:write", "Submit extraction jobs"
    PUBLISHING_WRITE = "publishing:write", "Publish content and engagement"
    EVENTS_READ = "events:read", "Read domain events"
    ACT_AS_USER = "act_as_user", "Act for a user (X-Acting-User header)"


class Module(models.Model):
    """A registered module. Its secret is stored only as a password hash; `service_account`
    is the user the module's requests run as (role user), created with the module."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ModuleKind.choices, db_index=True)
    description = models.TextField(blank=True)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret_hash = models.CharField(max_length=255)
    secret_rotated_at = models.DateTimeField()
    scopes = ArrayField(
        models.CharField(max_length=32, choices=ModuleScope.choices), default=list, blank=True
    )
    is_active = models.BooleanField(default=True, db_index=True)
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="module"
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reported_status = models.CharField(
        max_length=16,
        choices=[(ModuleStatus.HEALTHY, "Healthy"), (ModuleStatus.DEGRADED, "Degraded")],
        blank=True,
        help_text="What the module said about itself in its last heartbeat.",
    )
    heartbeat_details = models.JSONField(default=dict, blank=True)
    version = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in ModuleKind]),
                name="integrations_module_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
