"""Territory coverage, pure: per territory its accounts, open pipeline and people by role; who is uncovered.

Figures are direct (accounts associated with the territory itself) and rolled up (with every descendant),
since a region manager reads the second and a rep the first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from revloops.core.model import Frozen


class TerritoryCoverage(Frozen):
    """One territory's coverage.

    Attributes:
        territory: developer name.
        name: label.
        parent: parent developer name.
        depth: 0 for the root.
        accounts: accounts associated with this territory itself.
        accounts_rolled_up: with every descendant's.
        open_pipeline: open opportunity amount of this territory's accounts.
        open_pipeline_rolled_up: with every descendant's.
        users: user names by role in territory.
    """

    territory: str
    name: str
    parent: str | None
    depth: int
    accounts: int
    accounts_rolled_up: int
    open_pipeline: float
    open_pipeline_rolled_up: float
    users: dict[str, list[str]]


class Coverage(Frozen):
    """Coverage of the whole model: the territories in tree order and the accounts in none of them."""

    territories: list[TerritoryCoverage]
    accounts: int
    unassigned: int
    unassigned_by_status: dict[str, int]
    unassigned_sample: list[str]


def _tree_order(parents: Mapping[str, str | None]) -> list[tuple[str, int]]:
    children: dict[str | None, list[str]] = defaultdict(list)
    for name, parent in parents.items():
        children[parent if parent in parents else None].append(name)
    out: list[tuple[str, int]] = []
    stack = [(n, 0) for n in reversed(children[None])]
    while stack:
        name, depth = stack.pop()
        out.append((name, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(name, [])))
    return out


def coverage(territories: Sequence[tuple[str, str, str | None]], associations: Iterable[tuple[str, str]],
             account_status: Mapping[str, str | None], open_amounts: Iterable[tuple[str, float]],
             users: Iterable[tuple[str, str, str]], sample: int = 20) -> Coverage:
    """Roll coverage up from plain facts.

    Args:
        territories: ``(developer name, label, parent)`` of each territory of the model.
        associations: ``(account id, territory developer name)``, one per association.
        account_status: every account id and its territory status field.
        open_amounts: ``(account id, amount)`` per open opportunity.
        users: ``(territory, role, user name)`` per user assignment.
        sample: how many unassigned account ids to list.
    """
    parents = {t: p for t, _, p in territories}
    labels = {t: label for t, label, _ in territories}
    by_territory: dict[str, set[str]] = defaultdict(set)
    covered: set[str] = set()
    for account, terr in associations:
        if terr in parents:
            by_territory[terr].add(account)
            covered.add(account)
    pipeline_of: dict[str, float] = defaultdict(float)
    for account, amount in open_amounts:
        pipeline_of[account] += amount or 0.0
    people: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for terr, role, name in users:
        people[terr][role].append(name)
    order = _tree_order(parents)
    rolled: dict[str, set[str]] = {}
    for name, _ in reversed(order):  # children come after their parent in tree order
        rolled[name] = set(by_territory.get(name, set()))
        for child, parent in parents.items():
            if parent == name and child in rolled:
                rolled[name] |= rolled[child]
    rows = [TerritoryCoverage(
        territory=name, name=labels[name], parent=parents[name], depth=depth,
        accounts=len(by_territory.get(name, ())), accounts_rolled_up=len(rolled[name]),
        open_pipeline=sum(pipeline_of.get(a, 0.0) for a in by_territory.get(name, ())),
        open_pipeline_rolled_up=sum(pipeline_of.get(a, 0.0) for a in rolled[name]),
        users={role: sorted(names) for role, names in sorted(people.get(name, {}).items())},
    ) for name, depth in order]
    uncovered = sorted(a for a in account_status if a not in covered)
    statuses: dict[str, int] = defaultdict(int)
    for a in uncovered:
        statuses[account_status[a] or "never assigned"] += 1
    return Coverage(territories=rows, accounts=len(account_status), unassigned=len(uncovered),
                    unassigned_by_status=dict(sorted(statuses.items())), unassigned_sample=uncovered[:sample])
