"""Celery task benchmark: no-op tasks through RabbitMQ and one worker process.

    .venv/bin/python -m bench.tasks [--count 1000] [--rate 200]

Runs on its own RabbitMQ virtual host `bench-tasks` (created with rabbitmqctl; nothing else
is touched) with the production task settings (persistent messages, publisher confirms,
late acks). Each task carries its publish timestamp and writes (sent, started) to Redis when
it starts, so publish-to-start latency is measured exactly as a task sees it.

Measured for each worker setting:
- latency: `--count` tasks published at a steady `--rate` per second (below capacity, so
  the figure is the system's latency, not queueing behind a burst): p50/p95/p99 of task
  start - publish time;
- throughput: `--count` tasks published first (a backlog), then the worker started: tasks
  per minute between the first and the last task start. The rate of the single publisher
  (each persistent message waits for its confirm, i.e. RabbitMQ's fsync) is reported beside it.
Worker settings: `prefork -c 1 --prefetch-multiplier 1` (the production setting with one pool
process) and `threads -c 8 --prefetch-multiplier 4` (still one process: eight threads run
tasks, so I/O waits such as the ack round trip and the task's own Redis write overlap, and 32
unacknowledged messages in flight keep them busy).

The reference, in the same run: a raw kombu publish-consume round trip of the same count
and pacing, with the same guarantees (durable queue, persistent messages, publisher confirms,
consumer acks each message after reading it, prefetch 1), consumer in its own process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

BENCH_VHOST = "bench-tasks"
BROKER_URL = f"amqp://guest:guest@127.0.0.1:5672/{BENCH_VHOST}"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TARGET_P95_MS = 20
TARGET_PER_MINUTE = 10_000
REFERENCE_QUEUE = "bench-reference"

os.environ["CELERY_BROKER_URL"] = BROKER_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kglab.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from kombu import Connection, Consumer, Exchange, Producer, Queue  # noqa: E402

from bench.common import ROOT, save, summarize_ms  # noqa: E402
from kglab.celery import app  # noqa: E402

_redis = redis.Redis.from_url(REDIS_URL)


def _key(run: str) -> str:
    return f"bench:tasks:{run}"


@app.task(name="bench.noop")
def noop(sent_at: float, run: str) -> None:
    """Does nothing but note when it started."""
    _redis.rpush(_key(run), f"{sent_at},{time.time()}")


def ensure_vhost() -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise SystemExit("rabbitmqctl is needed to create the benchmark's virtual host")
    vhosts = subprocess.run([ctl, "-q", "list_vhosts", "name"], capture_output=True, text=True, check=True)
    if BENCH_VHOST not in vhosts.stdout.split():
        subprocess.run([ctl, "-q", "add_vhost", BENCH_VHOST], check=True)
    subprocess.run([ctl, "-q", "set_permissions", "-p", BENCH_VHOST, "guest", ".*", ".*", ".*"], check=True)


def purge_default_queue() -> None:
    with app.connection_for_write() as conn, conn.channel() as channel:
        queue = app.amqp.queues["default"].bind(channel)
        queue.declare()
        queue.purge()


@contextmanager
def worker(pool: str, concurrency: int, prefetch: int):
    name = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_BROKER_URL": BROKER_URL, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kglab", "worker", "-Q", "default", "-P", pool,
         "-c", str(concurrency), "--prefetch-multiplier", str(prefetch), "--include", "bench.tasks",
         "--without-mingle", "--without-gossip", "--loglevel", "WARNING", "-n", f"{name}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while not any(
            node.startswith(f"{name}@") for reply in app.control.ping(timeout=0.5) for node in reply
        ):
            if process.poll() is not None or time.time() > deadline:
                raise SystemExit("the benchmark worker did not start")
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _paced(count: int, rate: float | None, publish) -> float:
    """Publishes `count` messages (at `rate` per second, or as fast as possible); returns the
    publishing rate per minute achieved."""
    started = time.time()
    for n in range(count):
        if rate:
            delay = started + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        publish()
    return round(count / (time.time() - started) * 60)


def _collect(run: str, count: int, timeout: float = 180) -> list[tuple[float, float]]:
    deadline = time.time() + timeout
    while _redis.llen(_key(run)) < count:
        if time.time() > deadline:
            raise SystemExit(f"only {_redis.llen(_key(run))} of {count} messages were processed")
        time.sleep(0.01)
    pairs = [tuple(map(float, item.decode().split(","))) for item in _redis.lrange(_key(run), 0, -1)]
    _redis.delete(_key(run))
    return pairs


def _latency(pairs) -> dict:
    return {"processed": len(pairs), "latency": summarize_ms([start - sent for sent, start in pairs])}


def _throughput(pairs, published_per_minute: int) -> dict:
    starts = sorted(start for _, start in pairs)
    return {
        "processed": len(pairs),
        "per_minute": round((len(starts) - 1) / (starts[-1] - starts[0]) * 60),
        "publish_per_minute": published_per_minute,
    }


def measure_celery(count: int, rate: float, pool: str, concurrency: int, prefetch: int) -> dict:
    purge_default_queue()
    backlog = uuid.uuid4().hex
    published = _paced(count, None, lambda: noop.apply_async((time.time(), backlog)))
    with worker(pool, concurrency, prefetch):
        drained = _throughput(_collect(backlog, count), published)
        paced = uuid.uuid4().hex
        _paced(count, rate, lambda: noop.apply_async((time.time(), paced)))
        return {"paced": _latency(_collect(paced, count)), "backlog": drained}


def _reference_consumer(ready, stop) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    with Connection(BROKER_URL) as conn:
        queue = Queue(REFERENCE_QUEUE, Exchange(REFERENCE_QUEUE, type="direct"), routing_key=REFERENCE_QUEUE)

        def on_message(body, message):
            client.rpush(_key(body["run"]), f"{body['sent_at']},{time.time()}")
            message.ack()

        with Consumer(conn, [queue], callbacks=[on_message], accept=["json"], prefetch_count=1):
            ready.set()
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    continue


def measure_reference(count: int, rate: float) -> dict:
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    exchange = Exchange(REFERENCE_QUEUE, type="direct", durable=True)
    queue = Queue(REFERENCE_QUEUE, exchange, routing_key=REFERENCE_QUEUE, durable=True)
    with Connection(BROKER_URL, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn)
        queue.bind(conn.default_channel).declare()
        queue.bind(conn.default_channel).purge()

        def publisher(run):
            def publish():
                producer.publish(
                    {"sent_at": time.time(), "run": run}, exchange=exchange, routing_key=REFERENCE_QUEUE,
                    serializer="json", delivery_mode=2,
                )  # fmt: skip

            return publish

        backlog = uuid.uuid4().hex
        published = _paced(count, None, publisher(backlog))
        consumer = multiprocessing.Process(target=_reference_consumer, args=(ready, stop))
        consumer.start()
        ready.wait(30)
        try:
            drained = _throughput(_collect(backlog, count), published)
            paced = uuid.uuid4().hex
            _paced(count, rate, publisher(paced))
            return {"paced": _latency(_collect(paced, count)), "backlog": drained}
        finally:
            stop.set()
            consumer.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="Messages per second in the paced phase.")
    options = parser.parse_args()
    ensure_vhost()

    reference = measure_reference(options.count, options.rate)
    settings_measured = {
        "prefork_c1_prefetch1": measure_celery(options.count, options.rate, "prefork", 1, 1),
        "threads_c8_prefetch4": measure_celery(options.count, options.rate, "threads", 8, 4),
    }
    results = {}
    for name, figures in settings_measured.items():
        results[name] = {
            **figures,
            "ratios_to_reference": {
                "paced_p50": round(
                    figures["paced"]["latency"]["p50_ms"] / reference["paced"]["latency"]["p50_ms"], 2
                ),
                "paced_p95": round(
                    figures["paced"]["latency"]["p95_ms"] / reference["paced"]["latency"]["p95_ms"], 2
                ),
                "backlog_throughput": round(
                    figures["backlog"]["per_minute"] / reference["backlog"]["per_minute"], 3
                ),
            },
            "meets_targets": {
                f"paced_p95_under_{TARGET_P95_MS}ms": figures["paced"]["latency"]["p95_ms"] < TARGET_P95_MS,
                f"at_least_{TARGET_PER_MINUTE}_per_minute": figures["backlog"]["per_minute"]
                >= TARGET_PER_MINUTE,
            },
        }
    path = save(
        "tasks",
        {
            "settings": {
                "count": options.count,
                "paced_rate_per_s": options.rate,
                "broker": f"RabbitMQ, vhost {BENCH_VHOST}, persistent messages, publisher confirms",
                "task": "bench.noop (ReliableTask: acks_late), one worker process, queue default",
                "worker_settings": {
                    "prefork_c1_prefetch1": "celery worker -P prefork -c 1 --prefetch-multiplier 1",
                    "threads_c8_prefetch4": "celery worker -P threads -c 8 --prefetch-multiplier 4 (tuned)",
                },
                "latency": "task start time - publish time carried in the message",
                "throughput": (
                    "`count` tasks published first, then one worker started: tasks per minute between the "
                    "first and the last task start; publish_per_minute is the single publisher's rate"
                ),
            },
            "reference_kombu_round_trip": reference,
            "celery": results,
        },
    )
    print(json.dumps({"saved": str(path)}))


if __name__ == "__main__":
    main()
