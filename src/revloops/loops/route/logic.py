"""Route's handlers: pure functions over a snapshot of users, queues, pools, assignments and
territory match rules. ``RouteHandlers`` is the resolver the rule engine calls, on one record or a frame."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from revloops.core.rotation import Candidate, InMemoryRotation, Rotation, RotationState
from revloops.core.rules import CompiledRules, HandlerResult
from revloops.core.rules.resolve_batch import BatchOutcome, resolve_frame

if TYPE_CHECKING:  # the models only; logic stays free of the config loader
    from revloops.loops.deploy.config import AssignmentsFile, PoolsFile


@dataclass(frozen=True)
class User:
    """A CRM user as routing sees it."""

    id: str
    username: str
    email: str = ""
    name: str = ""
    active: bool = True
    role: str = ""


@dataclass(frozen=True)
class Queue:
    """A CRM queue (00G id and developer name)."""

    id: str
    developer_name: str


@dataclass
class Directory:
    """Users and queues, looked up by id, username, email or developer name (case-insensitive)."""

    users: list[User] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._users: dict[str, User] = {}
        for u in self.users:
            for key in (u.id, u.username, u.email):
                if key:
                    self._users[key.lower()] = u
        self._queues = {k.lower(): q for q in self.queues for k in (q.id, q.developer_name)}

    def user(self, ref: str) -> User | None:
        """The user with this id, username or email."""
        return self._users.get(ref.lower())

    def queue(self, ref: str) -> Queue | None:
        """The queue with this id or developer name."""
        return self._queues.get(ref.lower())


class SnapshotRotation:
    """A dry run's rotation: simulates from the durable state, read only if a claim needs it (most
    routing never reaches a rotation, and reading every pool's state is a query per call)."""

    def __init__(self, load: Callable[[], dict[str, RotationState]]) -> None:
        self._load = load
        self._memory: InMemoryRotation | None = None

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: date) -> str | None:
        """See ``Rotation.claim``; the durable state is never advanced."""
        if self._memory is None:
            self._memory = InMemoryRotation(self._load())
        return self._memory.claim(pool_id, candidates, day)


def _user_result(user: User | None, ref: str, how: str) -> HandlerResult:
    if user is None:
        return HandlerResult(None, reason=f"unknown user {ref}")
    if not user.active:
        return HandlerResult(None, reason=f"user {user.username} is inactive", detail={"user": user.id})
    return HandlerResult(user.id, detail={"user": user.id}, summary=f"{how} {user.name or user.username}")


class RouteHandlers:
    """The resolver for Route's actions (``user``, ``queue``, ``account_owner``, ``territory``,
    ``round_robin``, ``pending``) and the match rules' ``assign``."""

    def __init__(self, directory: Directory, *, pools: PoolsFile | None = None,
                 assignments: AssignmentsFile | None = None, territory_rules: CompiledRules | None = None,
                 rotation: Rotation | None = None, today: date | None = None, caps: bool = True,
                 day_field: str | None = None) -> None:
        self.directory = directory
        #: a context field holding the day of each claim (a batch over many days); else every claim is today's
        self.day_field = day_field
        #: the batch rows (``__row`` of the context) a daily cap turned away
        self.capped_rows: set[int] = set()
        # answers that depend only on the snapshot and the day: computed once per handlers
        self._eligible: dict[str, tuple[list[Candidate], list[str]]] = {}
        self._holders: dict[tuple[str, str], list[User]] = {}
        self._territories: dict[tuple[Any, ...], tuple[str | None, str | None]] = {}
        #: whether pools' daily caps hold (a simulation may lift them to see what the rules alone do)
        self.caps = caps
        self.pools = pools.by_id() if pools else {}
        self.assignments = list(assignments.assignments) if assignments else []
        self.territory_rules = territory_rules
        self.rotation: Rotation = rotation or InMemoryRotation()
        self.today = today or date.today()

    def day_signature(self, day: date) -> tuple[bool, ...]:
        """What of the day the handlers' answers depend on besides a claim's day: which assignments hold and
        which members are away. Days with one signature route alike."""
        held = tuple(a.active_on(day) for a in self.assignments)
        away = tuple(r.covers(day) for pool in self.pools.values() for m in pool.members for r in m.out_of_office)
        return held + away

    def _claim_day(self, ctx: Mapping[str, Any]) -> date:
        if self.day_field is not None:
            value = ctx.get(self.day_field)
            if isinstance(value, date):
                return value
        return self.today

    def __call__(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        """Resolve one action for one context."""
        return getattr(self, f"_{action.type}")(action, ctx)  # type: ignore[no-any-return]

    def depends_on(self, action: Any) -> tuple[str, ...] | None:
        """Fields the action's result depends on; None when it advances a rotation."""
        kind = action.type
        if kind in ("user", "queue", "pending", "assign"):
            return ()
        if kind == "account_owner":
            return ("account.OwnerId", "account.match")
        if kind == "territory" and self.territory_rules is not None and self._single_holders(action.role):
            return tuple(self.territory_rules.fields)
        return None

    def batch_owner(self, action: Any, ctx: Mapping[str, Any]) -> str | None:
        """The owner ``self(action, ctx)`` answers, without its detail and summary (the batch path asks this
        for every record a rotation decides)."""
        if action.type == "territory":
            return self._territory_claim(action, ctx)[3]
        if action.type == "round_robin":
            return self._pool_claim(action, ctx)[0]
        return self(action, ctx).owner_id

    def _user(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        return _user_result(self.directory.user(action.user), action.user, "user")

    def _queue(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        q = self.directory.queue(action.queue)
        if q is None:
            return HandlerResult(None, reason=f"unknown queue {action.queue}")
        return HandlerResult(q.id, detail={"queue": q.developer_name}, summary=f"queue {q.developer_name}")

    def _pending(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        return HandlerResult(f"pending:{action.reason}", summary=f"pending:{action.reason}")

    def _assign(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        return HandlerResult(action.territory, detail={"territory": action.territory},
                             summary=f"territory {action.territory}")

    def _account_owner(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        owner = ctx.get("account.OwnerId")
        if not isinstance(owner, str) or not owner:
            return HandlerResult(None, reason="no matched account owner")
        how = ctx.get("account.match")
        if action.match == "domain" and isinstance(how, str) and how.lower() != "domain":
            return HandlerResult(None, reason=f"account matched by {how}, rule needs a domain match")
        return _user_result(self.directory.user(owner), owner, "account owner")

    def territory_of(self, ctx: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(territory developer name, match rule id) from the match rules, or (None, reason)."""
        if self.territory_rules is None:
            return None, "no match rules"
        key = tuple(ctx.get(f) for f in self.territory_rules.fields)
        found = self._territories.get(key)
        if found is None:
            out = self.territory_rules.evaluate(ctx, self._assign_only, trace=False)
            found = (None, f"no territory ({out.owner_id})") if out.owner_id.startswith("pending:") \
                else (out.owner_id, out.rule_id)
            if len(self._territories) < 100_000:
                self._territories[key] = found
        return found

    def _assign_only(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        if action.type == "assign":
            return self._assign(action, ctx)
        return self._pending(action, ctx)

    def holders(self, territory: str, role: str) -> list[User]:
        """Active users holding ``role`` in ``territory`` today, in file order."""
        found = self._holders.get((territory, role))
        if found is not None:
            return found
        out: list[User] = []
        for a in self.assignments:
            if a.territory == territory and a.role == role and a.active_on(self.today):
                user = self.directory.user(a.user)
                if user is not None and user.active and user not in out:
                    out.append(user)
        self._holders[(territory, role)] = out
        return out

    def _single_holders(self, role: str) -> bool:
        territories = {a.territory for a in self.assignments if a.role == role}
        return all(len(self.holders(t, role)) <= 1 for t in territories)

    def _territory_claim(self, action: Any, ctx: Mapping[str, Any]) -> tuple[str | None, str | None, list[User],
                                                                                 str | None]:
        """(territory, match rule or why not, its holders of the role, the chosen one): the only holder, or the
        next in the territory's rotation."""
        territory, why = self.territory_of(ctx)
        if territory is None:
            return None, why, [], None
        users = self.holders(territory, action.role)
        if len(users) <= 1:
            return territory, why, users, users[0].id if users else None
        chosen = self.rotation.claim(f"territory:{territory}:{action.role}", [Candidate(u.id) for u in users],
                                     self._claim_day(ctx))
        return territory, why, users, chosen

    def territory_claim(self, role: str, ctx: Mapping[str, Any]) -> tuple[str | None, str | None, list[User],
                                                                           str | None]:
        """The territory handler for ``role`` on a context (an account's): territory, match rule or why not,
        the role's holders there, and the one chosen (Onboard's customer team, a plan's role owners)."""
        return self._territory_claim(_RoleAction(role), ctx)

    def _territory(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        territory, why, users, chosen = self._territory_claim(action, ctx)
        if territory is None:
            return HandlerResult(None, reason=why)
        detail: dict[str, Any] = {"territory": territory, "match_rule": why, "candidates": [u.id for u in users]}
        if not users:
            return HandlerResult(None, reason=f"no active {action.role} in territory {territory}", detail=detail)
        detail["why"] = f"only {action.role} in the territory" if len(users) == 1 \
            else f"round robin among {len(users)} {action.role}s"
        detail["chosen"] = chosen
        user = self.directory.user(chosen) if chosen else None
        name = user.name or user.username if user else chosen
        return HandlerResult(chosen, detail=detail, summary=f"territory {territory} -> {action.role} {name}")

    def eligible(self, pool_id: str) -> tuple[list[Candidate], list[str]]:
        """A pool's eligible members today (active, not out of office) and why the others are not."""
        found = self._eligible.get(pool_id)
        if found is None:
            found = self._eligible[pool_id] = self._eligible_now(pool_id)
        return list(found[0]), list(found[1])

    def _eligible_now(self, pool_id: str) -> tuple[list[Candidate], list[str]]:
        pool = self.pools.get(pool_id)
        if pool is None:
            return [], [f"unknown pool {pool_id}"]
        out, skipped = [], []
        for m in pool.members:
            user = self.directory.user(m.user)
            if user is None or not user.active:
                skipped.append(f"{m.user} inactive")
            elif any(r.covers(self.today) for r in m.out_of_office):
                skipped.append(f"{m.user} out of office")
            else:
                out.append(Candidate(user.id, m.weight, m.daily_cap if self.caps else None))
        return out, skipped

    def _pool_claim(self, action: Any, ctx: Mapping[str, Any]) -> tuple[str | None, list[Candidate]]:
        """(the claimed member or None, the pool's eligible members); a claim every member's daily cap refuses
        is noted against the batch row (``__row``) it was for."""
        found = self._eligible.get(action.pool)
        if found is None:
            found = self._eligible[action.pool] = self._eligible_now(action.pool)
        candidates = found[0]
        if not candidates:
            return None, candidates
        chosen = self.rotation.claim(action.pool, candidates, self._claim_day(ctx))
        if chosen is None and isinstance(ctx.get("__row"), int):
            self.capped_rows.add(ctx["__row"])
        return chosen, candidates

    def _round_robin(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        chosen, candidates = self._pool_claim(action, ctx)
        skipped = self.eligible(action.pool)[1]
        detail: dict[str, Any] = {"pool": action.pool, "candidates": [c.user_id for c in candidates],
                                  "skipped": skipped}
        if chosen is None:
            why = "every eligible member is at the daily cap" if candidates else "no eligible member"
            return HandlerResult(None, reason=f"pool {action.pool}: {why}", detail=detail)
        detail["chosen"] = chosen
        detail["why"] = f"weighted round robin among {len(candidates)}"
        user = self.directory.user(chosen)
        return HandlerResult(chosen, detail=detail,
                             summary=f"pool {action.pool} -> {user.name or user.username if user else chosen}")


def resolve_batch(compiled: CompiledRules, frame: pl.DataFrame, handlers: RouteHandlers,
                  columns: Sequence[np.ndarray] | None = None) -> BatchOutcome:
    """Route a frame of contexts: the same rule and owner per record as ``compiled.evaluate`` in order.

    Give previews handlers over an ``InMemoryRotation`` seeded from the durable state: they simulate.
    """
    return resolve_frame(compiled, frame, handlers, columns)


def owner_distribution(owner_ids: Iterable[str]) -> dict[str, int]:
    """How many records each owner gets (a preview's summary), most first."""
    counts: dict[str, int] = {}
    for o in owner_ids:
        counts[o] = counts.get(o, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class _RoleAction:
    """A territory action for one role, as a rules file's ``{type: territory, role: ...}`` reads."""

    role: str
    type: str = "territory"
