"""`revloops test`, the assign kind: an account matched to a territory by Deploy's single-record path.

The account's billing address is normalised as Deploy normalises it; an address that needs reading
(ambiguous, no country, a city alone) goes to the offline gazetteer resolver, never to the LLM, so a case
answers the same on every machine. The answer is the territory, or the pending state the loop parks the
account in (``pending:no_match``, ``pending:multi_match``, ``pending:ambiguous_geo``,
``pending:low_confidence``), at Deploy's default confidence threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, GtmConfig
from revloops.core.context import build_context
from revloops.core.rules.single import compile_condition
from revloops.loops.deploy.assign import DEFAULT_THRESHOLD, MatchEnv, Outcome, assign_one
from revloops.loops.deploy.assignment import ASSIGNED, SENTINELS
from revloops.loops.deploy.resolver import OfflineResolver
from revloops.loops.route.cases import AssignCase, CaseResult, CaseRunner, cases_of, needs_files, words

FILES = {"match_rules": "deploy/match_rules.yaml", "territories": "design/territories.yaml"}


def check_assign_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """An assign case expecting a territory, pending state or match rule that does not exist."""
    territories, rules = cfg.get("territories"), cfg.get("match_rules")
    known = {t.developer_name for t in territories.territories} if territories is not None else None
    rule_ids = {r.id for r in rules.rules} if rules is not None else None
    for name, i, case in cases_of(cfg, AssignCase):
        want = case.expect.territory
        if want is not None and want.startswith("pending:") and want not in SENTINELS:
            yield ConfigIssue("tests", ("cases", i, "expect", "territory"),
                              f"{want!r} is not a state Deploy parks an account in ({', '.join(SENTINELS)})",
                              name=name)
        elif want is not None and not want.startswith("pending:") and known is not None and want not in known:
            yield ConfigIssue("tests", ("cases", i, "expect", "territory"),
                              f"territory {want!r} does not exist in {FILES['territories']}", name=name)
        if case.expect.rule_id is not None and rule_ids is not None and case.expect.rule_id not in rule_ids:
            yield ConfigIssue("tests", ("cases", i, "expect", "rule_id"),
                              f"match rule {case.expect.rule_id!r} does not exist in {FILES['match_rules']}",
                              name=name)


CHECKS: list[Check] = [check_assign_cases]


def answer_of(outcome: Outcome) -> str:
    """The territory an account was put in, or the state it was parked in."""
    return (outcome.territory or "-") if outcome.status == ASSIGNED else outcome.status


def explanation_of(outcome: Outcome) -> str:
    """One line: what Deploy did and on what evidence."""
    ev = dict(outcome.evidence or {})
    if outcome.status == ASSIGNED:
        head = f"assigned to {outcome.territory} by {outcome.rule_id}"
    elif ev.get("candidates"):
        head = f"{outcome.status}: the rules reach {', '.join(ev['candidates'])} with the same type priority"
    elif outcome.rule_id is not None:
        head = f"{outcome.status} by {outcome.rule_id}"
    else:
        head = outcome.status
    resolution = ev.get("resolution")
    if ev.get("why_resolved"):
        head += f"; the address was read because of {ev['why_resolved']}"
    if isinstance(resolution, Mapping):
        head += (f"; the resolver answered {resolution.get('country') or 'no country'} with confidence "
                 f"{outcome.confidence:.2f}")
    return head


def decided_context(record: Mapping[str, Any], outcome: Outcome) -> dict[str, Any]:
    """The context the match rules were walked on: the record's, with a resolved country in place of the
    address's own reading (as Deploy matches a resolved account)."""
    ctx = build_context(record, sobject="Account")
    res = (outcome.evidence or {}).get("resolution")
    if isinstance(res, Mapping) and res.get("country") and not res.get("problem"):
        ctx = {k: v for k, v in ctx.items() if k not in ("geo.country", "geo.region")}
        ctx.update({"geo.country": res["country"], "geo.ambiguous": False})
        if res.get("region"):
            ctx["geo.region"] = res["region"]
    return ctx


def rule_trace(env: MatchEnv, ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every match rule with whether it held on ``ctx`` and its conditions (Deploy reads all of them)."""
    steps = []
    for rule in env.compiled.rules:
        if rule.when is None:
            steps.append({"rule_id": rule.id, "matched": True, "conditions": []})
            continue
        matched, conditions, _ = compile_condition(rule.when).evaluate_why(ctx)
        steps.append({"rule_id": rule.id, "matched": matched,
                      "conditions": [c.model_dump(mode="json") for c in conditions]})
    return steps


def assign_runner(cfg: GtmConfig) -> CaseRunner:
    """The runner of assign cases (each fails, naming the files, without the match rules or the territories)."""
    lacking = needs_files(cfg, FILES)
    if lacking is not None:
        return lacking
    env = MatchEnv.build(cfg.get("match_rules"), cfg.get("territories"))
    resolver = OfflineResolver()

    def run(file: str, case: AssignCase) -> CaseResult:
        record = {"Id": "case", **case.record}  # the resolver's question names the account it asks about
        outcome = assign_one(record, env, resolver, threshold=DEFAULT_THRESHOLD)
        want, got = case.expect, answer_of(outcome)
        ok = (want.territory is None or want.territory == got) and (want.rule_id is None
                                                                  or want.rule_id == outcome.rule_id)
        return CaseResult(
            file=file, name=case.name, kind="assign", passed=ok,
            expected=words(want.territory and f"territory {want.territory}", want.rule_id and f"rule {want.rule_id}"),
            got=words(f"territory {got}", f"rule {outcome.rule_id or '-'}"), explanation=explanation_of(outcome),
            trace=rule_trace(env, decided_context(record, outcome)), expected_rule=want.rule_id,
            rule_id=outcome.rule_id)

    return run
