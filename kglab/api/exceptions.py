"""The one error shape of the API, for every 4xx and 5xx:

    {"error": {"code": "...", "message": "...", "details": {...}, "request_id": "..."}}

DRF exceptions, Django's own (404, permission denied, validation), database integrity errors
and outages of PostgreSQL, Redis or RabbitMQ all end here."""

from __future__ import annotations

import math

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import set_rollback

logger = structlog.get_logger(__name__)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A backing service is unavailable; try again shortly."
    default_code = "service_unavailable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


_DEFAULT_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    428: "precondition_required",
    429: "rate_limited",
    500: "server_error",
    503: "service_unavailable",
}


def request_id_of(request: HttpRequest | None) -> str | None:
    return getattr(request, "request_id", None) if request is not None else None


def error_body(
    *, code: str, message: str, details: dict | None = None, request_id: str | None = None
) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": request_id,
        }
    }


def error_response(
    request: HttpRequest | None,
    *,
    status: int,
    code: str | None = None,
    message: str,
    details: dict | None = None,
    headers: dict | None = None,
) -> JsonResponse:
    body = error_body(
        code=code or _DEFAULT_CODES.get(status, "error"),
        message=message,
        details=details,
        request_id=request_id_of(request),
    )
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _flatten_message(detail) -> str:
    """A one-line human message from a DRF detail structure."""
    if isinstance(detail, list):
        return _flatten_message(detail[0]) if detail else ""
    if isinstance(detail, dict):
        if "detail" in detail:
            return _flatten_message(detail["detail"])
        for key, value in detail.items():
            inner = _flatten_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
        return ""
    return str(detail)


def _code_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict) and isinstance(detail.get("code"), str):
        return detail["code"]
    if isinstance(exc, exceptions.ValidationError):
        return "validation_error"
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"  # one code for every 429, throttle or login rate limit
    code = getattr(detail, "code", None) or exc.default_code
    if code in {"error", "invalid"}:
        return _DEFAULT_CODES.get(exc.status_code, code)
    return code


def _details_of(exc: exceptions.APIException) -> dict:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            return {"fields": detail}
        return {"non_field_errors": detail if isinstance(detail, list) else [detail]}
    if isinstance(detail, dict):
        return {k: v for k, v in detail.items() if k not in {"detail", "code"}}
    return {}


def _translate(exc: Exception) -> Exception:
    """Turns exceptions DRF does not know into API exceptions."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return exceptions.ValidationError(detail)
    if isinstance(exc, IntegrityError):
        return Conflict("The change violates a database constraint (a duplicate or a missing reference).")
    if isinstance(exc, (OperationalError, InterfaceError)):
        return ServiceUnavailable(
            "The database is unavailable; try again shortly.", code="database_unavailable"
        )
    if isinstance(exc, DatabaseError):
        return exc
    return _translate_infrastructure(exc)


def _translate_infrastructure(exc: Exception) -> Exception:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a hard dependency
        RedisConnectionError = RedisTimeoutError = ()  # type: ignore[assignment]  # noqa: N806
    from kombu.exceptions import OperationalError as BrokerOperationalError

    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        return ServiceUnavailable("The cache is unavailable; try again shortly.", code="cache_unavailable")
    if isinstance(exc, BrokerOperationalError):
        return ServiceUnavailable(
            "The message broker is unavailable; try again shortly.", code="broker_unavailable"
        )
    return exc


def exception_handler(exc: Exception, context: dict):
    """DRF's EXCEPTION_HANDLER: every handled error leaves in the one shape, and the
    transaction of the request is rolled back so nothing is half-written."""
    request = context.get("request")
    exc = _translate(exc)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's handler500 answers it in the same shape.

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    if isinstance(exc, exceptions.NotAuthenticated):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')

    if exc.status_code >= 500:
        logger.warning("request_failed", code=_code_of(exc), error=str(exc.detail))
    set_rollback()
    return error_response(
        request,
        status=exc.status_code,
        code=_code_of(exc),
        message=_flatten_message(exc.detail),
        details=_details_of(exc),
        headers=headers,
    )


def ratelimited_view(request: HttpRequest, exception: Exception) -> JsonResponse:
    """django-ratelimit's RATELIMIT_VIEW: 429 in the error shape with Retry-After."""
    retry_after = getattr(request, "ratelimit_retry_after", 60)
    return error_response(
        request,
        status=429,
        code="rate_limited",
        message="Too many requests; slow down and retry later.",
        details={"retry_after_seconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


# Django's own error views (non-DRF paths, and anything DRF did not handle).
def handler400(request, exception=None):
    return error_response(request, status=400, message="Bad request.")


def handler403(request, exception=None):
    return error_response(request, status=403, message="You do not have permission to do this.")


def handler404(request, exception=None):
    return error_response(request, status=404, message=f"No resource at {request.path}.")


def handler500(request):
    return error_response(
        request, status=500, message="Internal server error; the request id identifies it in the logs."
    )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a refused CSRF check (session-authenticated form posts) in the shape."""
    return error_response(
        request,
        status=403,
        code="csrf_failed",
        message=f"CSRF verification failed: {reason}" if reason else "CSRF verification failed.",
    )
