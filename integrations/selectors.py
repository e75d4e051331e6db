"""Reads of the integrations app: extraction jobs as a user may see them, and the lookup that
resolves extracted names to entities already in an owner's graph."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from entities.models import Entity, normalize_name
from integrations.models import ExtractionJob
from relationships.models import Relationship


def extraction_job_list(*, user) -> QuerySet[ExtractionJob]:
    """Extraction jobs the user may read: their own; every owner's for admins and moderators."""
    return ExtractionJob.objects.visible_to(user).order_by("-id")


def entity_resolve_for_extraction(
    *, owner, names: list[tuple[str, str]], document: str
) -> dict[tuple[str, str], Entity]:
    """Existing entities of `owner` that extracted names refer to.

    `names` are (type, surface name) pairs; the answer maps each resolvable pair to its
    entity (id, name, type, aliases only), annotated `seen_document`: whether its provenance
    already holds a record of `document` (a text's SHA-256). Rules, first match wins, always
    within the same type:
      1. the normalized name equals the entity's normalized name;
      2. the normalized name equals the normalized form of one of the entity's aliases;
      3. trigram similarity of normalized names >= settings.EXTRACTION_TRIGRAM_THRESHOLD
         (the most similar entity; ties go to the oldest).
    Three queries whatever the number of names."""
    if not names:
        return {}
    keys = {(entity_type, normalize_name(name)): (entity_type, name) for entity_type, name in names}
    types = sorted({entity_type for entity_type, _ in keys})
    base = (
        Entity.objects.owned_by(owner)
        .filter(type__in=types)
        .only("id", "name", "type", "normalized_name", "aliases")
        .annotate(
            seen_document=ExpressionWrapper(
                Q(provenance__contains=[{"document": document}]), output_field=BooleanField()
            )
        )
    )
    found: dict[tuple[str, str], Entity] = {}

    for entity in base.filter(normalized_name__in=sorted({key[1] for key in keys})):
        pair = keys.get((entity.type, entity.normalized_name))
        if pair is not None:
            found[pair] = entity

    # Aliases are stored as written; the array overlap (GIN-indexed) narrows the candidates
    # on the spellings an alias is likely written in, and normalisation decides.
    unresolved = {key: pair for key, pair in keys.items() if pair not in found}
    spellings = sorted(
        {variant for _, name in unresolved.values() for variant in (name, name.title(), name.lower())}
    )
    if spellings:
        for entity in base.filter(aliases__overlap=spellings).order_by("id"):
            for alias in entity.aliases:
                pair = unresolved.get((entity.type, normalize_name(alias)))
                if pair is not None and pair not in found:
                    found[pair] = entity

    pending = [(key, pair) for key, pair in unresolved.items() if pair not in found]
    if pending:
        best = _trigram_best_matches(owner_id=getattr(owner, "pk", owner), keys=[key for key, _ in pending])
        rows = base.in_bulk(set(best.values()))
        for index, (_, pair) in enumerate(pending):
            if index in best:
                found[pair] = rows[best[index]]
    return found


_TRIGRAM_SQL = """
    SELECT DISTINCT ON (wanted.position) wanted.position, entity.id
    FROM unnest(%(types)s::text[], %(names)s::text[]) WITH ORDINALITY AS wanted(type, name, position)
    JOIN entities_entity AS entity
      ON entity.owner_id = %(owner)s
     AND entity.type = wanted.type
     AND entity.normalized_name %% wanted.name
    WHERE similarity(entity.normalized_name, wanted.name) >= %(threshold)s
    ORDER BY wanted.position, similarity(entity.normalized_name, wanted.name) DESC, entity.id
"""


def _trigram_best_matches(*, owner_id: int, keys: list[tuple[str, str]]) -> dict[int, int]:
    """For each (type, normalized name), the id of the owner's most similar entity of that
    type at or above the threshold, in one statement (`%%` narrows through the trigram GIN
    index, `similarity` decides). Answer: {index in `keys`: entity id}."""
    with connection.cursor() as cursor:
        cursor.execute(
            _TRIGRAM_SQL,
            {
                "types": [key[0] for key in keys],
                "names": [key[1] for key in keys],
                "owner": owner_id,
                "threshold": settings.EXTRACTION_TRIGRAM_THRESHOLD,
            },
        )
        return {position - 1: entity_id for position, entity_id in cursor.fetchall()}


def relationship_seen_for_extraction(
    *, owner, triples: list[tuple[int, int, str]], document: str
) -> set[tuple[int, int, str]]:
    """The (source id, target id, type) of `owner`'s relationships whose evidence already
    holds a record of `document` (a text's SHA-256)."""
    if not triples:
        return set()
    wanted = set(triples)
    rows = (
        Relationship.objects.owned_by(owner)
        .filter(
            source_id__in={t[0] for t in wanted},
            target_id__in={t[1] for t in wanted},
            type__in={t[2] for t in wanted},
            evidence__contains=[{"document": document}],
        )
        .values_list("source_id", "target_id", "type")
    )
    return {row for row in rows if row in wanted}
