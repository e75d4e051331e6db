"""Query filters of the integrations API."""

import django_filters

from integrations.models import ExtractionJob, ExtractionJobStatus


class ExtractionJobFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=ExtractionJobStatus.choices, help_text="One or more statuses (repeat the parameter)."
    )
    batch = django_filters.UUIDFilter(field_name="batch_id", help_text="Jobs submitted together.")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )

    class Meta:
        model = ExtractionJob
        fields = ["status", "batch", "created_after", "created_before"]
