"""Filters of the entity list."""

from __future__ import annotations

import django_filters

from entities.models import Entity, normalize_name
from entities.selectors import entity_search
from kglab.api.filters import MultiValueCharFilter, OwnedFilterSet


class EntityFilterSet(OwnedFilterSet):
    type = MultiValueCharFilter(field_name="type", help_text="One or more types (repeat or comma-separate).")
    name = django_filters.CharFilter(method="filter_name", help_text="Exact name (normalized comparison).")
    name__icontains = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    name_fuzzy = django_filters.CharFilter(
        field_name="normalized_name",
        method="filter_name_fuzzy",
        help_text="Trigram-similar names (pg_trgm, similarity >= 0.3).",
    )
    alias = django_filters.CharFilter(
        field_name="aliases", method="filter_alias", help_text="Entities having this exact alias."
    )
    description__icontains = django_filters.CharFilter(field_name="description", lookup_expr="icontains")
    confidence_min = django_filters.NumberFilter(field_name="confidence", lookup_expr="gte")
    confidence_max = django_filters.NumberFilter(field_name="confidence", lookup_expr="lte")
    mention_count_min = django_filters.NumberFilter(field_name="mention_count", lookup_expr="gte")
    created_via = MultiValueCharFilter(field_name="created_via")
    created_by = django_filters.NumberFilter(field_name="created_by_id")
    q = django_filters.CharFilter(
        method="filter_q",
        help_text="Full-text search over name, aliases and description, plus fuzzy names; ranked.",
    )

    class Meta:
        model = Entity
        fields: list[str] = []

    def filter_name(self, queryset, name, value):
        return queryset.filter(normalized_name=normalize_name(value))

    def filter_name_fuzzy(self, queryset, name, value):
        return queryset.filter(normalized_name__trigram_similar=normalize_name(value))

    def filter_alias(self, queryset, name, value):
        return queryset.filter(aliases__contains=[value])

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return entity_search(queryset=queryset, q=value) if value else queryset
