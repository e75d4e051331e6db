"""Filter building blocks shared by every FilterSet over owned rows."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework.filters import OrderingFilter


class MultiValueCharField(forms.MultipleChoiceField):
    """Any number of free-text values, repeated (`?type=a&type=b`) or comma-separated."""

    def to_python(self, value):
        values = super().to_python(value)
        return [part.strip() for item in values for part in item.split(",") if part.strip()]

    def valid_value(self, value) -> bool:
        return True


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class MultiValueCharFilter(django_filters.MultipleChoiceFilter):
    """Matches rows whose field equals any of the given values (one `IN`)."""

    field_class = MultiValueCharField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class MultiValueNumberField(MultiValueCharField):
    def to_python(self, value):
        values = super().to_python(value)
        try:
            return [int(item) for item in values]
        except ValueError as error:
            raise forms.ValidationError("Enter whole numbers.", code="invalid") from error


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class MultiValueNumberFilter(MultiValueCharFilter):
    field_class = MultiValueNumberField


class OwnedFilterSet(django_filters.FilterSet):
    """`id`, `owner` (meaningful to admins and moderators, who see every owner; for anyone
    else it can only narrow their own rows) and created/updated ranges."""

    id = MultiValueNumberFilter(field_name="id")
    # Plain ids, not a lookup of users: an unknown id filters to nothing instead of telling a
    # caller which user ids exist.
    owner = MultiValueNumberFilter(field_name="owner_id", help_text="Owner id(s).")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lte")
    version = django_filters.NumberFilter(field_name="version")

    @classmethod
    def get_filters(cls):
        # A filter without a label derives one from the model's verbose names on every request
        # (the form is rebuilt each time); the parameter name is the label clients see anyway.
        filters = super().get_filters()
        for name, filter_ in filters.items():
            if filter_._label is None:
                filter_.label = name
        return filters


class RankAwareOrderingFilter(OrderingFilter):
    """Explicit `?ordering=` wins; without it a ranked search (a queryset annotated with
    `search_rank`) keeps its best-first order instead of the view's default."""

    def filter_queryset(self, request, queryset, view):
        if not request.query_params.get(self.ordering_param) and "search_rank" in queryset.query.annotations:
            return queryset
        return super().filter_queryset(request, queryset, view)
