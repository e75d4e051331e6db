"""Entity and relationship list/detail cost in process: the whole Django stack (middleware,
JWT authentication, throttles, view, serializer) through the test client, without HTTP and
server processes, so the figures show what the API code itself costs per request.

    .venv/bin/python -m bench.graph_core_api [--requests 60]

- Data: the graph benchmark's database (`kglab_bench`, loaded by `bench.graph_load` on first
  use): owner A with 100,000 entities and 1,000,000 relationships.
- Reference, measured in the same run: `GET /health/live/` through the same stack (middleware
  and routing, no authentication or database).
- Scenarios (owner A's JWT): entity detail (rotating ids), entity list pages 1..n (page size
  50, default order), entity list filtered by type, relationship detail, relationship list
  pages, relationships of one entity (`/entities/{id}/relationships/`).
Each scenario runs `--requests` sequential requests after two warm-up requests; p50/p95 per
scenario and ratio to the reference p50. Figures go to bench/results/graph_core_api.json.
"""

from __future__ import annotations

import argparse
import os
import time

from bench import graph_load
from bench.common import save, summarize_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()

    os.environ["LOG_LEVEL"] = "WARNING"
    graph_load.ensure_loaded()  # creates, migrates, loads if needed; sets Django up on it

    from django.conf import settings
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from entities.models import Entity
    from relationships.models import Relationship

    settings.ALLOWED_HOSTS = ["*"]
    owner = User.objects.get(email=graph_load.OWNER_A_EMAIL)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    n = args.requests
    entity_ids = list(Entity.objects.filter(owner=owner).order_by("?").values_list("id", flat=True)[:n])
    edge_ids = list(Relationship.objects.filter(owner=owner).order_by("?").values_list("id", flat=True)[:n])

    scenarios = {
        "reference_health_live": lambda i: "/health/live/",
        "entity_detail": lambda i: f"/api/v1/entities/{entity_ids[i]}/",
        "entity_list": lambda i: f"/api/v1/entities/?page={i + 1}",
        "entity_list_type_filter": lambda i: f"/api/v1/entities/?type=person&page={i + 1}",
        "relationship_detail": lambda i: f"/api/v1/relationships/{edge_ids[i]}/",
        "relationship_list": lambda i: f"/api/v1/relationships/?page={i + 1}",
        "entity_relationships": lambda i: f"/api/v1/entities/{entity_ids[i]}/relationships/",
    }
    figures: dict = {
        "settings": {
            "requests_per_scenario": n,
            "client": "rest_framework.test.APIClient in process, sequential, local settings",
            "data": "kglab_bench owner A: 100,000 entities, 1,000,000 relationships",
        },
        "scenarios": {},
    }
    for name, path in scenarios.items():
        for i in range(2):
            client.get(path(i))
        samples = []
        for i in range(n):
            start = time.perf_counter()
            response = client.get(path(i))
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (path(i), response.status_code)
        figures["scenarios"][name] = summarize_ms(samples)
    reference = figures["scenarios"]["reference_health_live"]["p50_ms"]
    for result in figures["scenarios"].values():
        result["ratio_p50_to_reference"] = round(result["p50_ms"] / reference, 2)
    save("graph_core_api", figures)


if __name__ == "__main__":
    main()
