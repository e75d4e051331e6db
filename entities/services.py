"""Writes to entities. Every service runs in one transaction and records its domain event(s)
in the outbox inside that transaction, so an event exists exactly when its change does."""

from __future__ import annotations

import json
import math
import re

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from psycopg.types.json import Jsonb
from rest_framework import exceptions

from accounts.models import User
from entities.models import Entity, normalize_name
from kglab.api.exceptions import Conflict
from kglab.bulk import BulkUpsertModel, BulkUpsertResult, bulk_upsert_apply
from kglab.events import event_record

BULK_MAX_ITEMS = 1000
NAME_MAX_LENGTH = 512
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
VIA_MAX_LENGTH = 64

# Fields a caller may set on an entity; the rest (owner, normalized name, version, dates,
# embedding) are derived or owned by the system.
ENTITY_WRITABLE_FIELDS = (
    "name",
    "type",
    "aliases",
    "description",
    "confidence",
    "metadata",
    "provenance",
    "mention_count",
)


# ---------------------------------------------------------------------------------------------
# Payloads and merge rules shared by the services of both graph apps


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def entity_event_payload(entity: Entity) -> dict:
    """The serialized row carried by entity events."""
    return {
        "id": entity.pk,
        "owner": entity.owner_id,
        "name": entity.name,
        "normalized_name": entity.normalized_name,
        "type": entity.type,
        "aliases": list(entity.aliases),
        "description": entity.description,
        "confidence": entity.confidence,
        "metadata": entity.metadata,
        "provenance": entity.provenance,
        "mention_count": entity.mention_count,
        "created_by": entity.created_by_id,
        "created_via": entity.created_via,
        "created_at": _iso(entity.created_at),
        "updated_at": _iso(entity.updated_at),
        "version": entity.version,
    }


def aliases_union(primary_normalized: str, *alias_lists) -> list[str]:
    """Aliases of all lists in first-seen order, one per normalized form, never the primary
    name itself."""
    seen = {primary_normalized}
    result = []
    for aliases in alias_lists:
        for alias in aliases:
            key = normalize_name(alias)
            if key and key not in seen:
                seen.add(key)
                result.append(alias)
    return result


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def records_union(current: list, *additions) -> tuple[list, bool]:
    """`current` followed by every record of `additions` not already present (compared as
    canonical JSON). Returns the union and whether anything was added."""
    seen = {_canonical(record) for record in current}
    result = list(current)
    for records in additions:
        for record in records:
            key = _canonical(record)
            if key not in seen:
                seen.add(key)
                result.append(record)
    return result, len(result) > len(current)


# ---------------------------------------------------------------------------------------------
# Item validation (bulk input and single writes share the field rules)


class ItemErrors:
    """Collects field errors per item so a failed batch names every bad item and field."""

    def __init__(self, count: int):
        self._errors: list[dict] = [{} for _ in range(count)]
        self.failed = False

    def add(self, index: int, field: str, message: str) -> None:
        self._errors[index].setdefault(field, []).append(message)
        self.failed = True

    def raise_if_any(self) -> None:
        if self.failed:
            raise exceptions.ValidationError({"items": self._errors})


def check_items_envelope(items) -> None:
    """A batch is a non-empty list of at most BULK_MAX_ITEMS objects."""
    if not isinstance(items, list):
        raise exceptions.ValidationError({"items": ["Expected a list of items."]})
    if not items:
        raise exceptions.ValidationError({"items": ["At least one item is required."]})
    if len(items) > BULK_MAX_ITEMS:
        raise exceptions.ValidationError(
            {"items": [f"At most {BULK_MAX_ITEMS} items per request; got {len(items)}."]}
        )


def valid_confidence(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def valid_type(value) -> bool:
    return isinstance(value, str) and bool(TYPE_PATTERN.match(value))


def valid_records(value) -> bool:
    return isinstance(value, list) and all(isinstance(record, dict) for record in value)


_ENTITY_ITEM_KEYS = frozenset(ENTITY_WRITABLE_FIELDS)


def _entity_item_clean(item, index: int, errors: ItemErrors) -> dict | None:
    if not isinstance(item, dict):
        errors.add(index, "non_field_errors", "Expected an object.")
        return None
    for key in item.keys() - _ENTITY_ITEM_KEYS:
        errors.add(index, key, "Unknown field.")
    name = item.get("name")
    if not isinstance(name, str) or not normalize_name(name):
        errors.add(index, "name", "A non-blank string is required.")
    elif len(name) > NAME_MAX_LENGTH:
        errors.add(index, "name", f"At most {NAME_MAX_LENGTH} characters.")
    if not valid_type(item.get("type")):
        errors.add(
            index, "type", "A lower-case slug is required: a letter, then letters, digits, '-' or '_'."
        )
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and len(a) <= NAME_MAX_LENGTH for a in aliases
    ):
        errors.add(index, "aliases", f"A list of strings of at most {NAME_MAX_LENGTH} characters.")
    if not isinstance(item.get("description", ""), str):
        errors.add(index, "description", "A string is required.")
    if "confidence" in item and not valid_confidence(item["confidence"]):
        errors.add(index, "confidence", "A number between 0 and 1 is required.")
    if not isinstance(item.get("metadata", {}), dict):
        errors.add(index, "metadata", "An object is required.")
    if not valid_records(item.get("provenance", [])):
        errors.add(index, "provenance", "A list of objects is required.")
    mention_count = item.get("mention_count", 0)
    if not isinstance(mention_count, int) or isinstance(mention_count, bool) or mention_count < 0:
        errors.add(index, "mention_count", "A non-negative integer is required.")
    if errors.failed:
        return None
    return {
        "name": name.strip(),
        "normalized_name": normalize_name(name),
        "type": item["type"],
        "aliases": [a.strip() for a in aliases if a.strip()],
        "description": item.get("description", ""),
        "confidence": float(item["confidence"]) if "confidence" in item else None,
        "metadata": item.get("metadata", {}),
        "provenance": item.get("provenance", []),
        "mention_count": mention_count,
    }


def _entity_items_combine(cleaned: list[dict]) -> tuple[dict[tuple, dict], list[tuple]]:
    """Folds items that share a key into one; returns {key: combined} and each item's key."""
    combined: dict[tuple, dict] = {}
    keys = []
    for item in cleaned:
        key = (item["type"], item["normalized_name"])
        keys.append(key)
        first = combined.get(key)
        if first is None:
            combined[key] = dict(item)
            continue
        first["aliases"] = aliases_union(
            first["normalized_name"], first["aliases"], [item["name"]], item["aliases"]
        )
        first["provenance"], _ = records_union(first["provenance"], item["provenance"])
        first["metadata"] = {**first["metadata"], **item["metadata"]}
        first["description"] = first["description"] or item["description"]
        if item["confidence"] is not None:
            first["confidence"] = max(first["confidence"] or 0.0, item["confidence"])
        first["mention_count"] += item["mention_count"]
    return combined, keys


def _entity_merge_item(entity: Entity, item: dict) -> bool:
    """Applies the upsert merge rules of `item` to `entity` in memory; True if it changed."""
    aliases = aliases_union(entity.normalized_name, entity.aliases, item["aliases"])
    provenance, provenance_grew = records_union(entity.provenance, item["provenance"])
    metadata = {**entity.metadata, **item["metadata"]}
    description = entity.description or item["description"]
    confidence = entity.confidence
    if item["confidence"] is not None:
        confidence = max(entity.confidence, item["confidence"])
    mention_count = entity.mention_count + (item["mention_count"] if provenance_grew else 0)
    changed = (
        aliases != list(entity.aliases)
        or provenance_grew
        or metadata != entity.metadata
        or description != entity.description
        or confidence != entity.confidence
        or mention_count != entity.mention_count
    )
    if changed:
        entity.aliases = aliases
        entity.provenance = provenance
        entity.metadata = metadata
        entity.description = description
        entity.confidence = confidence
        entity.mention_count = mention_count
    return changed


def _entities_write_merged(rows: list[Entity]) -> None:
    """Writes the merged fields of `rows` in one UPDATE ... FROM unnest(arrays)."""
    table = Entity._meta.db_table
    sql = (
        f"UPDATE {table} AS e SET "  # noqa: S608
        "aliases = ARRAY(SELECT a.value FROM jsonb_array_elements_text(v.aliases) WITH ORDINALITY "
        "AS a(value, position) ORDER BY a.position)::varchar(512)[], "
        "provenance = v.provenance, metadata = v.metadata, description = v.description, "
        "confidence = v.confidence, mention_count = v.mention_count, version = v.version, "
        "updated_at = v.updated_at "
        "FROM unnest(%s::bigint[], %s::jsonb[], %s::jsonb[], %s::jsonb[], %s::text[], "
        "%s::float8[], %s::integer[], %s::integer[], %s::timestamptz[]) "
        "AS v(id, aliases, provenance, metadata, description, confidence, mention_count, version, "
        "updated_at) "
        "WHERE e.id = v.id"
    )
    params = [
        [row.pk for row in rows],
        [Jsonb(list(row.aliases)) for row in rows],
        [Jsonb(row.provenance) for row in rows],
        [Jsonb(row.metadata) for row in rows],
        [row.description for row in rows],
        [row.confidence for row in rows],
        [row.mention_count for row in rows],
        [row.version for row in rows],
        [row.updated_at for row in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _entity_insert_values(item: dict) -> dict:
    """The columns of a new entity from a combined bulk item."""
    return {
        "name": item["name"],
        "normalized_name": item["normalized_name"],
        "type": item["type"],
        "aliases": item["aliases"],
        "description": item["description"],
        "confidence": item["confidence"] if item["confidence"] is not None else 1.0,
        "metadata": item["metadata"],
        "provenance": item["provenance"],
        "mention_count": item["mention_count"],
    }


def _check_via(via: str) -> None:
    if not isinstance(via, str) or not via or len(via) > VIA_MAX_LENGTH:
        raise exceptions.ValidationError({"via": [f"A non-empty string of at most {VIA_MAX_LENGTH}."]})


_ENTITY_BULK = BulkUpsertModel(
    aggregate_type="entity",
    model_class=Entity,
    key_fields=("type", "normalized_name"),
    insert_values=_entity_insert_values,
    merge_values=_entity_merge_item,
    write_rows=_entities_write_merged,
    event_payload=entity_event_payload,
    deferred_fields=("embedding",),
)


def entity_bulk_upsert(
    *, owner: User, items: list[dict], actor: User | None = None, via: str = "bulk"
) -> BulkUpsertResult:
    """Creates or merges up to 1,000 entities of one owner, all or nothing.

    The key is (owner, type, normalized name). Items repeating a key in the batch are folded
    into one first. A matching row absorbs the item: aliases united (one per normalized form,
    never the primary name), provenance united, metadata shallow-merged, description kept
    unless empty, confidence = max(old, new), mention_count added only when the provenance
    gained a record. Because every rule is idempotent, sending the same batch twice leaves the
    second run `unchanged`: no write, no version bump, no event. Rows are locked in a fixed
    order and new keys are inserted with ON CONFLICT, so concurrent upserts of the same keys
    neither fail nor lose aliases. Emits `entity.created` / `entity.updated` per changed row."""
    check_items_envelope(items)
    _check_via(via)
    errors = ItemErrors(len(items))
    cleaned = [_entity_item_clean(item, index, errors) for index, item in enumerate(items)]
    errors.raise_if_any()
    combined, keys = _entity_items_combine(cleaned)
    return bulk_upsert_apply(
        model=_ENTITY_BULK,
        owner_id=owner.pk,
        actor_id=actor.pk if actor is not None else None,
        via=via,
        combined=combined,
        keys=keys,
    )


# ---------------------------------------------------------------------------------------------
# Single-entity writes


def _conflict_existing(*, owner_id: int, entity_type: str, normalized: str, exclude_id=None):
    existing = (
        Entity.objects.filter(owner_id=owner_id, type=entity_type, normalized_name=normalized)
        .exclude(pk=exclude_id)
        .values_list("pk", flat=True)
        .first()
    )
    conflict = Conflict()
    conflict.detail = {
        "detail": "An entity with this type and name already exists for this owner.",
        "code": "conflict",
        "existing_id": existing,
    }
    return conflict


def _entity_save_unique(entity: Entity, **save_kwargs) -> None:
    """Saves in a savepoint; a duplicate (owner, type, name) becomes 409 naming the row."""
    try:
        with transaction.atomic():
            entity.save(**save_kwargs)
    except IntegrityError as error:
        if getattr(error.__cause__, "diag", None) and (
            error.__cause__.diag.constraint_name == "entities_entity_unique_name"
        ):
            raise _conflict_existing(
                owner_id=entity.owner_id,
                entity_type=entity.type,
                normalized=normalize_name(entity.name),
                exclude_id=entity.pk,
            ) from error
        raise


def entity_create(
    *,
    owner: User,
    name: str,
    type: str,
    aliases: list[str] | None = None,
    description: str = "",
    confidence: float = 1.0,
    metadata: dict | None = None,
    provenance: list[dict] | None = None,
    mention_count: int = 0,
    actor: User | None = None,
    via: str = "api",
) -> Entity:
    """Creates one entity for `owner`. A duplicate (type, normalized name) of that owner is a
    409 `conflict` whose details carry `existing_id`. Emits `entity.created`."""
    entity = Entity(
        owner=owner,
        name=name.strip(),
        type=type,
        description=description,
        confidence=confidence,
        metadata=metadata or {},
        provenance=provenance or [],
        mention_count=mention_count,
        created_by=actor,
        created_via=via,
    )
    entity.aliases = aliases_union(normalize_name(entity.name), aliases or [])
    with transaction.atomic():
        _entity_save_unique(entity, force_insert=True)
        event_record(
            type="entity.created",
            owner=owner,
            aggregate_type="entity",
            aggregate_id=entity.pk,
            payload=entity_event_payload(entity),
        )
    return entity


def entity_lock(*, entity_id: int, for_delete: bool = False) -> Entity:
    """The entity row locked until the end of the current transaction. An update takes
    FOR NO KEY UPDATE, which still lets relationships be attached to the row concurrently;
    a delete takes FOR UPDATE."""
    rows = Entity.objects.defer("embedding")
    return rows.select_for_update(of=("self",), no_key=not for_delete).get(pk=entity_id)


def entity_update(*, entity: Entity, data: dict, actor: User | None = None) -> Entity:
    """Changes the given fields of an entity (any of ENTITY_WRITABLE_FIELDS) on the row
    locked FOR UPDATE, so concurrent updates apply one after the other and none is lost.
    `version` grows by one; a request that changes nothing writes nothing and emits nothing.
    Renaming onto another entity's (type, name) is a 409 `conflict`. Emits `entity.updated`."""
    unknown = set(data) - set(ENTITY_WRITABLE_FIELDS)
    if unknown:
        raise exceptions.ValidationError({field: ["Not a writable field."] for field in sorted(unknown)})
    with transaction.atomic():
        current = entity_lock(entity_id=entity.pk)
        before = {field: getattr(current, field) for field in ENTITY_WRITABLE_FIELDS}
        for field, value in data.items():
            setattr(current, field, value.strip() if field == "name" else value)
        current.aliases = aliases_union(normalize_name(current.name), current.aliases)
        after = {field: getattr(current, field) for field in ENTITY_WRITABLE_FIELDS}
        if after == before:
            return current
        current.version += 1
        _entity_save_unique(current)
        event_record(
            type="entity.updated",
            owner=current.owner_id,
            aggregate_type="entity",
            aggregate_id=current.pk,
            payload=entity_event_payload(current),
        )
    return current


def entity_delete(*, entity: Entity, actor: User | None = None) -> None:
    """Deletes an entity and every relationship that starts or ends at it. Emits one
    `entity.deleted` event whose payload lists the removed relationship ids
    (`deleted_relationship_ids`) instead of one event per edge."""
    from relationships.models import Relationship

    with transaction.atomic():
        current = entity_lock(entity_id=entity.pk, for_delete=True)
        edges = Relationship.objects.filter(Q(source_id=current.pk) | Q(target_id=current.pk))
        edge_ids = sorted(edges.values_list("pk", flat=True))
        edges.delete()
        payload = entity_event_payload(current)
        payload["deleted_relationship_ids"] = edge_ids
        Entity.objects.filter(pk=current.pk).delete()
        event_record(
            type="entity.deleted",
            owner=current.owner_id,
            aggregate_type="entity",
            aggregate_id=current.pk,
            payload=payload,
        )


def entity_merge(*, survivor: Entity, merge_ids: list[int], actor: User | None = None) -> dict:
    """Merges the entities `merge_ids` into `survivor` in one transaction.

    Relationships of the merged entities are redirected to the survivor; edges that become
    duplicates (same source, target, type) are combined into one (max confidence, evidence
    united, metadata merged) and edges that become self-loops are dropped. The survivor
    absorbs the merged names and aliases (as aliases), metadata (its own keys win),
    provenance, mention counts and the highest confidence. The merged entities are removed.
    With an `actor`, every id must be editable by them (404 otherwise); all must belong to
    the survivor's owner (400 otherwise). Emits one `entity.merged` event. Returns the
    survivor and the edge counts."""
    from relationships.services import relationships_redirect

    if not isinstance(merge_ids, list) or not merge_ids:
        raise exceptions.ValidationError({"merge_ids": ["A non-empty list of entity ids is required."]})
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in merge_ids):
        raise exceptions.ValidationError({"merge_ids": ["Entity ids are integers."]})
    if survivor.pk in merge_ids:
        raise exceptions.ValidationError({"merge_ids": ["An entity cannot be merged into itself."]})
    merge_ids = sorted(set(merge_ids))
    all_ids = sorted([survivor.pk, *merge_ids])

    with transaction.atomic():
        scope = Entity.objects.editable_by(actor) if actor is not None else Entity.objects.all()
        locked = {
            row.pk: row
            for row in scope.filter(pk__in=all_ids)
            .defer("embedding")
            .order_by("id")
            .select_for_update(of=("self",))
        }
        missing = [pk for pk in all_ids if pk not in locked]
        if missing:
            raise exceptions.NotFound(f"No entity with id(s) {missing}.")
        current = locked[survivor.pk]
        merged = [locked[pk] for pk in merge_ids]
        foreign = [row.pk for row in merged if row.owner_id != current.owner_id]
        if foreign:
            raise exceptions.ValidationError(
                {"merge_ids": [f"Entities {foreign} belong to another owner than the survivor."]}
            )

        counts = relationships_redirect(survivor_id=current.pk, merged_ids=merge_ids)

        current.aliases = aliases_union(
            current.normalized_name,
            current.aliases,
            *[[row.name, *row.aliases] for row in merged],
        )
        current.provenance, _ = records_union(current.provenance, *[row.provenance for row in merged])
        metadata: dict = {}
        for row in reversed(merged):
            metadata.update(row.metadata)
        current.metadata = {**metadata, **current.metadata}
        current.description = current.description or next(
            (row.description for row in merged if row.description), ""
        )
        current.confidence = max([current.confidence, *[row.confidence for row in merged]])
        current.mention_count += sum(row.mention_count for row in merged)
        current.version += 1
        Entity.objects.filter(pk__in=merge_ids).delete()
        current.save()
        payload = {
            "survivor": entity_event_payload(current),
            "merged_ids": merge_ids,
            "relationships": counts,
        }
        event_record(
            type="entity.merged",
            owner=current.owner_id,
            aggregate_type="entity",
            aggregate_id=current.pk,
            payload=payload,
        )
    return {"entity": current, "merged_ids": merge_ids, "relationships": counts}
