"""Records in and out of the CRM as CSV or JSONL in Salesforce field names.

A file is checked whole before anything is written: one bad row rejects the file, naming line and field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from revloops.core.errors import InputError, InputErrors
from revloops.core.ids import is_valid_id
from revloops.core.records import SObject, model_for
from revloops.ports.crm import CRM, Filter, Query


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, {"__error__": f"invalid JSON: {exc.msg}"}
                continue
            yield n, row if isinstance(row, dict) else {"__error__": "a line must be a JSON object"}
        return
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        # the header is line 1; reader.line_num is the line the row ended on
        yield reader.line_num, {k: (v if v != "" else None) for k, v in row.items() if k is not None}


def parse_records(path: Path, sobject: str) -> list[SObject]:
    """Every row of ``path`` as a record of ``sobject``; raises InputErrors listing every bad row."""
    try:
        model = model_for(sobject)
    except KeyError as exc:
        raise InputError(str(exc.args[0]), field="--object") from None
    if not path.exists():
        raise InputError(f"{path} does not exist", field="FILE")
    records: list[SObject] = []
    errors: list[InputError] = []
    for line, row in _rows(path):
        if "__error__" in row:
            errors.append(InputError(row["__error__"], line=line))
            continue
        row = {k: v for k, v in row.items() if k not in ("attributes",) and v is not None}
        try:
            record = model.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                fld = ".".join(str(p) for p in err["loc"])
                msg = "no such field on " + sobject if err["type"] == "extra_forbidden" else err["msg"]
                errors.append(InputError(msg, field=fld, line=line))
            continue
        missing = [f for f in model.required_fields if getattr(record, f) in (None, "")]
        for fld in missing:
            errors.append(InputError("required field is missing", field=fld, line=line))
        if record.Id is not None and not is_valid_id(record.Id, sobject):
            errors.append(InputError(f"not a valid {sobject} id: {record.Id}", field="Id", line=line))
        if not missing:
            records.append(record)
    if errors:
        raise InputErrors(errors, source=str(path))
    return records


def load_file(crm: CRM, path: Path, sobject: str) -> int:
    """Check the whole file, then create its records; answers how many were written."""
    records = parse_records(path, sobject)
    given = [r.Id for r in records if r.Id]
    existing: set[str] = set()
    for i in range(0, len(given), 500):
        chunk = given[i : i + 500]
        existing |= {r.Id for r in crm.query_all(Query(sobject, (Filter("Id", "in", chunk),))) if r.Id}
    if existing:
        raise InputErrors([InputError(f"{sobject} {i} already exists", field="Id") for i in sorted(existing)], str(path))
    results = crm.bulk_create(records)
    failed = [(n, r) for n, r in enumerate(results, start=1) if not r.success]
    if failed:
        raise InputErrors(
            [InputError(r.errors[0].message, field=",".join(r.errors[0].fields) or None, line=n) for n, r in failed],
            str(path),
        )
    return len(results)


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
