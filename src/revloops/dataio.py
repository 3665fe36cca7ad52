"""Records in and out of the CRM as CSV or JSONL in Salesforce field names.

A file is checked whole before anything is written: a value of the wrong type, a malformed id, or a required
field missing on a record to create rejects the file, naming every line and field at fault. What else a real
Salesforce export (Data Loader, Bulk API, REST) carries is read, not refused:

- headers match our fields case-insensitively (Data Loader writes ``ID,LASTNAME``);
- a column that is not a field of our record but is shaped like a Salesforce API name (a standard field such as
  ``Alias`` or ``LocaleSidKey``, a custom ``__c`` or relationship ``__r`` field, a parent path such as
  ``Owner.Name``) is skipped: the record cannot hold it, and one warning names them all. A header that cannot
  be an API name (``Last Name``) is a mapping mistake, not an export, and rejects the file;
- ``CreatedDate``, ``LastModifiedDate`` and ``SystemModstamp`` are checked but never written (the CRM sets its
  own); a load lists them in the same warning;
- an empty value is no value: it is not written, so it never clears a field;
- ``true``/``false`` and ISO timestamps (``Z``, ``+0000``, ``.000+0000``) are read as booleans and times;
- 15-character ids (``Id`` and every ``...Id`` reference) become 18-character ones;
- REST's ``attributes`` (type and url) is checked against the object and dropped.

Loading upserts, so a second load of the same file changes nothing: a row matches the record with its ``Id`` (or
with its value of ``upsert_key``: an external id, ``Username``, ``Email``...); a matched record is updated with
the row's fields that differ (only those), a row that matches nothing is created, keeping its ``Id``. With
another key than ``Id`` the key decides (another org's export carries other Ids): a matched record keeps its
own Id, and a row whose Id belongs to a record with another key value is refused rather than duplicated.
A value is matched exactly (``Email`` included, as the CRM stores it).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from revloops.core.errors import InputError, InputErrors
from revloops.core.ids import ID_RE, is_valid_id, to18
from revloops.core.inputs import check_plain
from revloops.core.records import CREATE_DELETE_ONLY, READ_ONLY, SObject, model_for
from revloops.ports.crm import BATCH_SIZE, CRM, Filter, Query, RecordError, SaveResult

Progress = Callable[[int, int], None]
_JSON = frozenset({".jsonl", ".ndjson", ".json"})
Together = Callable[[], contextlib.AbstractContextManager[None]]

_PART = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
_NAME = rf"(?:(?:{_PART}__)?{_PART}__[A-Za-z]+|[A-Za-z][A-Za-z0-9]*)"
#: what a Salesforce field's API name can look like: ``Alias``, ``ns__Score__c``, ``Owner.Name``, ``Plan__r.Name``
API_NAME = re.compile(rf"{_NAME}(?:\.{_NAME})*")


@dataclass(frozen=True)
class Row:
    """One row of a file as a record, with the required fields it lacks (a create needs them, an update not)."""

    line: int
    record: SObject
    missing: tuple[str, ...] = ()

    def writable(self) -> dict[str, Any]:
        """The fields the row gave a value for that a write may set (the CRM's own fields left out)."""
        rec = self.record
        given = rec.model_fields_set
        return {f: getattr(rec, f) for f in type(rec).model_fields if f in given and f not in rec.system_fields}


@dataclass(frozen=True)
class Parsed:
    """A file read as records of one object: the rows, the problems, and what was skipped."""

    sobject: str
    rows: list[Row]
    errors: list[InputError]
    fields: list[str]  # the record's fields the file has columns for, in file order
    skipped: list[str]  # columns that are not fields of the record, in file order
    carried: int  # rows with a value in a skipped column
    total: int  # rows read


@dataclass(frozen=True)
class Loaded:
    """What a load did."""

    sobject: str
    upsert_key: str
    created: int
    updated: int
    unchanged: int
    skipped_columns: list[str]
    warnings: list[str] = field(default_factory=list)


def _model(sobject: str) -> type[SObject]:
    try:
        return model_for(sobject)
    except KeyError as exc:
        raise InputError(str(exc.args[0]), field="--object") from None


@functools.cache
def _references(model: type[SObject]) -> frozenset[str]:
    return frozenset(f for f in model.model_fields if f.endswith("Id"))


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Each row with its line (the header is line 1), or the line and what is wrong with it."""
    if not path.exists():
        raise InputError(f"{path} does not exist", field="FILE")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); export it as UTF-8", field="FILE") from None
    if path.suffix.lower() in _JSON:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, f"invalid JSON: {exc.msg}"
                continue
            yield n, row if isinstance(row, dict) else "a line must be a JSON object"
        return
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [name.strip() for name in reader.fieldnames or ()]
        twice = sorted({name for name in header if name and header.count(name) > 1})
        if twice:
            yield 1, f"the header names {', '.join(twice)} more than once"
            return
        for row in reader:
            if None in row:  # values the header has no column for: the row's values cannot be placed
                yield reader.line_num, "the row has more values than the header has columns"
                continue
            yield reader.line_num, dict(row)
    except csv.Error as exc:
        yield reader.line_num, f"unreadable CSV: {exc}"


class _Columns:
    """What each column of a file is, decided once per name: a field of the record, skipped, or an error."""

    def __init__(self, model: type[SObject], sobject: str) -> None:
        self.model, self.sobject = model, sobject
        self.by_lower = {f.lower(): f for f in model.model_fields}
        self.decided: dict[str, str | None] = {}
        self.fields: dict[str, str] = {}  # field -> the column it came from
        self.skipped: dict[str, None] = {}  # an ordered set
        self.errors: list[InputError] = []

    def field(self, column: str, line: int) -> str | None:
        if column not in self.decided:
            self.decided[column] = self._decide(column, line)
        return self.decided[column]

    def _decide(self, column: str, line: int) -> str | None:
        name = column.strip()
        found = self.by_lower.get(name.lower())
        if found is not None:
            if found in self.fields:
                self.errors.append(InputError(f"the column {found} is given twice ({self.fields[found]!r}, {column!r})",
                                              field=found, line=line))
                return None
            self.fields[found] = column
            return found
        if API_NAME.fullmatch(name):
            self.skipped[name] = None
            return None
        squeezed = {re.sub(r"[^a-z0-9]", "", f.lower()): f for f in self.model.model_fields}
        guess = squeezed.get(re.sub(r"[^a-z0-9]", "", name.lower())) or next(
            iter(difflib.get_close_matches(name, list(self.model.model_fields), n=1, cutoff=0.8)), None)
        hint = f" (did you mean {guess}?)" if guess else ""
        self.errors.append(InputError(f"{name!r} is not a field API name of {self.sobject}{hint}", field=name or "''",
                                      line=line))
        return None


def _values(raw: dict[str, Any], cols: _Columns, line: int,
            header_line: int) -> tuple[dict[str, Any], bool, list[InputError]]:
    """A row's values under our field names (empty ones dropped, ids made 18 characters), whether it carried a
    value in a skipped column, and its problems; a column's own problem is reported at ``header_line``."""
    errors: list[InputError] = []
    attributes = raw.pop("attributes", None)
    if isinstance(attributes, dict) and attributes.get("type") not in (None, cols.sobject):
        errors.append(InputError(f"a {attributes['type']} record, not {cols.sobject}", field="attributes.type",
                                 line=line))
    values: dict[str, Any] = {}
    carried = False
    for column, value in raw.items():
        empty = value is None or value == ""
        if empty and not column.strip():
            continue  # a trailing separator in the header (a spreadsheet's), with nothing under it
        name = cols.field(column, header_line)  # decided even when empty: every column is said what it is
        if empty:
            continue
        if name is None:
            carried = carried or column.strip() in cols.skipped
            continue
        if name in _references(cols.model) and isinstance(value, str) and len(value) == 15 and ID_RE.match(value):
            value = to18(value)
        values[name] = value
    return values, carried, errors


def _checked(model: type[SObject], sobject: str, values: dict[str, Any], raw: dict[str, Any],
             line: int) -> tuple[SObject | None, list[InputError]]:
    """The record of a row's values, or the problems naming its fields."""
    try:
        record = model.model_validate(values)
    except ValidationError as exc:
        return None, [InputError(err["msg"], field=".".join(str(p) for p in err["loc"]), line=line)
                      for err in exc.errors(include_url=False)]
    errors: list[InputError] = []
    for name in (f for f in model.model_fields if f in record.model_fields_set):  # in the record's order
        value = getattr(record, name)
        try:
            check_plain(value, name)
        except InputError as exc:
            errors.append(InputError(exc.message, field=name, line=line))
        of = sobject if name == "Id" else None  # a reference may point at any object
        if name in _references(model) and isinstance(value, str) and not is_valid_id(value, of):
            shown = next((v for k, v in raw.items() if k.strip().lower() == name.lower()), value)  # as the file has it
            what = f"a {sobject} id" if name == "Id" else "a Salesforce id"
            errors.append(InputError(f"not {what}: {str(shown)[:40]!r}", field=name, line=line))
    return (None if errors else record), errors


def read_records(path: Path, sobject: str) -> Parsed:
    """Every row of ``path`` read as a record of ``sobject``; problems are collected, not raised."""
    model = _model(sobject)
    cols = _Columns(model, sobject)
    rows: list[Row] = []
    errors: list[InputError] = []
    carried = total = 0
    header_line = 0 if path.suffix.lower() in _JSON else 1  # 0: a JSON line's key is reported on its line
    for line, raw in _rows(path):
        total += 1
        if isinstance(raw, str):
            errors.append(InputError(raw, line=line))
            continue
        values, carries, problems = _values(dict(raw), cols, line, header_line or line)
        carried += carries
        record, invalid = _checked(model, sobject, values, raw, line)
        errors += problems + invalid
        if record is not None and not problems:
            missing = tuple(f for f in model.required_fields if getattr(record, f) in (None, ""))
            rows.append(Row(line, record, missing))
    errors = cols.errors + errors
    return Parsed(sobject, rows, sorted(errors, key=lambda e: e.line or 0), list(cols.fields), list(cols.skipped),
                  carried, total)


def parse_records(path: Path, sobject: str) -> list[SObject]:
    """Every row of ``path`` as a complete record of ``sobject``; raises InputErrors listing every bad row."""
    parsed = read_records(path, sobject)
    missing = [InputError("required field is missing", field=f, line=r.line) for r in parsed.rows for f in r.missing]
    if parsed.errors or missing:
        raise InputErrors(sorted(parsed.errors + missing, key=lambda e: e.line or 0), source=str(path))
    return [r.record for r in parsed.rows]


def _key_field(model: type[SObject], sobject: str, upsert_key: str | None) -> str:
    if upsert_key is None:
        return "Id"
    found = {f.lower(): f for f in model.model_fields}.get(upsert_key.strip().lower())
    if found is None:
        raise InputError(f"{upsert_key!r} is not a field of {sobject}", field="--upsert-key")
    if found != "Id" and found in model.system_fields:
        raise InputError(f"{found} is set by the CRM: records cannot be matched on it", field="--upsert-key")
    return found


def _existing(crm: CRM, sobject: str, key: str, values: Sequence[Any]) -> dict[Any, list[SObject]]:
    """The records whose ``key`` is one of ``values``, by value (asked 200 values at a time)."""
    found: dict[Any, list[SObject]] = {}
    for i in range(0, len(values), BATCH_SIZE):
        for rec in crm.query_all(Query(sobject, (Filter(key, "in", list(values[i : i + BATCH_SIZE])),))):
            found.setdefault(getattr(rec, key), []).append(rec)
    return found


@dataclass
class _Plan:
    creates: list[Row] = field(default_factory=list)
    updates: list[tuple[Row, str, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    other_ids: int = 0  # rows matched on the key whose Id is not the record's
    errors: list[InputError] = field(default_factory=list)


def _distinct(rows: Sequence[Row], key: str, plan: _Plan) -> list[Row]:
    """The rows that carry a value to match on, each value once (a repeat is an error naming the first line)."""
    keyed: list[Row] = []
    first: dict[str, dict[Any, int]] = {"Id": {}, key: {}}
    for row in rows:
        value = getattr(row.record, key)
        if value is None and key != "Id":
            plan.errors.append(InputError(f"no value to match on (--upsert-key {key})", field=key, line=row.line))
            continue
        repeats = [(f, first[f][v]) for f, v in (("Id", row.record.Id), (key, value)) if v is not None and v in first[f]]
        if repeats:
            plan.errors.append(InputError(f"the same {repeats[0][0]} as line {repeats[0][1]}", field=repeats[0][0],
                                          line=row.line))
            continue
        for f, v in (("Id", row.record.Id), (key, value)):
            if v is not None:
                first[f][v] = row.line
        if value is None:
            plan.creates.append(row)
        else:
            keyed.append(row)
    return keyed


def _plan(crm: CRM, sobject: str, rows: Sequence[Row], key: str) -> _Plan:
    """Which rows create, which update (with the fields that differ) and which change nothing. With another key
    than Id the key decides: a matched record keeps its Id whatever the row's (another org's export)."""
    plan = _Plan()
    keyed = _distinct(rows, key, plan)
    found = _existing(crm, sobject, key, [getattr(r.record, key) for r in keyed])
    by_id = _existing(crm, sobject, "Id", [r.record.Id for r in keyed if r.record.Id]) if key != "Id" else found
    for row in keyed:
        matches = found.get(getattr(row.record, key), [])
        given_id = row.record.Id
        if len(matches) > 1:
            plan.errors.append(InputError(f"{len(matches)} {sobject} records have this {key}", field=key, line=row.line))
        elif not matches and given_id is not None and given_id in by_id:
            plan.errors.append(InputError(f"{sobject} {given_id} exists with another {key}", field="Id", line=row.line))
        elif not matches:
            plan.creates.append(row)
        else:
            current = matches[0]
            plan.other_ids += given_id is not None and given_id != current.Id
            changes = {f: v for f, v in row.writable().items() if getattr(current, f, None) != v}
            if not changes:
                plan.unchanged += 1
            elif sobject in CREATE_DELETE_ONLY:
                plan.errors.append(InputError(f"{sobject} records cannot be updated", field=next(iter(changes)),
                                              line=row.line))
            else:
                plan.updates.append((row, str(current.Id), changes))
    plan.errors += [InputError("required field is missing", field=f, line=r.line) for r in plan.creates
                    for f in r.missing]
    return plan


def _warnings(parsed: Parsed, plan: _Plan, system: list[str], key: str) -> list[str]:
    parts = []
    if parsed.skipped:
        parts.append(f"skipped {len(parsed.skipped)} column(s) that are not fields of {parsed.sobject} here, with "
                     f"values on {parsed.carried} of {parsed.total} row(s): {', '.join(parsed.skipped)}")
    if system:
        parts.append(f"{', '.join(system)} not written: the CRM sets its own")
    out = ["; ".join(parts)] if parts else []
    if plan.other_ids:
        out.append(f"{plan.other_ids} row(s) matched on {key} carry another Id than their record: it keeps its own")
    if not parsed.total:
        out.append("the file holds no records")
    return out


def _refused(pairs: Iterable[tuple[Row, SaveResult]]) -> list[InputError]:
    out = []
    for row, res in pairs:
        if not res.success:
            first = res.errors[0] if res.errors else RecordError("UNKNOWN", "refused by the CRM")
            out.append(InputError(first.message, field=",".join(first.fields) or None, line=row.line))
    return out


def _write(crm: CRM, sobject: str, plan: _Plan, report: Callable[[int], None]) -> list[InputError]:
    """Create, then update, in batches of 200; answers the problems of the first batch the CRM refused part of."""
    done = plan.unchanged
    for i in range(0, len(plan.creates), BATCH_SIZE):
        rows = plan.creates[i : i + BATCH_SIZE]
        refused = _refused(zip(rows, crm.bulk_create([r.record for r in rows]), strict=True))
        if refused:
            return refused
        done += len(rows)
        report(done)
    for i in range(0, len(plan.updates), BATCH_SIZE):
        chunk = plan.updates[i : i + BATCH_SIZE]
        results = crm.bulk_update(sobject, [(rid, changes) for _, rid, changes in chunk])
        refused = _refused(zip([row for row, _, _ in chunk], results, strict=True))
        if refused:
            return refused
        done += len(chunk)
        report(done)
    return []


def load_file(crm: CRM, path: Path, sobject: str, *, upsert_key: str | None = None, progress: Progress | None = None,
              together: Together | None = None) -> Loaded:
    """Check the whole file, then upsert its records (see the module's docstring).

    Args:
        crm: where the records go.
        path: a CSV or JSONL file in Salesforce field names.
        sobject: the object of every row.
        upsert_key: the field that matches a row to a record (default ``Id``).
        progress: called with (rows done, rows in all) after each batch.
        together: a unit of work the writes run in (the embedded CRM then writes all or nothing).

    Raises:
        InputErrors: every problem of the file, each with its line and field; nothing is written.
        InputError: an unknown or read-only object (``OpportunityHistory``).
    """
    model = _model(sobject)
    if sobject in READ_ONLY:
        raise InputError(f"{sobject} is read-only: the CRM writes its records itself", field="--object")
    key = _key_field(model, sobject, upsert_key)
    parsed = read_records(path, sobject)
    plan = _plan(crm, sobject, parsed.rows, key)
    errors = sorted(parsed.errors + plan.errors, key=lambda e: e.line or 0)
    if errors:
        raise InputErrors(errors, source=str(path))
    total = len(plan.creates) + len(plan.updates) + plan.unchanged

    def report(done: int) -> None:
        if progress is not None and total:
            progress(done, total)

    report(plan.unchanged)
    with together() if together is not None else contextlib.nullcontext():
        refused = _write(crm, sobject, plan, report)
        if refused:  # raised inside the unit: with the embedded CRM, every write of this load is undone
            raise InputErrors(refused, source=str(path))
    system = [f for f in parsed.fields if f != "Id" and f in model.system_fields]
    return Loaded(sobject, key, len(plan.creates), len(plan.updates), plan.unchanged, parsed.skipped + system,
                  _warnings(parsed, plan, system, key))


def export_rows(crm: CRM, sobject: str) -> Iterable[dict[str, Any]]:
    """Every record of ``sobject`` as a JSON-ready dict in Salesforce field names."""
    for record in crm.query_all(Query(sobject)):
        yield record.model_dump(mode="json", exclude_none=True)


def write_csv(rows: Iterable[dict[str, Any]], sobject: str, out: io.TextIOBase | Any) -> int:
    """CSV with every field of the object as a column; answers the row count."""
    fields = list(model_for(sobject).model_fields)
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n
