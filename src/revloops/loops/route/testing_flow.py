"""`revloops test`: run the routing cases of the config directory."""

from __future__ import annotations

from revloops.config.loader import GtmConfig
from revloops.core.context import build_context, segment_for
from revloops.core.rotation import InMemoryRotation
from revloops.core.rules import compile_rules
from revloops.loops.route.cases import CaseResult, split_record
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


def run_cases(cfg: GtmConfig, directory: Directory | None = None) -> list[CaseResult]:
    """Every case of every ``tests/*.yaml`` file, in file order.

    Args:
        cfg: the config.
        directory: the users and queues to route to, as live routing sees them (the CRM's); without one, the
            active roster and the queues the rules name (a queue the CRM lacks then cannot be caught).
    """
    directory = directory or config_directory(cfg)
    match = cfg.get("match_rules")
    territory_rules = compile_rules(match, "Account") if match is not None else None
    capacity = cfg.get("capacity")
    compiled: dict[str, object] = {}
    results = []
    for file_name, file in sorted((cfg.get("tests") or {}).items()):
        for case in file.cases:
            rules = compiled.setdefault(case.object, compile_rules(cfg.get("rules"), case.object))
            plain, given = split_record(case.record)
            segment = given.get("segment")
            if segment is None and capacity is not None:
                segment = segment_for(_int(plain.get("NumberOfEmployees")), capacity.segments)
            ctx = build_context(plain, segment=segment, sobject=case.object)
            ctx.update(given)
            handlers = RouteHandlers(directory, pools=cfg.get("pools"), assignments=cfg.get("assignments"),
                                     territory_rules=territory_rules, rotation=InMemoryRotation())
            out = rules.evaluate(ctx, handlers, trace=True)  # type: ignore[attr-defined]
            owner = out.owner_id
            ok_owner = case.expect.owner is None or case.expect.owner.lower() in _owner_names(directory, owner)
            ok_rule = case.expect.rule_id is None or case.expect.rule_id == out.rule_id
            results.append(CaseResult(
                file=f"tests/{file_name}.yaml", name=case.name, passed=ok_owner and ok_rule,
                expected_owner=case.expect.owner, expected_rule=case.expect.rule_id, owner=owner,
                rule_id=out.rule_id, explanation=out.explanation,
                trace=[s.model_dump(mode="json") for s in out.trace],
            ))
    return results


def _int(value: object) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
