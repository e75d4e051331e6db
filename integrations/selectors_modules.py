"""Reads of the module registry. A module's status is computed from its heartbeats, in SQL,
so lists can filter on it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.utils import timezone

from integrations.models import Module, ModuleStatus


def module_list() -> QuerySet[Module]:
    """Every module with its computed `status`:

    - offline: no heartbeat, or none for MODULE_HEARTBEAT_OFFLINE_SECONDS;
    - degraded: the last heartbeat is older than MODULE_HEARTBEAT_DEGRADED_SECONDS, or the
      module reported itself degraded;
    - healthy: otherwise."""
    now = timezone.now()
    offline_before = now - timedelta(seconds=settings.MODULE_HEARTBEAT_OFFLINE_SECONDS)
    degraded_before = now - timedelta(seconds=settings.MODULE_HEARTBEAT_DEGRADED_SECONDS)
    return (
        Module.objects.select_related("service_account")
        .annotate(
            status=Case(
                When(
                    Q(last_heartbeat_at__isnull=True) | Q(last_heartbeat_at__lt=offline_before),
                    then=Value(ModuleStatus.OFFLINE.value),
                ),
                When(
                    Q(last_heartbeat_at__lt=degraded_before) | Q(reported_status=ModuleStatus.DEGRADED),
                    then=Value(ModuleStatus.DEGRADED.value),
                ),
                default=Value(ModuleStatus.HEALTHY.value),
                output_field=CharField(),
            )
        )
        .order_by("name")
    )


def module_get(*, pk: int) -> Module | None:
    """One module with its computed status, or None."""
    return module_list().filter(pk=pk).first()


def module_for_token(*, module_id: int) -> Module | None:
    """The module a token names (one primary-key lookup), or None."""
    return Module.objects.filter(pk=module_id).first()
