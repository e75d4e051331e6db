"""Fixtures of the platform tests: ports nothing listens on, and a database alias behind one."""

import copy
import socket

import pytest
from django.db import connections


def closed_port() -> int:
    """A loopback port with no listener: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
