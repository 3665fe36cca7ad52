"""POST /api/plan: what a config change does over the current data, loop by loop (`revloops plan`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from revloops.app.models import ChangePlan
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api", tags=["config"], responses=errors(401))


class PlanIn(BaseModel):
    """The change to plan: the working tree against a revision (its merge base with HEAD), or proposed rules."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"against": "origin/main"},
                                                                             {"fail_on": ["route.moves>5%"]}]})

    against: str = Field(default="HEAD", min_length=1, max_length=200,
                         description="the git revision the working tree is compared with (its merge base with HEAD)")
    rules: dict[str, Any] | None = Field(default=None, description="proposed rules (rules.yaml as JSON) to plan "
                                                                   "against the working tree instead")
    only: list[str] | None = Field(default=None, description="plan only these loops (route, qualify, deploy...)")
    fail_on: list[str] = Field(default_factory=list, max_length=20,
                               description="limits listed in breaches when passed: moves>N, moves>P%, LOOP.moves>N")


@router.post("/plan", response_model=ChangePlan, responses=errors(403, 422, 502, 503))
def plan(body: PlanIn, app: AppDep, caller: CallerDep) -> ChangePlan:
    """Validate both sides of a config change and say what it does over the current data: one section per loop
    whose files changed (problems on either side are listed, with no section)."""
    return app.plan_change(caller, against=body.against, rules=body.rules, only=body.only, fail_on=body.fail_on)
