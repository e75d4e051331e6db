"""Filters of the relationship list."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from kglab.api.filters import MultiValueCharFilter, MultiValueNumberFilter, OwnedFilterSet
from relationships.models import Relationship


class RelationshipFilterSet(OwnedFilterSet):
    type = MultiValueCharFilter(field_name="type", help_text="One or more types (repeat or comma-separate).")
    source = MultiValueNumberFilter(field_name="source_id", help_text="Source entity id(s).")
    target = MultiValueNumberFilter(field_name="target_id", help_text="Target entity id(s).")
    entity = MultiValueNumberFilter(method="filter_entity", help_text="Entity id(s) at either end.")
    confidence_min = django_filters.NumberFilter(field_name="confidence", lookup_expr="gte")
    confidence_max = django_filters.NumberFilter(field_name="confidence", lookup_expr="lte")
    valid_at = django_filters.IsoDateTimeFilter(
        method="filter_valid_at", help_text="Relationships valid at this instant (open bounds count)."
    )
    valid_from_after = django_filters.IsoDateTimeFilter(field_name="valid_from", lookup_expr="gte")
    valid_to_before = django_filters.IsoDateTimeFilter(field_name="valid_to", lookup_expr="lte")
    created_via = MultiValueCharFilter(field_name="created_via")
    created_by = django_filters.NumberFilter(field_name="created_by_id")

    class Meta:
        model = Relationship
        fields: list[str] = []

    def filter_entity(self, queryset, name, value):
        return queryset.filter(Q(source_id__in=value) | Q(target_id__in=value)) if value else queryset

    def filter_valid_at(self, queryset, name, value):
        return queryset.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=value),
            Q(valid_to__isnull=True) | Q(valid_to__gte=value),
        )
