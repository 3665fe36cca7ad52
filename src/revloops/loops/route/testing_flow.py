"""`revloops test`, the route kind: a case's record routed with ``rules.yaml`` on a fresh rotation."""

from __future__ import annotations

from revloops.config.loader import GtmConfig
from revloops.core.rotation import InMemoryRotation
from revloops.core.rules import CompiledRules, compile_rules
from revloops.loops.route.cases import CaseResult, CaseRunner, RouteCase, case_context, words
from revloops.loops.route.logic import Directory, Queue, RouteHandlers, User


def config_directory(cfg: GtmConfig) -> Directory:
    """Users of the active roster and the queues the rules name, with their names as ids."""
    from revloops.loops.design.config import active_roster

    users = [User(id=e.user or "", username=e.user or "", email=e.user or "", name=e.name or "",
                  role=e.role) for e in active_roster(cfg)]
    queues = {str(q) for r in cfg.get("rules").rules if (q := getattr(r.action, "queue", None))}
    return Directory(users, [Queue(id=q, developer_name=q) for q in sorted(queues)])


def _owner_names(directory: Directory, owner: str) -> set[str]:
    """Every name a case may give the owner by: its id, and a user's username and e-mail or a queue's name."""
    names = {owner.lower()}
    user = directory.user(owner)
    if user is not None:
        names |= {user.id.lower(), user.username.lower(), user.email.lower()}
    queue = directory.queue(owner)
    if queue is not None:
        names |= {queue.id.lower(), queue.developer_name.lower()}
    return names


def _shown(directory: Directory, owner: str) -> str:
    """The owner as a case names it: a user's username, a queue's developer name, else the id."""
    user = directory.user(owner)
    if user is not None and user.username:
        return user.username
    queue = directory.queue(owner)
    return queue.developer_name if queue is not None and queue.developer_name else owner


def route_runner(cfg: GtmConfig, directory: Directory | None = None) -> CaseRunner:
    """The runner of route cases.

    Args:
        cfg: the config.
        directory: the users and queues to route to, as live routing sees them (the CRM's); without one, the
            active roster and the queues the rules name (a queue the CRM lacks then cannot be caught).
    """
    found = directory or config_directory(cfg)
    match = cfg.get("match_rules")
    territory_rules = compile_rules(match, "Account") if match is not None else None
    compiled: dict[str, CompiledRules] = {}

    def run(file: str, case: RouteCase) -> CaseResult:
        if case.object not in compiled:
            compiled[case.object] = compile_rules(cfg.get("rules"), case.object)
        ctx = case_context(cfg, case.record, sobject=case.object)
        handlers = RouteHandlers(found, pools=cfg.get("pools"), assignments=cfg.get("assignments"),
                                 territory_rules=territory_rules, rotation=InMemoryRotation())
        out = compiled[case.object].evaluate(ctx, handlers, trace=True)
        owner, want = out.owner_id, case.expect
        ok_owner = want.owner is None or want.owner.lower() in _owner_names(found, owner)
        ok_rule = want.rule_id is None or want.rule_id == out.rule_id
        return CaseResult(
            file=file, name=case.name, kind="route", passed=ok_owner and ok_rule,
            expected=words(want.owner and f"owner {want.owner}", want.rule_id and f"rule {want.rule_id}"),
            got=words(f"owner {_shown(found, owner)}", f"rule {out.rule_id or '-'}"),
            explanation=out.explanation, trace=[s.model_dump(mode="json") for s in out.trace],
            expected_owner=want.owner, expected_rule=want.rule_id, owner=owner, rule_id=out.rule_id,
        )

    return run
