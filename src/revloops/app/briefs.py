"""Briefs and the conversational actions: what a rep, a manager or ops asks in a chat (the MCP server's tools
whose action no other group has): my accounts, a lead's or an account's brief, an email draft, the team's
pipeline, a reassignment, the routing rules with their hits, enrichment and rescoring, the plays, the
platform's health; and the paged forms of short lists.

Writes follow one convention: a plan (``dry_run``, the default for anything in bulk) carries a plan id bound to
a digest of the records it reads (their ``SystemModstamp``), the config version and the changes; an apply
given that id recomputes the plan and applies exactly it, or refuses when anything changed. Every write is
logged as a decision with the caller as actor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, cast, get_args

from revloops.app.base import AppBase, Page, page_offset
from revloops.app.deploy import PendingAccount
from revloops.app.records import LeadSummary
from revloops.app.retention import PlanMilestone, PlanResult, plan_result
from revloops.app.signals import TargetEditResult, TickResult
from revloops.config.loader import GtmConfig, load_config, with_file
from revloops.config.yamlfile import YamlDoc
from revloops.core.context import build_context
from revloops.core.decisions import Decision, digest, new_decision_id
from revloops.core.domains import company_domain
from revloops.core.errors import ConfigErrors, InputError, InputErrors, NotFound, RevloopsError
from revloops.core.identity import Caller
from revloops.core.ids import object_of
from revloops.core.inputs import check_plain, check_record_id
from revloops.core.model import Frozen
from revloops.core.records import SObject
from revloops.loops.design.results import PromoteResult, ScenarioSummary
from revloops.loops.qualify.flow import ENRICHMENT_STATUS, EnrichmentOutcome, lead_changes, lookup_keys
from revloops.loops.qualify.logic import Score
from revloops.ports.crm import Filter, Query

T = TypeVar("T")


def _aware(when: dt.datetime) -> dt.datetime:
    """A stored time as UTC (SQLite hands some back without a zone)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)

MAX_PAGE = 200
MAX_RECORDS = 200  # records one reassignment moves
MAX_RESCORE = 5000  # leads one rescore reads
SLA_SCAN = 2000  # the newest leads an SLA filter looks through
SlaState = Literal["unowned", "due", "breached", "met", "late"]
SLA_STATES: tuple[str, ...] = get_args(SlaState)
Reassignable = Literal["Lead", "Account", "Opportunity"]
_SCANS = threading.Lock()  # scans of this process, one at a time (a scan may start and stop the engine)
_REASSIGNABLE = ("Lead", "Account", "Opportunity")


# -- paging and plans: shared by every action here ------------------------------------------------------------

def check_limit(limit: int, top: int = MAX_PAGE) -> int:
    """A page size in range.

    Raises:
        InputError: below 1 or above ``top``.
    """
    if not 1 <= limit <= top:
        raise InputError(f"limit must be between 1 and {top}", field="limit")
    return limit


def page_of(items: Sequence[T], limit: int, cursor: str | None) -> Page[T]:
    """One page of a list held whole (short lists: scenarios, plays, rules, pending accounts)."""
    start = page_offset(cursor)
    end = start + check_limit(limit)
    return Page[T](items=list(items[start:end]), total=len(items),
                   next_cursor=str(end) if end < len(items) else None)


def plan_id_of(records: Iterable[SObject], config_version: str, changes: Sequence[Frozen]) -> str:
    """The id of a plan: a digest of the records it read (id and ``SystemModstamp``), the config version and
    exactly what it would change. Any write to one of the records, or a config change, gives another id."""
    stamps = sorted((r.Id or "", r.SystemModstamp.isoformat() if r.SystemModstamp else "") for r in records)
    return "plan_" + digest({"records": stamps, "config": config_version,
                             "changes": [c.model_dump(mode="json") for c in changes]})[-16:]


def check_plan(given: str | None, current: str, *, dry_run: bool) -> None:
    """Refuse an apply without the id of a plan shown before, or with one that is no longer the plan.

    Raises:
        InputError: naming ``plan_id``.
    """
    if dry_run:
        return
    if given is None:
        raise InputError("an apply needs the plan_id of a dry run: run it with dry_run first", field="plan_id")
    if given != current:
        raise InputError(f"the records or the config changed since {given} was shown (the plan is now "
                         f"{current}): review the new plan", field="plan_id")


# -- models -----------------------------------------------------------------------------------------------------

class SignalBrief(Frozen):
    """A recent outbound signal about an account."""

    id: str
    type: str
    headline: str
    event_date: dt.date
    strength: float


class AccountSummary(Frozen):
    """An account as a list shows it: who owns it, its territory and its latest signals."""

    id: str
    name: str | None
    owner_id: str | None
    industry: str | None
    employees: int | None
    country: str | None
    territory: str | None
    territory_status: str | None
    signals: list[SignalBrief]


class ScoreBrief(Frozen):
    """A lead's latest score: totals, band and the rules that held."""

    total: float | None
    fit: float | None
    intent: float | None
    band: str | None
    breakdown: list[dict[str, Any]]
    decision_id: str | None
    decided_at: dt.datetime | None


class RoutingBrief(Frozen):
    """A record's latest routing decision."""

    decision_id: str
    owner_id: str
    rule_id: str | None
    action: str | None
    explanation: str
    decided_at: dt.datetime


class SequenceBrief(Frozen):
    """A lead's engage sequence: its play, who drafted it, its steps."""

    play_id: str | None
    composer: str | None
    fallback_reason: str | None
    steps: int
    first_send_at: str | None
    task_id: str | None


class LeadBrief(Frozen):
    """One lead: its facts, enrichment, score breakdown, routing decision and sequence status."""

    id: str
    name: str
    company: str | None
    email: str | None
    status: str | None
    owner_id: str | None
    created: dt.datetime | None
    title: str | None
    industry: str | None
    employees: int | None
    country: str | None
    source: str | None
    matched_account_id: str | None
    enrichment_status: str | None
    score: ScoreBrief | None
    routing: RoutingBrief | None
    sequence: SequenceBrief | None


class ContactRow(Frozen):
    """A contact of an account."""

    id: str
    name: str
    title: str | None
    email: str | None


class OpportunityRow(Frozen):
    """An opportunity of an account."""

    id: str
    name: str | None
    stage: str | None
    amount: float | None
    close_date: dt.date | None
    owner_id: str | None
    is_closed: bool


class AccountBrief(Frozen):
    """One account: firmographics, contacts, signals, opportunities (the first ten of each, and how many) and
    territory."""

    account: AccountSummary
    website: str | None
    type: str | None
    annual_revenue: float | None
    arr: float | None
    health_band: str | None
    contract_end: dt.date | None
    contacts: list[ContactRow]
    contacts_total: int
    opportunities: list[OpportunityRow]
    opportunities_total: int
    open_pipeline: float


class EmailDraft(Frozen):
    """An email drafted for a lead or contact; never sent (``sent`` is always false)."""

    record_id: str
    to_name: str | None
    to_email: str | None
    subject: str
    body: str
    play_id: str
    play_name: str
    composer: str
    offline: bool
    note: str
    sent: bool = False


class StageTotal(Frozen):
    """Open opportunities of one stage."""

    stage: str
    count: int
    amount: float


class RepPipeline(Frozen):
    """One rep's open pipeline by stage."""

    owner_id: str
    owner_name: str | None
    open_count: int
    open_amount: float
    stages: list[StageTotal]


class TeamPipeline(Frozen):
    """The team's open pipeline by rep and stage, and the quarter's coverage against its target."""

    as_of: dt.date
    quarter_start: dt.date
    quarter_end: dt.date
    open_amount: float
    quarter_pipeline: float
    target: float | None
    target_basis: str
    coverage: float | None
    reps: Page[RepPipeline]


class OwnerChange(Frozen):
    """One record a reassignment moves."""

    record_id: str
    sobject: str
    name: str | None
    from_owner: str | None
    to_owner: str


class ReassignPlan(Frozen):
    """A reassignment: the plan (its id binds the apply to it) and, applied, the decisions it logged."""

    plan_id: str
    to_user: str
    reason: str
    changes: list[OwnerChange]
    unchanged: list[str]
    dry_run: bool
    decisions: list[str] = []


class RuleRow(Frozen):
    """A routing rule and how many records it decided over the period."""

    id: str
    priority: int
    description: str
    action: dict[str, Any]
    objects: list[str] | None
    hits: int


class RulesReport(Frozen):
    """The routing rules in priority order with their hits since a date, and the routing decisions counted."""

    since: dt.date | None
    config_version: str
    decisions: int
    rules: Page[RuleRow]


class EnrichResult(Frozen):
    """Enrichment of one record: the lookups (a dry run stops there), what was found, the decision logged."""

    record_id: str
    sobject: str
    dry_run: bool
    email: str | None
    domain: str | None
    provider: str
    outcome: EnrichmentOutcome | None = None
    score: ScoreBrief | None = None
    decision_id: str | None = None


class ScoreChange(Frozen):
    """A lead whose score or band a rescore changes."""

    lead_id: str
    name: str
    old_total: float | None
    new_total: float
    old_band: str | None
    new_band: str


class RescorePlan(Frozen):
    """A rescore: the leads read, the changes (a page), the plan id; applied, how many were written."""

    plan_id: str
    config_version: str
    proposed: bool
    considered: int
    changes: Page[ScoreChange]
    dry_run: bool
    applied: int = 0


class PlayRow(Frozen):
    """An engage or deal play: how often it was used and, for deal plays, how the deals went."""

    loop: Literal["engage", "pursue"]
    id: str
    name: str
    description: str
    used: int
    open: int | None = None
    won: int | None = None
    lost: int | None = None
    win_rate: float | None = None


class SystemHealth(Frozen):
    """The platform's integrations, queues and error rates."""

    crm: dict[str, Any]
    enrichment: dict[str, Any]
    llm: dict[str, Any]
    scanner: dict[str, Any]
    inbox: dict[str, int]
    workflows: dict[str, int]
    inbox_error_rate: float | None
    workflow_error_rate: float | None


class TaskDone(Frozen):
    """A milestone task completed (or, in a dry run, not yet): its plan's milestones as they now stand."""

    task_id: str
    dry_run: bool
    note: str | None
    instance_id: str
    play_id: str
    plan_status: str
    milestones: list[PlanMilestone]
    decision_id: str | None = None


def _done(task_id: str, note: str | None, plan: PlanResult, decision_id: str | None = None) -> TaskDone:
    return TaskDone(task_id=task_id, dry_run=plan.dry_run, note=note, instance_id=plan.instance_id,
                    play_id=plan.play_id, plan_status=plan.status, milestones=plan.milestones,
                    decision_id=decision_id)


# -- helpers ------------------------------------------------------------------------------------------------------

def _name(rec: SObject) -> str:
    f = rec.fields()
    return " ".join(p for p in (f.get("FirstName"), f.get("LastName")) if p) or str(f.get("Name") or "")


def _score_brief(d: Decision) -> ScoreBrief:
    detail = d.detail
    return ScoreBrief(total=detail.get("total"), fit=detail.get("fit"), intent=detail.get("intent"), band=d.outcome,
                      breakdown=list(detail.get("breakdown") or []), decision_id=d.id or None,
                      decided_at=d.created_at)


def _fiscal_quarter(day: dt.date, start_month: int) -> tuple[dt.date, dt.date]:
    offset = (day.month - start_month) % 12
    first_month = day.month - offset % 3
    year = day.year
    if first_month < 1:
        first_month += 12
        year -= 1
    start = dt.date(year, first_month, 1)
    end_month, end_year = first_month + 3, year
    if end_month > 12:
        end_month, end_year = end_month - 12, year + 1
    return start, dt.date(end_year, end_month, 1)


def _stored_view(plat: Any, task_id: str) -> Any:
    """The plan a task belongs to as last stored (nothing read back from the CRM, nothing written); None for
    a task no plan made."""
    from revloops.loops.plays import PlanView, find_play, subject_line

    found = plat.plans.by_task(task_id)
    inst = plat.plans.get(found.instance_id) if found is not None else None
    if inst is None:
        return None
    by_id = {m.id: m for m in find_play(plat, inst.loop, inst.play_id).milestones}
    names = inst.facts.get("names", {})
    rows = [{"milestone": m.milestone_id, "status": m.status, "owner_id": m.owner_id, "due": m.due,
             "completed_on": m.completed_on, "task_id": m.task_id,
             "subject": subject_line(by_id[m.milestone_id], names, None) if m.milestone_id in by_id else m.milestone_id,
             "owner_role": by_id[m.milestone_id].owner_role if m.milestone_id in by_id else "owner",
             "after": list(by_id[m.milestone_id].after) if m.milestone_id in by_id else []}
            for m in plat.plans.milestones(inst.id)]
    return PlanView(inst, rows)


class BriefActions(AppBase):
    """What a conversation asks for that no loop's group answers: briefs, drafts, the team, plans to apply."""

    # -- scope helpers ------------------------------------------------------------------------------------------

    def _visible(self, caller: Caller, record_id: str, sobject: str, field: str = "record_id") -> SObject:
        """The record, when the caller sees it; a hidden one answers exactly like a missing one.

        Raises:
            InputError: not a well-formed id of ``sobject`` (naming ``field``).
            NotFound: missing, or outside the caller's scope.
        """
        check_record_id(record_id, field=field, sobject=sobject)
        if not self.can_see(caller, record_id):
            raise NotFound(f"no {sobject.lower()} {record_id}")
        try:
            return self.platform.crm.get(sobject, record_id)
        except NotFound:
            raise NotFound(f"no {sobject.lower()} {record_id}") from None

    def _scoped(self, caller: Caller, query: Query) -> Query:
        owners = self.visible_owners(caller)
        return query if owners is None else query.where("OwnerId", "in", sorted(owners) or ["(none)"])

    def _territories(self, account_ids: Sequence[str]) -> dict[str, str]:
        crm = self.platform.crm
        if not account_ids:
            return {}
        assoc = list(crm.query_all(Query("ObjectTerritory2Association",
                                         (Filter("ObjectId", "in", list(account_ids)),))))
        ids = sorted({str(getattr(a, "Territory2Id", "")) for a in assoc})
        names = {t.Id: str(getattr(t, "DeveloperName", None) or getattr(t, "Name", "")) for t in
                 crm.query_all(Query("Territory2", (Filter("Id", "in", ids),)))} if ids else {}
        return {str(getattr(a, "ObjectId", "")): names.get(str(getattr(a, "Territory2Id", "")), "") for a in assoc}

    def _signals(self, account: SObject, limit: int = 3) -> list[SignalBrief]:
        f = account.fields()
        domain = company_domain(f.get("Website"))
        if not domain:
            return []
        found, _ = self.platform.ledger.signals(domain=domain, limit=limit)
        return [SignalBrief(id=s.id, type=s.type, headline=s.headline, event_date=s.event_date, strength=s.strength)
                for s in found]

    def _account_summaries(self, records: Sequence[SObject]) -> list[AccountSummary]:
        territories = self._territories([r.Id or "" for r in records])
        out = []
        for r in records:
            f = r.fields()
            out.append(AccountSummary(
                id=r.Id or "", name=f.get("Name"), owner_id=f.get("OwnerId"), industry=f.get("Industry"),
                employees=f.get("NumberOfEmployees"), country=f.get("BillingCountry"),
                territory=territories.get(r.Id or "") or None, territory_status=f.get("Territory_Status__c"),
                signals=self._signals(r)))
        return out

    # -- rep ------------------------------------------------------------------------------------------------------

    def my_leads(self, caller: Caller, *, status: str | None = None, qualification: str | None = None,
                 min_score: float | None = None, created_since: dt.date | None = None, sla: SlaState | None = None,
                 now: dt.datetime | None = None, limit: int = 20, cursor: str | None = None) -> Page[LeadSummary]:
        """The leads the caller sees (a rep's own, a manager's team's, everyone's), newest first, by status,
        qualification, lowest score and creation date, each with its SLA state: ``unowned`` (no rep owns it
        yet), ``due`` (owned, untouched, within ``coach/metrics.yaml``'s first-touch hours), ``breached``
        (owned, untouched, past them), ``met`` or ``late`` (first completed task within them or after). With
        ``sla``, only the leads in that state, among the newest ``SLA_SCAN`` matching the other filters."""
        query = self._scoped(caller, Query("Lead", order_by=(("CreatedDate", True), ("Id", True))))
        for name, op, value in (("Status", "eq", status), ("Qualification__c", "eq", qualification),
                                ("Lead_Score__c", "gte", min_score)):
            if value is not None:
                query = query.where(name, op, value)  # type: ignore[arg-type]
        if created_since is not None:
            query = query.where("CreatedDate", "gte", dt.datetime.combine(created_since, dt.time(), dt.UTC))
        hours = self._sla_hours()
        at = now or dt.datetime.now(dt.UTC)
        if sla is not None:
            if sla not in SLA_STATES:
                raise InputError(f"sla is one of {', '.join(SLA_STATES)}", field="sla")
            if hours is None:
                raise InputError("no SLA is configured (coach/metrics.yaml: sla.first_touch_hours)", field="sla")
            candidates = list(self.platform.crm.query_all(dataclasses.replace(query, limit=SLA_SCAN)))
            states = self._sla_states(candidates, hours, at)
            matching = [r for r in candidates if states[r.Id or ""] == sla]
            start = page_offset(cursor)
            chosen = matching[start:start + check_limit(limit)]
            nxt = str(start + len(chosen)) if start + len(chosen) < len(matching) else None
            return Page[LeadSummary](items=[self._lead_row(r, sla) for r in chosen], total=len(matching),
                                     next_cursor=nxt)
        try:
            page = self.platform.crm.query(query, page_size=check_limit(limit), page_token=cursor)
        except ValueError:
            raise InputError("not a cursor this list gave out", field="cursor") from None
        states = self._sla_states(page.records, hours, at) if hours is not None else {}
        items = [self._lead_row(r, states.get(r.Id or "")) for r in page.records]
        return Page[LeadSummary](items=items, total=page.total, next_cursor=page.next_token)

    def _lead_row(self, r: SObject, sla: str | None) -> LeadSummary:
        f = r.fields()
        return LeadSummary(id=r.Id or "", name=_name(r), company=f.get("Company"), email=f.get("Email"),
                           status=f.get("Status"), owner_id=f.get("OwnerId"),
                           qualification=f.get("Qualification__c"), score=f.get("Lead_Score__c"),
                           created=f.get("CreatedDate"), sla=sla)

    def _sla_hours(self) -> float | None:
        metrics = self.platform.config.get("coach_metrics")
        return float(metrics.sla.first_touch_hours) if metrics is not None else None

    def _sla_states(self, leads: Sequence[SObject], hours: float, now: dt.datetime) -> dict[str, str]:
        """Each lead's SLA state (see ``my_leads``), as the warehouse's speed-to-lead view reads it: owned at
        its first route decision naming a user, touched at its first completed task."""
        plat = self.platform
        ids = [r.Id or "" for r in leads]
        touched: dict[str, dt.datetime] = {}
        for i in range(0, len(ids), 500):
            tasks = plat.crm.query_all(Query("Task", (Filter("WhoId", "in", ids[i:i + 500]),
                                                      Filter("Status", "eq", "Completed"))))
            for t in tasks:
                f = t.fields()
                when = f.get("CompletedDateTime") or f.get("CreatedDate")
                who = str(f.get("WhoId") or "")
                if isinstance(when, dt.datetime) and (who not in touched or when < touched[who]):
                    touched[who] = _aware(when)
        limit = dt.timedelta(hours=hours)
        out: dict[str, str] = {}
        for lead_id in ids:
            owned = [_aware(d.created_at) for d in plat.decisions.for_record(lead_id, limit=50, loop="route")
                     if d.outcome.startswith("005") and d.created_at is not None]
            if not owned:
                out[lead_id] = "unowned"
                continue
            owned_at, first = min(owned), touched.get(lead_id)
            if first is None:
                out[lead_id] = "due" if now - owned_at <= limit else "breached"
            else:
                out[lead_id] = "met" if first - owned_at <= limit else "late"
        return out

    def my_accounts(self, caller: Caller, *, limit: int = 25, cursor: str | None = None) -> Page[AccountSummary]:
        """The accounts the caller sees (a rep's own, a manager's team's, everyone's), by name, each with its
        territory and latest signals."""
        query = self._scoped(caller, Query("Account", order_by=(("Name", False), ("Id", False))))
        try:
            page = self.platform.crm.query(query, page_size=check_limit(limit), page_token=cursor)
        except ValueError:
            raise InputError("not a cursor this list gave out", field="cursor") from None
        return Page[AccountSummary](items=self._account_summaries(page.records), total=page.total,
                                    next_cursor=page.next_token)

    def lead_brief(self, caller: Caller, lead_id: str) -> LeadBrief:
        """One lead: facts, enrichment status, the latest score with its breakdown, the routing decision and
        the engage sequence.

        Raises:
            NotFound: no such lead, or one outside the caller's scope (the same answer).
        """
        lead = self._visible(caller, lead_id, "Lead", "lead_id")
        f = lead.fields()
        decisions = self.platform.decisions
        scored = decisions.for_record(lead_id, limit=1, loop="qualify")
        routed = decisions.for_record(lead_id, limit=1, loop="route")
        routing = None
        if routed:
            r = routed[0]
            routing = RoutingBrief(decision_id=r.id, owner_id=r.outcome, rule_id=r.detail.get("rule_id"),
                                   action=r.detail.get("action"), explanation=r.explanation, decided_at=r.created_at)
        score = _score_brief(scored[0]) if scored else (
            ScoreBrief(total=f.get("Lead_Score__c"), fit=f.get("Fit_Score__c"), intent=f.get("Intent_Score__c"),
                       band=f.get("Qualification__c"), breakdown=[], decision_id=None, decided_at=None)
            if f.get("Lead_Score__c") is not None else None)
        stored = self.platform.sequences.get(lead_id)
        sequence = None
        if stored is not None:
            seq = stored.sequence
            steps = list(seq.get("steps") or [])
            sequence = SequenceBrief(play_id=seq.get("play_id"), composer=seq.get("composer"),
                                     fallback_reason=seq.get("fallback_reason"), steps=len(steps),
                                     first_send_at=str(steps[0].get("send_at")) if steps else None,
                                     task_id=stored.task_id)
        return LeadBrief(id=lead_id, name=_name(lead), company=f.get("Company"), email=f.get("Email"),
                         status=f.get("Status"), owner_id=f.get("OwnerId"), created=f.get("CreatedDate"),
                         title=f.get("Title"), industry=f.get("Industry"),
                         employees=f.get("NumberOfEmployees"), country=f.get("Country"), source=f.get("LeadSource"),
                         matched_account_id=f.get("Matched_Account__c"),
                         enrichment_status=f.get("Enrichment_Status__c"), score=score, routing=routing,
                         sequence=sequence)

    def account_brief(self, caller: Caller, account_id: str) -> AccountBrief:
        """One account: firmographics, territory, signals, its contacts and opportunities (the first ten of
        each, with the totals) and its open pipeline.

        Raises:
            NotFound: no such account, or one outside the caller's scope (the same answer).
        """
        account = self._visible(caller, account_id, "Account", "account_id")
        f = account.fields()
        crm = self.platform.crm
        contacts = crm.query(Query("Contact", (Filter("AccountId", "eq", account_id),),
                                   (("LastName", False), ("Id", False))), page_size=10)
        opps = crm.query(Query("Opportunity", (Filter("AccountId", "eq", account_id),),
                               (("CloseDate", True), ("Id", False))), page_size=10)
        open_amount = sum(float(o.fields().get("Amount") or 0.0) for o in crm.query_all(
            Query("Opportunity", (Filter("AccountId", "eq", account_id), Filter("IsClosed", "eq", False)))))
        return AccountBrief(
            account=self._account_summaries([account])[0], website=f.get("Website"), type=f.get("Type"),
            annual_revenue=f.get("AnnualRevenue"), arr=f.get("ARR__c"), health_band=f.get("Health_Band__c"),
            contract_end=f.get("Contract_End__c"),
            contacts=[ContactRow(id=c.Id or "", name=_name(c), title=c.fields().get("Title"),
                                 email=c.fields().get("Email")) for c in contacts.records],
            contacts_total=contacts.total,
            opportunities=[OpportunityRow(id=o.Id or "", name=o.fields().get("Name"), stage=o.fields().get("StageName"),
                                          amount=o.fields().get("Amount"), close_date=o.fields().get("CloseDate"),
                                          owner_id=o.fields().get("OwnerId"),
                                          is_closed=bool(o.fields().get("IsClosed"))) for o in opps.records],
            opportunities_total=opps.total, open_pipeline=open_amount)

    def draft_email(self, caller: Caller, record_id: str, *, play: str | None = None) -> EmailDraft:
        """A personalised email for a lead or contact in the caller's scope, from Engage's play (the one that
        holds for the record, or the one named) and composer; nothing is sent or written. An offline draft
        (no LLM configured, or the LLM failed) says so.

        Raises:
            NotFound: the record is missing or outside the caller's scope.
            InputError: not a lead or contact id; no play holds (or the named one does not exist); the play has
                no email step.
        """
        from revloops.loops.engage.config import PlaysFile
        from revloops.loops.engage.flow import default_composer
        from revloops.loops.engage.logic import engage_context, facts_for, select_play

        sobject = object_of(record_id) if isinstance(record_id, str) else None
        if sobject not in ("Lead", "Contact"):
            raise InputError("give a lead (00Q...) or contact (003...) id", field="record_id")
        rec = self._visible(caller, record_id, sobject)
        f = rec.fields()
        crm = self.platform.crm
        account_id = f.get("Matched_Account__c") if sobject == "Lead" else f.get("AccountId")
        account = None
        if account_id:
            try:
                account = crm.get("Account", account_id).fields()
            except NotFound:
                account = None
        plays: PlaysFile = self.platform.config.require("plays", PlaysFile)
        ctx = engage_context(build_context(f, account=account, sobject=sobject), plays)
        if play is not None:
            chosen = next((p for p in plays.plays if p.id == play), None)
            if chosen is None:
                raise InputError(f"no play {play!r} (plays: {', '.join(p.id for p in plays.ordered())})",
                                 field="play")
        else:
            chosen = select_play(plays, ctx).play
            if chosen is None:
                raise InputError("no engage play holds for this record: name one with play (plays: "
                                 f"{', '.join(p.id for p in plays.ordered())})", field="play")
        step = next((i for i, s in enumerate(chosen.steps) if s.channel == "email"), None)
        if step is None:
            raise InputError(f"play {chosen.id!r} has no email step", field="play")
        owner: dict[str, Any] = {}
        owner_id = f.get("OwnerId")
        if isinstance(owner_id, str) and owner_id.startswith("005"):
            try:
                owner = crm.get("User", owner_id).fields()
            except NotFound:
                owner = {}
        draft = default_composer(self.platform).compose(chosen, facts_for(ctx, owner, plays, chosen))
        text = draft.texts[step]
        offline = draft.composer != "llm"
        if draft.fallback_reason:
            note = f"drafted offline from the play's templates because {draft.fallback_reason}"
        elif offline:
            note = "drafted offline from the play's templates (no LLM is configured)"
        else:
            note = f"drafted by {draft.model or 'the LLM'}"
        return EmailDraft(record_id=record_id, to_name=_name(rec) or None, to_email=f.get("Email"),
                          subject=text.subject or "", body=text.body, play_id=chosen.id, play_name=chosen.name,
                          composer=draft.composer, offline=offline, note=note + "; not sent")

    def complete_my_task(self, caller: Caller, task_id: str, *, note: str | None = None,
                         dry_run: bool = False) -> TaskDone:
        """Complete one of the caller's milestone tasks (or one in their scope), with an optional note added to
        the task; its plan's dependents get their tasks. A dry run answers the plan as it stands. The
        completion is logged with the caller as actor.

        Raises:
            NotFound: no such task, one outside the caller's scope, or one no plan made.
            InputError: a note over 2,000 characters.
        """
        from revloops.loops.plays import complete_task

        if note is not None and len(note) > 2000:
            raise InputError("a note is at most 2,000 characters", field="note")
        if not isinstance(task_id, str) or not task_id.startswith("00T") or not self.can_see(caller, task_id):
            raise NotFound(f"no task {task_id}")
        plat = self.platform
        if dry_run:
            view = _stored_view(plat, task_id)
            if view is None:
                raise NotFound(f"task {task_id} belongs to no plan")
            return _done(task_id, note, plan_result(view, dry_run=True))
        task = plat.crm.get("Task", task_id).fields()
        if note:
            before = str(task.get("Description") or "")
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
            plat.crm.update("Task", task_id, {"Description": f"{before}\n\n[{stamp} {caller.actor}] {note}".strip()})
        view = complete_task(plat, task_id)
        if view is None:
            raise NotFound(f"task {task_id} belongs to no plan")
        decision = plat.decisions.record(Decision(
            loop=view.instance.loop, sobject="Task", record_id=task_id, outcome="completed",
            detail={"instance_id": view.instance.id, "note": note, "subject": task.get("Subject")},
            explanation=f"{caller.actor} completed {task.get('Subject') or task_id}" + (f": {note}" if note else ""),
            config_version=plat.config.version, inputs_digest=digest({"task": task_id, "note": note}),
            actor=caller.actor))
        return _done(task_id, note, plan_result(view), decision.id)

    # -- manager --------------------------------------------------------------------------------------------------

    def team_pipeline(self, caller: Caller, *, as_of: dt.date | None = None, target: float | None = None,
                      limit: int = 50, cursor: str | None = None) -> TeamPipeline:
        """The open pipeline of the caller's team (a manager's reports, recursively; the org for leadership) by
        rep and stage, and the fiscal quarter's coverage: pipeline closing in the quarter over its target (the
        one given, or the active scenario's quarterly target times the team's share of the org's AEs)."""
        from revloops.loops.design.config import CapacityConfig
        from revloops.loops.design.inherit import resolve_scenario

        self.require(caller, "manager")
        if target is not None and target <= 0:
            raise InputError("target must be above 0", field="target")
        day = as_of or dt.datetime.now(dt.UTC).date()
        crm, cfg = self.platform.crm, self.platform.config
        capacity = cfg.get("capacity")
        start_month = capacity.fiscal_year_start if isinstance(capacity, CapacityConfig) else 1
        q_start, q_end = _fiscal_quarter(day, start_month)
        opps = list(crm.query_all(self._scoped(caller, Query("Opportunity").where("IsClosed", "eq", False))))
        users = {u.Id: u.fields() for u in crm.query_all(Query("User"))}
        by_rep: dict[str, dict[str, list[float]]] = {}
        in_quarter = 0.0
        for o in opps:
            f = o.fields()
            amount = float(f.get("Amount") or 0.0)
            by_rep.setdefault(str(f.get("OwnerId") or ""), {}).setdefault(str(f.get("StageName") or "(none)"),
                                                                          []).append(amount)
            close = f.get("CloseDate")
            if isinstance(close, dt.date) and q_start <= close < q_end:
                in_quarter += amount
        rows = sorted((RepPipeline(
            owner_id=owner, owner_name=users.get(owner, {}).get("Name") or None,
            open_count=sum(len(v) for v in stages.values()), open_amount=sum(sum(v) for v in stages.values()),
            stages=[StageTotal(stage=s, count=len(v), amount=sum(v)) for s, v in sorted(stages.items())])
            for owner, stages in by_rep.items()), key=lambda r: (-r.open_amount, r.owner_id))
        basis = "the target given"
        if target is None and isinstance(capacity, CapacityConfig):
            targets = resolve_scenario(cfg, capacity.active_scenario).targets
            if targets is not None:
                quarter = ((q_start.month - start_month) % 12) // 3
                owners = self.visible_owners(caller)
                aes = [uid for uid, u in users.items() if u.get("Sales_Role__c") == "AE" and u.get("IsActive")]
                mine = [uid for uid in aes if owners is None or uid in owners]
                share = 1.0 if owners is None else (len(mine) / len(aes) if aes else 0.0)
                target = targets.annual_bookings * targets.phasing()[quarter] * share
                basis = (f"scenario {capacity.active_scenario!r}: Q{quarter + 1} target"
                         + ("" if owners is None else f" x {len(mine)} of {len(aes)} AEs"))
        if target is None:
            basis = "no target: give one, or set the active scenario's targets"
        return TeamPipeline(as_of=day, quarter_start=q_start, quarter_end=q_end,
                            open_amount=sum(r.open_amount for r in rows), quarter_pipeline=in_quarter,
                            target=target, target_basis=basis,
                            coverage=in_quarter / target if target else None, reps=page_of(rows, limit, cursor))

    def _reassign_plan(self, caller: Caller, record_ids: Sequence[str], to_user: str,
                       reason: str) -> tuple[list[SObject], list[OwnerChange], list[str]]:
        if not record_ids:
            raise InputError("give at least one record id", field="record_ids")
        if len(record_ids) > MAX_RECORDS:
            raise InputError(f"at most {MAX_RECORDS} records at once", field="record_ids")
        if not reason.strip():
            raise InputError("a reason is required", field="reason")
        if len(reason) > 500:
            raise InputError("a reason is at most 500 characters", field="reason")
        check_record_id(to_user, field="to_user", sobject="User")
        owners = self.visible_owners(caller)
        try:
            user = self.platform.crm.get("User", to_user).fields()
        except NotFound:
            raise NotFound(f"no user {to_user} in the caller's team") from None
        if (owners is not None and to_user not in owners) or not user.get("IsActive", True):
            raise NotFound(f"no user {to_user} in the caller's team")
        records, changes, unchanged = [], [], []
        for i, rid in enumerate(dict.fromkeys(record_ids)):
            sobject = object_of(rid) if isinstance(rid, str) else None
            if sobject not in _REASSIGNABLE:
                raise InputError("a lead, account or opportunity id", field=f"record_ids.{i}")
            rec = self._visible(caller, rid, sobject, f"record_ids.{i}")
            records.append(rec)
            before = rec.fields().get("OwnerId")
            if before == to_user:
                unchanged.append(rid)
                continue
            changes.append(OwnerChange(record_id=rid, sobject=sobject, name=_name(rec) or None, from_owner=before,
                                       to_owner=to_user))
        return records, changes, unchanged

    def reassign_record(self, caller: Caller, record_ids: Sequence[str], to_user: str, *, reason: str,
                        dry_run: bool = True, plan_id: str | None = None) -> ReassignPlan:
        """Move leads, accounts or opportunities of the caller's scope to another member of the caller's team
        (a reason is required). A dry run (the default) shows the plan and its id; an apply needs that id and
        writes exactly that plan, or refuses when a record or the config changed since. Each move is logged as
        a route decision with the caller as actor.

        Raises:
            Forbidden: below the manager tier.
            NotFound: a record or the user outside the caller's scope (or missing).
            InputError: no reason, too many records, a record that is not a lead, account or opportunity, or a
                plan id that is no longer the plan.
        """
        self.require(caller, "manager")
        plat = self.platform
        records, changes, unchanged = self._reassign_plan(caller, record_ids, to_user, reason)
        pid = plan_id_of(records, plat.config.version, [*changes, OwnerChange(
            record_id="", sobject="", name=reason, from_owner=None, to_owner=to_user)])
        check_plan(plan_id, pid, dry_run=dry_run)
        out = ReassignPlan(plan_id=pid, to_user=to_user, reason=reason, changes=changes, unchanged=unchanged,
                           dry_run=dry_run)
        if dry_run:
            return out
        logged = []
        for c in changes:
            decision = Decision(
                loop="route", sobject=c.sobject, record_id=c.record_id, outcome=to_user,
                detail={"rule_id": "manual:reassign", "action": "reassign", "from": c.from_owner, "reason": reason,
                        "plan_id": pid, "applied": True},
                explanation=f"{caller.actor} reassigned {c.record_id} from {c.from_owner} to {to_user}: {reason}",
                config_version=plat.config.version, inputs_digest=digest({"from": c.from_owner, "to": to_user}),
                actor=caller.actor)
            with plat.uow.together():
                plat.crm.update(c.sobject, c.record_id, {"OwnerId": to_user})
                logged.append(plat.decisions.record(decision).id)
        return out.model_copy(update={"decisions": logged})

    # -- ops ------------------------------------------------------------------------------------------------------

    def list_routing_rules(self, caller: Caller, *, since: dt.date | None = None, limit: int = 50,
                           cursor: str | None = None) -> RulesReport:
        """The routing rules in priority order, each with the routing decisions it took since ``since`` (all
        time without it), from the decision log."""
        from revloops.core.rules.schema import RulesFile

        self.require(caller, "ops")
        cfg = self.platform.config
        rules = sorted(cfg.require("rules", RulesFile).rules, key=lambda r: r.priority)
        start = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
        decided = self.platform.decisions.recent(loop="route", since=start, limit=10_000_000)
        hits = Counter(str(d.detail.get("rule_id")) for d in decided)
        rows = [RuleRow(id=r.id, priority=r.priority, description=r.description,
                        action=r.action.model_dump(mode="json", exclude_none=True), objects=r.objects,
                        hits=hits.get(r.id, 0)) for r in rules]
        return RulesReport(since=since, config_version=cfg.version, decisions=len(decided),
                           rules=page_of(rows, limit, cursor))

    def enrich_record(self, caller: Caller, record_id: str, *, dry_run: bool = False) -> EnrichResult:
        """Re-run enrichment for a lead or an account. A dry run answers the lookups it would make (no provider
        is asked, no credit spent). A lead is then rescored on what was found (its score written, as Qualify
        does); an account's findings are logged. Either way the decision credits the caller.

        Raises:
            Forbidden: below the ops tier.
            InputError: not a lead or account id.
            NotFound: no such record.
        """
        from revloops.loops.qualify.flow import enrich, score_lead

        self.require(caller, "ops")
        sobject = object_of(record_id) if isinstance(record_id, str) else None
        if sobject not in ("Lead", "Account"):
            raise InputError("give a lead (00Q...) or account (001...) id", field="record_id")
        plat = self.platform
        rec = self._visible(caller, record_id, sobject)
        fields = {k: v for k, v in rec.fields().items() if v is not None}
        email, domain = lookup_keys(fields) if sobject == "Lead" else (None, company_domain(fields.get("Website")))
        provider = getattr(plat.enrichment, "name", type(plat.enrichment).__name__)
        out = EnrichResult(record_id=record_id, sobject=sobject, dry_run=dry_run, email=email, domain=domain,
                           provider=str(provider))
        if dry_run:
            return out
        if sobject == "Account":
            outcome = enrich(plat, {"Website": fields.get("Website"), "Company": fields.get("Name")},
                             on_unavailable="degrade")
            decision = plat.decisions.record(Decision(
                loop="qualify", sobject="Account", record_id=record_id,
                outcome=ENRICHMENT_STATUS.get(outcome.status, outcome.status),
                detail={"enrichment": outcome.model_dump(mode="json")},
                explanation=f"{caller.actor} re-enriched {fields.get('Name') or record_id}: {outcome.status}",
                config_version=plat.config.version, inputs_digest=digest({"domain": domain}), actor=caller.actor))
            return out.model_copy(update={"outcome": outcome, "decision_id": decision.id})
        started = dt.datetime.now(dt.UTC)
        outcome = enrich(plat, fields, on_unavailable="degrade")
        ctx = build_context(fields, enrichment=outcome.context(), score={}, sobject="Lead")
        decision = score_lead(plat, record_id, ctx, actor=caller.actor)
        if decision.created_at < started:  # the same inputs scored before: log that this caller asked again
            decision = plat.decisions.record(decision.model_copy(update={
                "id": new_decision_id(), "actor": caller.actor, "created_at": dt.datetime.now(dt.UTC),
                "explanation": f"re-enriched by {caller.actor}, score unchanged: {decision.explanation}"}))
        return out.model_copy(update={"outcome": outcome, "score": _score_brief(decision),
                                      "decision_id": decision.id})

    def _scoring(self, proposed: Mapping[str, Any] | None) -> tuple[Any, str, bool]:
        from revloops.loops.qualify.config import ScoringFile

        cfg: GtmConfig = self.platform.config
        if proposed is None:
            return cfg.require("scoring", ScoringFile), cfg.version, False
        check_plain(dict(proposed), "scoring")
        try:
            other = with_file(cfg, "scoring", YamlDoc("scoring", dict(proposed), {}))
        except ConfigErrors as exc:
            raise InputErrors([InputError(e.message, field=f"scoring.{e.message.partition(': ')[0]}")
                               for e in exc.errors], source="the proposed scoring") from None
        return other.require("scoring", ScoringFile), "proposed:" + digest(dict(proposed))[-12:], True

    def _rescore_leads(self, caller: Caller, lead_ids: Sequence[str] | None, status: str | None,
                       max_leads: int) -> list[SObject]:
        crm = self.platform.crm
        if lead_ids is not None:
            if not lead_ids:
                raise InputError("give at least one lead id, or none to rescore by status", field="lead_ids")
            if len(lead_ids) > MAX_RESCORE:
                raise InputError(f"at most {MAX_RESCORE} leads at once", field="lead_ids")
            return [self._visible(caller, lid, "Lead", f"lead_ids.{i}") for i, lid in enumerate(dict.fromkeys(lead_ids))]
        if not 1 <= max_leads <= MAX_RESCORE:
            raise InputError(f"max_leads must be between 1 and {MAX_RESCORE}", field="max_leads")
        query = Query("Lead", order_by=(("CreatedDate", True), ("Id", True)), limit=max_leads)
        if status:
            query = query.where("Status", "eq", status)
        return list(crm.query_all(query))

    def rescore_leads(self, caller: Caller, *, lead_ids: Sequence[str] | None = None, status: str | None = None,
                      max_leads: int = 500, scoring: Mapping[str, Any] | None = None, dry_run: bool = True,
                      plan_id: str | None = None, limit: int = 50, cursor: str | None = None) -> RescorePlan:
        """Recompute the scores of a set of leads (the ids given, or the newest ``max_leads`` of a status) on
        their stored fields and their last enrichment, or preview them under a proposed scoring config. A dry
        run (the default) lists the leads whose score or band would change, a page at a time, and the plan id;
        an apply with that id writes exactly those scores, each with a qualify decision crediting the caller,
        or refuses when a lead or the config changed since. A proposed config is preview only.

        Raises:
            Forbidden: below the ops tier.
            InputError: a proposed scoring config with problems (each named), an apply of a proposal, a plan id
                that is no longer the plan.
        """
        from revloops.loops.qualify.logic import score, scoring_inputs

        self.require(caller, "ops")
        plat = self.platform
        rules, version, proposed = self._scoring(scoring)
        if proposed and not dry_run:
            raise InputError("a proposed scoring config is preview only: commit it to qualify/scoring.yaml, then "
                             "apply", field="scoring")
        leads = self._rescore_leads(caller, lead_ids, status, max_leads)
        changes: list[ScoreChange] = []
        results: dict[str, tuple[Score, dict[str, Any]]] = {}
        for lead in leads:
            f = lead.fields()
            ctx = build_context(f, score={}, sobject="Lead")
            last = plat.decisions.for_record(lead.Id or "", limit=1, loop="qualify")
            if last:
                remembered = dict(last[0].detail.get("inputs", {}).get("fields", {}))
                ctx.update({k: v for k, v in remembered.items() if k.startswith("enrichment.")})
                ctx["enrichment.status"] = last[0].detail.get("enrichment_status") or ctx.get("enrichment.status")
            result = score(ctx, rules)
            old_total, old_band = f.get("Lead_Score__c"), f.get("Qualification__c")
            if old_total is not None and float(old_total) == float(result.total) and old_band == result.qualification:
                continue
            results[lead.Id or ""] = (result, ctx)
            changes.append(ScoreChange(lead_id=lead.Id or "", name=_name(lead), old_total=old_total,
                                       new_total=float(result.total), old_band=old_band,
                                       new_band=result.qualification))
        pid = plan_id_of(leads, version, changes)
        check_plan(plan_id, pid, dry_run=dry_run)
        out = RescorePlan(plan_id=pid, config_version=version, proposed=proposed, considered=len(leads),
                          changes=page_of(changes, limit, cursor), dry_run=dry_run)
        if dry_run:
            return out
        for change in changes:
            result, ctx = results[change.lead_id]
            status_seen = str(ctx.get("enrichment.status") or "none")
            inputs = {"fields": scoring_inputs(ctx, rules), "enrichment_status": status_seen}
            dumped = result.model_dump(mode="json", include={"thresholds", "breakdown", "trace"})
            decision = Decision(
                loop="qualify", sobject="Lead", record_id=change.lead_id, outcome=result.band,
                detail={"total": result.total, "fit": result.fit, "intent": result.intent,
                        "thresholds": dumped["thresholds"], "enrichment_status": status_seen,
                        "breakdown": dumped["breakdown"], "inputs": inputs, "plan_id": pid},
                trace=dumped["trace"], explanation=f"rescored by {caller.actor}: {result.explanation}",
                config_version=version, inputs_digest=digest(inputs), actor=caller.actor)
            with plat.uow.together():
                plat.crm.update("Lead", change.lead_id, lead_changes(result, status_seen))
                plat.decisions.record(decision)
        return out.model_copy(update={"applied": len(changes)})

    def list_plays(self, caller: Caller, *, limit: int = 50, cursor: str | None = None) -> Page[PlayRow]:
        """The engage plays (how many leads each was picked for) and the deal plays (plans started, open, won,
        lost, win rate), in priority order."""
        from revloops.loops.engage.config import PlaysFile
        from revloops.loops.pursue.flow import play_stats

        self.require(caller, "ops")
        plat = self.platform
        used = Counter(d.outcome for d in plat.decisions.recent(loop="engage", limit=10_000_000))
        plays = plat.config.get("plays")
        rows = [PlayRow(loop="engage", id=p.id, name=p.name, description=p.description or "", used=used.get(p.id, 0))
                for p in (plays.ordered() if isinstance(plays, PlaysFile) else [])]
        rows += [PlayRow(loop="pursue", id=s.play_id, name=s.name, description="", used=s.started, open=s.open,
                         won=s.won, lost=s.lost, win_rate=s.win_rate) for s in play_stats(plat)]
        return page_of(rows, limit, cursor)

    def list_pending_territories(self, caller: Caller, *, status: str | None = None, limit: int = 50,
                                 cursor: str | None = None) -> Page[PendingAccount]:
        """Accounts in a ``pending:*`` state (or one state) with the evidence for each, a page at a time."""
        from revloops.loops.deploy.flow import pending

        self.require(caller, "ops")
        if status is not None and not status.startswith("pending:"):
            raise InputError("status is a pending:* state (pending:ambiguous, pending:no_match...)", field="status")
        rows = [PendingAccount(account_id=a.account_id, name=a.name, status=a.status, evidence=a.evidence)
                for a in pending(self.platform.crm, status)]
        return page_of(rows, limit, cursor)

    def list_scenarios_page(self, caller: Caller, *, limit: int = 50, cursor: str | None = None) -> Page[ScenarioSummary]:
        """The capacity scenarios (which one each extends, which is active), a page at a time."""
        from revloops.loops.design.flow import list_scenarios

        self.require(caller, "ops")
        return page_of(list_scenarios(load_config(self.settings.config)), limit, cursor)

    def promote(self, caller: Caller, scenario: str, *, dry_run: bool = True, commit: bool = False) -> PromoteResult:
        """Make a scenario active: the one-line change to ``active_scenario``, shown as a diff and written only
        without ``dry_run`` (committed to git with ``commit``); a written change is logged with the caller."""
        from revloops.loops.design.flow import promote_scenario

        self.require(caller, "ops")
        plat = self.platform
        result = promote_scenario(self.settings.config, scenario, commit=commit, dry_run=dry_run)
        if not dry_run and result.changed:
            plat.reload_config()
            plat.decisions.record(Decision(
                loop="design", sobject="Config", record_id="design/capacity_config.yaml", outcome=scenario,
                detail={"previous": result.previous, "diff": result.diff, "commit": result.commit},
                explanation=f"{caller.actor} made {scenario} the active scenario (was {result.previous})",
                config_version=plat.config.version, inputs_digest=digest(result.diff), actor=caller.actor))
        return result

    def scan_target(self, caller: Caller, domain: str, *, dry_run: bool = False) -> TickResult:
        """Scan one target account for signals now, on the engine: the one running in this process (a served
        API), or one started for the scan and stopped after it; one scan at a time per process. A dry run
        checks the target and answers the budget the scan would spend from, scanning nothing."""
        from revloops.app.signals import SignalActions, _scan_row
        from revloops.chains.signals import scan_run
        from revloops.engine import setup
        from revloops.engine.registry import run_key, start_once
        from revloops.loops.generate.outbound import find_target, targets_file

        self.require(caller, "ops")
        signals = cast(SignalActions, self)
        if dry_run:
            find_target(targets_file(self.platform), domain)  # an unknown target is refused as by a scan
            return TickResult(ticks=0, scans=[], new_signals=0, folded=0, skipped=0, outreach=[],
                              budget=signals.signal_budget(caller), dry_run=True)
        with _SCANS:
            if not setup.is_running():
                return signals.run_ticks(caller, domain=domain)
            plat = self.platform
            target = find_target(targets_file(plat), domain)
            at = signals._now(None).replace(second=0)
            scan_id = f"scan:manual:{at.isoformat()}:{target.domain}"
            before = {s.id for s in plat.ledger.all_signals()}
            out = start_once(run_key("scan", scan_id), scan_run, target.domain, at.isoformat(), scan_id).get_result()
            scans = {s.id: s for s in plat.ledger.scans(domain=target.domain, limit=50)}
            rows = [_scan_row(scans[scan_id], {"outreach": out.get("outreach"), "why": out.get("why")})] \
                if scan_id in scans else []
            new = len({s.id for s in plat.ledger.all_signals()} - before)
            outreach = [{"signal_id": out["outreach"], "domain": target.domain}] if out.get("outreach") else []
            return TickResult(ticks=1, scans=rows, new_signals=new, folded=sum(r.folded for r in rows),
                              skipped=sum(1 for r in rows if r.status == "skipped"), outreach=outreach,
                              budget=signals.signal_budget(caller, day=at.date()))

    def manage_targets(self, caller: Caller, action: Literal["add", "remove"], domain: str, *,
                       name: str | None = None, priority: int = 3, territory: str | None = None,
                       dry_run: bool = True) -> TargetEditResult:
        """Add or remove an outbound target account in ``generate/targets.yaml``: a dry run (the default) shows
        the diff; a written change is logged with the caller as actor."""
        from revloops.loops.generate.outbound import check_new_target, targets_file
        from revloops.loops.generate.targets_edit import add_target, remove_target

        self.require(caller, "ops")
        plat = self.platform
        if action == "add":
            if not name:
                raise InputError("adding a target needs its name", field="name")
            if not 1 <= priority <= 5:
                raise InputError("priority is 1 (first) to 5", field="priority")
            check_new_target(targets_file(plat), name, domain)
            edit = add_target(plat.settings.config, name=name, domain=domain, priority=priority,
                              territory=territory, dry_run=dry_run)
        elif action == "remove":
            edit = remove_target(plat.settings.config, domain, dry_run=dry_run)
        else:
            raise InputError("action is add or remove", field="action")
        if edit.written:
            plat.reload_config()
            plat.decisions.record(Decision(
                loop="generate", sobject="Config", record_id="generate/targets.yaml", outcome=f"{action}:{domain}",
                detail={"diff": edit.diff, "name": name, "priority": priority, "territory": territory},
                explanation=f"{caller.actor} {'added' if action == 'add' else 'removed'} target {domain}",
                config_version=plat.config.version, inputs_digest=digest(edit.diff), actor=caller.actor))
        return TargetEditResult(file=edit.file, diff=edit.diff, written=edit.written, dry_run=dry_run)

    # -- eng ------------------------------------------------------------------------------------------------------

    def system_health(self, caller: Caller) -> SystemHealth:
        """The integrations (the CRM and its API usage, enrichment credits, the LLM's spend, the signal scanner)
        over the last 30 days, the events inbox and workflow runs by state, and their error rates."""
        from revloops.app.crm_check import crm_check
        from revloops.engine.setup import client, migrate
        from revloops.engine.status import engine_status

        self.require(caller, "eng")
        plat = self.platform
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        try:
            check = crm_check(self.settings, lambda: plat.crm)
            crm = {"name": check["crm"], "ok": check["ok"], "sign_in": check["sign_in"]["ok"],
                   "api_usage": check["api_usage"], "lacking": [o["object"] for o in check["objects"] if not o["ok"]]}
        except RevloopsError as exc:
            crm = {"name": self.settings.crm, "ok": False, "error": str(exc)}
        spend = plat.enrichment_spend.totals(since=since)
        enrichment = {"provider": str(getattr(plat.enrichment, "name", type(plat.enrichment).__name__)),
                      "calls_30d": spend.calls, "credits_30d": spend.credits, "by_status_30d": spend.by_status}
        llm = {"configured": plat.llm is not None, **{f"{k}_30d": v for k, v in plat.llm_spend.totals(since).items()}}
        scanner = {"name": plat.scanner.name, "synthetic": plat.scanner.synthetic}
        inbox = plat.inbox.counts()
        migrate(self.settings)
        cl = client(self.settings)
        try:
            workflows = engine_status(cl, failures=0).counts
        finally:
            cl.destroy()
        inbox_total, flows_total = sum(inbox.values()), sum(workflows.values())
        return SystemHealth(
            crm=crm, enrichment=enrichment, llm=llm, scanner=scanner, inbox=inbox, workflows=workflows,
            inbox_error_rate=(inbox.get("failed", 0) + inbox.get("rejected", 0)) / inbox_total if inbox_total else None,
            workflow_error_rate=(sum(v for k, v in workflows.items() if k in ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"))
                                 / flows_total) if flows_total else None)
