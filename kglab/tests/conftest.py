"""Fixtures of the platform tests: ports nothing listens on, a database alias behind one, and
the access log as parsed JSON lines."""

import copy
import io
import json
import logging
import socket

import pytest
import structlog
from django.db import connections


def closed_port() -> int:
    """A loopback port with no listener: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts TCP connections (the kernel completes the handshake) but
    never answers: a hung dependency, the case that needs timeouts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.fixture
def unreachable_db_alias():
    """A database alias whose server port is closed, beside the working test database."""
    alias = "unreachable"
    connections.settings[alias] = {
        **copy.deepcopy(connections.settings["default"]),
        "HOST": "127.0.0.1",
        "PORT": str(closed_port()),
    }
    yield alias
    connections[alias].close()
    del connections[alias]
    del connections.settings[alias]


@pytest.fixture
def access_lines():
    """Lines of the access log, rendered by the configured JSON formatter."""
    formatter = next(
        handler.formatter
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("kglab.access")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(previous)
