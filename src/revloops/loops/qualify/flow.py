"""Qualify's flow: enrich a lead within a time budget, score it, write the score to the lead and the
decision log. Each function is one step of the inbound chain (enrichment touches the network; scoring
writes to the CRM), and both are safe to run again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from revloops.core.context import build_context
from revloops.core.decisions import Decision, digest
from revloops.core.domains import company_domain
from revloops.core.errors import UpstreamRejected, UpstreamUnavailable
from revloops.core.model import Frozen
from revloops.core.records import SObject
from revloops.loops.qualify.config import ScoringFile
from revloops.loops.qualify.logic import REASONS_MAX, Score, score, scoring_inputs
from revloops.ports.enrichment import (
    SYNTHETIC_PROVIDERS,
    CompanyFacts,
    Enrichment,
    EnrichmentTimeout,
    Hints,
    PersonFacts,
    facts_dict,
)

if TYPE_CHECKING:
    from revloops.ports import Ports

Status = Literal["ok", "not_found", "timeout", "error"]
#: Enrichment_Status__c's vocabulary (the org's field: pending, enriched, not_found, failed:<reason>)
ENRICHMENT_STATUS = {"ok": "enriched", "not_found": "not_found", "timeout": "failed:timeout",
                     "error": "failed:error", "none": "pending"}
SYNTHETIC_STATUS = "synthetic"  # what Enrichment_Status__c says when the facts were invented offline
SYNTHETIC_NOTE = "synthetic enrichment: the offline provider invented these firmographics (no provider key set)"


class EnrichmentOutcome(Frozen):
    """What enrichment found for one record, within its time budget.

    Attributes:
        status: ``ok`` (some facts found), ``not_found``, ``timeout`` (the budget ran out: the chain goes on
            with what it has), ``error`` (every provider refused, or a transient failure when degrading).
        person: the person's facts, if found.
        company: the company's facts, if found.
        provider: the provider of the company facts, else of the person facts.
        sources: which provider answered each lookup (``{"person": "pdl", "company": "offline"}``).
        credits: credits spent by this enrichment (0 when served from the cache).
        cached: whether every answer came from the cache.
        errors: what failed, provider by provider.
        note: one line for the trace when the outcome is not ``ok``.
        synthetic: whether any fact was invented (the offline provider) rather than looked up.
    """

    status: Status
    person: PersonFacts | None = None
    company: CompanyFacts | None = None
    provider: str | None = None
    sources: dict[str, str] = {}
    credits: float = 0.0
    cached: bool = False
    errors: list[str] = []
    note: str | None = None
    synthetic: bool = False

    def context(self) -> dict[str, Any]:
        """The ``enrichment`` mapping for ``build_context`` (``enrichment.company.size``, ``enrichment.status``...)."""
        return {"status": self.status, "provider": self.provider, "synthetic": self.synthetic,
                "person": facts_dict(self.person), "company": facts_dict(self.company)}


def _fields(record: Mapping[str, Any] | SObject) -> dict[str, Any]:
    return record.fields() if isinstance(record, SObject) else dict(record)


def hints_of(record: Mapping[str, Any]) -> Hints:
    """What a lead (or contact) already says about the person and the company."""
    name = " ".join(str(record[k]) for k in ("FirstName", "LastName") if record.get(k)) or None
    employees = record.get("NumberOfEmployees")
    return Hints(company=record.get("Company"), title=record.get("Title"),
                 country=record.get("Country") or record.get("MailingCountry"), name=name,
                 employees=employees if isinstance(employees, int) else None, industry=record.get("Industry"))


def lookup_keys(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The email and the company domain (from the website, else a company email address) to look up."""
    email = record.get("Email") or None
    domain = company_domain(record.get("Website")) or company_domain(email)
    return email, domain


class _Run:
    """One enrichment's running state: the budget, the answers, the failures."""

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.found: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.credits = 0.0
        self.cached: list[bool] = []
        self.errors: list[str] = []
        self.timed_out = False
        self.failed = False

    def left(self) -> float:
        return self.deadline - time.monotonic()


def _lookup(run: _Run, provider: Enrichment, kind: str, key: str, hints: Hints, degrade: bool) -> None:
    if run.timed_out or run.left() <= 0:
        run.timed_out = True
        return
    try:
        if kind == "person":
            answer: Any = provider.enrich_person(key, hints=hints, timeout=run.left())
        else:
            answer = provider.enrich_company(key, hints=hints, timeout=run.left())
    except EnrichmentTimeout as exc:
        run.timed_out = True
        run.errors.append(f"{kind}: {exc.message}")
        return
    except UpstreamUnavailable as exc:
        if not degrade:
            raise
        run.failed = True
        run.errors.append(f"{kind}: {exc.message}")
        return
    except UpstreamRejected as exc:
        run.failed = True
        run.errors.append(f"{kind}: {exc.message}")
        return
    run.credits += answer.credits
    run.cached.append(answer.cached)
    run.errors.extend(f"{kind}: {e}" for e in answer.errors)
    if answer.facts is not None:
        run.found[kind] = answer.facts
        run.sources[kind] = answer.provider


def _status(run: _Run, looked_up: bool) -> tuple[Status, str | None]:
    if run.timed_out:
        return "timeout", f"enrichment stopped after {run.timeout:g}s; went on with what it had"
    if run.found:
        return "ok", None
    if run.failed:
        return "error", "enrichment failed; went on with the record alone"
    if not looked_up:
        return "not_found", "no email or company domain to look up"
    return "not_found", "no provider had facts for this record"


def enrich(plat: Ports, record: Mapping[str, Any] | SObject, *, timeout: float | None = None,
           on_unavailable: Literal["raise", "degrade"] = "raise") -> EnrichmentOutcome:
    """Enrich one lead: the person by email, the company by website or email domain.

    Args:
        plat: the platform (its ``enrichment`` waterfall).
        record: the lead's fields (or the record).
        timeout: seconds in all (default ``REVLOOPS_ENRICHMENT_TIMEOUT_SECONDS``); when they run out the
            outcome is ``timeout`` with whatever was found so far.
        on_unavailable: ``raise`` lets a transient failure (429, 5xx) propagate for the engine's step retries;
            ``degrade`` (the last attempt) records it as ``error`` and goes on.

    Returns:
        The outcome; a not-found is an outcome, never an error.

    Raises:
        UpstreamUnavailable: a transient failure, with ``on_unavailable="raise"``.
    """
    fields = _fields(record)
    run = _Run(plat.settings.enrichment_timeout_seconds if timeout is None else timeout)
    email, domain = lookup_keys(fields)
    hints = hints_of(fields)
    provider: Enrichment = plat.enrichment
    if email:
        _lookup(run, provider, "person", email, hints, on_unavailable == "degrade")
    if domain:
        _lookup(run, provider, "company", domain, hints, on_unavailable == "degrade")
    status, note = _status(run, bool(email or domain))
    source = run.sources.get("company") or run.sources.get("person")
    synthetic = any(run.sources.get(kind) in SYNTHETIC_PROVIDERS for kind in run.found)
    return EnrichmentOutcome(
        status=status, person=run.found.get("person"), company=run.found.get("company"), provider=source,
        sources=run.sources, credits=run.credits, cached=bool(run.cached) and all(run.cached), errors=run.errors,
        note=note or (SYNTHETIC_NOTE if synthetic else None), synthetic=synthetic,
    )


def lead_changes(result: Score, enrichment_status: str, synthetic: bool = False) -> dict[str, Any]:
    """The lead fields a score writes; a score taken on invented facts says so in its status and reasons."""
    status = ENRICHMENT_STATUS.get(enrichment_status, f"failed:{enrichment_status}")
    reasons = result.reasons
    if synthetic:
        status = SYNTHETIC_STATUS if enrichment_status == "ok" else status
        reasons = f"[{SYNTHETIC_NOTE}]\n{reasons}"[:REASONS_MAX]
    return {
        "Lead_Score__c": float(result.total), "Fit_Score__c": float(result.fit),
        "Intent_Score__c": float(result.intent), "Score_Reasons__c": reasons,
        "Qualification__c": result.qualification, "Enrichment_Status__c": status[:40],
    }


def score_lead(plat: Ports, lead_id: str, ctx: Mapping[str, Any], actor: str = "system") -> Decision:
    """Score one lead on its context, write the score to the lead and record the decision.

    Running it again on the same inputs (the fields the scoring reads, and the config version) returns the
    decision already taken and writes nothing.

    Args:
        plat: the platform (CRM, decision log, config).
        lead_id: the lead's id.
        ctx: its evaluation context (``build_context(lead, enrichment=outcome.context(), ...)``).
        actor: who asked (``workflow:<id>``, ``cli``, ``api:<user>``).

    Returns:
        The ``qualify`` decision: outcome ``mql``, ``nurture`` or ``disqualified``.

    Raises:
        ConfigError: the config has no ``qualify/scoring.yaml``.
        NotFound: the lead does not exist.
    """
    scoring = plat.config.require("scoring", ScoringFile)
    status = str(ctx.get("enrichment.status") or "none")
    synthetic = bool(ctx.get("enrichment.synthetic"))
    inputs = {"fields": scoring_inputs(ctx, scoring), "enrichment_status": status}
    inputs_digest, version = digest(inputs), plat.config.version
    for previous in plat.decisions.for_record(lead_id, limit=1, loop="qualify"):
        if previous.inputs_digest == inputs_digest and previous.config_version == version:
            return previous
    result = score(ctx, scoring)
    dumped = result.model_dump(mode="json", include={"thresholds", "breakdown", "trace"})  # one call, not one per rule
    decision = Decision(
        loop="qualify", sobject="Lead", record_id=lead_id, outcome=result.band,
        detail={"total": result.total, "fit": result.fit, "intent": result.intent,
                "thresholds": dumped["thresholds"], "enrichment_status": status,
                "enrichment_provider": ctx.get("enrichment.provider"), "enrichment_synthetic": synthetic,
                "breakdown": dumped["breakdown"], "inputs": inputs},
        trace=dumped["trace"], explanation=result.explanation + (f" ({SYNTHETIC_NOTE})" if synthetic else ""),
        config_version=version, inputs_digest=inputs_digest, actor=actor,
    )
    with plat.uow.together():  # the score on the lead and its decision: one commit
        plat.crm.update("Lead", lead_id, lead_changes(result, status, synthetic))
        return plat.decisions.record(decision)


def qualify_lead(plat: Ports, lead_id: str, *, actor: str = "system", timeout: float | None = None,
                 on_unavailable: Literal["raise", "degrade"] = "raise") -> tuple[EnrichmentOutcome, Decision]:
    """The whole loop on one lead: read it, enrich it, score it (the chain runs the two steps separately)."""
    lead = _fields(plat.crm.get("Lead", lead_id))
    outcome = enrich(plat, lead, timeout=timeout, on_unavailable=on_unavailable)
    ctx = build_context(lead, enrichment=outcome.context(), score={}, sobject="Lead")
    return outcome, score_lead(plat, lead_id, ctx, actor=actor)


def preview_score(plat: Ports, record: Mapping[str, Any], *, enrichment: Mapping[str, Any] | None = None,
                  enrich_record: bool = True) -> tuple[Score, EnrichmentOutcome | None]:
    """Score a record without writing anything (``revloops qualify score``).

    Args:
        plat: the platform (config; the enrichment waterfall when ``enrich_record``).
        record: the record's fields by Salesforce API name.
        enrichment: an ``enrichment`` mapping to use as given (no provider is asked).
        enrich_record: ask the providers when ``enrichment`` is not given.
    """
    scoring = plat.config.require("scoring", ScoringFile)
    outcome = None
    if enrichment is None and enrich_record:
        outcome = enrich(plat, record, on_unavailable="degrade")
        enrichment = outcome.context()
    ctx = build_context(record, enrichment=enrichment, score={}, sobject="Lead")
    return score(ctx, scoring), outcome
