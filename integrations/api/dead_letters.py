"""Admin API of dead letters: list and inspect task messages RabbitMQ dead-lettered, and
replay them (one, some, or all not yet replayed)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from integrations.models import DeadLetter
from integrations.selectors_dead_letters import dead_letter_list
from integrations.services_dead_letters import dead_letter_replay, dead_letters_replay


class IsAdminForDeadLetters(IsAdmin):
    message = "Only admins can inspect and replay dead letters."


class DeadLetterFilterSet(django_filters.FilterSet):
    task = django_filters.CharFilter(field_name="task_name", help_text="Exact task name.")
    queue = django_filters.CharFilter(field_name="queue", help_text="Queue the message died in.")
    replayed = django_filters.BooleanFilter(
        field_name="replayed_at", lookup_expr="isnull", exclude=True, help_text="Replayed already or not."
    )
    dead_lettered_after = django_filters.IsoDateTimeFilter(field_name="dead_lettered_at", lookup_expr="gte")
    dead_lettered_before = django_filters.IsoDateTimeFilter(field_name="dead_lettered_at", lookup_expr="lt")

    class Meta:
        model = DeadLetter
        fields = ["task", "queue", "replayed", "dead_lettered_after", "dead_lettered_before"]


class DeadLetterSerializer(serializers.ModelSerializer):
    replayed = serializers.BooleanField(source="is_replayed", read_only=True)
    message_captured = serializers.BooleanField(source="is_captured", read_only=True)

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "task_id",
            "task_name",
            "queue",
            "args",
            "kwargs",
            "error",
            "traceback",
            "attempts",
            "reason",
            "dead_lettered_at",
            "message_captured",
            "message_headers",
            "replayed",
            "replayed_at",
            "replay_count",
            "replayed_by",
        ]
        read_only_fields = fields


class DeadLetterBulkReplaySerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000)
    all = serializers.BooleanField(required=False, default=False, help_text="Every letter not replayed yet.")
    task = serializers.CharField(required=False, help_text="Only letters of this task.")

    def validate(self, attrs):
        if bool(attrs.get("ids")) == bool(attrs.get("all")):
            raise serializers.ValidationError("Give either a non-empty `ids` list or `all: true`.")
        return attrs


class DeadLetterBulkReplayResultSerializer(serializers.Serializer):
    replayed = serializers.ListField(child=serializers.IntegerField())
    skipped = serializers.ListField(
        child=serializers.IntegerField(), help_text="Replayed already, or the message was never captured."
    )


@extend_schema(tags=["dead letters"])
class DeadLetterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Task messages given up after a permanent error or exhausted retries (admins only),
    newest first. Filter by `task`, `queue`, `replayed`."""

    serializer_class = DeadLetterSerializer
    permission_classes = [IsAdminForDeadLetters]
    filterset_class = DeadLetterFilterSet
    ordering_fields = ["dead_lettered_at", "id", "task_name"]
    queryset = DeadLetter.objects.none()

    def get_queryset(self):
        return dead_letter_list()

    @extend_schema(request=None, responses={200: DeadLetterSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk=None) -> Response:
        """Publishes the original message again (same task, arguments and queue, retry count
        reset) and marks the letter replayed. 409 `already_replayed` the second time."""
        letter = dead_letter_replay(dead_letter=self.get_object(), by=request.user)
        return Response(DeadLetterSerializer(letter).data)

    @extend_schema(
        request=DeadLetterBulkReplaySerializer,
        responses={200: DeadLetterBulkReplayResultSerializer},
        operation_id="integrations_dead_letters_replay_bulk",
    )
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_bulk(self, request: Request) -> Response:
        """Replays the letters with the given `ids`, or `all` not replayed yet (optionally
        only those of one `task`)."""
        serializer = DeadLetterBulkReplaySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = dead_letters_replay(ids=data.get("ids") or None, task_name=data.get("task"), by=request.user)
        return Response(DeadLetterBulkReplayResultSerializer(result).data)
