"""Writes to relationships. Every service runs in one transaction and records its domain
event(s) in the outbox inside that transaction."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from psycopg.types.json import Jsonb
from rest_framework import exceptions

from accounts.models import User
from entities.models import Entity, normalize_name
from entities.services import (
    ItemErrors,
    _iso,
    check_items_envelope,
    records_union,
    valid_confidence,
    valid_records,
    valid_type,
)
from kglab.api.exceptions import Conflict
from kglab.bulk import BulkUpsertModel, BulkUpsertResult, bulk_upsert_apply
from kglab.events import event_record
from relationships.models import Relationship

RELATIONSHIP_WRITABLE_FIELDS = (
    "source",
    "target",
    "type",
    "confidence",
    "metadata",
    "evidence",
    "valid_from",
    "valid_to",
)


# Ends are compared by id: reading `source`/`target` would load both entities.
_COMPARED_COLUMNS = tuple(
    f"{field}_id" if field in ("source", "target") else field for field in RELATIONSHIP_WRITABLE_FIELDS
)


def relationship_event_payload(relationship: Relationship) -> dict:
    """The serialized row carried by relationship events."""
    return {
        "id": relationship.pk,
        "owner": relationship.owner_id,
        "source": relationship.source_id,
        "target": relationship.target_id,
        "type": relationship.type,
        "confidence": relationship.confidence,
        "metadata": relationship.metadata,
        "evidence": relationship.evidence,
        "valid_from": _iso(relationship.valid_from),
        "valid_to": _iso(relationship.valid_to),
        "created_by": relationship.created_by_id,
        "created_via": relationship.created_via,
        "created_at": _iso(relationship.created_at),
        "updated_at": _iso(relationship.updated_at),
        "version": relationship.version,
    }


def _record(relationship: Relationship, event_type: str, payload: dict | None = None) -> None:
    event_record(
        type=event_type,
        owner=relationship.owner_id,
        aggregate_type="relationship",
        aggregate_id=relationship.pk,
        payload=payload if payload is not None else relationship_event_payload(relationship),
    )


def _check_ends(*, owner_id: int, source: Entity, target: Entity) -> None:
    """Both ends belong to the relationship's owner, and an edge joins two entities."""
    errors = {}
    if source.owner_id != owner_id:
        errors["source"] = ["The source entity belongs to another owner than the relationship."]
    if target.owner_id != owner_id:
        errors["target"] = ["The target entity belongs to another owner than the relationship."]
    if not errors and source.pk == target.pk:
        errors["target"] = ["A relationship joins two different entities."]
    if errors:
        raise exceptions.ValidationError(errors)


def _check_period(valid_from, valid_to) -> None:
    if valid_from is not None and valid_to is not None and valid_from > valid_to:
        raise exceptions.ValidationError({"valid_to": ["valid_to must not be before valid_from."]})


def _conflict_existing(relationship: Relationship) -> Conflict:
    existing = (
        Relationship.objects.filter(
            owner_id=relationship.owner_id,
            source_id=relationship.source_id,
            target_id=relationship.target_id,
            type=relationship.type,
        )
        .exclude(pk=relationship.pk)
        .values_list("pk", flat=True)
        .first()
    )
    conflict = Conflict()
    conflict.detail = {
        "detail": "A relationship of this type between these entities already exists.",
        "code": "conflict",
        "existing_id": existing,
    }
    return conflict


def _save_unique(relationship: Relationship, **save_kwargs) -> None:
    try:
        with transaction.atomic():
            relationship.save(**save_kwargs)
    except IntegrityError as error:
        diag = getattr(error.__cause__, "diag", None)
        if diag is not None and diag.constraint_name == "relationships_unique_edge":
            raise _conflict_existing(relationship) from error
        raise


def relationship_create(
    *,
    owner: User,
    source: Entity,
    target: Entity,
    type: str,
    confidence: float = 1.0,
    metadata: dict | None = None,
    evidence: list[dict] | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    actor: User | None = None,
    via: str = "api",
) -> Relationship:
    """Creates one directed, typed edge between two entities of `owner` (400 naming the
    field otherwise; self-loops are refused). A duplicate (source, target, type) is a 409
    `conflict` with `existing_id`. Emits `relationship.created`."""
    _check_ends(owner_id=owner.pk, source=source, target=target)
    _check_period(valid_from, valid_to)
    relationship = Relationship(
        owner=owner,
        source=source,
        target=target,
        type=type,
        confidence=confidence,
        metadata=metadata or {},
        evidence=evidence or [],
        valid_from=valid_from,
        valid_to=valid_to,
        created_by=actor,
        created_via=via,
    )
    with transaction.atomic():
        _save_unique(relationship, force_insert=True)
        _record(relationship, "relationship.created")
    return relationship


def relationship_lock(*, relationship_id: int) -> Relationship:
    """The relationship row locked FOR UPDATE until the end of the current transaction."""
    return Relationship.objects.select_for_update(of=("self",)).get(pk=relationship_id)


def relationship_update(*, relationship: Relationship, data: dict, actor: User | None = None) -> Relationship:
    """Changes the given fields (any of RELATIONSHIP_WRITABLE_FIELDS; `source`/`target` are
    Entity instances) on the row locked FOR UPDATE. `version` grows by one; a request that
    changes nothing writes nothing. Emits `relationship.updated`."""
    unknown = set(data) - set(RELATIONSHIP_WRITABLE_FIELDS)
    if unknown:
        raise exceptions.ValidationError({field: ["Not a writable field."] for field in sorted(unknown)})
    with transaction.atomic():
        current = relationship_lock(relationship_id=relationship.pk)
        before = {field: getattr(current, field) for field in _COMPARED_COLUMNS}
        for field, value in data.items():
            setattr(current, field, value)
        if "source" in data or "target" in data:
            _check_ends(owner_id=current.owner_id, source=current.source, target=current.target)
        _check_period(current.valid_from, current.valid_to)
        after = {field: getattr(current, field) for field in _COMPARED_COLUMNS}
        if after == before:
            return current
        current.version += 1
        _save_unique(current)
        _record(current, "relationship.updated")
    return current


def relationship_delete(*, relationship: Relationship, actor: User | None = None) -> None:
    """Deletes one relationship. Emits `relationship.deleted` with the row as it was."""
    with transaction.atomic():
        current = relationship_lock(relationship_id=relationship.pk)
        payload = relationship_event_payload(current)
        Relationship.objects.filter(pk=current.pk).delete()
        _record(current, "relationship.deleted", payload)


# ---------------------------------------------------------------------------------------------
# Bulk upsert

_ITEM_KEYS = frozenset(RELATIONSHIP_WRITABLE_FIELDS)


def _parse_moment(value, index: int, field: str, errors: ItemErrors):
    if value is None or isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        moment = parse_datetime(value)
        if moment is None:
            errors.add(index, field, "An ISO 8601 date-time is required.")
            return None
    else:
        errors.add(index, field, "An ISO 8601 date-time is required.")
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


def _end_reference(value, index: int, field: str, errors: ItemErrors):
    """An end is an entity id or {"type", "name"}; returns a hashable reference."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ("id", value)
    if (
        isinstance(value, dict)
        and set(value) == {"type", "name"}
        and valid_type(value["type"])
        and isinstance(value["name"], str)
        and normalize_name(value["name"])
    ):
        return ("key", value["type"], normalize_name(value["name"]))
    errors.add(index, field, 'An entity id or {"type": ..., "name": ...} is required.')
    return None


def _item_clean(item, index: int, errors: ItemErrors) -> dict | None:
    if not isinstance(item, dict):
        errors.add(index, "non_field_errors", "Expected an object.")
        return None
    for key in item.keys() - _ITEM_KEYS:
        errors.add(index, key, "Unknown field.")
    source = _end_reference(item.get("source"), index, "source", errors)
    target = _end_reference(item.get("target"), index, "target", errors)
    if not valid_type(item.get("type")):
        errors.add(
            index, "type", "A lower-case slug is required: a letter, then letters, digits, '-' or '_'."
        )
    if "confidence" in item and not valid_confidence(item["confidence"]):
        errors.add(index, "confidence", "A number between 0 and 1 is required.")
    if not isinstance(item.get("metadata", {}), dict):
        errors.add(index, "metadata", "An object is required.")
    if not valid_records(item.get("evidence", [])):
        errors.add(index, "evidence", "A list of objects is required.")
    valid_from = _parse_moment(item.get("valid_from"), index, "valid_from", errors)
    valid_to = _parse_moment(item.get("valid_to"), index, "valid_to", errors)
    if valid_from is not None and valid_to is not None and valid_from > valid_to:
        errors.add(index, "valid_to", "valid_to must not be before valid_from.")
    return {
        "source": source,
        "target": target,
        "type": item.get("type"),
        "confidence": float(item["confidence"]) if valid_confidence(item.get("confidence")) else None,
        "metadata": item.get("metadata", {}),
        "evidence": item.get("evidence", []),
        "valid_from": valid_from,
        "valid_to": valid_to,
    }


def _resolve_ends(owner_id: int, cleaned: list[dict | None], errors: ItemErrors) -> None:
    """Replaces each end reference by an entity id of the owner, in two queries; an unknown
    or foreign entity is reported as not found."""
    ids = {
        ref[1]
        for item in cleaned
        if item
        for ref in (item["source"], item["target"])
        if ref and ref[0] == "id"
    }
    keys = {
        ref[1:]
        for item in cleaned
        if item
        for ref in (item["source"], item["target"])
        if ref and ref[0] == "key"
    }
    known_ids = set(Entity.objects.filter(owner_id=owner_id, pk__in=ids).values_list("pk", flat=True))
    by_key = {}
    if keys:
        condition = Q()
        for entity_type, normalized in keys:
            condition |= Q(type=entity_type, normalized_name=normalized)
        by_key = {
            (t, n): pk
            for pk, t, n in Entity.objects.filter(condition, owner_id=owner_id).values_list(
                "pk", "type", "normalized_name"
            )
        }
    for index, item in enumerate(cleaned):
        if item is None:
            continue
        for field in ("source", "target"):
            ref = item[field]
            if ref is None:
                continue
            resolved = ref[1] if ref[0] == "id" and ref[1] in known_ids else by_key.get(ref[1:])
            if resolved is None:
                errors.add(index, field, "Entity not found.")
            item[field] = resolved
        if item["source"] is not None and item["source"] == item["target"]:
            errors.add(index, "target", "A relationship joins two different entities.")


def _combine(cleaned: list[dict]) -> tuple[dict[tuple, dict], list[tuple]]:
    combined: dict[tuple, dict] = {}
    keys = []
    for item in cleaned:
        key = (item["source"], item["target"], item["type"])
        keys.append(key)
        first = combined.get(key)
        if first is None:
            combined[key] = dict(item)
            continue
        if item["confidence"] is not None:
            first["confidence"] = max(first["confidence"] or 0.0, item["confidence"])
        first["metadata"] = {**first["metadata"], **item["metadata"]}
        first["evidence"], _ = records_union(first["evidence"], item["evidence"])
        first["valid_from"] = first["valid_from"] or item["valid_from"]
        first["valid_to"] = first["valid_to"] or item["valid_to"]
    return combined, keys


def relationship_merge_values(row: Relationship, item: dict) -> bool:
    """Applies the merge rules of `item` to `row` in memory; True if it changed. Confidence
    is the max, metadata shallow-merged, evidence united, validity bounds kept unless unset."""
    confidence = row.confidence if item["confidence"] is None else max(row.confidence, item["confidence"])
    metadata = {**row.metadata, **item["metadata"]}
    evidence, grew = records_union(row.evidence, item["evidence"])
    valid_from = row.valid_from or item["valid_from"]
    valid_to = row.valid_to or item["valid_to"]
    if valid_from is not None and valid_to is not None and valid_from > valid_to:
        valid_from, valid_to = row.valid_from, row.valid_to
    changed = (
        confidence != row.confidence
        or metadata != row.metadata
        or grew
        or valid_from != row.valid_from
        or valid_to != row.valid_to
    )
    if changed:
        row.confidence, row.metadata, row.evidence = confidence, metadata, evidence
        row.valid_from, row.valid_to = valid_from, valid_to
    return changed


def _write_rows(rows: list[Relationship]) -> None:
    """Writes ends and merged fields of `rows` in one UPDATE ... FROM unnest(arrays)."""
    table = Relationship._meta.db_table
    sql = (
        f"UPDATE {table} AS r SET "  # noqa: S608
        "source_id = v.source_id, target_id = v.target_id, confidence = v.confidence, "
        "metadata = v.metadata, evidence = v.evidence, valid_from = v.valid_from, "
        "valid_to = v.valid_to, version = v.version, updated_at = v.updated_at "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[], %s::jsonb[], "
        "%s::jsonb[], %s::timestamptz[], %s::timestamptz[], %s::integer[], %s::timestamptz[]) "
        "AS v(id, source_id, target_id, confidence, metadata, evidence, valid_from, valid_to, "
        "version, updated_at) WHERE r.id = v.id"
    )
    params = [
        [row.pk for row in rows],
        [row.source_id for row in rows],
        [row.target_id for row in rows],
        [row.confidence for row in rows],
        [Jsonb(row.metadata) for row in rows],
        [Jsonb(row.evidence) for row in rows],
        [row.valid_from for row in rows],
        [row.valid_to for row in rows],
        [row.version for row in rows],
        [row.updated_at for row in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _insert_values(item: dict) -> dict:
    """The columns of a new relationship from a combined bulk item."""
    return {
        "source_id": item["source"],
        "target_id": item["target"],
        "type": item["type"],
        "confidence": item["confidence"] if item["confidence"] is not None else 1.0,
        "metadata": item["metadata"],
        "evidence": item["evidence"],
        "valid_from": item["valid_from"],
        "valid_to": item["valid_to"],
    }


_RELATIONSHIP_BULK = BulkUpsertModel(
    aggregate_type="relationship",
    model_class=Relationship,
    key_fields=("source_id", "target_id", "type"),
    insert_values=_insert_values,
    merge_values=relationship_merge_values,
    write_rows=_write_rows,
    event_payload=relationship_event_payload,
)


def relationship_bulk_upsert(
    *, owner: User, items: list[dict], actor: User | None = None, via: str = "bulk"
) -> BulkUpsertResult:
    """Creates or merges up to 1,000 relationships of one owner, all or nothing.

    Each end is an entity id or {"type", "name"} (matched by normalized name among the
    owner's entities; an unknown one is a validation error naming the item). The key is
    (owner, source, target, type); items repeating a key are folded first. A matching row
    takes confidence = max(old, new), metadata shallow-merged, evidence united and validity
    bounds only where unset, so re-sending a batch is a no-op (`unchanged`, no event).
    Concurrency-safe like `entity_bulk_upsert`. Emits `relationship.created|updated`."""
    from entities.services import _check_via

    check_items_envelope(items)
    _check_via(via)
    errors = ItemErrors(len(items))
    cleaned = [_item_clean(item, index, errors) for index, item in enumerate(items)]
    _resolve_ends(owner.pk, cleaned, errors)
    errors.raise_if_any()
    combined, keys = _combine(cleaned)
    return bulk_upsert_apply(
        model=_RELATIONSHIP_BULK,
        owner_id=owner.pk,
        actor_id=actor.pk if actor is not None else None,
        via=via,
        combined=combined,
        keys=keys,
    )


def relationships_redirect(*, survivor_id: int, merged_ids: list[int]) -> dict:
    """Points every edge of `merged_ids` at `survivor_id` (inside an entity merge).

    Edges that would become self-loops are deleted; edges that end up with the same
    (source, target, type) are combined into the one that already had its final key (or the
    oldest), taking the max confidence, united evidence and merged metadata. Returns the
    counts {"redirected", "combined", "dropped_self_loops"}."""
    touched = sorted({survivor_id, *merged_ids})
    rows = list(
        Relationship.objects.filter(Q(source_id__in=touched) | Q(target_id__in=touched))
        .order_by("id")
        .select_for_update(of=("self",))
    )
    merged = set(merged_ids)

    def final(pk: int) -> int:
        return survivor_id if pk in merged else pk

    groups: dict[tuple, list[Relationship]] = {}
    self_loops = []
    for row in rows:
        key = (final(row.source_id), final(row.target_id), row.type)
        if key[0] == key[1]:
            self_loops.append(row.pk)
        else:
            groups.setdefault(key, []).append(row)

    to_delete = list(self_loops)
    to_update = []
    redirected = 0
    combined = 0
    now = timezone.now()
    for (source_id, target_id, _type), group in groups.items():
        in_place = [r for r in group if r.source_id == source_id and r.target_id == target_id]
        keeper = in_place[0] if in_place else group[0]
        moved = keeper.source_id != source_id or keeper.target_id != target_id
        grew = False
        for other in group:
            if other is keeper:
                continue
            grew |= relationship_merge_values(
                keeper,
                {
                    "confidence": other.confidence,
                    "metadata": {**other.metadata, **keeper.metadata},
                    "evidence": other.evidence,
                    "valid_from": other.valid_from,
                    "valid_to": other.valid_to,
                },
            )
            to_delete.append(other.pk)
            combined += 1
        if moved:
            keeper.source_id, keeper.target_id = source_id, target_id
            redirected += 1
        if moved or grew:
            keeper.version += 1
            keeper.updated_at = now
            to_update.append(keeper)

    if to_delete:
        Relationship.objects.filter(pk__in=to_delete).delete()
    if to_update:
        _write_rows(to_update)
    return {"redirected": redirected, "combined": combined, "dropped_self_loops": len(self_loops)}
