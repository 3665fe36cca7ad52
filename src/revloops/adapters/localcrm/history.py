"""OpportunityHistory in the embedded CRM, written as Salesforce writes it: one row when an opportunity is
created and one each time a change touches its StageName, Amount, CloseDate or Probability, holding all four
as they stood after the change. A row is written in the unit of work of the write it records, so the two
commit together or not at all; a row is never changed afterwards, and goes with its opportunity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.fast import FastSQL, Unit
from revloops.adapters.sql.tables import SOBJECT_TABLES
from revloops.core.errors import RecordRejected
from revloops.core.ids import new_id
from revloops.core.records import HISTORY_TRACKED, READ_ONLY

HISTORY = "OpportunityHistory"
TRACKED_OBJECT = "Opportunity"
_TABLE = SOBJECT_TABLES[HISTORY]
_OPPORTUNITY = SOBJECT_TABLES[TRACKED_OBJECT]


def refuse_read_only(sobject: str, operation: str) -> None:
    """RecordRejected, as Salesforce answers a write to an object only it writes
    (``INVALID_TYPE_FOR_OPERATION: entity type cannot be inserted``); nothing for any other object."""
    if sobject in READ_ONLY:
        raise RecordRejected(f"entity type cannot be {operation}: {sobject}", "INVALID_TYPE_FOR_OPERATION")


def row(opportunity: Mapping[str, Any], at: dt.datetime, stamp: dt.datetime) -> dict[str, Any]:
    """The history row of an opportunity's state (its prepared values) as of a change made ``at``."""
    return {"Id": new_id(HISTORY), "CreatedDate": at, "SystemModstamp": stamp, "OpportunityId": opportunity["Id"],
            **{name: opportunity.get(name) for name in HISTORY_TRACKED}}


def write(sql: FastSQL, unit: Unit, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert history rows in ``unit``."""
    if not rows:
        return
    keys = tuple(_TABLE.c.keys())
    insert = sql.prepare(("crm.history.insert",), _TABLE.insert, column_keys=keys)
    full = [{key: r.get(key) for key in keys} for r in rows]
    if len(full) == 1:
        unit.execute(insert, full[0])
    else:
        unit.execute_many(insert, full)


def tracked_before(sql: FastSQL, unit: Unit, opportunity_id: str) -> dict[str, Any] | None:
    """The tracked fields of an opportunity as stored, locked until ``unit`` ends (None: no such record)."""
    stmt = sql.prepare(("crm.history.before",), lambda: sa.select(*(_OPPORTUNITY.c[f] for f in HISTORY_TRACKED))
                       .where(_OPPORTUNITY.c.Id == sa.bindparam("record_id")).with_for_update())
    return unit.first(stmt, {"record_id": opportunity_id})


def after_change(before: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tracked fields after an update of ``values`` onto ``before``; None when none of them changes."""
    after = {name: values[name] if name in values else before.get(name) for name in HISTORY_TRACKED}
    return after if any(after[name] != before.get(name) for name in HISTORY_TRACKED) else None


def forget(sql: FastSQL, unit: Unit, opportunity_id: str) -> None:
    """Delete an opportunity's history rows (the opportunity is deleted in the same unit)."""
    stmt = sql.prepare(("crm.history.delete",), lambda: _TABLE.delete().where(
        _TABLE.c.OpportunityId == sa.bindparam("record_id")))
    unit.execute(stmt, {"record_id": opportunity_id})
