"""Reads of relationships, scoped through `visible_to(user)`."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from entities.models import Entity
from relationships.models import Relationship

DIRECTIONS = ("outgoing", "incoming", "both")


def relationship_list(*, user) -> QuerySet[Relationship]:
    """The relationships `user` may read."""
    return Relationship.objects.visible_to(user)


def relationship_list_for_entity(
    *,
    user,
    entity: Entity,
    direction: str = "both",
    types: list[str] | None = None,
    min_confidence: float | None = None,
) -> QuerySet[Relationship]:
    """Edges of one entity: `outgoing` (it is the source), `incoming` (it is the target) or
    `both`, optionally of some types and at least some confidence. Each direction is served
    by the (source, type) / (target, type) indexes."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    ends = {
        "outgoing": Q(source_id=entity.pk),
        "incoming": Q(target_id=entity.pk),
        "both": Q(source_id=entity.pk) | Q(target_id=entity.pk),
    }[direction]
    queryset = relationship_list(user=user).filter(ends)
    if types:
        queryset = queryset.filter(type__in=types)
    if min_confidence is not None:
        queryset = queryset.filter(confidence__gte=min_confidence)
    return queryset
