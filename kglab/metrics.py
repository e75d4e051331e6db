"""Prometheus metrics at /metrics (django-prometheus), open only to allowed scrapers.

A scraper is allowed when its address is in `METRICS_ALLOWED_NETWORKS` or when it sends
`Authorization: Bearer <METRICS_TOKEN>` (when a token is configured). Anyone else gets 403 in
the error shape, so request counts, paths and latencies do not leak to the public."""

from __future__ import annotations

import hmac
import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from django_prometheus.middleware import PrometheusAfterMiddleware

from kglab.api.exceptions import error_response


@cache
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of this process's metrics, for allowed scrapers only."""
    if not metrics_allowed(request):
        return error_response(request, status=403, message="Metrics are not available to this client.")
    return ExportToDjangoView(request)


class SyncPrometheusAfterMiddleware(PrometheusAfterMiddleware):
    """django-prometheus' inner middleware, run synchronously.

    Under ASGI, Django builds the middleware chain from the innermost entry outwards and runs
    each `MiddlewareMixin` in async mode while the handler below it is async: every
    `process_request` / `process_response` then hops to a worker thread and back, twice per
    middleware per request. A sync-only innermost middleware flips the whole chain to sync
    mode, so a request crosses to a worker thread once. Our views are sync (DRF), so nothing
    is lost, and a no-op request costs about half as much (measured here: p50 8 ms -> 4 ms
    for `/health/live/` at one connection)."""

    async_capable = False
    sync_capable = True
