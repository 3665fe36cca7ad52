"""The ten loops and their six parts, with an honest status read from the code that exists."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from revloops.config import layout

PARTS = ("config", "logic", "inputs", "outputs", "metrics", "feedback")


@dataclass(frozen=True)
class LoopInfo:
    """What a loop is for and how it is wired."""

    name: str
    chain: str
    purpose: str
    inputs: str
    outputs: str
    metrics: str
    feedback: str


LOOPS: tuple[LoopInfo, ...] = (
    LoopInfo("design", "Planning", "capacity model, ramp curves, roster, targets; scenarios with one active",
             "config change, design CLI/MCP", "active roster and segments for Deploy and Route",
             "capacity vs target, coverage ratio, hiring gap", "Coach's actual productivity"),
    LoopInfo("deploy", "Planning", "territories as code reconciled into the CRM; accounts assigned to territories",
             "config change, schedule, MCP", "Territory2 hierarchy, user and account assignments",
             "assignment rate, pending rate, coverage", "pending reviews into match rules"),
    LoopInfo("generate", "Demand", "captures inbound leads and outbound signals",
             "CRM events, poller, signal scanner schedule", "captured leads and signals for Qualify",
             "leads captured, duplicates caught, signals found", "signal quality into targets"),
    LoopInfo("qualify", "Demand", "enriches and scores fit + intent; decides MQL",
             "Generate output", "score, breakdown and qualification on the lead",
             "MQL rate, enrichment hit rate, credit spend", "conversion by score band into scoring"),
    LoopInfo("route", "Demand", "the shared rule evaluator: first matching rule's handler picks the owner",
             "Qualify output, API, preview", "OwnerId on the record, decision in the log",
             "time to owner, hits per rule, pending rate", "routing tests and preview diffs"),
    LoopInfo("engage", "Acquisition", "personalised sequence and a task with a preview for the owner",
             "Route output", "sequence, Task on the lead", "sequences started, reply rate",
             "play outcomes into plays"),
    LoopInfo("pursue", "Acquisition", "deal play with staggered milestone tasks on conversion",
             "opportunity created", "milestone Tasks", "milestones on time, win rate by play",
             "win rate into deal plays"),
    LoopInfo("onboard", "Retention", "customer team and onboarding milestones on closed-won",
             "opportunity closed-won", "team assignment, milestone Tasks", "time to value",
             "time to value into plans"),
    LoopInfo("expand", "Retention", "renewal and expansion opportunities with a play",
             "schedule, signals", "renewal/expansion Opportunities", "net retention, expansion pipeline",
             "outcomes into expand plays"),
    LoopInfo("coach", "Cross-cutting", "per-rep metrics turned into coaching insights",
             "schedule, MCP", "insights per rep and team", "speed to lead, SLA, ramp attainment",
             "actual productivity into Design"),
)


def _module(loop: str, part: str) -> bool:
    try:
        return importlib.util.find_spec(f"revloops.loops.{loop}.{part}") is not None
    except ModuleNotFoundError:
        return False


#: parts a loop keeps under another module name: Coach's logic is its insights, its inputs the warehouse's
#: refresh, its outputs the report, its feedback the suggestion to Design
_MODULES: dict[str, dict[str, str]] = {
    "coach": {"logic": "insights", "inputs": "warehouse", "outputs": "report_build", "feedback": "suggest"},
}


def part_status(loop: str) -> dict[str, bool]:
    """Which of the six parts exist in code now (not what is planned)."""
    names = {"logic": "logic", "inputs": "flow", "outputs": "flow", "metrics": "metrics", "feedback": "feedback",
             **_MODULES.get(loop, {})}
    return {"config": any(spec.loop == loop for spec in layout.FILES),
            **{part: _module(loop, module) for part, module in names.items()}}
