"""Prometheus metrics: Django request counters, for allowed scrapers only."""

import re

import pytest
from django.test import Client


def _counter(text: str, name: str, labels: str) -> float:
    match = re.search(rf"^{name}\{{{labels}\}} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_django_requests():
    client = Client()
    before = _counter(
        client.get("/metrics").content.decode(), "django_http_requests_total_by_method_total", 'method="GET"'
    )
    for _ in range(3):
        client.get("/health/live/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    after = _counter(text, "django_http_requests_total_by_method_total", 'method="GET"')
    # Three probes plus the first scrape.
    assert after - before >= 4
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


@pytest.mark.parametrize("address", ["203.0.113.9", "10.1.2.3", "2001:db8::1"])
def test_metrics_refuse_clients_outside_the_allowed_networks(address):
    response = Client(REMOTE_ADDR=address).get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "django_http" not in response.content.decode()


def test_metrics_admit_a_listed_network(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403


def test_metrics_admit_the_bearer_token_from_anywhere(settings):
    settings.METRICS_TOKEN = "scrape-secret-123"
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-123").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics").status_code == 403
