"""Deploy's sync logic, pure: the desired territory state from config and the plan that reconciles a CRM to it.

Everything is keyed by what a person can read and what survives a re-create: a model, type or territory by
its DeveloperName, a user assignment by ``(username, territory)``. The CRM's current state is translated into
the same keys (ids become developer names) before the diff, so a plan never depends on record ids; the apply
step turns keys back into ids as the parents it needs come into being.

Plan order: the model, then types, then territories parents before children (creates and moves together,
by depth in the desired tree, so a node's new parent is always in place first), then user assignments; every
removal comes last (assignments, then territories deepest first), after the moves that rescue children.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from revloops.core.decisions import digest

Op = Literal["create", "update", "delete"]
MODEL, TYPE, TERRITORY, USER_ASSIGNMENT = "Territory2Model", "Territory2Type", "Territory2", "UserTerritory2Association"
#: key fields that hold references, resolved to ids at apply time
REFS = {"model": "Territory2ModelId", "type": "Territory2TypeId", "parent": "ParentTerritory2Id",
        "territory": "Territory2Id", "user": "UserId"}


class _ModelInfo(Protocol):
    developer_name: str
    name: str
    state: str


class _Type(Protocol):
    developer_name: str
    label: str
    priority: int


class _Territory(Protocol):
    developer_name: str
    name: str
    type: str
    parent: str | None
    account_access: str
    opportunity_access: str
    description: str


class TerritoryTree(Protocol):
    """What the sync needs of ``design/territories.yaml``."""

    @property
    def model(self) -> _ModelInfo: ...

    @property
    def types(self) -> Sequence[_Type]: ...

    @property
    def territories(self) -> Sequence[_Territory]: ...


class UserAssignment(Protocol):
    """What the sync needs of one ``deploy/assignments.yaml`` entry."""

    user: str
    territory: str
    role: str
    start: dt.date | None
    end: dt.date | None

    def active_on(self, day: dt.date) -> bool: ...


@dataclass(frozen=True)
class Item:
    """One record of a state, in key space: references are developer names (or usernames), not ids."""

    sobject: str
    key: str
    fields: Mapping[str, Any]
    depth: int = 0
    record_id: str | None = None


@dataclass(frozen=True)
class State:
    """A set of items by (object, key): the desired state, or the CRM's current state translated."""

    items: Mapping[tuple[str, str], Item]

    def digest(self) -> str:
        """A digest of the content (no record ids), to tell whether two states are the same."""
        return digest(sorted((k, dict(i.fields)) for k, i in self.items.items()))


def assignment_key(username: str, territory: str) -> str:
    """The key of a user assignment: Salesforce allows one per user and territory."""
    return f"{username.lower()}|{territory}"


def depths(parents: Mapping[str, str | None]) -> dict[str, int]:
    """Depth of each node (the root 0); a node in a cycle or under a missing parent counts from where it breaks."""
    out: dict[str, int] = {}
    for name in parents:
        chain: list[str] = []
        current: str | None = name
        while current is not None and current not in out and current not in chain:
            chain.append(current)
            current = parents.get(current)
        base = out.get(current, -1) if current is not None else -1
        for offset, node in enumerate(reversed(chain), start=1):
            out[node] = base + offset
    return out


def desired_state(tree: TerritoryTree, assignments: Iterable[UserAssignment], today: dt.date) -> State:
    """The records the config asks for: model, types, territories and the user assignments active ``today``."""
    items: dict[tuple[str, str], Item] = {}
    model = tree.model
    items[(MODEL, model.developer_name)] = Item(MODEL, model.developer_name, {
        "Name": model.name, "DeveloperName": model.developer_name, "State": model.state})
    for kind in tree.types:
        items[(TYPE, kind.developer_name)] = Item(TYPE, kind.developer_name, {
            "DeveloperName": kind.developer_name, "MasterLabel": kind.label, "Priority": kind.priority})
    level = depths({t.developer_name: t.parent for t in tree.territories})
    for t in tree.territories:
        items[(TERRITORY, t.developer_name)] = Item(TERRITORY, t.developer_name, {
            "Name": t.name, "DeveloperName": t.developer_name, "model": model.developer_name, "type": t.type,
            "parent": t.parent, "AccountAccessLevel": t.account_access,
            "OpportunityAccessLevel": t.opportunity_access, "Description": t.description or None,
        }, depth=level[t.developer_name])
    for a in assignments:
        if not a.active_on(today):
            continue
        key = assignment_key(a.user, a.territory)
        items[(USER_ASSIGNMENT, key)] = Item(USER_ASSIGNMENT, key, {
            "user": a.user.lower(), "territory": a.territory, "RoleInTerritory2": a.role})
    return State(items)


@dataclass(frozen=True)
class CrmSnapshot:
    """The CRM's records as read, plain: each a dict of fields with its ``Id``."""

    model: Mapping[str, Any] | None
    types: Sequence[Mapping[str, Any]]
    territories: Sequence[Mapping[str, Any]]
    user_assignments: Sequence[Mapping[str, Any]]
    usernames: Mapping[str, str]  # user id -> username (lower case)


def _pick(record: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {n: record.get(n) for n in names}


def current_state(snap: CrmSnapshot) -> State:
    """The CRM's state in key space (territories outside the model and orphaned assignments are left out)."""
    items: dict[tuple[str, str], Item] = {}
    if snap.model is not None:
        m = snap.model
        items[(MODEL, m["DeveloperName"])] = Item(MODEL, m["DeveloperName"], _pick(
            m, ("Name", "DeveloperName", "State")), record_id=m["Id"])
    type_names = {t["Id"]: t["DeveloperName"] for t in snap.types}
    for t in snap.types:
        items[(TYPE, t["DeveloperName"])] = Item(TYPE, t["DeveloperName"], _pick(
            t, ("DeveloperName", "MasterLabel", "Priority")), record_id=t["Id"])
    names = {t["Id"]: t["DeveloperName"] for t in snap.territories}
    level = depths({t["DeveloperName"]: names.get(t.get("ParentTerritory2Id") or "") for t in snap.territories})
    model_name = snap.model["DeveloperName"] if snap.model else None
    for t in snap.territories:
        fields = _pick(t, ("Name", "DeveloperName", "AccountAccessLevel", "OpportunityAccessLevel", "Description"))
        fields.update(model=model_name, type=type_names.get(t.get("Territory2TypeId") or ""),
                      parent=names.get(t.get("ParentTerritory2Id") or ""))
        items[(TERRITORY, t["DeveloperName"])] = Item(TERRITORY, t["DeveloperName"], fields,
                                                      depth=level[t["DeveloperName"]], record_id=t["Id"])
    for a in snap.user_assignments:
        user, territory = snap.usernames.get(a.get("UserId") or ""), names.get(a.get("Territory2Id") or "")
        if user is None or territory is None:
            continue
        key = assignment_key(user, territory)
        items[(USER_ASSIGNMENT, key)] = Item(USER_ASSIGNMENT, key, {
            "user": user, "territory": territory, "RoleInTerritory2": a.get("RoleInTerritory2")}, record_id=a["Id"])
    return State(items)


@dataclass(frozen=True)
class Change:
    """One step of a plan.

    Attributes:
        op: create, update or delete.
        sobject: the object.
        key: the developer name (or ``username|territory``).
        fields: for a create every field, for an update the changed ones (references as keys).
        before: for an update the changed fields' current values; for a delete the record's fields.
        record_id: the record to update or delete.
        depth: the node's depth in the tree it ends up in (deletes: where it was).
    """

    op: Op
    sobject: str
    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] = field(default_factory=dict)
    record_id: str | None = None
    depth: int = 0


_PHASE = {MODEL: 0, TYPE: 1, TERRITORY: 2, USER_ASSIGNMENT: 3}


def _order(change: Change) -> tuple[int, int, int, str]:
    if change.op == "delete":  # removals last: assignments, then territories deepest first
        return (10, 0 if change.sobject == USER_ASSIGNMENT else 1, -change.depth, change.key)
    return (_PHASE[change.sobject], change.depth, 0, change.key)


def plan_sync(desired: State, current: State, *, delete_types: bool = False) -> list[Change]:
    """The changes that turn ``current`` into ``desired``, in apply order.

    Types are shared by every model of the org, so they are only deleted when ``delete_types`` is set.
    """
    changes: list[Change] = []
    for key, want in desired.items.items():
        have = current.items.get(key)
        if have is None:
            changes.append(Change("create", want.sobject, want.key, dict(want.fields), depth=want.depth))
            continue
        diff = {k: v for k, v in want.fields.items() if have.fields.get(k) != v}
        if diff:
            changes.append(Change("update", want.sobject, want.key, diff, {k: have.fields.get(k) for k in diff},
                                  record_id=have.record_id, depth=want.depth))
    for key, have in current.items.items():
        if key in desired.items or (have.sobject == TYPE and not delete_types) or have.sobject == MODEL:
            continue
        changes.append(Change("delete", have.sobject, have.key, before=dict(have.fields),
                              record_id=have.record_id, depth=have.depth))
    return sorted(changes, key=_order)


def summary(changes: Sequence[Change]) -> dict[str, int]:
    """Counts by operation: ``{"create": n, "update": n, "delete": n}``."""
    out = {"create": 0, "update": 0, "delete": 0}
    for c in changes:
        out[c.op] += 1
    return out


def describe(change: Change) -> str:
    """One line of a plan, ``terraform plan`` style: ``+ Territory2 NA_West (parent NA, type Geo_Subregion)``."""
    sign = {"create": "+", "update": "~", "delete": "-"}[change.op]
    head = f"{sign} {change.sobject} {change.key}"
    if change.op == "create":
        shown = {k: v for k, v in change.fields.items() if k not in ("DeveloperName", "model") and v is not None}
        return f"{head} ({', '.join(f'{k} {v}' for k, v in shown.items())})"
    if change.op == "update":
        return f"{head}: " + ", ".join(f"{k} {change.before.get(k)!r} -> {v!r}" for k, v in change.fields.items())
    return head
