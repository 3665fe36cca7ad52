"""Qualify's actions: a record's score with its breakdown, without writing anything."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revloops.app.base import AppBase
from revloops.core.identity import Caller
from revloops.core.inputs import check_plain
from revloops.core.model import Frozen
from revloops.loops.qualify.flow import EnrichmentOutcome, preview_score
from revloops.loops.qualify.logic import Score


class ScoreResult(Frozen):
    """A score (fit, intent, band, the rules that held), the enrichment it was taken on, and why."""

    score: Score
    enrichment: EnrichmentOutcome | None
    given_enrichment: dict[str, Any] | None = None
    explanation: str
    reasons: str


class QualifyActions(AppBase):
    """Scoring as code."""

    def score_record(self, caller: Caller, record: Mapping[str, Any], *,
                     enrichment: Mapping[str, Any] | None = None, enrich: bool = True) -> ScoreResult:
        """Enrich (unless ``enrichment`` is given or ``enrich`` is off) and score one record; nothing is written."""
        self.require(caller, "ops")
        check_plain(dict(record), "record")
        check_plain(dict(enrichment or {}), "enrichment")
        fields = {k: v for k, v in record.items() if k != "attributes"}
        result, outcome = preview_score(self.platform, fields, enrichment=enrichment, enrich_record=enrich)
        return ScoreResult(score=result.model_copy(update={"trace": []}), enrichment=outcome,
                           given_enrichment=dict(enrichment) if enrichment is not None else None,
                           explanation=result.explanation, reasons=result.reasons)
