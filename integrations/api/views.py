"""Extraction job endpoints: submit documents, follow their jobs, retry failed ones."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from integrations.api.serializers import (
    ExtractionJobAcceptedSerializer,
    ExtractionJobBriefSerializer,
    ExtractionJobSerializer,
    ExtractionSubmitSerializer,
)
from integrations.filters import ExtractionJobFilterSet
from integrations.models import ExtractionJob
from integrations.services import extraction_job_retry, extraction_jobs_submit
from kglab.api.viewsets import OwnedModelViewSet

CONFLICT = OpenApiResponse(description="The job is not failed or dead (`job_not_retryable`).")


@extend_schema_view(
    list=extend_schema(
        summary="List extraction jobs", description="Newest first; yours only (admins and moderators: all)."
    ),
    retrieve=extend_schema(summary="One extraction job with its text and extracted items"),
)
class ExtractionJobViewSet(OwnedModelViewSet):
    """Extraction jobs: one per submitted document. Jobs are created by submitting documents
    and change only through the workers and `retry`; there is no update or delete."""

    queryset = ExtractionJob.objects.order_by("-id")
    serializer_class = ExtractionJobSerializer
    filterset_class = ExtractionJobFilterSet
    ordering_fields = ["id", "created_at", "finished_at", "status"]
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        if self.action == "list":
            return ExtractionJobBriefSerializer
        if self.action == "create":
            return ExtractionSubmitSerializer
        return ExtractionJobSerializer

    @extend_schema(
        summary="Submit documents for extraction",
        request=ExtractionSubmitSerializer,
        responses={202: ExtractionJobAcceptedSerializer, 503: OpenApiResponse(description="Broker down.")},
    )
    def create(self, request, *args, **kwargs):
        """Takes one document (`{"text", "title", "source"}`) or a batch
        (`{"documents": [...]}`, at most EXTRACTION_MAX_BATCH) and answers 202 with the job ids
        and the batch id. The jobs are enqueued once they are committed; follow them with
        `GET /extraction/jobs/{id}/` or `?batch=<batch_id>`."""
        serializer = ExtractionSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch_id, jobs = extraction_jobs_submit(
            owner=request.user, documents=serializer.validated_data["documents"]
        )
        body = ExtractionJobAcceptedSerializer({"batch_id": batch_id, "jobs": jobs}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Retry a failed or dead job",
        request=None,
        responses={202: ExtractionJobSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        """Queues a failed or dead job again (409 `job_not_retryable` otherwise)."""
        job = extraction_job_retry(job=self.get_object())
        return self.with_etag(
            Response(ExtractionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED), job
        )
