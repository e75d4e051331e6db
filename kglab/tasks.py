"""Tasks of the cross-cutting machinery: the outbox relay and the dead-letter drain. Each is
a thin wrapper around its service and safe to run any number of times."""

from __future__ import annotations

from kglab.celery import app


@app.task(name="kglab.tasks.event_relay")
def event_relay_task() -> int:
    """Publishes pending outbox events (enqueued on commit of a change that wrote events)."""
    from kglab.relay import event_relay

    return event_relay()


@app.task(name="kglab.tasks.event_relay_sweep")
def event_relay_sweep_task() -> int:
    """Periodic (beat) safety net: publishes events whose on-commit nudge was lost."""
    from kglab.relay import event_relay

    return event_relay()


@app.task(name="kglab.tasks.dead_letters_drain")
def dead_letters_drain_task() -> int:
    """Periodic (beat): moves messages from the RabbitMQ `dead_letters` queue into rows."""
    from integrations.services_dead_letters import dead_letters_drain

    return dead_letters_drain()
