"""Route's flows: resolve one record (live), preview many (batch path, simulated rotation), diff two configs.

The API, the CLI and the chain all call these; the decision is stored with its trace, the config version and
the digest of the context it was taken on.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from revloops.config.loader import GtmConfig
from revloops.core.decisions import Decision, canonical_json, digest
from revloops.core.errors import InputError, NotFound
from revloops.core.ids import object_of
from revloops.core.records import SObject, parse_record
from revloops.core.rotation import InMemoryRotation, Rotation
from revloops.core.rules.batch import contexts_to_frame
from revloops.core.rules.resolve_batch import frame_fields
from revloops.loops.route.env import RouteEnv
from revloops.loops.route.logic import SnapshotRotation, owner_distribution, resolve_batch
from revloops.loops.route.types import Diff, Move, Preview, RoutePlan
from revloops.ports import Ports

EXPLANATION_LIMIT = 1000


_ENV_BUILD = threading.Lock()
#: the routing snapshot of each platform (ports bundle), held no longer than the platform itself
_SNAPSHOTS: weakref.WeakKeyDictionary[Ports, RouteEnv] = weakref.WeakKeyDictionary()


def cached_env(plat: Ports) -> RouteEnv | None:
    """The platform's routing snapshot if one was built (it may be stale)."""
    return _SNAPSHOTS.get(plat)


def route_env(plat: Ports, cfg: GtmConfig | None = None, rules: Any | None = None) -> RouteEnv:
    """The cached routing snapshot of the platform's config (rebuilt when stale or for another config)."""
    if cfg is not None or rules is not None:
        return RouteEnv.load(cfg or plat.config, plat.crm, rules)
    env = _SNAPSHOTS.get(plat)
    if env is not None and not env.stale() and env.cfg.version == plat.config.version:
        return env
    # One thread builds the snapshot; while a stale one exists the others go on with it rather than wait.
    current = env is not None and env.cfg.version == plat.config.version
    if not _ENV_BUILD.acquire(blocking=not current):
        return env  # type: ignore[return-value]  # current implies env is not None
    try:
        env = _SNAPSHOTS.get(plat)
        if env is None or env.stale() or env.cfg.version != plat.config.version:
            env = _SNAPSHOTS[plat] = RouteEnv.load(plat.config, plat.crm)
        return env
    finally:
        _ENV_BUILD.release()


def _record_of(plat: Ports, sobject: str, record: Mapping[str, Any] | None, record_id: str | None) -> SObject:
    if record is None and record_id is None:
        raise InputError("give a record or a record_id", field="record")
    if record is None:
        kind = object_of(record_id or "")
        if kind != sobject:
            raise InputError(f"{record_id} is not a {sobject} id", field="record_id")
        return plat.crm.get(sobject, record_id or "")
    return parse_record(sobject, dict(record))


def resolve(plat: Ports, *, sobject: str = "Lead", record: Mapping[str, Any] | None = None,
            record_id: str | None = None, apply: bool = False, actor: str = "cli",
            enrichment: Mapping[str, Any] | None = None, score: Mapping[str, Any] | None = None,
            decision_id: str | None = None, today: dt.date | None = None) -> Decision:
    """Route one record live: durable round robin, full trace; with ``apply`` write the owner and store it.

    ``decision_id`` makes a re-run idempotent: when that decision exists it is answered as is (a chain step
    that ran before a crash does not claim a second round-robin slot).
    """
    if decision_id is not None:
        try:
            return plat.decisions.get(decision_id)
        except NotFound:
            pass
    rec = _record_of(plat, sobject, record, record_id)
    if apply and not rec.Id:
        raise InputError("apply needs a saved record (with an Id)", field="record.Id")
    env = route_env(plat)
    ctx = env.context(rec, sobject, enrichment=enrichment, score=score)
    compiled = env.compiled(sobject)
    if not apply:  # simulated from the durable state, never advancing it; nothing stored, so no id to show
        outcome = compiled.evaluate(ctx, env.handlers(SnapshotRotation(plat.rotation.states), today), trace=True)
        return _decision(outcome, env, rec, sobject, ctx, actor, decision_id="", applied=False)
    # The slot, the owner on the record and the decision commit together (with the embedded CRM): a write that
    # fails takes no slot. A durable claim is keyed on the decision when its id is fixed (a chain step), so a
    # re-run after a crash answers the slot it took the first time instead of taking another.
    rotation: Rotation = plat.rotation.keyed(decision_id) if decision_id else plat.rotation
    with plat.uow.together():
        outcome = compiled.evaluate(ctx, env.handlers(rotation, today), trace=True)
        decision = _decision(outcome, env, rec, sobject, ctx, actor, decision_id=decision_id, applied=True)
        changes: dict[str, Any] = {"Routing_Decision_Id__c": decision.id,
                                   "Routing_Explanation__c": decision.explanation[:EXPLANATION_LIMIT]}
        if not decision.outcome.startswith("pending:"):
            changes["OwnerId"] = decision.outcome
        plat.crm.update(sobject, rec.Id or "", changes)
        plat.decisions.record(decision)
    return decision


def _decision(outcome: Any, env: RouteEnv, rec: SObject, sobject: str, ctx: Mapping[str, Any], actor: str, *,
              decision_id: str | None, applied: bool) -> Decision:
    handler = outcome.handler_result
    return Decision(
        **({"id": decision_id} if decision_id is not None else {}),
        loop="route", sobject=sobject, record_id=rec.Id or "(unsaved)", outcome=outcome.owner_id,
        detail={"rule_id": outcome.rule_id, "action": outcome.action,
                "handler": dict(handler.detail) if handler else {}, "applied": applied},
        trace=outcome.trace_json(), explanation=outcome.explanation,
        config_version=env.cfg.version, inputs_digest=digest(ctx), actor=actor,
    )


def _created_day(record: SObject | Mapping[str, Any], default: dt.date) -> dt.date:
    value = record.fields().get("CreatedDate") if isinstance(record, SObject) else record.get("CreatedDate")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return default
    return default


def run_batch(env: RouteEnv, records: Sequence[SObject | Mapping[str, Any]], sobject: str,
              rotation_states: Mapping[str, Any], today: dt.date | None = None, *, caps: bool = True) -> RoutePlan:
    """Route many records through the batch path with a simulated rotation (no side effects).

    Records are routed day by day in the order they were created (``CreatedDate``; records without one on
    ``today``), so pools' daily caps hold per day as they did live, not over the whole history at once;
    ``caps=False`` lifts them. The rotation's credit carries from one day to the next.
    """
    compiled = env.compiled(sobject)
    rotation = InMemoryRotation(dict(rotation_states))
    contexts = [env.context(r, sobject) for r in records]
    default = today or dt.date.today()
    days: dict[dt.date, list[int]] = {}
    for i, rec in enumerate(records):
        days.setdefault(_created_day(rec, default), []).append(i)
    rule_ids: list[str | None] = [None] * len(records)
    owner_ids: list[str] = [""] * len(records)
    for day in sorted(days):
        rows = days[day]
        handlers = env.handlers(rotation, day, caps=caps)
        frame = contexts_to_frame([contexts[i] for i in rows], frame_fields(compiled, handlers))
        out = resolve_batch(compiled, frame, handlers)
        for k, i in enumerate(rows):
            rule_ids[i], owner_ids[i] = out.rule_ids[k], out.owner_ids[k]
    ids = [(r.Id if isinstance(r, SObject) else r.get("Id")) or f"#{i + 1}" for i, r in enumerate(records)]
    actions = {r.id: canonical_json(r.action.model_dump(mode="json")) for r in compiled.rules}
    kinds = {r.id: str(r.action.type) for r in compiled.rules}
    return RoutePlan(record_ids=ids, rule_ids=rule_ids, owner_ids=owner_ids, actions=actions, kinds=kinds)


def _capped(env: RouteEnv, records: Sequence[SObject | Mapping[str, Any]], sobject: str, plan: RoutePlan,
            states: Mapping[str, Any], today: dt.date | None) -> int:
    """How many records a daily cap pushed past the rule they would take with no caps."""
    if not any(m.daily_cap for pool in (env.cfg.get("pools").pools if env.cfg.get("pools") else [])
               for m in pool.members):
        return 0
    free = run_batch(env, records, sobject, states, today, caps=False)
    return sum(a != b for a, b in zip(plan.rule_ids, free.rule_ids, strict=True))


def _name(env: RouteEnv, owner: str) -> str:
    user = env.directory.user(owner)
    if user is not None:
        return user.name or user.username
    queue = env.directory.queue(owner)
    return f"queue {queue.developer_name}" if queue else owner


def preview(plat: Ports, records: Sequence[SObject | Mapping[str, Any]], *, sobject: str = "Lead",
            today: dt.date | None = None, caps: bool = True) -> Preview:
    """The owner and rule distribution of many records, as routing would give them now (daily caps per day the
    records were created, or none with ``caps=False``)."""
    env = route_env(plat)
    states = plat.rotation.states()
    plan = run_batch(env, records, sobject, states, today, caps=caps)
    by_owner = owner_distribution(plan.owner_ids)
    return Preview(
        total=len(plan.owner_ids), caps=caps,
        capped=_capped(env, records, sobject, plan, states, today) if caps else 0,
        by_rule=dict(Counter(r or "(none)" for r in plan.rule_ids).most_common()),
        by_owner={o: n for o, n in by_owner.items()},
        owner_names={o: _name(env, o) for o in by_owner},
    )


def diff(plat: Ports, records: Sequence[SObject | Mapping[str, Any]], *, before_cfg: GtmConfig | None = None,
         after_cfg: GtmConfig | None = None, sobject: str = "Lead", today: dt.date | None = None,
         caps: bool = True) -> Diff:
    """Every record whose rule, action or owner changes from one config to another (each side the platform's
    config when not given), old and new side by side.

    Both sides start from the same rotation state. A record that stays on the same rule with the same action
    but lands on another member is rotation (its slot in the rotation is not a decision of the rules): it is
    counted, not listed. A rule that keeps its id but now targets another pool, role, territory, queue or
    user moves its records.
    """
    states = plat.rotation.states()
    before_env = route_env(plat, cfg=before_cfg) if before_cfg is not None else route_env(plat)
    after_env = route_env(plat, cfg=after_cfg) if after_cfg is not None else route_env(plat)
    before = run_batch(before_env, records, sobject, states, today, caps=caps)
    after = run_batch(after_env, records, sobject, states, today, caps=caps)
    moves, rotation = [], 0
    for i, rid in enumerate(before.record_ids):
        rule_a, rule_b = before.rule_ids[i], after.rule_ids[i]
        owner_a, owner_b = before.owner_ids[i], after.owner_ids[i]
        same_action = rule_a == rule_b and before.actions.get(rule_a or "") == after.actions.get(rule_b or "")
        if rule_a != rule_b:
            reason = "rule"
        elif not same_action:
            reason = "action"
        elif owner_a != owner_b and before.kinds.get(rule_a or "") not in ("round_robin", "territory"):
            reason = "owner"
        else:
            rotation += owner_a != owner_b
            continue
        moves.append(Move(record_id=rid, old_rule=rule_a, new_rule=rule_b, old_owner=owner_a, new_owner=owner_b,
                          old_owner_name=_name(before_env, owner_a), new_owner_name=_name(after_env, owner_b),
                          reason=reason))
    return Diff(moves=moves, rotation=rotation,
                capped_before=_capped(before_env, records, sobject, before, states, today) if caps else 0,
                capped_after=_capped(after_env, records, sobject, after, states, today) if caps else 0)
