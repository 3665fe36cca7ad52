"""The embedded CRM: Salesforce-shaped objects in the state database (SQLite by default, Postgres by URL).

Every write runs in a ``fast_sql`` unit of work, so inside ``together`` (``SqlUnitOfWork``) it joins the unit's
transaction on the unit's connection: a write on a connection of its own would wait out SQLite's
``busy_timeout`` behind the unit's write lock, and on Postgres commit apart from the unit.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from pydantic import ValidationError

from revloops.adapters.localcrm import history
from revloops.adapters.sql.columns import read_frames
from revloops.adapters.sql.fast import Unit, fast_sql
from revloops.adapters.sql.tables import SOBJECT_TABLES
from revloops.core.errors import InputError, NotFound, RecordRejected
from revloops.core.ids import is_valid_id, new_id
from revloops.core.records import CREATE_DELETE_ONLY, HISTORY_TRACKED, SObject, model_for
from revloops.ports.crm import CRM, Filter, Page, Query, RecordError, SaveResult


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: Any) -> Any:
    # SQLite hands datetimes back naive; they were stored as UTC.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _table(sobject: str) -> sa.Table:
    try:
        return SOBJECT_TABLES[sobject]
    except KeyError:
        raise InputError(f"unknown object {sobject!r}", field="sobject") from None


@functools.cache
def _by_id(sobject: str) -> sa.Select[Any]:
    """The read of one record by id, built once per object (this is the CRM's hottest statement)."""
    table = _table(sobject)
    return sa.select(table).where(table.c.Id == sa.bindparam("record_id"))


@functools.cache
def _update_by_id(sobject: str) -> sa.Update:
    """An update of one record by id, built once per object; the fields set come with the parameters."""
    table = _table(sobject)
    return table.update().where(table.c.Id == sa.bindparam("record_id_"))


@functools.cache
def _delete_by_id(sobject: str) -> sa.Delete:
    table = _table(sobject)
    return table.delete().where(table.c.Id == sa.bindparam("record_id"))


def _insert_skipping_duplicates(table: sa.Table, dialect: str) -> sa.Insert:
    """An insert that skips a row breaking a unique key (answering 0 rows) rather than failing: in an open
    unit of work a failed statement would abort the whole unit on Postgres."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return table.insert()


def _reject_from(exc: ValidationError) -> RecordRejected:
    err = exc.errors(include_url=False)[0]
    fld = ".".join(str(p) for p in err["loc"])
    code = "INVALID_FIELD" if err["type"] == "extra_forbidden" else "INVALID_TYPE_ON_FIELD_IN_RECORD"
    msg = "no such field" if err["type"] == "extra_forbidden" else err["msg"]
    return RecordRejected(f"{fld}: {msg}", code, (fld,))


#: Filters a prepared query can take with their value as a parameter (``in`` lists vary in length).
_PREPARABLE = frozenset({"eq", "gt", "gte", "lt", "lte", "like"})


def _condition(table: sa.Table, flt: Filter, value: Any = None, bound: bool = False) -> sa.ColumnElement[bool]:
    if flt.field not in table.c:
        raise InputError(f"no such field on {table.name[3:]}", field=flt.field)
    col = table.c[flt.field]
    if not bound:
        value = flt.value
    ops: dict[str, Any] = {
        "eq": lambda: col.is_(None) if value is None else col == value,
        "ne": lambda: col.is_not(None) if value is None else sa.or_(col != value, col.is_(None)),
        "in": lambda: col.in_(list(value)),
        "not_in": lambda: sa.or_(col.not_in(list(value)), col.is_(None)),
        "gt": lambda: col > value,
        "gte": lambda: col >= value,
        "lt": lambda: col < value,
        "lte": lambda: col <= value,
        "like": lambda: col.like(value),
    }
    return ops[flt.op]()  # type: ignore[no-any-return]


class LocalCRM(CRM):
    """The CRM port over SQLAlchemy tables; validates like Salesforce (required fields, known fields, ids)."""

    name = "local"

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = fast_sql(engine)

    # -- reads -------------------------------------------------------------------------------------
    def read_columns(self, sobject: str, columns: Sequence[str], *, chunk_rows: int | None = None,
                     limit: int | None = None, created_order: bool = False,
                     modified_since: dt.datetime | None = None) -> Iterator[pl.DataFrame]:
        """Stored records straight from the database into frames (connectorx: Arrow, no object per row),
        chunk by chunk in key order; an in-memory SQLite database is read through its own connection."""
        table = _table(sobject)
        where = table.c.SystemModstamp >= modified_since if modified_since is not None else None
        yield from read_frames(self.engine, table, sobject, columns, chunk_rows=chunk_rows, limit=limit,
                               created_order=created_order, where=where)

    def _to_record(self, sobject: str, row: sa.Row[Any] | Mapping[str, Any]) -> SObject:
        # Rows were validated on the way in and come back typed by the column types, so they are built
        # without validating again (this is the CRM's hottest path).
        items = row.items() if isinstance(row, Mapping) else row._mapping.items()
        data = {k: _aware(v) for k, v in items if v is not None}
        return model_for(sobject).model_construct(**data)

    def get(self, sobject: str, record_id: str) -> SObject:
        stmt = self.sql.prepare(("crm.get", sobject), lambda: _by_id(sobject))
        with self.sql.unit() as unit:
            row = unit.first(stmt, {"record_id": record_id})
        if row is None:
            raise NotFound(f"{sobject} {record_id} does not exist")
        return self._to_record(sobject, row)

    def _prepared_query(self, query: Query) -> tuple[Any, dict[str, Any]] | None:
        """A query whose filters all take a plain value, prepared once per shape (object, filters, order,
        limit or not); None for one that cannot be (``in`` lists, comparisons with null)."""
        if any(f.op not in _PREPARABLE or f.value is None for f in query.filters):
            return None
        table = _table(query.sobject)
        shape = ("crm.query", query.sobject, tuple((f.field, f.op) for f in query.filters), tuple(query.order_by),
                 query.limit is not None)

        def build() -> sa.Select[Any]:
            stmt = sa.select(table).where(*[_condition(table, f, sa.bindparam(f"p{i}"), bound=True)
                                            for i, f in enumerate(query.filters)])
            stmt = stmt.order_by(*self._order(table, query))
            return stmt.limit(sa.bindparam("limit_")) if query.limit is not None else stmt

        values: dict[str, Any] = {f"p{i}": f.value for i, f in enumerate(query.filters)}
        values["limit_"] = query.limit
        return self.sql.prepare(shape, build), values

    def query_all(self, query: Query, page_size: int = 2000) -> Iterator[SObject]:
        """Every matching record in one ordered read (no count, no paging round trips)."""
        prepared = self._prepared_query(query)
        if prepared is not None:
            with self.sql.unit() as unit:
                found = unit.all(*prepared)
            for data in found:
                yield self._to_record(query.sobject, data)
            return
        table = _table(query.sobject)
        stmt = sa.select(table).where(*[_condition(table, f) for f in query.filters])
        stmt = stmt.order_by(*self._order(table, query))
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        for row in rows:
            yield self._to_record(query.sobject, row)

    def _order(self, table: sa.Table, query: Query) -> list[sa.UnaryExpression[Any]]:
        order = []
        for fld, desc in query.order_by:
            if fld not in table.c:
                raise InputError(f"no such field on {query.sobject}", field=fld)
            order.append(table.c[fld].desc() if desc else table.c[fld].asc())
        order.append(table.c.Id.asc())  # a stable order makes pages consistent
        return order

    def query(self, query: Query, page_size: int = 2000, page_token: str | None = None) -> Page:
        table = _table(query.sobject)
        where = [_condition(table, f) for f in query.filters]
        offset = _offset(page_token) if page_token else 0
        stmt = sa.select(table).where(*where).order_by(*self._order(table, query))
        count_stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        with self.engine.connect() as conn:
            total = int(conn.execute(count_stmt).scalar_one())
            if query.limit is not None:
                total = min(total, query.limit)
            size = max(0, min(page_size, total - offset))
            rows = conn.execute(stmt.offset(offset).limit(size)).all() if size else []
        nxt = offset + len(rows)
        token = base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < total else None
        return Page([self._to_record(query.sobject, r) for r in rows], token, total)

    # -- writes ------------------------------------------------------------------------------------
    def _prepare_create(self, record: SObject, audit_fields: bool = False) -> dict[str, Any]:
        """The row of a record to create: its fields, a fresh Id unless it has one, and the system fields.

        CreatedDate and LastModifiedDate are the write's time, or with ``audit_fields`` the record's own
        (LastModifiedDate defaulting to CreatedDate); SystemModstamp is always the write's time.
        """
        sobject = record.sobject_type
        history.refuse_read_only(sobject, "inserted")
        values = record.fields()
        given = {fld: _aware(values.pop(fld)) for fld in record.system_fields - {"Id"} if fld in values}
        missing = [f for f in record.required_fields if values.get(f) in (None, "")]
        if missing:
            raise RecordRejected(f"Required fields are missing: [{', '.join(missing)}]", "REQUIRED_FIELD_MISSING", missing)
        if "Id" in values and not is_valid_id(values["Id"], sobject):
            raise RecordRejected(f"invalid {sobject} id {values['Id']!r}", "MALFORMED_ID", ("Id",))
        now = _now()
        if "Id" not in values:
            values["Id"] = new_id(sobject)
        created = given.get("CreatedDate", now) if audit_fields else now
        modified = given.get("LastModifiedDate", created) if audit_fields else now
        if modified < created:
            raise RecordRejected("LastModifiedDate cannot be before CreatedDate", "FIELD_INTEGRITY_EXCEPTION",
                                 ("LastModifiedDate",))
        values.update(CreatedDate=created, LastModifiedDate=modified, SystemModstamp=now)
        if sobject == "Task" and values.get("Status") == "Completed":
            values.setdefault("CompletedDateTime", modified)
        return values

    def _prepare_update(self, sobject: str, changes: Mapping[str, Any], audit_fields: bool = False) -> dict[str, Any]:
        """The values an update sets: the changes checked by the record's model, LastModifiedDate (the write's
        time, or with ``audit_fields`` the one the changes carry) and SystemModstamp (the write's time)."""
        history.refuse_read_only(sobject, "updated")
        if sobject in CREATE_DELETE_ONLY:
            raise RecordRejected(f"{sobject} records cannot be updated", "INVALID_OPERATION")
        settable = {"LastModifiedDate"} if audit_fields else set()
        bad = [k for k in changes if k in model_for(sobject).system_fields and k not in settable]
        if bad:
            raise RecordRejected(f"{bad[0]} is not writeable", "INVALID_FIELD_FOR_INSERT_UPDATE", bad)
        try:
            checked = model_for(sobject).model_validate(dict(changes))
        except ValidationError as exc:
            raise _reject_from(exc) from None
        values = {k: getattr(checked, k) for k in changes}
        now = _now()
        modified = _aware(values.pop("LastModifiedDate", None)) or now
        values.update(LastModifiedDate=modified, SystemModstamp=now)
        if sobject == "Task" and "Status" in changes and "CompletedDateTime" not in changes:
            # as Salesforce does: a task closed gets its completion time, a task reopened loses it
            values["CompletedDateTime"] = modified if changes["Status"] == "Completed" else None
        return values

    def _apply_update(self, unit: Unit, sobject: str, record_id: str, values: Mapping[str, Any]) -> bool:
        """Run a prepared update in ``unit``; a change to an opportunity's tracked fields writes its history
        row, dated by the change's LastModifiedDate. False when there is no such record."""
        before = history.tracked_before(self.sql, unit, record_id) if sobject == history.TRACKED_OBJECT and any(
            name in values for name in HISTORY_TRACKED) else None
        stmt = self.sql.prepare(("crm.update", sobject), lambda: _update_by_id(sobject), column_keys=tuple(values))
        done = unit.execute(stmt, {"record_id_": record_id, **values})
        after = history.after_change(before, values) if done and before is not None else None
        if after is not None:
            history.write(self.sql, unit, [history.row({**after, "Id": record_id}, values["LastModifiedDate"],
                                                       values["SystemModstamp"])])
        return bool(done)

    def _insert(self, unit: Unit, sobject: str, values: Mapping[str, Any]) -> None:
        """Insert one prepared record. Raises RecordRejected when it would duplicate a unique field."""
        table = _table(sobject)
        dialect = self.sql.dialect.name
        insert = self.sql.prepare(("crm.insert", sobject), lambda: _insert_skipping_duplicates(table, dialect),
                                  column_keys=tuple(values))
        try:
            inserted = unit.execute(insert, values)
        except self.sql.IntegrityError:  # a dialect that cannot skip duplicates
            inserted = 0
        if not inserted:
            raise RecordRejected("duplicate value on a unique field", "DUPLICATE_VALUE")

    def _created_history(self, unit: Unit, sobject: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """The first history row of each opportunity created, dated by its CreatedDate."""
        if sobject == history.TRACKED_OBJECT:
            history.write(self.sql, unit, [history.row(r, r["CreatedDate"], r["SystemModstamp"]) for r in rows])

    def create(self, record: SObject, *, audit_fields: bool = False) -> str:
        values = self._prepare_create(record, audit_fields)
        with self.sql.unit(write=True) as unit:
            self._insert(unit, record.sobject_type, values)
            self._created_history(unit, record.sobject_type, [values])
        return str(values["Id"])

    def update(self, sobject: str, record_id: str, changes: Mapping[str, Any], *,
               audit_fields: bool = False) -> None:
        values = self._prepare_update(sobject, changes, audit_fields)
        with self.sql.unit(write=True) as unit:
            done = self._apply_update(unit, sobject, record_id, values)
        if not done:
            raise NotFound(f"{sobject} {record_id} does not exist")

    def delete(self, sobject: str, record_id: str) -> None:
        history.refuse_read_only(sobject, "deleted")
        stmt = self.sql.prepare(("crm.delete", sobject), lambda: _delete_by_id(sobject))
        with self.sql.unit(write=True) as unit:
            done = unit.execute(stmt, {"record_id": record_id})
            if done and sobject == history.TRACKED_OBJECT:
                history.forget(self.sql, unit, record_id)
        if not done:
            raise NotFound(f"{sobject} {record_id} does not exist")

    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> SaveResult:
        model = model_for(sobject)
        if external_id_field not in model.external_id_fields:
            raise RecordRejected(f"{external_id_field} is not an external id of {sobject}", "INVALID_FIELD", (external_id_field,))
        table = _table(sobject)
        find = self.sql.prepare(("crm.upsert_find", sobject, external_id_field), lambda: (
            sa.select(table.c.Id).where(table.c[external_id_field] == sa.bindparam("key")).with_for_update()))
        # The row lock (Postgres) / write transaction (SQLite) makes a concurrent upsert wait, not duplicate.
        with self.sql.unit(write=True) as unit:
            found = unit.first(find, {"key": external_id})
            if found is not None:
                self._apply_update(unit, sobject, found["Id"], self._prepare_update(sobject, fields))
                return SaveResult(found["Id"], True, created=False)
            try:
                record = model.model_validate({**fields, external_id_field: external_id})
            except ValidationError as exc:
                raise _reject_from(exc) from None
            values = self._prepare_create(record)
            self._insert(unit, sobject, values)
            self._created_history(unit, sobject, [values])
            return SaveResult(values["Id"], True, created=True)

    def _each(self, items: Sequence[Any], write: Any) -> list[SaveResult]:
        results = []
        for item in items:
            try:
                results.append(write(item))
            except RecordRejected as exc:
                results.append(SaveResult(None, False, errors=(RecordError(exc.status_code, exc.message, tuple(exc.fields)),)))
            except NotFound as exc:
                results.append(SaveResult(None, False, errors=(RecordError("ENTITY_IS_DELETED", exc.message),)))
        return results

    def _create_batch(self, records: Sequence[SObject], *, audit_fields: bool = False) -> list[SaveResult]:
        prepared: list[dict[str, Any] | RecordRejected] = []
        for rec in records:
            try:
                prepared.append(self._prepare_create(rec, audit_fields))
            except RecordRejected as exc:
                prepared.append(exc)
        good = [p for p in prepared if isinstance(p, dict)]

        def one_by_one() -> list[SaveResult]:
            return self._each(records, lambda r: SaveResult(self.create(r, audit_fields=audit_fields), True,
                                                            created=True))

        if good and len({r.sobject_type for r in records}) == 1:
            sobject = records[0].sobject_type
            table = _table(sobject)
            # executemany needs the same keys in every row
            rows = [{c.key: p.get(c.key) for c in table.c} for p in good]
            insert = self.sql.prepare(("crm.insert_batch", sobject), table.insert, column_keys=tuple(table.c.keys()))
            try:
                # in an open unit, a savepoint: a duplicate takes back this batch's rows, not the unit's
                with self.sql.unit(write=True, savepoint=True) as unit:
                    unit.execute_many(insert, rows)
                    self._created_history(unit, sobject, good)
            except self.sql.IntegrityError:
                # one bad row (a duplicate external id): fall back to one by one so only it fails
                return one_by_one()
            return [
                SaveResult(p["Id"], True, created=True) if isinstance(p, dict)
                else SaveResult(None, False, errors=(RecordError(p.status_code, p.message, tuple(p.fields)),))
                for p in prepared
            ]
        return one_by_one()

    def _stored(self, unit: Unit, sobject: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records of ``ids`` that exist, locked until ``unit`` ends: Id -> the fields a change of them is
        compared with (an opportunity's tracked fields; nothing for other objects)."""
        if not ids:
            return {}
        table = _table(sobject)
        cols = [table.c[f] for f in HISTORY_TRACKED] if sobject == history.TRACKED_OBJECT else []
        stmt = self.sql.prepare(("crm.stored", sobject, len(ids)), lambda: sa.select(table.c.Id, *cols).where(
            table.c.Id.in_([sa.bindparam(f"id{i}") for i in range(len(ids))])).with_for_update())
        return {row.pop("Id"): row for row in unit.all(stmt, {f"id{i}": rid for i, rid in enumerate(ids)})}

    def _update_batch(self, sobject: str, changes: Sequence[tuple[str, Mapping[str, Any]]], *,
                      audit_fields: bool = False) -> list[SaveResult]:
        """The changes as one statement per set of fields changed (executemany), in one unit with the history
        rows they make; a record changed twice in a batch, or a batch breaking a unique field, goes one by one."""
        def one(item: tuple[str, Mapping[str, Any]]) -> SaveResult:
            self.update(sobject, item[0], item[1], audit_fields=audit_fields)
            return SaveResult(item[0], True)

        ids = [rid for rid, _ in changes]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            return self._each(changes, one)
        prepared: list[dict[str, Any] | RecordRejected] = []
        for _, change in changes:
            try:
                prepared.append(self._prepare_update(sobject, change, audit_fields))
            except RecordRejected as exc:
                prepared.append(exc)
        try:
            with self.sql.unit(write=True, savepoint=True) as unit:
                found = self._stored(unit, sobject, [rid for rid, p in zip(ids, prepared, strict=True)
                                                     if isinstance(p, dict)])
                groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                rows: list[dict[str, Any]] = []
                for rid, values in zip(ids, prepared, strict=True):
                    if not isinstance(values, dict) or rid not in found:
                        continue
                    groups.setdefault(tuple(values), []).append({"record_id_": rid, **values})
                    after = history.after_change(found[rid], values) if sobject == history.TRACKED_OBJECT else None
                    if after is not None:
                        rows.append(history.row({**after, "Id": rid}, values["LastModifiedDate"],
                                                values["SystemModstamp"]))
                for keys, params in groups.items():
                    stmt = self.sql.prepare(("crm.update", sobject), lambda: _update_by_id(sobject), column_keys=keys)
                    unit.execute_many(stmt, params)
                history.write(self.sql, unit, rows)
        except self.sql.IntegrityError:
            return self._each(changes, one)
        return [
            SaveResult(None, False, errors=(RecordError(p.status_code, p.message, tuple(p.fields)),))
            if isinstance(p, RecordRejected) else SaveResult(rid, True) if rid in found
            else SaveResult(None, False, errors=(RecordError("ENTITY_IS_DELETED", f"{sobject} {rid} does not exist"),))
            for rid, p in zip(ids, prepared, strict=True)
        ]

    def _delete_batch(self, sobject: str, ids: Sequence[str]) -> list[SaveResult]:
        def one(record_id: str) -> SaveResult:
            self.delete(sobject, record_id)
            return SaveResult(record_id, True)

        return self._each(ids, one)

    def describe(self) -> dict[str, Any]:
        return {"crm": self.name, "database": self.engine.url.render_as_string(hide_password=True)}


def _offset(page_token: str) -> int:
    """The offset a page token this CRM gave out stands for.

    Raises:
        ValueError: not such a token (bad base64, not a number, or an offset no database takes).
    """
    try:
        text = base64.urlsafe_b64decode(page_token.encode()).decode()
    except (ValueError, UnicodeError) as exc:
        raise ValueError("not a page token") from exc
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ValueError("not a page token")
    return int(text)
