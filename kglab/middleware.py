"""Request-wide middleware: request id, access log, request body limit."""

import re
import time
import uuid

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from kglab.api.exceptions import error_response

access_log = structlog.get_logger("kglab.access")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestContextMiddleware:
    """Gives every request an id (an incoming safe `X-Request-ID` is kept), returns it in the
    response header, binds it to the log context and writes one access log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        user_id = getattr(request, "auth_user_id", None) or (
            user.pk if user is not None and getattr(user, "is_authenticated", False) else None
        )
        log = access_log.warning if response.status_code >= 500 else access_log.info
        log(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=duration_ms,
            user_id=user_id,
            remote_addr=request.META.get("REMOTE_ADDR"),
        )
        structlog.contextvars.clear_contextvars()
        return response


class RequestBodyLimitMiddleware:
    """Answers 413 in the error shape when the declared body is over the configured limit,
    before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_BODY_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return error_response(
                request,
                status=413,
                code="payload_too_large",
                message=f"Request body of {length} bytes is over the limit of {limit} bytes.",
                details={"limit_bytes": limit, "received_bytes": length},
            )
        return self.get_response(request)
