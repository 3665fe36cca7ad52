"""The users a seed creates first: the named reps of the active Design roster, so pools and assignments
that name them resolve in the seeded org."""

from __future__ import annotations

from revloops.config.loader import GtmConfig
from revloops.core.rules.conditions import leaves
from revloops.loops.generate.seed import NamedUser

_ROLES = {"AE", "SDR", "SE", "CSM", "Manager"}


def territory_countries(cfg: GtmConfig) -> dict[str, str]:
    """The first country each territory's match rules test for (``geo.country`` eq/in), parents from children."""
    out: dict[str, str] = {}
    rules = cfg.get("match_rules")
    for rule in rules.rules if rules is not None else []:
        territory = getattr(rule.action, "territory", None)
        if territory is None or territory in out:
            continue
        for leaf in leaves(rule.condition):
            if leaf.field == "geo.country" and leaf.op in ("eq", "in"):
                value = leaf.value[0] if isinstance(leaf.value, tuple) else leaf.value
                out[territory] = str(value).upper()
                break
    tree = cfg.get("territories")
    if tree is not None:
        # a parent territory takes the country of its first child that has one, filled upwards
        changed = True
        while changed:
            changed = False
            for terr in tree.territories:
                if terr.parent and terr.developer_name in out and terr.parent not in out:
                    out[terr.parent] = out[terr.developer_name]
                    changed = True
    return out


def named_users_from_config(cfg: GtmConfig) -> list[NamedUser]:
    """One NamedUser per named rep of the active scenario (with its roster start and end), managers first so
    ManagerId resolves."""
    from revloops.loops.design.config import active_roster

    roster = active_roster(cfg)
    by_id = {e.id: e for e in roster}
    countries = territory_countries(cfg)
    users = []
    for entry in roster:
        first, _, last = (entry.name or entry.user or "").partition(" ")
        manager = by_id.get(entry.manager or "")
        users.append(NamedUser(
            username=entry.user or "", first_name=first, last_name=last or first,
            role=entry.role if entry.role in _ROLES else "AE",
            manager=manager.user if manager else None,
            country=countries.get(entry.territory, "US"), start=entry.start, end=entry.end,
        ))
    users.sort(key=lambda u: u.manager is not None)
    return users
