"""The catalog: 37 tools over five tiers, each a thin wrapper over one application-layer action.

A tool parses its arguments (JSON Schema from the signature, every field described), calls one ``Revloops``
action with the caller, and answers the action's frozen model as structured content with a short readable
text. No tier check, scope filter or business rule lives here: the server decides which tools a caller may
list and call (``TIER`` of each entry), the application layer decides what the caller may see and do.

The caller and the application of the current call come from ``CURRENT``, set by the server for each call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from revloops.app import Caller, Page, Revloops, Tier
from revloops.app.models import (
    AccountBrief,
    AccountSummary,
    AssignResult,
    ChangePlan,
    ComparisonResult,
    ConfigSummary,
    Coverage,
    Decision,
    Due,
    EmailDraft,
    EngineStatus,
    EnrichResult,
    LeadBrief,
    LeadSummary,
    MetricAnswer,
    PendingAccount,
    PipelineRow,
    PlayRow,
    PreviewResult,
    PromoteResult,
    Proposal,
    ReassignPlan,
    RecordSource,
    RescorePlan,
    RetryResult,
    RulesReport,
    ScenarioRunResult,
    ScenarioSummary,
    SignalRow,
    SlaState,
    SqlAnswer,
    SyncResult,
    SystemHealth,
    TargetEditResult,
    TaskDone,
    TaskRow,
    TeamPerformance,
    TeamPipeline,
    TickResult,
)

#: the application and the caller of the call being served (set by the server around each call)
CURRENT: ContextVar[tuple[Revloops, Caller]] = ContextVar("revloops_mcp_call")
MAX_TEXT_ROWS = 8


@dataclass(frozen=True)
class Entry:
    """One tool of the catalog: its function (name, description and schemas come from it), the lowest tier
    that may list and call it, and its annotations."""

    fn: Callable[..., Any]
    tier: Tier
    annotations: ToolAnnotations

    @property
    def name(self) -> str:
        """The tool's name (its function's)."""
        return self.fn.__name__


CATALOG: list[Entry] = []


def tool(tier: Tier, *, read_only: bool, destructive: bool = False, idempotent: bool = False,
         open_world: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add a function to the catalog (unchanged: the SDK reads its signature and docstring)."""

    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        # a read-only tool's destructive and idempotent hints mean nothing (the spec): left out
        hints = ToolAnnotations(read_only_hint=True, open_world_hint=open_world) if read_only else ToolAnnotations(
            read_only_hint=False, destructive_hint=destructive, idempotent_hint=idempotent, open_world_hint=open_world)
        CATALOG.append(Entry(fn, tier, hints))
        return fn

    return add


def _call() -> tuple[Revloops, Caller]:
    return CURRENT.get()


def _answer(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=model.model_dump(mode="json"))


def _page_text(what: str, page: Page[Any], line: Callable[[Any], str]) -> str:
    shown = [f"- {line(item)}" for item in page.items[:MAX_TEXT_ROWS]]
    more = len(page.items) - len(shown)
    head = f"{len(page.items)} of {page.total} {what}" + (f" (next_cursor {page.next_cursor})" if page.next_cursor else "")
    return "\n".join([head, *shown, *([f"- ... {more} more"] if more > 0 else [])])


class Decisions(BaseModel):
    """Decisions from the decision log, newest first."""

    decisions: list[Decision]


class Funnel(BaseModel):
    """The funnel's metrics."""

    metrics: list[MetricAnswer]


# -- argument types (every field described) --------------------------------------------------------------------

Limit = Annotated[int, Field(description="page size", ge=1, le=200)]
Cursor = Annotated[str | None, Field(description="next_cursor of the last page")]
DryRun = Annotated[bool, Field(description="only plan, write nothing")]
PlanId = Annotated[str | None, Field(description="plan_id of the dry run to apply; the apply refuses if it changed")]
LeadId = Annotated[str, Field(description="lead id (00Q...)")]
RoutedObject = Literal["Lead", "Account", "Contact", "Opportunity"]
SObjectArg = Annotated[RoutedObject, Field(description="record type")]
Records = Annotated[list[dict[str, Any]] | None,
                    Field(description="records inline (Salesforce field names); or use from_crm")]
FromCrm = Annotated[bool, Field(description="read the records stored in the CRM")]
MaxRecords = Annotated[int | None, Field(description="at most this many records", ge=1, le=1_000_000)]
RulesArg = Annotated[dict[str, Any] | None, Field(description="proposed rules.yaml content as JSON")]
Against = Annotated[str | None, Field(description="git revision of the config to compare with")]
Day = Annotated[dt.date | None, Field(description="a date, YYYY-MM-DD")]
Draws = Annotated[int, Field(description="Monte Carlo draws", ge=1, le=20_000)]
Seed = Annotated[int, Field(description="random seed")]


# -- rep ----------------------------------------------------------------------------------------------------------

@tool("rep", read_only=True)
def my_leads(status: Annotated[str | None, Field(description="lead Status")] = None,
             qualification: Annotated[str | None, Field(description="MQL, Nurture, Disqualified")] = None,
             min_score: Annotated[float | None, Field(description="lowest score")] = None,
             created_since: Day = None,
             sla: Annotated[SlaState | None,
                            Field(description="first-touch SLA state")] = None,
             limit: Limit = 20, cursor: Cursor = None) -> Annotated[CallToolResult, Page[LeadSummary]]:
    """My leads, newest first, by status, qualification, score, creation date, SLA state."""
    app, who = _call()
    page = app.my_leads(who, status=status, qualification=qualification, min_score=min_score,
                        created_since=created_since, sla=sla, limit=limit, cursor=cursor)
    return _answer(page, _page_text("leads", page, lambda r: f"{r.id} {r.name} ({r.company}) {r.status}, "
                                                             f"score {r.score}, {r.qualification}, SLA {r.sla}"))


@tool("rep", read_only=True)
def my_accounts(limit: Limit = 20, cursor: Cursor = None) -> Annotated[CallToolResult, Page[AccountSummary]]:
    """My accounts with territory and latest signals."""
    app, who = _call()
    page = app.my_accounts(who, limit=limit, cursor=cursor)
    return _answer(page, _page_text("accounts", page, lambda a: f"{a.id} {a.name}: territory {a.territory or '-'}, "
                                                                f"{len(a.signals)} recent signals"))


@tool("rep", read_only=True)
def my_tasks(due: Annotated[Due | None,
                           Field(description="only overdue, due today, or due this week")] = None,
             limit: Limit = 20, cursor: Cursor = None) -> Annotated[CallToolResult, Page[TaskRow]]:
    """My open milestone tasks, soonest due first: overdue, today, this week."""
    app, who = _call()
    page = app.my_tasks(who, due=due, limit=limit, cursor=cursor)
    return _answer(page, _page_text("open tasks", page, lambda t: f"{t.task_id} due {t.due} ({t.bucket}): "
                                                                  f"{t.subject}"))


@tool("rep", read_only=True)
def my_pipeline(limit: Limit = 20, cursor: Cursor = None) -> Annotated[CallToolResult, Page[PipelineRow]]:
    """My open deals: stage, amount, close date, play, next milestone."""
    app, who = _call()
    page = app.my_pipeline(who, limit=limit, cursor=cursor)
    return _answer(page, _page_text("open opportunities", page,
                                    lambda o: f"{o.opportunity_id} {o.name}: {o.stage}, {o.amount}, closes "
                                              f"{o.close_date}, next {o.next_milestone or '-'}"))


@tool("rep", read_only=True)
def lead_brief(lead_id: LeadId) -> Annotated[CallToolResult, LeadBrief]:
    """One lead: enrichment, score breakdown, routing decision, sequence status."""
    app, who = _call()
    b = app.lead_brief(who, lead_id)
    score = f"score {b.score.total} ({b.score.band})" if b.score else "not scored"
    routed = f"routed by {b.routing.rule_id} to {b.routing.owner_id}" if b.routing else "not routed"
    seq = f"sequence {b.sequence.play_id} ({b.sequence.steps} steps)" if b.sequence else "no sequence"
    return _answer(b, f"{b.name} ({b.company}): {score}; {routed}; {seq}")


@tool("rep", read_only=True)
def account_brief(account_id: Annotated[str, Field(description="account id (001...)")]
                  ) -> Annotated[CallToolResult, AccountBrief]:
    """One account: firmographics, contacts, signals, opportunities, territory."""
    app, who = _call()
    b = app.account_brief(who, account_id)
    return _answer(b, f"{b.account.name}: territory {b.account.territory or '-'}, {b.contacts_total} contacts, "
                      f"{b.opportunities_total} opportunities, open pipeline {b.open_pipeline:,.0f}")


@tool("rep", read_only=True)
def explain_decision(record_or_decision_id: Annotated[str, Field(description="decision (dec_...) or record id")],
                     limit: Annotated[int, Field(description="how many, newest first", ge=1, le=20)] = 5
                     ) -> Annotated[CallToolResult, Decisions]:
    """Why a record got its owner, score, territory or play, from the decision log."""
    app, who = _call()
    found = Decisions(decisions=app.explain(who, record_or_decision_id, limit=limit))
    return _answer(found, "\n".join(f"- {d.created_at:%Y-%m-%d} {d.loop} -> {d.outcome}: {d.explanation}"
                                    for d in found.decisions))


@tool("rep", read_only=True, open_world=True)
def draft_email(record_id: Annotated[str, Field(description="lead (00Q...) or contact (003...) id")],
                play: Annotated[str | None, Field(description="engage play id (default: the one that holds)")] = None
                ) -> Annotated[CallToolResult, EmailDraft]:
    """A personalised email draft for a lead or contact; never sent."""
    app, who = _call()
    d = app.draft_email(who, record_id, play=play)
    return _answer(d, f"Subject: {d.subject}\n\n{d.body}\n\n({d.note})")


@tool("rep", read_only=False, idempotent=False)
def complete_task(task_id: Annotated[str, Field(description="task id (00T...)")],
                  note: Annotated[str | None, Field(description="note added to the task", max_length=2000)] = None,
                  dry_run: DryRun = False) -> Annotated[CallToolResult, TaskDone]:
    """Mark one of my tasks done, with an optional note."""
    app, who = _call()
    done = app.complete_my_task(who, task_id, note=note, dry_run=dry_run)
    opened = [m.subject for m in done.milestones if m.status == "open"]
    verb = "would complete" if done.dry_run else "completed"
    return _answer(done, f"{verb} {task_id}; open now: {', '.join(opened) or 'none'}")


# -- manager ------------------------------------------------------------------------------------------------------

@tool("manager", read_only=True)
def team_pipeline(as_of: Day = None,
                  target: Annotated[float | None, Field(description="the quarter's target; default the plan's", gt=0)]
                  = None, limit: Limit = 50, cursor: Cursor = None) -> Annotated[CallToolResult, TeamPipeline]:
    """The team's open pipeline by rep and stage, with the quarter's coverage against target."""
    app, who = _call()
    t = app.team_pipeline(who, as_of=as_of, target=target, limit=limit, cursor=cursor)
    cover = f"{t.coverage:.2f}x" if t.coverage is not None else "n/a"
    return _answer(t, f"open {t.open_amount:,.0f}; closing {t.quarter_start}..{t.quarter_end}: "
                      f"{t.quarter_pipeline:,.0f}, coverage {cover} ({t.target_basis})\n"
                      + _page_text("reps", t.reps, lambda r: f"{r.owner_name or r.owner_id}: {r.open_count} open, "
                                                             f"{r.open_amount:,.0f}"))


@tool("manager", read_only=True)
def team_performance(start: Day = None, end: Day = None) -> Annotated[CallToolResult, TeamPerformance]:
    """Speed-to-lead, SLA breaches, conversion and activity by rep."""
    app, who = _call()
    p = app.team_performance(who, start=start, end=end)
    rows = [f"- {r.owner_name}: p50 {r.first_touch_p50_h} h, {r.sla_breaches} SLA breaches, {r.converted} converted"
            for r in p.reps[:MAX_TEXT_ROWS]]
    return _answer(p, "\n".join([f"{len(p.reps)} reps, {p.start}..{p.end}", *rows]))


@tool("manager", read_only=False, destructive=True, idempotent=True)
def reassign_record(record_ids: Annotated[list[str], Field(description="lead, account or opportunity ids",
                                                           min_length=1, max_length=200)],
                    to_user: Annotated[str, Field(description="user id (005...) of a member of my team")],
                    reason: Annotated[str, Field(description="why (logged)", min_length=1, max_length=500)],
                    dry_run: DryRun = True, plan_id: PlanId = None) -> Annotated[CallToolResult, ReassignPlan]:
    """Move leads, accounts or opportunities to another member of my team."""
    app, who = _call()
    p = app.reassign_record(who, record_ids, to_user, reason=reason, dry_run=dry_run, plan_id=plan_id)
    verb = "would move" if p.dry_run else "moved"
    return _answer(p, f"{verb} {len(p.changes)} records to {p.to_user} ({len(p.unchanged)} already theirs); "
                      f"plan_id {p.plan_id}")


# -- ops ----------------------------------------------------------------------------------------------------------

def _source(sobject: RoutedObject, records: list[dict[str, Any]] | None, from_crm: bool,
            limit: int | None) -> RecordSource:
    return RecordSource(sobject=sobject, records=records, from_crm=from_crm, limit=limit)


def _preview_text(p: PreviewResult) -> str:
    owners = sorted(p.preview.by_owner.items(), key=lambda kv: -kv[1])[:MAX_TEXT_ROWS]
    lines = [f"{p.records} records"] + [f"- {p.preview.owner_names.get(o, o)}: {n}" for o, n in owners]
    if p.moves is not None:
        more = f"; next page: cursor {p.next_cursor}" if p.next_cursor else ""
        lines.append(f"{p.moves_total} would move ({p.old} -> {p.new}), {len(p.moves)} listed{more}")
    return "\n".join(lines)


@tool("ops", read_only=True)
def preview_routing(sobject: SObjectArg = "Lead", records: Records = None, from_crm: FromCrm = False,
                    limit: MaxRecords = None, rules: RulesArg = None, against: Against = None,
                    caps: Annotated[bool, Field(description="apply pools' daily caps")] = True,
                    moves_limit: Annotated[int, Field(description="moves per page", ge=1, le=500)] = 20,
                    cursor: Cursor = None) -> Annotated[CallToolResult, PreviewResult]:
    """Simulate routing for one record, a batch, or a proposed rules change."""
    app, who = _call()
    proposal = Proposal(rules=rules, against=against) if rules is not None or against is not None else None
    p = app.preview_routing(who, _source(sobject, records, from_crm, limit), proposal, caps=caps,
                            moves_limit=moves_limit, cursor=cursor)
    return _answer(p, _preview_text(p))


@tool("ops", read_only=False, destructive=True, idempotent=False)
def route_record(record_id: Annotated[str, Field(description="record id")], sobject: SObjectArg = "Lead",
                 dry_run: DryRun = False) -> Annotated[CallToolResult, Decision]:
    """Route one record for real (writes the owner)."""
    app, who = _call()
    d = app.resolve_route(who, sobject=sobject, record_id=record_id, dry_run=dry_run)
    return _answer(d, f"{'would route' if dry_run else 'routed'} to {d.outcome}: {d.explanation}")


@tool("ops", read_only=True)
def list_routing_rules(since: Day = None, limit: Limit = 50, cursor: Cursor = None
                       ) -> Annotated[CallToolResult, RulesReport]:
    """The routing rules in priority order with hit counts over a period."""
    app, who = _call()
    r = app.list_routing_rules(who, since=since, limit=limit, cursor=cursor)
    return _answer(r, _page_text("rules", r.rules, lambda x: f"{x.priority} {x.id}: {x.hits} hits"))


@tool("ops", read_only=True)
def validate_config() -> Annotated[CallToolResult, ConfigSummary]:
    """Validate the config directory; errors with file and line."""
    app, who = _call()
    s = app.validate_config(who)
    return _answer(s, f"valid ({s.version}), {len(s.files)} files, {len(s.warnings)} warnings")


@tool("ops", read_only=True)
def diff_routing(rules: RulesArg = None,
                 against: Annotated[str | None, Field(description="git revision the working tree is compared with "
                                                                  "(its merge base with HEAD; default HEAD)")] = None,
                 only: Annotated[list[str] | None, Field(description="plan only these loops: route, qualify, "
                                                                     "engage, deploy, design, pursue, expand...")] = None,
                 ) -> Annotated[CallToolResult, ChangePlan]:
    """Which records a config change (a git revision or proposed rules) would move, loop by loop."""
    app, who = _call()
    p = app.plan_change(who, against=against or "HEAD", rules=rules, only=only)
    if p.problems:
        return _answer(p, f"the change does not validate: {p.problems[0]}")
    text = "; ".join(f"{s.title}: {s.summary}" for s in p.sections) or "no config file changed"
    return _answer(p, f"{p.old} -> {p.new}: {text}")


@tool("ops", read_only=False, destructive=True, idempotent=True)
def sync_territories(dry_run: DryRun = True, plan_id: PlanId = None) -> Annotated[CallToolResult, SyncResult]:
    """Plan or apply the territory tree and user assignments to the CRM."""
    app, who = _call()
    r = app.sync_territories(who, dry_run=dry_run, plan=plan_id)
    done = "" if r.applied is None else f"; applied, complete={r.applied.complete}"
    return _answer(r, f"plan {r.plan_id}: {r.summary}{done}")


@tool("ops", read_only=False, destructive=True, idempotent=True, open_world=True)
def assign_territories(dry_run: DryRun = True, against: Against = None,
                       min_confidence: Annotated[float, Field(description="below it a match parks as pending",
                                                              ge=0, le=1)] = 0.8,
                       plan_id: PlanId = None) -> Annotated[CallToolResult, AssignResult]:
    """Plan or apply account-to-territory matching."""
    app, who = _call()
    r = app.assign_territories(who, dry_run=dry_run, against=against, min_confidence=min_confidence, plan=plan_id)
    return _answer(r, f"plan {r.plan_id}: {r.counts}; {r.creates} creates, {r.deletes} deletes"
                      + ("" if r.applied is None else f"; applied {r.applied.created} created"))


@tool("ops", read_only=True)
def list_pending_territories(status: Annotated[str | None, Field(description="one pending:* state")] = None,
                             limit: Limit = 50, cursor: Cursor = None
                             ) -> Annotated[CallToolResult, Page[PendingAccount]]:
    """Accounts in pending:* states, with the evidence for each."""
    app, who = _call()
    page = app.list_pending_territories(who, status=status, limit=limit, cursor=cursor)
    return _answer(page, _page_text("pending accounts", page, lambda a: f"{a.account_id} {a.name}: {a.status}"))


@tool("ops", read_only=False, destructive=True, idempotent=False)
def resolve_pending_territory(account_id: Annotated[str, Field(description="account id (001...)")],
                              reason: Annotated[str, Field(description="why (logged)", max_length=500)],
                              territory: Annotated[str | None, Field(description="territory to put it in")] = None,
                              approve: Annotated[bool, Field(description="approve the proposed territory")] = False,
                              dry_run: DryRun = False) -> Annotated[CallToolResult, Decision]:
    """Approve or override a pending match."""
    app, who = _call()
    d = app.resolve_pending_territory(who, account_id, territory=territory, approve=approve, reason=reason,
                                      dry_run=dry_run)
    return _answer(d, ("dry run: would log: " if dry_run else "") + d.explanation)


@tool("ops", read_only=True)
def territory_coverage() -> Annotated[CallToolResult, Coverage]:
    """Accounts, pipeline and capacity per territory; unassigned accounts."""
    app, who = _call()
    c = app.territory_coverage(who)
    return _answer(c, f"{c.accounts} accounts in {len(c.territories)} territories, {c.unassigned} unassigned")


@tool("ops", read_only=True)
def list_scenarios(limit: Limit = 50, cursor: Cursor = None) -> Annotated[CallToolResult, Page[ScenarioSummary]]:
    """The capacity scenarios and which is active."""
    app, who = _call()
    page = app.list_scenarios_page(who, limit=limit, cursor=cursor)
    return _answer(page, _page_text("scenarios", page, lambda s: f"{s.id}{' (active)' if s.active else ''}: {s.name}"))


@tool("ops", read_only=True)
def run_scenario(scenario: Annotated[str | None, Field(description="scenario id; default the active one")] = None,
                 draws: Draws = 2000, seed: Seed = 7) -> Annotated[CallToolResult, ScenarioRunResult]:
    """A scenario's capacity against its targets by month and quarter."""
    app, who = _call()
    r = app.run_scenario(who, scenario, draws=draws, seed=seed)
    return _answer(r, f"scenario {r.run.scenario}: see the quarters and months")


@tool("ops", read_only=True)
def compare_scenarios(a: Annotated[str, Field(description="first scenario id")],
                      b: Annotated[str, Field(description="second scenario id")],
                      draws: Draws = 2000, seed: Seed = 7) -> Annotated[CallToolResult, ComparisonResult]:
    """Two scenarios side by side."""
    app, who = _call()
    r = app.compare_scenarios(who, a, b, draws=draws, seed=seed)
    return _answer(r, f"{a} vs {b}: B minus A on every figure")


@tool("ops", read_only=False, destructive=True, idempotent=True)
def promote_scenario(scenario: Annotated[str, Field(description="scenario id to make active")],
                     dry_run: DryRun = True,
                     commit: Annotated[bool, Field(description="also git-commit the changed file")] = False
                     ) -> Annotated[CallToolResult, PromoteResult]:
    """Make a scenario active (shown as a one-line diff; written only without dry_run)."""
    app, who = _call()
    r = app.promote(who, scenario, dry_run=dry_run, commit=commit)
    return _answer(r, r.diff or f"{scenario} is already active")


@tool("ops", read_only=False, destructive=True, idempotent=False, open_world=True)
def enrich_record(record_id: Annotated[str, Field(description="lead (00Q...) or account (001...) id")],
                  dry_run: DryRun = False) -> Annotated[CallToolResult, EnrichResult]:
    """Re-run enrichment for a lead or account."""
    app, who = _call()
    r = app.enrich_record(who, record_id, dry_run=dry_run)
    found = f"status {r.outcome.status}" if r.outcome else f"would look up {r.email or '-'} / {r.domain or '-'}"
    return _answer(r, f"{r.sobject} {r.record_id} via {r.provider}: {found}")


@tool("ops", read_only=False, destructive=True, idempotent=True)
def rescore_leads(lead_ids: Annotated[list[str] | None, Field(description="leads to rescore; default by status",
                                                              max_length=5000)] = None,
                  status: Annotated[str | None, Field(description="lead Status to rescore")] = None,
                  max_leads: Annotated[int, Field(description="newest leads read without lead_ids", ge=1, le=5000)]
                  = 500,
                  scoring: Annotated[dict[str, Any] | None,
                                     Field(description="proposed qualify/scoring.yaml as JSON (preview only)")] = None,
                  dry_run: DryRun = True, plan_id: PlanId = None, limit: Limit = 50, cursor: Cursor = None
                  ) -> Annotated[CallToolResult, RescorePlan]:
    """Recompute scores for a set of leads, or preview a changed scoring config."""
    app, who = _call()
    r = app.rescore_leads(who, lead_ids=lead_ids, status=status, max_leads=max_leads, scoring=scoring,
                          dry_run=dry_run, plan_id=plan_id, limit=limit, cursor=cursor)
    head = f"{r.changes.total} of {r.considered} leads change" + ("" if r.dry_run else f", {r.applied} written")
    return _answer(r, f"{head}; plan_id {r.plan_id}\n" + _page_text(
        "changes", r.changes, lambda c: f"{c.lead_id} {c.name}: {c.old_total} {c.old_band} -> {c.new_total} {c.new_band}"))


@tool("ops", read_only=True)
def list_signals(domain: Annotated[str | None, Field(description="account domain")] = None,
                 type: Annotated[str | None, Field(description="signal type")] = None,
                 since: Day = None, limit: Limit = 20, cursor: Cursor = None
                 ) -> Annotated[CallToolResult, Page[SignalRow]]:
    """Recent outbound signals with account, type, strength and source."""
    app, who = _call()
    page = app.list_signals(who, domain=domain, type=type, since=since, limit=limit, cursor=cursor)
    return _answer(page, _page_text("signals", page, lambda s: f"{s.event_date} {s.domain} {s.type} "
                                                               f"({s.strength:.2f}): {s.headline}"))


@tool("ops", read_only=False, destructive=False, idempotent=False, open_world=True)
def scan_account(domain: Annotated[str, Field(description="the target account's domain")],
                 dry_run: DryRun = False) -> Annotated[CallToolResult, TickResult]:
    """Scan one target account for signals now."""
    app, who = _call()
    r = app.scan_target(who, domain, dry_run=dry_run)
    if dry_run:
        b = r.budget
        return _answer(r, f"dry run: {domain} would be scanned by {b.scanner}; today {b.searches} of "
                          f"{b.searches_per_day} searches, {b.tokens:,} of {b.tokens_per_day:,} tokens used")
    return _answer(r, f"{len(r.scans)} scan(s), {r.new_signals} new signals, {len(r.outreach)} outreach runs")


@tool("ops", read_only=False, destructive=True, idempotent=True)
def manage_target_accounts(action: Annotated[Literal["add", "remove"], Field(description="add or remove")],
                           domain: Annotated[str, Field(description="the account's domain")],
                           name: Annotated[str | None, Field(description="account name (to add)")] = None,
                           priority: Annotated[int, Field(description="1 (first) to 5", ge=1, le=5)] = 3,
                           territory: Annotated[str | None, Field(description="territory (to add)")] = None,
                           dry_run: DryRun = True) -> Annotated[CallToolResult, TargetEditResult]:
    """Add or remove outbound target accounts."""
    app, who = _call()
    r = app.manage_targets(who, action, domain, name=name, priority=priority, territory=territory, dry_run=dry_run)
    return _answer(r, (r.diff or "no change") + ("" if r.written else "\n(not written)"))


@tool("ops", read_only=True)
def list_plays(limit: Limit = 50, cursor: Cursor = None) -> Annotated[CallToolResult, Page[PlayRow]]:
    """The engage and deal plays, with usage and outcomes."""
    app, who = _call()
    page = app.list_plays(who, limit=limit, cursor=cursor)
    return _answer(page, _page_text("plays", page, lambda p: f"{p.loop} {p.id}: used {p.used}"
                                                             + (f", won {p.won}, lost {p.lost}" if p.won is not None
                                                                else "")))


@tool("ops", read_only=True)
def funnel_report(by: Annotated[list[str], Field(description="dimensions: segment, source, owner_id, route_rule...",
                                                 max_length=4)] = [],  # noqa: B006 - a schema default, never mutated
                  grain: Annotated[Literal["day", "week", "month", "quarter", "year"] | None,
                                   Field(description="time grain; null for totals")] = "month",
                  start: Day = None, end: Day = None) -> Annotated[CallToolResult, Funnel]:
    """Funnel, conversion and speed-to-lead by segment, source, territory and period."""
    app, who = _call()
    f = Funnel(metrics=app.funnel_report(who, by=by, grain=grain, start=start, end=end))
    return _answer(f, "\n".join(f"- {m.label}: {len(m.rows)} rows" for m in f.metrics))


@tool("ops", read_only=True)
def run_sql(sql: Annotated[str, Field(description="one read-only statement (SELECT, WITH, DESCRIBE...)",
                                      min_length=1, max_length=20_000)]) -> Annotated[CallToolResult, SqlAnswer]:
    """Read-only SQL over the analytics warehouse."""
    app, who = _call()
    a = app.run_sql(who, sql)
    return _answer(a, f"{len(a.rows)} rows{' (truncated)' if a.truncated else ''}: {', '.join(a.columns)}")


@tool("ops", read_only=True)
def workflow_status(failures: Annotated[int, Field(description="latest failures to list", ge=0, le=100)] = 10
                    ) -> Annotated[CallToolResult, EngineStatus]:
    """Loop runs by state (queued, running, failed) with their errors."""
    app, who = _call()
    s = app.workflow_status(who, failures=failures)
    return _answer(s, f"runs by state: {s.counts or 'none'}; {len(s.failures)} failures listed")


# -- eng ----------------------------------------------------------------------------------------------------------

@tool("eng", read_only=False, destructive=False, idempotent=False)
def retry_workflow(workflow_id: Annotated[str, Field(description="a failed or stuck run's id")],
                   dry_run: DryRun = False) -> Annotated[CallToolResult, RetryResult]:
    """Resume a failed or stuck workflow from its last completed step."""
    app, who = _call()
    r = app.retry_workflow(who, workflow_id, dry_run=dry_run)
    return _answer(r, f"{r.workflow_id} was {r.previous_state}; {'would resume' if dry_run else 'resumes'} "
                      f"from step {r.from_step}")


@tool("eng", read_only=True)
def system_health() -> Annotated[CallToolResult, SystemHealth]:
    """Integrations (CRM API limits, enrichment credits, LLM), queue depths, error rates."""
    app, who = _call()
    h = app.system_health(who)
    return _answer(h, f"CRM {h.crm.get('name')} ok={h.crm.get('ok')}; inbox {h.inbox}; workflows {h.workflows}")


def names(entries: Sequence[Entry] = CATALOG) -> list[str]:
    """The catalog's tool names, in catalog order."""
    return [e.name for e in entries]
