"""Deploy's actions: the territory hierarchy synced, accounts assigned, the pending ones reviewed, coverage.

Every write in bulk is a dry run unless ``dry_run=False``; a plan carries an id bound to what it would change,
so an apply given that id does exactly what was shown or refuses (``terraform plan -out``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revloops.app.base import AppBase
from revloops.config.revision import load_config_at
from revloops.core.decisions import Decision, digest
from revloops.core.errors import InputError
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.loops.deploy import flow
from revloops.loops.deploy.coverage import Coverage
from revloops.loops.deploy.flow import Move as AccountMove
from revloops.loops.deploy.logic import Change, describe
from revloops.loops.deploy.sync import ApplyResult, SyncPlan

Progress = Callable[[int, int], None]
SAMPLE = 50  # writes of an assignment plan listed in full; the counts cover them all


class PlannedChange(Frozen):
    """One step of a sync plan, and how it reads (``+ Territory2 emea_dach``)."""

    op: str
    object: str
    key: str
    fields: dict[str, Any]
    before: dict[str, Any]
    record_id: str | None
    description: str


class AppliedChange(Frozen):
    """What applying one step did."""

    op: str
    object: str
    key: str
    success: bool
    id: str | None
    error: str | None


class SyncApplied(Frozen):
    """An apply's results; ``interrupted`` says why it stopped early (run it again to finish)."""

    complete: bool
    interrupted: str | None
    results: list[AppliedChange]

    @property
    def failed(self) -> list[AppliedChange]:
        """The steps that failed."""
        return [r for r in self.results if not r.success]


class SyncResult(Frozen):
    """A sync plan (its id binds an apply to it), and what the apply did when there was one."""

    plan_id: str
    summary: dict[str, int]
    fast: bool
    changes: list[PlannedChange]
    applied: SyncApplied | None = None


class AssignApplied(Frozen):
    """What an assignment apply wrote."""

    created: int
    deleted: int
    updated: int
    decisions: int
    failures: list[str]
    interrupted: str | None


class AssignResult(Frozen):
    """An assignment plan: outcomes by state, the writes it needs (the first of each listed), the accounts that
    would move against another revision, and what the apply wrote when there was one."""

    plan_id: str
    counts: dict[str, int]
    creates: int
    deletes: int
    status_updates: int
    sample_creates: list[tuple[str, str]]
    sample_deletes: list[tuple[str, str]]
    against: str | None = None
    moves: list[AccountMove] = []
    applied: AssignApplied | None = None


class PendingAccount(Frozen):
    """An account waiting for review: its state and the evidence (what the address said, what was found)."""

    account_id: str
    name: str | None
    status: str
    evidence: dict[str, Any]


def _planned(c: Change) -> PlannedChange:
    return PlannedChange(op=c.op, object=c.sobject, key=c.key, fields=dict(c.fields), before=dict(c.before),
                         record_id=c.record_id, description=describe(c))


def _sync_result(plan: SyncPlan, applied: ApplyResult | None = None) -> SyncResult:
    changes = [_planned(c) for c in plan.changes]
    out = SyncResult(plan_id=plan_id(changes), summary=plan.counts, fast=plan.fast, changes=changes)
    if applied is None:
        return out
    return out.model_copy(update={"applied": SyncApplied(
        complete=applied.complete, interrupted=applied.interrupted,
        results=[AppliedChange(op=r.change.op, object=r.change.sobject, key=r.change.key, success=r.success,
                               id=r.record_id, error=r.error) for r in applied.results])})


def plan_id(changes: list[Any]) -> str:
    """The id of a plan: a digest of exactly what it would change."""
    return "plan_" + digest([c.model_dump(mode="json") if isinstance(c, Frozen) else c for c in changes])[-16:]


def _check_plan(given: str | None, current: str) -> None:
    if given is not None and given != current:
        raise InputError(f"the plan changed since {given} was shown (it is now {current}): review it again",
                         field="plan_id")


class DeployActions(AppBase):
    """Territories as code, reconciled into the CRM."""

    def sync_territories(self, caller: Caller, *, dry_run: bool = True, refresh: bool = False,
                         plan: str | None = None, progress: Progress | None = None) -> SyncResult:
        """Reconcile the territory model, types, territories and user assignments into the CRM.

        Args:
            caller: who asks (ops tier); the apply's decisions credit them.
            dry_run: only plan (the default).
            refresh: read every record even when the watermark says nothing changed.
            plan: the id of a plan shown before; the apply refuses when the plan is no longer that one.
            progress: called with (done, total) while applying.
        """
        self.require(caller, "ops")
        p = self.platform
        if dry_run or plan is not None:
            shown = _sync_result(flow.plan_sync(p.config, p.crm, p.decisions, refresh=refresh or plan is not None))
            _check_plan(plan, shown.plan_id)
            if dry_run:
                return shown
        applied = flow.apply_sync(p.config, p.crm, p.decisions, actor=caller.actor, progress=progress)
        return _sync_result(applied.plan, applied)

    def assign_territories(self, caller: Caller, *, dry_run: bool = True, against: str | None = None,
                           min_confidence: float = 0.8, plan: str | None = None) -> AssignResult:
        """Match every account to a territory (batch path); unclear ones park as ``pending:*`` with evidence;
        with ``against`` (a git revision of the config) list every account that would move."""
        self.require(caller, "ops")
        if not 0.0 <= min_confidence <= 1.0:
            raise InputError("min_confidence is between 0 and 1", field="min_confidence")
        p = self.platform
        other = load_config_at(p.config.root, against) if against else None
        planned = flow.plan_assignments(p.config, p.crm, flow.make_resolver(p.llm), threshold=min_confidence,
                                        against=other)
        pid = "plan_" + planned.digest()[-16:]  # plan_id([creates, deletes, field_updates]), column-wise
        _check_plan(plan, pid)
        out = AssignResult(
            plan_id=pid, counts=planned.assignments.counts(), creates=len(planned.creates),
            deletes=len(planned.deletes), status_updates=len(planned.field_updates),
            sample_creates=list(planned.creates[:SAMPLE]),
            sample_deletes=[(a, t) for _, a, t in planned.deletes[:SAMPLE]], against=against,
            moves=list(planned.moves))
        if dry_run:
            return out
        done = flow.apply_assignments(planned, p.crm, p.decisions, config_version=p.config.version,
                                      actor=caller.actor)
        return out.model_copy(update={"applied": AssignApplied(
            created=done.created, deleted=done.deleted, updated=done.updated, decisions=done.decisions,
            failures=list(done.failures), interrupted=done.interrupted)})

    def pending_territories(self, caller: Caller, status: str | None = None) -> list[PendingAccount]:
        """Accounts in a ``pending:*`` state (or one state), with the evidence for each."""
        self.require(caller, "ops")
        return [PendingAccount(account_id=a.account_id, name=a.name, status=a.status, evidence=a.evidence)
                for a in flow.pending(self.platform.crm, status)]

    def resolve_pending_territory(self, caller: Caller, account_id: str, *, territory: str | None = None,
                                  approve: bool = False, reason: str = "", dry_run: bool = False) -> Decision:
        """Settle a pending account (a territory, or the proposed one approved); logged with who and why. A dry
        run checks everything and answers the decision it would log, writing nothing."""
        self.require(caller, "ops")
        p = self.platform
        return flow.resolve(p.config, p.crm, p.decisions, account_id, territory=territory, approve=approve,
                            reason=reason, actor=caller.actor, dry_run=dry_run)

    def territory_coverage(self, caller: Caller) -> Coverage:
        """Per territory: accounts, open pipeline, people by role; and the accounts in no territory."""
        self.require(caller, "ops")
        return flow.territory_coverage(self.platform.config, self.platform.crm)

    def add_demo_accounts(self, caller: Caller) -> list[str]:
        """Add the example org's awkward accounts (ambiguous addresses) that the demo's review queue shows."""
        self.require(caller, "ops")
        return flow.add_awkward_accounts(self.platform.crm)
