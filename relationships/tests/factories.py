"""Test data for relationships."""

from entities.tests.factories import make_entity
from relationships.services import relationship_create


def make_relationship(owner, **fields):
    """A saved relationship between two fresh entities of `owner` unless ends are given."""
    fields.setdefault("source", make_entity(owner))
    fields.setdefault("target", make_entity(owner))
    fields.setdefault("type", "related_to")
    return relationship_create(owner=owner, **fields)
