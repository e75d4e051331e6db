"""Extraction pipeline benchmark: documents submitted over HTTP to the real server, extracted
by a real Celery worker (prefork, two processes) on RabbitMQ, stored in PostgreSQL.

    .venv/bin/python -m bench.extraction [--documents 100] [--singles 20]

It runs against its own database `kglab_bench_extraction` (dropped, created and migrated at
the start) and its own RabbitMQ virtual host `bench-extraction`; nothing else is touched.

Measured:
- one document alone: `--singles` sequential submissions of one document each, the client
  polling the job until it succeeded; submit-to-stored latency p50/p95 seen by the client
  and as recorded by the server (finished_at - created_at);
- a batch: `--documents` documents of about 300 words in one request; per-document
  submit-to-stored latency (finished_at - created_at), the time until all are stored, and
  documents per minute;
- the reference, in the same run: the extractor called in-process on the same documents
  (pure NLP time per document, no queue and no database).
Documents are generated from templates with varied names from a fixed seed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime

from bench.common import ROOT, VENV_BIN, save, server, summarize_ms

BENCH_DB = "kglab_bench_extraction"
BENCH_VHOST = "bench-extraction"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
BROKER_URL = f"amqp://guest:guest@127.0.0.1:5672/{BENCH_VHOST}"
SEED = 20251126
WORKER_CONCURRENCY = 2
TARGET_SINGLE_P95_MS = 500
POLL_S = 0.02
TARGET_BATCH_S = 30

FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Julia", "Kofi",
         "Lena", "Marco", "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Yuki"]  # fmt: skip
LAST = ["Moreau", "Schmidt", "Okafor", "Tanaka", "Novak", "Silva", "Larsen", "Kowalski", "Rossi",
        "Haddad", "Fischer", "Dubois", "Mendes", "Ivanova", "Keller", "Nakamura", "Petrov",
        "Quinn"]  # fmt: skip
ORGS = ["Microsoft", "Siemens", "Toyota", "Nokia", "Samsung", "Intel", "Oracle", "the World Bank",
        "the United Nations", "Stanford University", "Harvard University", "Google", "Airbus", "Unilever",
        "the European Commission", "MIT", "Pfizer", "Volkswagen"]  # fmt: skip
CITIES = ["London", "Berlin", "Madrid", "Chicago", "Toronto", "Sydney", "Mumbai", "Nairobi", "Oslo",
          "Lima", "Tokyo", "Paris", "Cairo", "Seoul", "Boston", "Lisbon", "Vienna", "Warsaw"]  # fmt: skip
COUNTRIES = ["France", "Germany", "Japan", "Brazil", "Canada", "India", "Kenya", "Norway", "Peru", "Italy"]
PRODUCTS = ["the iPhone", "Windows", "the Model S", "the PlayStation", "Android", "the Kindle"]
EVENTS = ["the Olympic Games", "World War II", "the Cold War", "the World Cup"]

TEMPLATES = [
    "{person} worked at {org} in {city} for several years before moving to {country}.",
    "In {city}, {person} met {person2} to discuss a new partnership with {org}.",
    "{org} was founded by {person} in {city}.",
    "{person} joined {org} as a senior researcher and later led its office in {city}.",
    "The team at {org} released {product} after {person} presented the prototype in {city}.",
    "{person2} studied economics in {city} and wrote a book about {event}.",
    "Reporters in {country} said that {org} had opened a second laboratory near {city}.",
    "{person} and {person2} travelled from {city} to {city2} to visit the headquarters of {org}.",
    "During {event}, {person} served as an adviser to the government of {country}.",
    "{org} acquired a small startup from {city2} that {person2} had started with friends.",
    "Critics praised {person} for the way {org} handled the launch of {product}.",
    "The conference in {city2} brought together engineers from {org} and {org2}.",
]
FILLER = [
    "The results were discussed at length in the weeks that followed.",
    "Many observers considered the decision both bold and carefully prepared.",
    "Several colleagues later described the period as the most productive of their careers.",
    "The project required long hours, patient negotiation and a great deal of travel.",
    "Local newspapers followed the story closely and published interviews with the staff.",
]


def documents(count: int, *, seed: int) -> list[str]:
    """`count` documents of about 300 words, deterministic for a seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        sentences, words = [], 0
        while words < 300:
            template = rng.choice(TEMPLATES) if rng.random() < 0.7 else rng.choice(FILLER)
            sentence = template.format(
                person=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                person2=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                org=rng.choice(ORGS),
                org2=rng.choice(ORGS),
                city=rng.choice(CITIES),
                city2=rng.choice(CITIES),
                country=rng.choice(COUNTRIES),
                product=rng.choice(PRODUCTS),
                event=rng.choice(EVENTS),
            )
            sentence = sentence[0].upper() + sentence[1:]
            sentences.append(sentence)
            words += len(sentence.split())
        out.append(" ".join(sentences))
    return out


def bench_env() -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "kglab.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_KEY_PREFIX": "bench-extraction",
        "CHANNELS_PREFIX": "bench-extraction-asgi",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database() -> None:
    import psycopg

    with psycopg.connect("dbname=postgres host=127.0.0.1 user=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **bench_env()},
        check=True,
    )


def prepare_vhost() -> None:
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl is None:
        sys.exit("rabbitmqctl is needed to create the benchmark's virtual host")
    subprocess.run([rabbitmqctl, "-q", "delete_vhost", BENCH_VHOST], capture_output=True, check=False)
    subprocess.run([rabbitmqctl, "-q", "add_vhost", BENCH_VHOST], capture_output=True, check=True)
    subprocess.run(
        [rabbitmqctl, "-q", "set_permissions", "-p", BENCH_VHOST, "guest", ".*", ".*", ".*"],
        capture_output=True,
        check=True,
    )


@contextlib.contextmanager
def worker() -> Iterator[subprocess.Popen]:
    cmd = [
        str(VENV_BIN / "celery"),
        "-A",
        "kglab",
        "worker",
        "-Q",
        "extraction",
        "-c",
        str(WORKER_CONCURRENCY),
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "WARNING",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **bench_env()},
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def access_token() -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User

    user = User.objects.create_user(email="extraction-bench@example.test", password="bench-password-123")
    return str(RefreshToken.for_user(user).access_token)


def reference_ms(texts: list[str]) -> dict:
    from integrations.extraction import extract

    extract(texts[0])  # loads the pipeline
    samples = []
    for text in texts:
        started = time.perf_counter()
        extract(text)
        samples.append(time.perf_counter() - started)
    return summarize_ms(samples)


def stored_seconds(job: dict) -> float:
    return (
        datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])
    ).total_seconds()


def wait_job(client, base: str, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"{base}/api/v1/extraction/jobs/{job_id}/").json()
        if job["status"] in {"succeeded", "dead"}:
            return job
        time.sleep(POLL_S)
    raise RuntimeError(f"job {job_id} not finished after {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--singles", type=int, default=20)
    args = parser.parse_args()

    import httpx

    prepare_database()
    prepare_vhost()
    os.environ.update(bench_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    token = access_token()

    batch_texts = documents(args.documents, seed=SEED)
    single_texts = documents(args.singles, seed=SEED + 1)
    warmup_texts = documents(2, seed=SEED + 2)
    words = [len(t.split()) for t in batch_texts]
    print(f"reference: extractor in-process on {len(batch_texts) + len(single_texts)} documents")
    reference_batch = reference_ms(batch_texts)
    reference_single = reference_ms(single_texts)

    headers = {"Authorization": f"Bearer {token}"}
    with (
        server(workers=2, env=bench_env()) as base,
        worker(),
        httpx.Client(headers=headers, timeout=60) as client,
    ):
        jobs_url = f"{base}/api/v1/extraction/jobs/"
        for text in warmup_texts:  # workers loaded, connections open
            job_id = client.post(jobs_url, json={"text": text}).json()["jobs"][0]["id"]
            wait_job(client, base, job_id, timeout=120)

        print(f"one document alone: {args.singles} sequential submissions")
        client_side, server_side = [], []
        for text in single_texts:
            started = time.perf_counter()
            response = client.post(jobs_url, json={"text": text})
            job = wait_job(client, base, response.json()["jobs"][0]["id"])
            client_side.append(time.perf_counter() - started)
            assert job["status"] == "succeeded", job["error"]
            server_side.append(stored_seconds(job))

        print(f"batch: {args.documents} documents in one request")
        started = time.perf_counter()
        response = client.post(jobs_url, json={"documents": [{"text": t} for t in batch_texts]})
        submit_s = time.perf_counter() - started
        batch_id = response.json()["batch_id"]
        # Polling asks only for a count, so the client takes little of the CPU it measures.
        done = {"batch": batch_id, "status": ["succeeded", "dead"], "page_size": 1}
        while client.get(jobs_url, params=done).json()["count"] < args.documents:
            time.sleep(0.1)
        total_s = time.perf_counter() - started
        finished = client.get(jobs_url, params={"batch": batch_id, "page_size": 500}).json()["results"]
        statuses = {j["status"] for j in finished}
        batch_latency = summarize_ms([stored_seconds(j) for j in finished])

    single = summarize_ms(client_side)
    figures = {
        "settings": {
            "documents": args.documents,
            "words_per_document": {
                "min": min(words),
                "max": max(words),
                "mean": round(sum(words) / len(words)),
            },
            "singles": args.singles,
            "seed": SEED,
            "web": "uvicorn, 2 workers, kglab.settings.local with DEBUG off",
            "worker": f"celery prefork, -Q extraction, concurrency {WORKER_CONCURRENCY}",
            "client": "httpx, sequential; polls the job every 20 ms, the batch's finished count every 100 ms",
            "database": BENCH_DB,
            "broker_vhost": BENCH_VHOST,
        },
        "reference_extract_in_process": {
            "batch_documents": reference_batch,
            "single_documents": reference_single,
        },
        "single_document": {
            "submit_to_stored_client": single,
            "submit_to_stored_server": summarize_ms(server_side),
            "ratio_p50_to_reference": round(single["p50_ms"] / reference_single["p50_ms"], 2),
            "ratio_p95_to_reference": round(single["p95_ms"] / reference_single["p95_ms"], 2),
            "target_p95_ms": TARGET_SINGLE_P95_MS,
            "meets_target": single["p95_ms"] < TARGET_SINGLE_P95_MS,
        },
        "batch": {
            "statuses": sorted(statuses),
            "submit_request_ms": round(submit_s * 1000, 1),
            "submit_to_stored_per_document": batch_latency,
            "total_s": round(total_s, 2),
            "documents_per_minute": round(args.documents / total_s * 60, 1),
            "reference_serial_nlp_s": round(reference_batch["mean_ms"] * args.documents / 1000, 2),
            "ratio_total_to_reference_serial_nlp": round(
                total_s / (reference_batch["mean_ms"] * args.documents / 1000), 2
            ),
            "target_total_s": TARGET_BATCH_S,
            "meets_target": total_s < TARGET_BATCH_S,
        },
    }
    save("extraction", figures)


if __name__ == "__main__":
    main()
