"""The keyed bulk upsert shared by the graph apps. Each app describes its model (unique key,
new-row values, merge rules, how merged rows are written, event payload); locking by key,
inserting missing keys, the statuses and the events are the same for every model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.utils import timezone

from kglab.events import event_record_many


@dataclass(frozen=True)
class BulkUpsertResult:
    """What a bulk upsert did: counts, and per input item its row and status."""

    created: int
    updated: int
    unchanged: int
    objects: list  # model instances in the order of the input items
    statuses: list[str]  # "created" | "updated" | "unchanged", same order


@dataclass(frozen=True)
class BulkUpsertModel:
    """The per-model pieces of a keyed bulk upsert.

    - `model_class` and `key_fields`: the model and the fields (attnames) that, with
      `owner_id`, form its unique key, in the order of the items' keys.
    - `insert_values(item)`: the model's own column values (attnames) of a new row; the
      owner, creator, dates and version are added by the upsert.
    - `merge_values(row, item)`: applies the item's merge rules to the row in memory;
      True if the row changed.
    - `write_rows(rows)`: writes the merged rows (version and updated_at included).
    - `event_payload(row)`: the serialized row carried by the row's events.
    - `aggregate_type`: the events' aggregate type and type prefix (`<aggregate>.created`).
    - `deferred_fields`: fields not loaded when existing rows are locked (large columns
      the merge never reads).
    """

    aggregate_type: str
    model_class: type[models.Model]
    key_fields: tuple[str, ...]
    insert_values: Callable[[dict], dict[str, Any]]
    merge_values: Callable[[Any, dict], bool]
    write_rows: Callable[[list], None]
    event_payload: Callable[[Any], dict]
    deferred_fields: tuple[str, ...] = ()


def _rows_lock_by_keys(*, model: BulkUpsertModel, owner_id: int, keys: list[tuple]) -> dict:
    """Locks the owner's rows with these keys FOR UPDATE, in id order, as {key: row}. The keys
    travel as one array per key field joined against the unique index: one short statement
    whatever the batch size."""
    if not keys:
        return {}
    meta = model.model_class._meta
    columns = ", ".join(
        field.column for field in meta.concrete_fields if field.name not in model.deferred_fields
    )
    key_fields = [meta.get_field(name) for name in model.key_fields]
    arrays = ", ".join(f"%s::{_array_element_type(field)}[]" for field in key_fields)
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"SELECT {columns} FROM {meta.db_table} WHERE owner_id = %s "  # noqa: S608
        f"AND ({', '.join(field.column for field in key_fields)}) IN (SELECT * FROM unnest({arrays})) "
        "ORDER BY id FOR UPDATE"
    )
    params = [owner_id, *[[key[position] for key in keys] for position in range(len(key_fields))]]
    return {
        tuple(getattr(row, name) for name in model.key_fields): row
        for row in model.model_class.objects.raw(sql, params)
    }


def _array_element_type(field: models.Field) -> str:
    # Text keys travel as text, which a longer value cannot be cut to fit.
    return "text" if isinstance(field, (models.CharField, models.TextField)) else field.db_type(connection)


def _placeholder(field: models.Field) -> str:
    return f"%s::{field.db_type(connection)}" if isinstance(field, ArrayField) else "%s"


def _rows_insert_new(
    *, model: BulkUpsertModel, owner_id: int, actor_id: int | None, via: str, items: list[dict]
) -> dict[tuple, models.Model]:
    """INSERT ... ON CONFLICT DO NOTHING: returns the rows this statement created, by key.
    A key another transaction created concurrently is skipped here (the statement waits for
    that transaction) and then merged like any existing row."""
    now = timezone.now()
    new_rows = [
        {
            "owner_id": owner_id,
            **model.insert_values(item),
            "created_by_id": actor_id,
            "created_via": via,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for item in items
    ]
    fields = [model.model_class._meta.get_field(attname) for attname in new_rows[0]]
    # Arrays are cast to the column's type; every other value is assigned to its column, so a
    # value too long for it fails the statement instead of being cut.
    row_sql = "(" + ", ".join(_placeholder(field) for field in fields) + ")"
    params = [field.get_db_prep_value(row[field.attname], connection) for row in new_rows for field in fields]
    key_columns = [model.model_class._meta.get_field(name).column for name in model.key_fields]
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {model.model_class._meta.db_table} "  # noqa: S608
        f"({', '.join(field.column for field in fields)}) "
        f"VALUES {', '.join([row_sql] * len(new_rows))} "
        f"ON CONFLICT (owner_id, {', '.join(key_columns)}) DO NOTHING "
        f"RETURNING id, {', '.join(key_columns)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = {tuple(key): pk for pk, *key in cursor.fetchall()}
    created = {}
    for row in new_rows:
        key = tuple(row[name] for name in model.key_fields)
        if key in returned:
            created[key] = model.model_class(pk=returned[key], **row)
    return created


def bulk_upsert_apply(
    *,
    model: BulkUpsertModel,
    owner_id: int,
    actor_id: int | None,
    via: str,
    combined: dict[tuple, dict],
    keys: list[tuple],
) -> BulkUpsertResult:
    """Creates or merges one row per key of `combined` (validated items, one per key) in one
    transaction, and reports per entry of `keys` (each input item's key, in input order).

    Existing rows are locked in key order; missing keys are inserted with ON CONFLICT DO
    NOTHING, and a key another transaction inserted meanwhile is locked and merged like any
    existing row, so concurrent upserts of the same keys neither fail nor lose a merge. A
    row the item changes gets version + 1 and a new updated_at; an unchanged row is not
    written and emits nothing. Emits `<aggregate>.created` / `<aggregate>.updated` per
    created or changed row."""
    ordered_keys = sorted(combined)

    with transaction.atomic():
        rows = _rows_lock_by_keys(model=model, owner_id=owner_id, keys=ordered_keys)
        missing = [combined[key] for key in ordered_keys if key not in rows]
        created = (
            _rows_insert_new(model=model, owner_id=owner_id, actor_id=actor_id, via=via, items=missing)
            if missing
            else {}
        )
        raced = [key for key in ordered_keys if key not in rows and key not in created]
        rows.update(_rows_lock_by_keys(model=model, owner_id=owner_id, keys=raced))

        status_by_key: dict[tuple, str] = dict.fromkeys(created, "created")
        changed = []
        now = timezone.now()
        for key in ordered_keys:
            if key in created:
                continue
            row = rows[key]
            if model.merge_values(row, combined[key]):
                row.version += 1
                row.updated_at = now
                changed.append(row)
                status_by_key[key] = "updated"
            else:
                status_by_key[key] = "unchanged"
        if changed:
            model.write_rows(changed)
        rows.update(created)

        events = [
            {
                "type": f"{model.aggregate_type}.{status_by_key[key]}",
                "owner": owner_id,
                "aggregate_type": model.aggregate_type,
                "aggregate_id": rows[key].pk,
                "payload": model.event_payload(rows[key]),
            }
            for key in ordered_keys
            if status_by_key[key] != "unchanged"
        ]
        if events:
            event_record_many(events)

    # An item folded into an earlier one of the same key reports that row's status.
    return BulkUpsertResult(
        created=len(created),
        updated=len(changed),
        unchanged=sum(1 for status in status_by_key.values() if status == "unchanged"),
        objects=[rows[key] for key in keys],
        statuses=[status_by_key[key] for key in keys],
    )
