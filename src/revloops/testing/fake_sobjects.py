"""The fake Salesforce's record store: validation, CRUD, upsert, collections, queries and describe.

Errors are raised as ``SfError`` with Salesforce's status codes; the HTTP layer turns them into a
top-level error array, and collections into per-record ``errors``. As in an org, an opportunity's history
(``OpportunityHistory``) is written by the store itself, on create and on each change of a tracked field, and
is read-only to the API; a create may set CreatedDate and LastModifiedDate only when the org grants the user
"Set Audit Fields upon Record Creation" (``SObjectStore.audit_fields``).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import threading
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from revloops.core.ids import is_valid_id, new_id, to18
from revloops.core.records import CREATE_DELETE_ONLY, HISTORY_TRACKED, READ_ONLY, SOBJECTS, SObject
from revloops.testing.fake_soql import Condition, SoqlQuery, parse, parse_datetime

SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp")
#: what a create may set for a user with "Set Audit Fields upon Record Creation"
AUDIT_FIELDS = ("CreatedDate", "LastModifiedDate")
_KINDS = {str: "string", int: "int", float: "double", bool: "boolean", dt.date: "date", dt.datetime: "datetime"}
_LITERAL_FOR = {"string": "str", "int": "number", "double": "number", "boolean": "bool", "date": "date",
                "datetime": "datetime", "id": "str", "reference": "str"}


class SfError(Exception):
    """A refusal as Salesforce words it: HTTP status, errorCode, message and the fields at fault."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, list(fields)


def sf_datetime(value: dt.datetime) -> str:
    """A datetime as Salesforce writes it: UTC, milliseconds, ``+0000`` (``2026-01-02T03:04:05.000+0000``)."""
    utc = value.astimezone(dt.UTC) if value.tzinfo else value
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def sf_now() -> str:
    """Now, formatted as Salesforce writes datetimes."""
    return sf_datetime(dt.datetime.now(dt.UTC))


def field_kind(model: type[SObject], name: str) -> str:
    """The Salesforce field type of a model field (id, reference, string, int, double, boolean, date, datetime)."""
    if name == "Id":
        return "id"
    ann = model.model_fields[name].annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)] if isinstance(ann, types.UnionType) else [ann]
    kind = _KINDS.get(args[0], "string") if args and isinstance(args[0], type) else "string"
    if kind == "string" and name.endswith("Id") and name != "Id":
        return "reference"
    return kind


def _unique_fields(model: type[SObject]) -> tuple[str, ...]:
    return tuple(f for f in model.external_id_fields if f.endswith("__c"))


class SObjectStore:
    """Records by object and id, validated like an org with our metadata deployed.

    Attributes:
        audit_fields: the user holds "Set Audit Fields upon Record Creation" (a create keeps a given
            CreatedDate and LastModifiedDate; without it they are refused, as in an org).
    """

    def __init__(self, audit_fields: bool = False) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SOBJECTS}
        self.cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self.hidden_fields: dict[str, set[str]] = {}
        self.access: dict[str, dict[str, bool]] = {}
        self.audit_fields = audit_fields
        self.lock = threading.RLock()

    # -- schema -----------------------------------------------------------------------------------
    def model(self, sobject: str, status: int = 404) -> type[SObject]:
        """The record class of an object, or the error Salesforce gives for an unknown type."""
        if sobject not in SOBJECTS:
            if status == 404:
                raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
            raise SfError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        return SOBJECTS[sobject]

    def fields_of(self, sobject: str) -> list[str]:
        """The fields the org has on an object (hidden ones are 'not deployed')."""
        hidden = self.hidden_fields.get(sobject, set())
        return [f for f in SOBJECTS[sobject].model_fields if f not in hidden]

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe: its access flags and fields."""
        model = self.model(sobject)
        writable = sobject not in READ_ONLY
        flags = {"queryable": True, "createable": writable,
                 "updateable": writable and sobject not in CREATE_DELETE_ONLY, "deletable": writable,
                 **self.access.get(sobject, {})}
        fields = []
        for name in self.fields_of(sobject):
            system = name in SYSTEM_FIELDS or not writable
            fields.append({
                "name": name, "type": field_kind(model, name), "createable": not system,
                "updateable": not system and sobject not in CREATE_DELETE_ONLY,
                "nillable": name not in model.required_fields and not system,
                "externalId": name in _unique_fields(model), "unique": name in _unique_fields(model),
            })
        return {"name": sobject, "label": sobject, **flags, "fields": fields}

    # -- validation -------------------------------------------------------------------------------
    def _check_body(self, sobject: str, body: Mapping[str, Any], creating: bool) -> dict[str, Any]:
        known = set(self.fields_of(sobject))
        values = {k: v for k, v in body.items() if k != "attributes"}
        for name in values:
            if name not in known:
                raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
            if name in SYSTEM_FIELDS and not (creating and self.audit_fields and name in AUDIT_FIELDS):
                what = "cannot specify Id in an insert call" if name == "Id" and creating else (
                    f"Unable to create/update fields: {name}. Please check the security settings of this field.")
                raise SfError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", what, [name])
        return values

    def _validated(self, sobject: str, merged: Mapping[str, Any]) -> dict[str, Any]:
        model = self.model(sobject)
        system = {k: merged[k] for k in SYSTEM_FIELDS if k in merged}
        plain = {k: v for k, v in merged.items() if k not in SYSTEM_FIELDS}
        try:
            checked = model.model_validate(plain)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            name = str(err["loc"][0])
            kind = field_kind(model, name) if name in model.model_fields else "value"
            raise SfError(400, "JSON_PARSER_ERROR",
                          f"Cannot deserialize instance of {kind} from value {err.get('input')!r}", [name]) from None
        values = checked.model_dump(mode="json", exclude_none=True)
        missing = [f for f in model.required_fields if values.get(f) in (None, "")]
        if missing:
            raise SfError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        return {**values, **system}

    def _check_unique(self, sobject: str, values: Mapping[str, Any], own_id: str | None) -> None:
        for name in _unique_fields(self.model(sobject)):
            value = values.get(name)
            if value is None:
                continue
            for other_id, other in self.records[sobject].items():
                if other_id != own_id and str(other.get(name, "")).casefold() == str(value).casefold():
                    raise SfError(400, "DUPLICATE_VALUE",
                                  f"duplicate value found: {name} duplicates value on record with id: {other_id}", [name])

    def _find(self, sobject: str, record_id: str) -> dict[str, Any]:
        self.model(sobject)
        key = to18(record_id) if is_valid_id(record_id) else record_id
        record = self.records[sobject].get(key)
        if record is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return record

    # -- writes -----------------------------------------------------------------------------------
    def _audit_dates(self, values: Mapping[str, Any], now: str) -> tuple[str, str]:
        """(CreatedDate, LastModifiedDate) of a create: the given ones (allowed by ``_check_body`` only with
        the permission), else the write's time."""
        created = sf_datetime(parse_datetime(str(values["CreatedDate"]))) if "CreatedDate" in values else now
        modified = sf_datetime(parse_datetime(str(values["LastModifiedDate"]))) if "LastModifiedDate" in values \
            else created
        if parse_datetime(modified) < parse_datetime(created):
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", "LastModifiedDate cannot be before CreatedDate",
                          ["LastModifiedDate"])
        return created, modified

    def _history(self, opportunity: Mapping[str, Any], at: str) -> None:
        """The OpportunityHistory row of an opportunity's tracked fields as of ``at`` (an org writes it)."""
        row_id = new_id("OpportunityHistory")
        self.records["OpportunityHistory"][row_id] = {
            "Id": row_id, "CreatedDate": at, "SystemModstamp": sf_now(), "OpportunityId": opportunity["Id"],
            **{name: opportunity.get(name) for name in HISTORY_TRACKED}}

    def _refuse_read_only(self, sobject: str, operation: str) -> None:
        if sobject in READ_ONLY:
            raise SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {operation}: {sobject}")

    def create(self, sobject: str, body: Mapping[str, Any]) -> str:
        """Insert one record; answer its new id."""
        with self.lock:
            self.model(sobject)
            self._refuse_read_only(sobject, "inserted")
            values = self._validated(sobject, self._check_body(sobject, body, creating=True))
            self._check_unique(sobject, values, None)
            now = sf_now()
            created, modified = self._audit_dates(values, now)
            record_id = new_id(sobject)
            record = {**values, "Id": record_id, "CreatedDate": created, "LastModifiedDate": modified,
                      "SystemModstamp": now}
            self.records[sobject][record_id] = record
            if sobject == "Opportunity":
                self._history(record, created)
            return record_id

    def update(self, sobject: str, record_id: str, body: Mapping[str, Any]) -> None:
        """Change the given fields of one record."""
        with self.lock:
            self._refuse_read_only(sobject, "updated")
            if sobject in CREATE_DELETE_ONLY:
                raise SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {sobject}")
            current = self._find(sobject, record_id)
            changes = self._check_body(sobject, body, creating=False)
            values = self._validated(sobject, {**current, **changes})
            self._check_unique(sobject, values, current["Id"])
            now = sf_now()
            record = {**values, "LastModifiedDate": now, "SystemModstamp": now}
            self.records[sobject][current["Id"]] = record
            if sobject == "Opportunity" and any(record.get(n) != current.get(n) for n in HISTORY_TRACKED):
                self._history(record, now)

    def delete(self, sobject: str, record_id: str) -> None:
        """Remove one record (an opportunity with its history)."""
        with self.lock:
            self._refuse_read_only(sobject, "deleted")
            current = self._find(sobject, record_id)
            del self.records[sobject][current["Id"]]
            if sobject == "Opportunity":
                history = self.records["OpportunityHistory"]
                for row_id in [i for i, r in history.items() if r.get("OpportunityId") == current["Id"]]:
                    del history[row_id]

    def upsert(self, sobject: str, ext_field: str, value: str, body: Mapping[str, Any]) -> tuple[str, bool]:
        """Create or update by a custom external id field; answer (id, created)."""
        with self.lock:
            if ext_field not in _unique_fields(self.model(sobject)) or ext_field not in self.fields_of(sobject):
                raise SfError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {ext_field}")
            if ext_field in body and str(body[ext_field]) != value:
                raise SfError(400, "INVALID_FIELD", f"{ext_field} in the body differs from the URL", [ext_field])
            matches = [i for i, r in self.records[sobject].items() if str(r.get(ext_field, "")).casefold() == value.casefold()]
            if len(matches) > 1:
                raise SfError(300, "MULTIPLE_CHOICES", f"more than one record has {ext_field} = {value}")
            if matches:
                self.update(sobject, matches[0], body)
                return matches[0], False
            return self.create(sobject, {**body, ext_field: value}), True

    def collection(self, op: str, records: Sequence[Mapping[str, Any]], all_or_none: bool) -> list[dict[str, Any]]:
        """An sObject Collections request: one result per record, in order."""
        if len(records) > 200:
            raise SfError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records in this operation")
        with self.lock:
            before = {k: dict(v) for k, v in self.records.items()} if all_or_none else None
            results = [self._one(op, rec) for rec in records]
            if before is not None and not all(r["success"] for r in results):
                self.records = before
                rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because "
                          "not all records were valid and the request was using AllOrNone header", "fields": []}
                results = [r if not r["success"] else {"id": None, "success": False, "errors": [rolled]} for r in results]
            return results

    def _one(self, op: str, rec: Mapping[str, Any]) -> dict[str, Any]:
        try:
            if op == "delete":
                sobject = self._object_of_id(rec["id"])
                self.delete(sobject, rec["id"])
                return {"id": rec["id"], "success": True, "errors": []}
            sobject = str(rec.get("attributes", {}).get("type", ""))
            self.model(sobject, status=400)
            if op == "create":
                return {"id": self.create(sobject, rec), "success": True, "errors": []}
            record_id = str(rec.get("id") or rec.get("Id") or "")
            body = {k: v for k, v in rec.items() if k not in ("id", "Id")}
            self.update(sobject, record_id, body)
            return {"id": record_id, "success": True, "errors": []}
        except SfError as exc:
            code = "ENTITY_IS_DELETED" if exc.code == "NOT_FOUND" else exc.code
            message = "entity is deleted" if exc.code == "NOT_FOUND" else exc.message
            return {"id": None, "success": False, "errors": [{"statusCode": code, "message": message, "fields": exc.fields}]}

    def _object_of_id(self, record_id: str) -> str:
        key = to18(record_id) if is_valid_id(record_id) else record_id
        for sobject, table in self.records.items():
            if key in table:
                return sobject
        raise SfError(404, "NOT_FOUND", "entity is deleted")

    # -- reads ------------------------------------------------------------------------------------
    def _shape(self, sobject: str, record: Mapping[str, Any], fields: Sequence[str], data: str) -> dict[str, Any]:
        url = f"{data}/sobjects/{sobject}/{record['Id']}"
        return {"attributes": {"type": sobject, "url": url}, **{f: record.get(f) for f in fields}}

    def get(self, sobject: str, record_id: str, fields: Sequence[str] | None, data: str) -> dict[str, Any]:
        """One record with the requested fields (all when None)."""
        with self.lock:
            record = self._find(sobject, record_id)
            known = self.fields_of(sobject)
            for name in fields or ():
                if name not in known:
                    raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'", [name])
            return self._shape(sobject, record, list(fields or known), data)

    def _check_query(self, q: SoqlQuery) -> None:
        model = self.model(q.sobject, status=400)
        known = set(self.fields_of(q.sobject))
        conds: list[Condition] = q.conditions
        for name in [*q.fields, *(c.field for c in conds), *(o[0] for o in q.order_by)]:
            if name not in known:
                raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{q.sobject}'. If you are "
                              "attempting to use a custom field, be sure to append the '__c' after the custom field name.")
        for cond in conds:
            kind = field_kind(model, cond.field)
            for lit in cond.values:
                if lit.kind != "null" and lit.kind != _LITERAL_FOR[kind]:
                    quoted = "should be enclosed in quotes" if lit.kind == "number" or kind in ("string", "id", "reference") \
                        else "should not be enclosed in quotes"
                    raise SfError(400, "INVALID_FIELD",
                                  f"value of filter criterion for field '{cond.field}' must be of type {kind} and {quoted}")

    def checked(self, soql: str) -> SoqlQuery:
        """A query parsed and checked against the org's objects and fields, or the error Salesforce gives."""
        q = parse(soql)
        with self.lock:
            self._check_query(q)
        return q

    def run(self, q: SoqlQuery) -> list[dict[str, Any]]:
        """The records a checked query selects, ordered (by Id last), offset and limited."""
        with self.lock:
            rows = [r for r in self.records[q.sobject].values() if q.where(r)]
            rows.sort(key=functools.cmp_to_key(lambda a, b: _compare(a, b, q.order_by)))
            rows = rows[q.offset :]
            return rows[: q.limit] if q.limit is not None else rows

    def query(self, soql: str, batch: int, data: str) -> dict[str, Any]:
        """Run a query; answer its first batch and a ``nextRecordsUrl`` when more remain."""
        q = self.checked(soql)
        with self.lock:
            shaped = [self._shape(q.sobject, r, q.fields, data) for r in self.run(q)]
            locator = "01g8d" + secrets.token_hex(6).upper()
            self.cursors[locator] = (shaped, batch)
            return self._batch(locator, 0, data)

    def query_more(self, locator: str, data: str) -> dict[str, Any]:
        """The batch of an earlier query that ``nextRecordsUrl`` points at (``<locator>-<offset>``)."""
        name, _, start = locator.partition("-")
        if name not in self.cursors or not start.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._batch(name, int(start), data)

    def _batch(self, locator: str, start: int, data: str) -> dict[str, Any]:
        rows, size = self.cursors[locator]
        chunk = rows[start : start + size]
        done = start + size >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": chunk}
        if not done:
            body["nextRecordsUrl"] = f"{data}/query/{locator}-{start + size}"
        return body


def _compare(a: Mapping[str, Any], b: Mapping[str, Any], order: Sequence[tuple[str, bool, bool]]) -> int:
    for name, desc, nulls_last in order:
        x, y = a.get(name), b.get(name)
        if x is None or y is None:
            if x is None and y is None:
                continue
            return (1 if nulls_last else -1) if x is None else (-1 if nulls_last else 1)
        x, y = (x.casefold(), y.casefold()) if isinstance(x, str) and isinstance(y, str) else (x, y)
        if x != y:
            return (-1 if x < y else 1) * (-1 if desc else 1)
    return (str(a["Id"]) > str(b["Id"])) - (str(a["Id"]) < str(b["Id"]))


def csv_value(kind: str, value: Any) -> str:
    """One stored value as a Bulk API 2.0 query result writes it: quoted (quotes doubled), empty for null.

    Booleans are ``true``/``false``, dates ``YYYY-MM-DD``, datetimes ``2026-01-02T03:04:05.000+0000``.
    """
    if value is None:
        return ""
    if kind == "boolean":
        text = "true" if value else "false"
    elif kind == "datetime":
        text = sf_datetime(parse_datetime(str(value)))
    elif kind == "date":
        text = str(value)[:10]
    elif kind == "int":
        text = str(int(value))
    elif kind == "double":
        text = repr(float(value))
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


def results_csv(model: type[SObject], fields: Sequence[str], rows: Sequence[Mapping[str, Any]],
                delimiter: str = ",", line_ending: str = "\n") -> str:
    """Records as one page of Bulk API 2.0 query results: a header row, then one row per record."""
    kinds = [field_kind(model, f) for f in fields]
    lines = [delimiter.join(f'"{f}"' for f in fields)]
    lines += [delimiter.join(csv_value(k, row.get(f)) for k, f in zip(kinds, fields, strict=True)) for row in rows]
    return line_ending.join(lines) + line_ending
