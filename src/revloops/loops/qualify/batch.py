"""Scoring over columns: every lead of a frame scored at once, row for row what ``logic.score`` gives.

Each rule's condition is evaluated over the whole frame by the same matcher routing's batch path uses
(``core.rules.matrix``); a rule's points count where its condition holds, the totals against the thresholds
give the bands. The batch paths that read stored leads as frames (a change plan's Qualify section) use it; a
property test holds it to the per-record score.

Stored leads carry no enrichment payload: ``enrichment_columns`` joins the enrichment cache's answers onto a
frame by the keys the live lookup uses (the email for the person, the company domain for the company).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from revloops.core.context import flatten
from revloops.core.domains import company_domain
from revloops.core.rules.batch import contexts_to_frame
from revloops.core.rules.matrix import rule_arrays
from revloops.loops.qualify.config import ScoringFile, ScoringRule
from revloops.loops.qualify.logic import Group

BANDS = ("mql", "nurture", "disqualified")


@dataclass(frozen=True)
class FrameScores:
    """The scores of a frame's rows: totals, bands, and which rule held on which row (file order, fit first)."""

    rule_ids: tuple[str, ...]
    groups: tuple[Group, ...]
    points: tuple[int, ...]
    held: tuple[np.ndarray, ...]
    fit: np.ndarray
    intent: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """fit + intent, per row."""
        total: np.ndarray = self.fit + self.intent
        return total

    def bands(self, scoring: ScoringFile) -> np.ndarray:
        """The band of each row's total (``band_for``), as strings."""
        total, t = self.total, scoring.thresholds
        return np.where(total >= t.mql, "mql", np.where(total >= t.nurture, "nurture", "disqualified"))

    def contribution(self, rule_id: str) -> np.ndarray:
        """The points a rule adds on each row (0 where it does not hold; zeros for a rule this side lacks)."""
        for rid, pts, held in zip(self.rule_ids, self.points, self.held, strict=True):
            if rid == rule_id:
                return np.where(held, pts, 0)
        return np.zeros(len(self.fit), dtype=np.int64)


def _rules(scoring: ScoringFile) -> list[tuple[Group, ScoringRule]]:
    return [*(("fit", r) for r in scoring.fit), *(("intent", r) for r in scoring.intent)]


def score_frame(scoring: ScoringFile, frame: pl.DataFrame) -> FrameScores:
    """Score every row of a batch frame (``contexts_to_frame`` of the scoring's ``fields``, or a context frame
    carrying them)."""
    rules = _rules(scoring)
    n = frame.height
    held = rule_arrays([r.condition for _, r in rules], frame) if rules else []
    fit = np.zeros(n, dtype=np.int64)
    intent = np.zeros(n, dtype=np.int64)
    for (group, rule), arr in zip(rules, held, strict=True):
        (fit if group == "fit" else intent)[arr] += rule.points
    return FrameScores(rule_ids=tuple(r.id for _, r in rules), groups=tuple(g for g, _ in rules),
                       points=tuple(r.points for _, r in rules), held=tuple(held), fit=fit, intent=intent)


def enrichment_fields(fields: Iterable[str]) -> list[str]:
    """The ``enrichment.*`` fields among ``fields``."""
    return [f for f in fields if f.startswith("enrichment.")]


class CachedFacts:
    """The enrichment cache's answers, by kind and key (newest answer first when two providers hold one)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.person: dict[str, tuple[str, dict[str, Any]]] = {}
        self.company: dict[str, tuple[str, dict[str, Any]]] = {}
        ordered = sorted(rows, key=lambda r: str(r.get("fetched_at") or ""), reverse=True)
        for row in ordered:
            facts = row.get("facts")
            if not isinstance(facts, Mapping):
                continue
            into = self.person if row.get("kind") == "person" else self.company
            into.setdefault(str(row.get("key") or "").strip().lower(), (str(row.get("provider")), dict(facts)))

    def __len__(self) -> int:
        return len(self.person) + len(self.company)

    def context(self, email: str | None, domain: str | None) -> dict[str, Any]:
        """The ``enrichment.*`` context keys of one lookup, as ``build_context`` flattens them (empty: nothing
        cached for either key)."""
        person = self.person.get(email.strip().lower()) if email else None
        company = self.company.get(domain) if domain else None
        if person is None and company is None:
            return {}
        provider = (company or person or ("", {}))[0]
        payload: dict[str, Any] = {"status": "ok", "provider": provider, "synthetic": provider == "offline",
                                   "person": person[1] if person else None,
                                   "company": company[1] if company else None}
        out: dict[str, Any] = {}
        flatten("enrichment", payload, out)
        return out


def enrichment_columns(frame: pl.DataFrame, facts: CachedFacts, fields: Sequence[str], *,
                       email: pl.Series | None = None, website: pl.Series | None = None) -> tuple[pl.DataFrame, int]:
    """``frame`` with the ``enrichment.*`` fields of ``fields`` taken from the cache (each distinct email and
    website once), and how many rows found an answer. The lookup keys are ``email`` and ``website`` (the stored
    records' ``Email`` and ``Website``), else the frame's own columns of those names."""
    wanted = enrichment_fields(fields)
    base = frame.drop([c for c in frame.columns if c.split("@")[0] in wanted])
    if not wanted:
        return base, 0
    n = frame.height
    nulls = pl.Series([None] * n, dtype=pl.String)
    if email is None:
        email = frame.get_column("Email") if "Email" in frame.columns else nulls
    if website is None:
        website = frame.get_column("Website") if "Website" in frame.columns else nulls
    keys = pl.DataFrame({"__e": email.cast(pl.String), "__w": website.cast(pl.String)})
    if not len(facts):  # nothing cached: every lead is scored without enrichment facts
        empty = contexts_to_frame([{}] * n, wanted)
        return pl.concat([base, empty], how="horizontal"), 0
    distinct = keys.unique(maintain_order=True)
    contexts = []
    for e, w in distinct.iter_rows():
        domain = company_domain(w) or company_domain(e)
        contexts.append(facts.context(e, domain))
    table = pl.concat([distinct, contexts_to_frame(contexts, wanted)], how="horizontal")
    found = pl.Series("__found", [bool(c) for c in contexts], dtype=pl.Boolean)
    table = table.with_columns(found)
    joined = keys.join(table, on=["__e", "__w"], how="left", nulls_equal=True, maintain_order="left")
    hits = int(joined.get_column("__found").sum() or 0)
    extra = joined.drop("__e", "__w", "__found")
    return pl.concat([base, extra], how="horizontal"), hits
