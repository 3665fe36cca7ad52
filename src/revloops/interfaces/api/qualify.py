"""POST /api/loops/qualify/score: a record's score breakdown, nothing written."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from revloops.app.models import ScoreResult
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/loops/qualify", tags=["qualify"],
                   responses=errors(401, 403, 409, 413, 422, 502, 503))


class ScoreIn(BaseModel):
    """A record to score, with its enrichment when it is given (then no provider is asked)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"record": {
        "LastName": "Ng", "Company": "Bluepeak", "Email": "ng@bluepeak.example", "Title": "VP Sales",
        "Country": "Germany", "NumberOfEmployees": 800}, "enrich": False}]})

    record: dict[str, Any] = Field(description="the record's fields by API name")
    enrichment: dict[str, Any] | None = None
    enrich: bool = True


@router.post("/score", response_model=ScoreResult)
def score(body: ScoreIn, app: AppDep, caller: CallerDep) -> ScoreResult:
    """Enrich (unless given or ``enrich`` is false) and score one record."""
    return app.score_record(caller, body.record, enrichment=body.enrichment, enrich=body.enrich)
