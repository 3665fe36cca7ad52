"""Route's flows: resolve one record (live), preview many (batch path, simulated rotation), diff two configs.

The API, the CLI and the chain all call these; the decision is stored with its trace, the config version and
the digest of the context it was taken on.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from revloops.config.loader import GtmConfig
from revloops.core.decisions import Decision, canonical_json, digest
from revloops.core.errors import InputError, NotFound
from revloops.core.frames import frame_schema, records_to_frame
from revloops.core.ids import object_of
from revloops.core.records import SObject, parse_record
from revloops.core.rotation import Rotation, SimulatedRotation
from revloops.core.rules.resolve_batch import frame_fields
from revloops.loops.route.columns import context_frame, record_columns
from revloops.loops.route.env import RouteEnv
from revloops.loops.route.logic import RouteHandlers, SnapshotRotation, resolve_batch
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
        # another config over the same CRM snapshot: the users and accounts are the current snapshot's
        return route_env(plat).with_config(cfg or plat.config, rules)
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
            decision_id: str | None = None, today: dt.date | None = None,
            signal: Mapping[str, Any] | None = None) -> Decision:
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
    ctx = env.context(rec, sobject, enrichment=enrichment, score=score, signal=signal)
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


#: the batch frame's hidden columns: each row's creation day (its daily caps) and its place in the input
DAY, ROW = "__day", "__row"
#: where a batch's records come from: a frame, records, or a reader answering frames of the columns asked for
Reader = Callable[[Sequence[str]], Iterable[pl.DataFrame]]
Records = pl.DataFrame | Sequence[SObject | Mapping[str, Any]] | Reader


def records_frame(records: pl.DataFrame | Sequence[SObject | Mapping[str, Any]], sobject: str,
                  columns: Sequence[str]) -> pl.DataFrame:
    """Records (a frame read from the CRM, or records given inline or from a file) as a frame of ``columns``."""
    if isinstance(records, pl.DataFrame):
        missing = [c for c in columns if c not in records.columns]
        if missing:
            records = records.with_columns(*(pl.lit(None, frame_schema(sobject, [c])[c]).alias(c) for c in missing))
        return records.select(columns)
    parsed = [r if isinstance(r, SObject) else parse_record(sobject, dict(r)) for r in records]
    return records_to_frame(sobject, parsed, columns)


def frames_of(records: Records, sobject: str, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """The frames of ``columns`` a batch routes, one chunk at a time."""
    if callable(records):
        for frame in records(columns):
            yield records_frame(frame, sobject, columns)
        return
    yield records_frame(records, sobject, columns)


def _epochs(days: list[dt.date], probe: RouteHandlers) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive days on which the handlers see the same assignments and absences: within one run
    only the claims' day differs from row to row, so one pass over the frame routes all of its days."""
    out: list[tuple[dt.date, dt.date]] = []
    last: tuple[bool, ...] | None = None
    for day in days:
        sig = probe.day_signature(day)
        if out and sig == last:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
        last = sig
    return out


class BatchRouter:
    """Routes frames of records through the batch path with a simulated rotation (no side effects), chunk after
    chunk: the rotation carries from one chunk to the next.

    Records are routed in the order they were created (``CreatedDate``; records without one on ``today``), so
    pools' daily caps hold per day as they did live, not over the whole history at once; ``caps=False`` lifts
    them. Days are not routed one by one: a chunk is sorted by day and each run of days with the same
    assignments and absences is routed in one pass, each claim on its record's day.
    """

    def __init__(self, env: RouteEnv, sobject: str, rotation_states: Mapping[str, Any],
                 today: dt.date | None = None, *, caps: bool = True) -> None:
        self.env, self.sobject, self.caps = env, sobject, caps
        self.compiled = env.compiled(sobject)
        self.today = today or dt.date.today()
        self.rotation = SimulatedRotation(dict(rotation_states))
        self.probe = env.handlers(self.rotation, self.today, caps=caps)
        fields = frame_fields(self.compiled, self.probe)
        if env.territory_rules is not None and any(r.action.type == "territory" for r in self.compiled.rules):
            # a territory claim finishes on the row's context: the match rules' fields must be in the frame
            fields = list(dict.fromkeys([*fields, *env.territory_rules.fields]))
        self.fields = fields
        self.columns = record_columns(sobject, fields)
        self.actions = {r.id: canonical_json(r.action.model_dump(mode="json")) for r in self.compiled.rules}
        self.kinds = {r.id: str(r.action.type) for r in self.compiled.rules}
        self.seen = 0

    def route(self, frame: pl.DataFrame, contexts: pl.DataFrame | None = None) -> RoutePlan:
        """Route one chunk (a frame of ``columns`` at least); ``contexts``: its context frame when another
        router over the same snapshot computed it already (it carries ``fields`` at least)."""
        n = frame.height
        created = frame.get_column("CreatedDate")
        day = created.dt.date() if isinstance(created.dtype, pl.Datetime) else created.cast(pl.Date, strict=False)
        if not self.fields:  # rules that read nothing: the frame still has its rows
            contexts = pl.DataFrame({"__none": pl.Series([None] * n, dtype=pl.Boolean)})
        elif contexts is None:
            contexts = context_frame(self.env, frame, self.sobject, self.fields)
        contexts = contexts.select(self.fields or ["__none"]).with_columns(
            day.fill_null(self.today).alias(DAY), pl.int_range(n, dtype=pl.Int64).alias(ROW))
        ordered = contexts.sort(DAY, maintain_order=True)
        rule_index = np.full(n, -1, dtype=np.int64)
        owners = np.empty(n, dtype=object)
        capped: set[int] = set()
        days = ordered.get_column(DAY).unique(maintain_order=True).to_list()
        matched = self.compiled.match_columns(ordered)  # the conditions over the whole chunk, once
        offset = 0
        for first, last in _epochs(days, self.probe):
            handlers = self.env.handlers(self.rotation, first, caps=self.caps, day_field=DAY)
            size = int(ordered.get_column(DAY).slice(offset).le(last).sum())
            part = ordered.slice(offset, size)
            out = resolve_batch(self.compiled, part, handlers, [c[offset:offset + size] for c in matched])
            rows = part.get_column(ROW).to_numpy()
            rule_index[rows] = out.rule_index
            owners[rows] = out.owner_ids
            capped |= handlers.capped_rows
            offset += size
        names = [r.id for r in self.compiled.rules]
        ids = [i or f"#{self.seen + k + 1}" for k, i in enumerate(frame.get_column("Id").to_list())]
        self.seen += n
        return RoutePlan(record_ids=ids, rule_ids=[names[k] if k >= 0 else None for k in rule_index.tolist()],
                         owner_ids=owners.tolist(), actions=self.actions, kinds=self.kinds, capped=len(capped))


def run_batch(env: RouteEnv, records: Records, sobject: str, rotation_states: Mapping[str, Any],
              today: dt.date | None = None, *, caps: bool = True) -> RoutePlan:
    """Route many records through the batch path (see ``BatchRouter``), as one plan."""
    router = BatchRouter(env, sobject, rotation_states, today, caps=caps)
    plans = [router.route(frame) for frame in frames_of(records, sobject, router.columns)]
    return RoutePlan(record_ids=[i for p in plans for i in p.record_ids],
                     rule_ids=[r for p in plans for r in p.rule_ids],
                     owner_ids=[o for p in plans for o in p.owner_ids], actions=router.actions, kinds=router.kinds,
                     capped=sum(p.capped for p in plans))


def _name(env: RouteEnv, owner: str) -> str:
    user = env.directory.user(owner)
    if user is not None:
        return user.name or user.username
    queue = env.directory.queue(owner)
    return f"queue {queue.developer_name}" if queue else owner


class _Tally:
    """A preview's counts, added up chunk by chunk."""

    def __init__(self) -> None:
        self.total = self.capped = 0
        self.by_rule: Counter[str] = Counter()
        self.by_owner: Counter[str] = Counter()

    def add(self, plan: RoutePlan) -> None:
        self.total += len(plan.owner_ids)
        self.capped += plan.capped
        self.by_rule.update(r or "(none)" for r in plan.rule_ids)
        self.by_owner.update(plan.owner_ids)

    def preview(self, env: RouteEnv, caps: bool) -> Preview:
        by_owner = dict(sorted(self.by_owner.items(), key=lambda kv: (-kv[1], kv[0])))
        return Preview(total=self.total, caps=caps, capped=self.capped if caps else 0,
                       by_rule=dict(sorted(self.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
                       by_owner=by_owner, owner_names={o: _name(env, o) for o in by_owner})


def preview(plat: Ports, records: Records, *, sobject: str = "Lead", today: dt.date | None = None,
            caps: bool = True) -> Preview:
    """The owner and rule distribution of many records, as routing would give them now (daily caps per day the
    records were created, or none with ``caps=False``)."""
    env = route_env(plat)
    router = BatchRouter(env, sobject, plat.rotation.states(), today, caps=caps)
    tally = _Tally()
    for frame in frames_of(records, sobject, router.columns):
        tally.add(router.route(frame))
    return tally.preview(env, caps)


class Comparer:
    """Routes chunks of the same records under two configs and gathers the records that move, chunk by chunk
    (see ``compare``); a caller that reads the records for other work too feeds it each chunk with the
    contexts it computed (``columns`` and ``fields`` say what the chunk and its contexts must carry)."""

    def __init__(self, plat: Ports, *, before_cfg: GtmConfig | None = None, after_cfg: GtmConfig | None = None,
                 sobject: str = "Lead", today: dt.date | None = None, caps: bool = True) -> None:
        states = plat.rotation.states()
        self.before_env = route_env(plat, cfg=before_cfg) if before_cfg is not None else route_env(plat)
        self.after_env = route_env(plat, cfg=after_cfg) if after_cfg is not None else route_env(plat)
        self.before = BatchRouter(self.before_env, sobject, states, today, caps=caps)
        self.after = BatchRouter(self.after_env, sobject, states, today, caps=caps)
        self.current = self.after if before_cfg is not None else self.before
        self.sobject, self.caps = sobject, caps
        self.tally = _Tally()
        self.moves: list[Move] = []
        self.rotation = self.capped_before = self.capped_after = 0
        self.columns = list(dict.fromkeys([*self.before.columns, *self.after.columns]))
        # contexts depend on the snapshot (accounts) and the segments, not on the rules: one computation serves
        # both sides
        self.shared = self.before_env.accounts is self.after_env.accounts and \
            self.before_env.cfg.get("capacity") == self.after_env.cfg.get("capacity")
        self.fields = list(dict.fromkeys([*self.before.fields, *self.after.fields]))

    def add(self, frame: pl.DataFrame, contexts: pl.DataFrame | None = None) -> None:
        """Route one chunk on both sides; ``contexts``: the chunk's context frame (``fields`` at least) when the
        caller computed it with the old side's environment."""
        if contexts is None and self.shared:
            contexts = context_frame(self.before_env, frame, self.sobject, self.fields)
        shared = contexts if self.shared else None
        a, b = self.before.route(frame, shared), self.after.route(frame, shared)
        self.tally.add(a if self.current is self.before else b)
        found, rotated = _moves(self.before_env, self.after_env, a, b)
        self.moves.extend(found)
        self.rotation += rotated
        self.capped_before += a.capped
        self.capped_after += b.capped

    def result(self) -> tuple[Diff, Preview]:
        """The moves so far and the preview of the current side."""
        found = Diff(moves=self.moves, rotation=self.rotation, capped_before=self.capped_before if self.caps else 0,
                     capped_after=self.capped_after if self.caps else 0)
        return found, self.tally.preview(self.current.env, self.caps)


def compare(plat: Ports, records: Records, *, before_cfg: GtmConfig | None = None,
            after_cfg: GtmConfig | None = None, sobject: str = "Lead", today: dt.date | None = None,
            caps: bool = True) -> tuple[Diff, Preview]:
    """Every record whose rule, action or owner changes from one config to another (each side the platform's
    config when not given), old and new side by side, and the preview of the current side; one read of the
    records, one batch run per side.

    Both sides start from the same rotation state. A record that stays on the same rule with the same action
    but lands on another member is rotation (its slot in the rotation is not a decision of the rules): it is
    counted, not listed. A rule that keeps its id but now targets another pool, role, territory, queue or
    user moves its records."""
    comparer = Comparer(plat, before_cfg=before_cfg, after_cfg=after_cfg, sobject=sobject, today=today, caps=caps)
    for frame in frames_of(records, sobject, comparer.columns):
        comparer.add(frame)
    return comparer.result()


def _moves(before_env: RouteEnv, after_env: RouteEnv, before: RoutePlan, after: RoutePlan) -> tuple[list[Move], int]:
    """The records of one chunk that move between the two sides, and how many only rotated."""
    frame = pl.DataFrame({
        "id": before.record_ids, "rule_a": before.rule_ids, "rule_b": after.rule_ids,
        "owner_a": before.owner_ids, "owner_b": after.owner_ids,
    }, schema={"id": pl.String, "rule_a": pl.String, "rule_b": pl.String, "owner_a": pl.String,
               "owner_b": pl.String})
    act_a = pl.col("rule_a").replace_strict(before.actions, default=None, return_dtype=pl.String)
    act_b = pl.col("rule_b").replace_strict(after.actions, default=None, return_dtype=pl.String)
    kind_a = pl.col("rule_a").replace_strict(before.kinds, default=None, return_dtype=pl.String)
    owner_moved = pl.col("owner_a") != pl.col("owner_b")
    reason = (pl.when(pl.col("rule_a").ne_missing(pl.col("rule_b"))).then(pl.lit("rule"))
              .when(act_a.ne_missing(act_b)).then(pl.lit("action"))
              .when(owner_moved & kind_a.is_in(["round_robin", "territory"]).not_().fill_null(True))
              .then(pl.lit("owner")).otherwise(None))
    judged = frame.with_columns(reason.alias("reason"))
    rotation = judged.filter(pl.col("reason").is_null() & owner_moved).height
    moved = judged.filter(pl.col("reason").is_not_null())
    names_a = {o: _name(before_env, o) for o in moved.get_column("owner_a").unique().to_list()}
    names_b = {o: _name(after_env, o) for o in moved.get_column("owner_b").unique().to_list()}
    # the values are the batch's own strings, already of the model's types: built without validating each
    moves = [Move.model_construct(record_id=rid, old_rule=ra, new_rule=rb, old_owner=oa, new_owner=ob,
                                  old_owner_name=names_a[oa], new_owner_name=names_b[ob], reason=why)
             for rid, ra, rb, oa, ob, why in moved.select("id", "rule_a", "rule_b", "owner_a", "owner_b", "reason")
             .iter_rows()]
    return moves, rotation
