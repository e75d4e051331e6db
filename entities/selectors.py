"""Reads of entities. Every queryset starts from `visible_to(user)`: owner isolation lives
there and nowhere else."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from entities.models import Entity, normalize_name, search_document

# The columns the API serializes; the embedding (384 floats) is never loaded for lists.
ENTITY_LIST_FIELDS = (
    "id",
    "owner_id",
    "name",
    "normalized_name",
    "type",
    "aliases",
    "description",
    "confidence",
    "metadata",
    "provenance",
    "mention_count",
    "created_by_id",
    "created_via",
    "created_at",
    "updated_at",
    "version",
)
SIMILAR_DEFAULT_THRESHOLD = 0.3
SIMILAR_MAX_LIMIT = 100


def entity_list(*, user) -> QuerySet[Entity]:
    """The entities `user` may read, with only the serialized columns."""
    return Entity.objects.visible_to(user).only(*ENTITY_LIST_FIELDS)


def entity_search(*, queryset: QuerySet[Entity], q: str) -> QuerySet[Entity]:
    """Entities matching `q` by full text (name, aliases, description; web-search syntax,
    `simple` configuration) or by trigram similarity of the name, annotated with
    `search_rank` (text rank + name similarity) and ordered by it, best first."""
    query = SearchQuery(q, config="simple", search_type="websearch")
    normalized = normalize_name(q)
    return (
        queryset.alias(search_document=search_document())
        .filter(Q(search_document=query) | Q(normalized_name__trigram_similar=normalized))
        .annotate(
            search_rank=SearchRank(search_document(), query)
            + TrigramSimilarity("normalized_name", normalized)
        )
        .order_by(F("search_rank").desc(), "-id")
    )


def entity_similar(
    *, entity: Entity, threshold: float = SIMILAR_DEFAULT_THRESHOLD, limit: int = 10
) -> list[Entity]:
    """Other entities of the same owner whose name or aliases resemble this entity's name or
    aliases (pg_trgm similarity >= `threshold`), best first, each with a `similarity`
    attribute. Candidates come from the trigram index on names and the array index on
    aliases; the score is the best similarity over every name/alias pair."""
    probes = sorted({entity.normalized_name, *(normalize_name(a) for a in entity.aliases)} - {""})[:20]
    raw_names = [entity.name, *entity.aliases]
    name_match = " OR ".join(["normalized_name %% %s"] * len(probes))
    score_terms = ", ".join(["similarity(normalized_name, %s)"] * len(probes))
    alias_score = (
        "COALESCE((SELECT max(similarity(lower(alias), probe)) "
        "FROM unnest(aliases) AS alias, unnest(%s::text[]) AS probe), 0)"
    )
    table = Entity._meta.db_table
    sql = (
        f"SELECT id, GREATEST({score_terms}, {alias_score}) AS score FROM {table} "  # noqa: S608
        f"WHERE owner_id = %s AND id <> %s AND ({name_match} OR aliases && %s::varchar(512)[]) "
        "ORDER BY score DESC, id LIMIT %s"
    )
    params = [*probes, probes, entity.owner_id, entity.pk, *probes, raw_names, limit * 4]
    with transaction.atomic(), connection.cursor() as cursor:
        # `%` filters by this threshold; SET LOCAL keeps it to this transaction.
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(threshold)])
        cursor.execute(sql, params)
        scored = [(pk, score) for pk, score in cursor.fetchall() if score >= threshold][:limit]
    rows = Entity.objects.only(*ENTITY_LIST_FIELDS).in_bulk([pk for pk, _ in scored])
    result = []
    for pk, score in scored:
        row = rows[pk]
        row.similarity = round(float(score), 4)
        result.append(row)
    return result
