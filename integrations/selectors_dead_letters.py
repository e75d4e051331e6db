"""Reads of dead letters."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.models import DeadLetter


def dead_letter_list() -> QuerySet[DeadLetter]:
    """Every dead letter, newest first (the admin API filters and paginates it)."""
    return DeadLetter.objects.defer("message_body").order_by("-dead_lettered_at", "-id")


def dead_letter_count(*, replayed: bool = False) -> int:
    """How many dead letters there are (by default: not replayed yet)."""
    return DeadLetter.objects.filter(replayed_at__isnull=not replayed).count()
