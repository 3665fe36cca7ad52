"""Territory sync through the CRM port: read what is there, plan by DeveloperName, apply in batches of 200.

The apply keeps no state of its own: every run re-reads the CRM and re-plans, so a run cut short (a failed
batch, a lost connection) leaves records a second plan finds by their keys, and the next apply finishes the
job. After a clean apply the platform records a ``synced`` decision holding a digest of the desired state and
a watermark of the CRM (count and latest ``SystemModstamp`` of each object it reads); a later plan whose
desired digest and watermark are unchanged knows there is nothing to do without reading every record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from revloops.core.decisions import Decision
from revloops.core.errors import AdapterError
from revloops.core.records import SObject, model_for
from revloops.loops.deploy.logic import (
    MODEL,
    REFS,
    TERRITORY,
    TYPE,
    USER_ASSIGNMENT,
    Change,
    CrmSnapshot,
    State,
    TerritoryTree,
    UserAssignment,
    current_state,
    desired_state,
    plan_sync,
    summary,
)
from revloops.ports.crm import BATCH_SIZE, CRM, Filter, Query, SaveResult
from revloops.ports.decisions import DecisionStore

Progress = Callable[[int, int], None]


@dataclass
class SyncPlan:
    """A plan and what it was computed from.

    Attributes:
        changes: the steps in apply order.
        desired_digest: digest of the desired state.
        model_id: the model's record id, when it exists.
        watermark: the CRM's watermark when the plan was made.
        fast: planned from an unchanged watermark, without reading every record.
    """

    changes: list[Change]
    desired_digest: str
    model_id: str | None = None
    watermark: list[list[Any]] = field(default_factory=list)
    fast: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return summary(self.changes)


@dataclass(frozen=True)
class StepResult:
    """The outcome of one change: the record id, or why it failed."""

    change: Change
    success: bool
    record_id: str | None = None
    error: str | None = None


@dataclass
class ApplyResult:
    """What an apply did, one result per change it reached; ``interrupted`` says why it stopped early."""

    plan: SyncPlan
    results: list[StepResult] = field(default_factory=list)
    interrupted: str | None = None

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if not r.success]

    @property
    def complete(self) -> bool:
        return self.interrupted is None and not self.failed and len(self.results) == len(self.plan.changes)


def _plain(rec: SObject) -> dict[str, Any]:
    return rec.model_dump()


def read_snapshot(crm: CRM, model_name: str) -> CrmSnapshot:
    """Read the model, every type, the model's territories, user assignments on them, and the users."""
    model = crm.find_one(Query(MODEL, (Filter("DeveloperName", "eq", model_name),)))
    types = [_plain(r) for r in crm.query_all(Query(TYPE))]
    territories: list[dict[str, Any]] = []
    if model is not None:
        territories = [_plain(r) for r in crm.query_all(Query(TERRITORY, (Filter("Territory2ModelId", "eq", model.Id),)))]
    ids = {t["Id"] for t in territories}
    assignments = [a for a in (_plain(r) for r in crm.query_all(Query(USER_ASSIGNMENT))) if a["Territory2Id"] in ids]
    users = {u.Id or "": (u.Username or "").lower() for u in crm.query_all(Query("User"))}  # type: ignore[attr-defined]
    return CrmSnapshot(model=_plain(model) if model else None, types=types, territories=territories,
                       user_assignments=assignments, usernames=users)


def fingerprint(tree: TerritoryTree, assignments: Sequence[UserAssignment], today: dt.date,
                basis: str | None = None) -> str:
    """A cheap digest of what the config asks for on ``today``.

    ``basis`` is the config version (a commit or a content hash, taken when the config was loaded): with it
    only the dated assignments are looked at; without it the models are serialised.
    """
    import hashlib

    import pydantic_core

    if basis:
        h = hashlib.sha256(basis.encode())
        h.update(bytes(a.active_on(today) for a in assignments if a.start is not None or a.end is not None))
    else:
        h = hashlib.sha256(pydantic_core.to_json(tree))
        h.update(pydantic_core.to_json(list(assignments)))
        h.update(bytes(a.active_on(today) for a in assignments))
    return "sha256:" + h.hexdigest()


def watermark(crm: CRM, model: SObject) -> list[list[Any]]:
    """Per object the sync reads: how many records and the latest ``SystemModstamp`` (any write moves one).

    Users are left out: a user leaving the org takes their assignments with them, which moves the
    assignments' watermark.
    """
    stamp = model.SystemModstamp
    out: list[list[Any]] = [[MODEL, 1, stamp.isoformat() if stamp else None]]
    for sobject, filters in ((TYPE, ()), (TERRITORY, (Filter("Territory2ModelId", "eq", model.Id),)),
                             (USER_ASSIGNMENT, ())):
        page = crm.query(Query(sobject, filters, (("SystemModstamp", True),)), page_size=1)
        stamp = page.records[0].SystemModstamp if page.records else None
        out.append([sobject, page.total, stamp.isoformat() if stamp else None])
    return out


def _last_sync(decisions: DecisionStore | None, model_id: str) -> Decision | None:
    if decisions is None:
        return None
    found = [d for d in decisions.for_record(model_id, limit=1, loop="deploy") if d.outcome == "synced"]
    return found[0] if found else None


def plan(crm: CRM, tree: TerritoryTree, assignments: Iterable[UserAssignment], *, today: dt.date | None = None,
         decisions: DecisionStore | None = None, refresh: bool = False, basis: str | None = None) -> SyncPlan:
    """Plan a sync of ``tree`` and ``assignments`` into ``crm``.

    Args:
        crm: the CRM to reconcile.
        tree: the territory hierarchy (``design/territories.yaml``).
        assignments: user assignments (``deploy/assignments.yaml``); those active ``today`` are wanted.
        today: the day assignments are judged on (default: today, UTC).
        decisions: the decision log; with it an unchanged CRM and config plan from the watermark alone.
        refresh: always read every record.
        basis: the config version, which makes the unchanged check cheaper (see :func:`fingerprint`).

    Returns:
        The plan, in apply order.
    """
    day = today or dt.datetime.now(dt.UTC).date()
    assignments = list(assignments)
    model = crm.find_one(Query(MODEL, (Filter("DeveloperName", "eq", tree.model.developer_name),)))
    if model is not None and model.Id and not refresh:
        last = _last_sync(decisions, model.Id)
        if last is not None and last.detail.get("fingerprint") == fingerprint(tree, assignments, day, basis):
            mark = watermark(crm, model)
            if mark == last.detail.get("watermark"):
                return SyncPlan([], str(last.detail.get("desired")), model.Id, mark, fast=True)
    desired = desired_state(tree, assignments, day)
    wanted = desired.digest()
    current = current_state(read_snapshot(crm, tree.model.developer_name))
    return SyncPlan(plan_sync(desired, current), wanted, model.Id if model else None)


class _Ids:
    """Keys to record ids, filled from the snapshot and from each successful create."""

    def __init__(self, snap: CrmSnapshot) -> None:
        self.by: dict[str, dict[str, str]] = {"model": {}, "type": {}, "parent": {}, "territory": {}, "user": {}}
        if snap.model is not None:
            self.by["model"][snap.model["DeveloperName"]] = snap.model["Id"]
        self.by["type"] = {t["DeveloperName"]: t["Id"] for t in snap.types}
        self.by["territory"] = {t["DeveloperName"]: t["Id"] for t in snap.territories}
        self.by["parent"] = self.by["territory"]
        self.by["user"] = {name: uid for uid, name in snap.usernames.items()}

    def learn(self, change: Change, record_id: str) -> None:
        kind = {MODEL: "model", TYPE: "type", TERRITORY: "territory"}.get(change.sobject)
        if kind is not None:
            self.by[kind][change.key] = record_id

    def resolve(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Fields with references turned into ids, or the reference that has no record (yet)."""
        out: dict[str, Any] = {}
        for name, value in fields.items():
            if name not in REFS:
                out[name] = value
            elif value is None:
                out[REFS[name]] = None
            elif value in self.by[name]:
                out[REFS[name]] = self.by[name][value]
            else:
                return {}, f"{name} {value!r} has no record in the CRM"
        return out, None


def _groups(changes: Sequence[Change]) -> Iterable[list[Change]]:
    """Runs of changes one bulk call can carry: same op, object and (for territories) depth."""
    run: list[Change] = []
    for change in changes:
        if run and (run[0].op, run[0].sobject, run[0].depth) != (change.op, change.sobject, change.depth):
            yield run
            run = []
        run.append(change)
        if len(run) == BATCH_SIZE:
            yield run
            run = []
    if run:
        yield run


def _save_error(res: SaveResult) -> str:
    return "; ".join(f"{e.status_code}: {e.message}" for e in res.errors) or "refused"


def _send(crm: CRM, ready: list[tuple[Change, dict[str, Any]]]) -> list[SaveResult]:
    first = ready[0][0]
    if first.op == "create":
        cls = model_for(first.sobject)
        return crm.bulk_create([cls.model_validate(values) for _, values in ready])
    if first.op == "update":
        return crm.bulk_update(first.sobject, [(c.record_id or "", values) for c, values in ready])
    return crm.bulk_delete(first.sobject, [c.record_id or "" for c, _ in ready])


def _apply_group(crm: CRM, group: list[Change], ids: _Ids, out: list[StepResult]) -> None:
    ready: list[tuple[Change, dict[str, Any]]] = []
    for change in group:
        if change.op == "delete":
            ready.append((change, {}))
            continue
        values, missing = ids.resolve(change.fields)
        if missing:
            out.append(StepResult(change, False, change.record_id, f"skipped: {missing}"))
        else:
            ready.append((change, values))
    if not ready:
        return
    for (change, _), res in zip(ready, _send(crm, ready), strict=True):
        if res.success and change.op == "create" and res.id:
            ids.learn(change, res.id)
        out.append(StepResult(change, res.success, res.id or change.record_id,
                              None if res.success else _save_error(res)))


def apply(crm: CRM, tree: TerritoryTree, assignments: Iterable[UserAssignment], *, today: dt.date | None = None,
          decisions: DecisionStore | None = None, config_version: str = "", actor: str = "cli",
          progress: Progress | None = None, basis: str | None = None) -> ApplyResult:
    """Plan from a full read and apply, 200 records a call, a result per record.

    A failed record fails alone (its children are skipped, naming the parent); an adapter error stops the
    run with ``interrupted`` set, and a new apply picks up what is left. A clean apply records the
    ``synced`` decision that lets the next plan skip the full read.
    """
    assignments = list(assignments)
    snap = read_snapshot(crm, tree.model.developer_name)
    desired = desired_state(tree, assignments, today or dt.datetime.now(dt.UTC).date())
    the_plan = SyncPlan(plan_sync(desired, current_state(snap)), desired.digest(),
                        snap.model["Id"] if snap.model else None)
    result, ids = ApplyResult(the_plan), _Ids(snap)
    try:
        for group in _groups(the_plan.changes):
            _apply_group(crm, group, ids, result.results)
            if progress is not None:
                progress(len(result.results), len(the_plan.changes))
    except AdapterError as exc:
        result.interrupted = f"{type(exc).__name__}: {exc}"
        return result
    model_id = ids.by["model"].get(tree.model.developer_name)
    if result.complete and decisions is not None and model_id:
        fp = fingerprint(tree, assignments, today or dt.datetime.now(dt.UTC).date(), basis)
        _record_sync(crm, decisions, model_id, desired, fp, config_version, actor)
    return result


def _record_sync(crm: CRM, decisions: DecisionStore, model_id: str, desired: State, fp: str,
                 config_version: str, actor: str) -> None:
    mark = watermark(crm, crm.get(MODEL, model_id))
    decisions.record(Decision(
        loop="deploy", sobject=MODEL, record_id=model_id, outcome="synced",
        detail={"desired": desired.digest(), "fingerprint": fp, "watermark": mark, "records": len(desired.items)},
        explanation=f"territory model synced: {len(desired.items)} records match the config",
        config_version=config_version, inputs_digest=desired.digest(), actor=actor,
    ))
