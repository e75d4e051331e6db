"""Test data for entities."""

import itertools

from entities.services import entity_create

_names = itertools.count(1)


def make_entity(owner, **fields):
    """A saved entity (through the service, so it has its event) with a unique name."""
    fields.setdefault("name", f"Entity {next(_names)}")
    fields.setdefault("type", "concept")
    return entity_create(owner=owner, **fields)
