"""ETags and conditional requests for versioned rows.

A row's entity tag is derived from its primary key and its `version` (which grows by one on
every change), so it changes exactly when the row does and costs no hashing of the body.
`If-Match` on a write is compared with the tag of the row *locked* in the write's own
transaction: of two writers holding the same tag, the second one finds the version already
bumped and gets 412."""

from __future__ import annotations

from django.db import models
from rest_framework.request import Request

from kglab.api.exceptions import PreconditionFailed


def etag_for(instance: models.Model) -> str:
    """The strong entity tag of a versioned row, quoted as HTTP requires."""
    return f'"{instance.pk}-{instance.version}"'


def _parse_tags(header: str) -> list[str]:
    tags = []
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag:
            tags.append(tag)
    return tags


def if_match_satisfied(request: Request, instance: models.Model) -> bool:
    """True when the request has no If-Match, or one of its tags (or `*`) matches."""
    header = request.headers.get("If-Match")
    if header is None:
        return True
    tags = _parse_tags(header)
    return "*" in tags or etag_for(instance) in tags


def check_if_match(request: Request, instance: models.Model) -> None:
    """Raises 412 `precondition_failed` when If-Match names another version of the row.
    Call it on the row locked FOR UPDATE, inside the transaction that writes it."""
    if not if_match_satisfied(request, instance):
        error = PreconditionFailed()
        error.detail = {
            "detail": "The resource has changed since you read it (If-Match does not match its ETag).",
            "code": "precondition_failed",
            "current_etag": etag_for(instance),
        }
        raise error


def if_none_match_hit(request: Request, instance: models.Model) -> bool:
    """True when a conditional GET already holds the current version (answer 304)."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = _parse_tags(header)
    return "*" in tags or etag_for(instance) in tags
