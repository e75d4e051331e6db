"""Request-wide middleware: request id, access log, outage answers, request body limit,
static files.

Both classes work natively in sync and async stacks: under ASGI a sync-only middleware would
push every request, async views included, through a thread hop."""

from __future__ import annotations

import os
import re
import time
import uuid

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.functional import SimpleLazyObject, empty
from whitenoise.middleware import WhiteNoiseMiddleware

from kglab.api.exceptions import error_response

access_log = structlog.get_logger("kglab.access")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class _HybridMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)


def _user_id_seen(request: HttpRequest) -> tuple[bool, int | None]:
    """(known, user id) from what the request already resolved, without touching the session.

    DRF authenticates inside the view (JWT included) and then sets `request.user` on the Django
    request, replacing the lazy session user of AuthenticationMiddleware; a lazy user that was
    evaluated during the request is known too. Only an untouched lazy user is unknown."""
    user = getattr(request, "user", None)
    if user is None:
        return True, None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return False, None
    return True, user.pk if user.is_authenticated else None


class RequestContextMiddleware(_HybridMiddleware):
    """Gives every request an id (an incoming safe `X-Request-ID` is kept), returns it in the
    response header, binds it to the log context and writes one access log line with the
    method, path, status, duration and the authenticated user's id."""

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        started = self._start(request)
        response = self.get_response(request)
        known, user_id = _user_id_seen(request)
        if not known:
            user_id = request.user.pk if request.user.is_authenticated else None
        return self._finish(request, response, started, user_id)

    async def __acall__(self, request: HttpRequest):
        started = self._start(request)
        response = await self.get_response(request)
        known, user_id = _user_id_seen(request)
        if not known and hasattr(request, "auser"):
            user = await request.auser()
            user_id = user.pk if user.is_authenticated else None
        return self._finish(request, response, started, user_id)

    @staticmethod
    def _start(request: HttpRequest) -> float:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        return time.perf_counter()

    @staticmethod
    def _finish(request: HttpRequest, response: HttpResponse, started: float, user_id) -> HttpResponse:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request.request_id
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

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A lost database outside DRF views (admin, plain Django views) is a 503 in the error
        shape too, not a 500; the next request reconnects (CONN_HEALTH_CHECKS)."""
        if isinstance(exception, (OperationalError, InterfaceError)):
            access_log.warning("database_unavailable", error=str(exception).splitlines()[0][:300])
            return error_response(
                request,
                status=503,
                code="database_unavailable",
                message="The database is unavailable; try again shortly.",
            )
        return None


class RequestBodyLimitMiddleware(_HybridMiddleware):
    """Answers 413 in the error shape when the declared body is over the configured limit,
    before anything reads it."""

    def __call__(self, request: HttpRequest):
        rejection = self._reject(request)
        if self.is_async:
            return self._areturn(rejection) if rejection else self.get_response(request)
        return rejection or self.get_response(request)

    @staticmethod
    async def _areturn(response: HttpResponse) -> HttpResponse:
        return response

    @staticmethod
    def _reject(request: HttpRequest) -> HttpResponse | None:
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
        return None


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, usable in an async stack: static files (admin, Swagger UI, Redoc) are
    served by the ASGI server itself, and other requests pass straight through. WhiteNoise's own
    middleware is sync-only, which under ASGI would route every request through one thread."""

    sync_capable = True
    async_capable = True
    chunk_size = 64 * 1024

    def __init__(self, get_response):
        super().__init__(get_response)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def add_files(self, root, prefix=None):
        # Locally and in tests nothing is collected into STATIC_ROOT: files come from the
        # apps' static directories (WHITENOISE_USE_FINDERS), so a missing root is expected.
        if getattr(settings, "WHITENOISE_USE_FINDERS", settings.DEBUG) and not os.path.isdir(root):
            return
        super().add_files(root, prefix)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest):
        static_file = (
            self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        )
        if static_file is None:
            return await self.get_response(request)
        served = static_file.get_response(request.method, request.META)
        response = StreamingHttpResponse(self._chunks(served.file), status=int(served.status))
        del response["Content-Type"]
        for key, value in served.headers:
            response[key] = value
        return response

    @classmethod
    async def _chunks(cls, file):
        if file is None:
            return
        read = sync_to_async(file.read, thread_sensitive=False)
        try:
            while chunk := await read(cls.chunk_size):
                yield chunk
        finally:
            file.close()
