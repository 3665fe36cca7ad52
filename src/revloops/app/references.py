"""What ``validate`` checks beyond the files: the queues and users actions name, against the CRM when one is
reachable, and condition fields that no record or context provides (a typo such as ``geo.regoin`` never
matches anything, silently)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from revloops.config.loader import GtmConfig
from revloops.core.records import model_for
from revloops.core.rules.conditions import Condition, leaves
from revloops.core.rules.schema import Rule
from revloops.ports.crm import CRM, Filter, Query

OBJECTS = ("Lead", "Account", "Contact", "Opportunity")
#: what the evaluation context adds to a record's own fields (see ``revloops.core.context.build_context``)
CONTEXT = ("geo.ambiguous", "geo.country", "geo.region", "geo.postal", "segment", "persona", "account.match",
           "score.total", "score.fit", "score.intent", "score.band")
#: families whose keys come from a provider's payload or a signal: any key under them may exist
OPEN_PREFIXES = ("enrichment.", "signal.")


def known_fields() -> frozenset[str]:
    """Every field a condition may name."""
    fields = set(CONTEXT)
    for obj in OBJECTS:
        fields.update(model_for(obj).model_fields)
    fields.update(f"account.{f}" for f in model_for("Account").model_fields)
    return frozenset(fields)


def _conditions(cfg: GtmConfig) -> Iterator[tuple[str, tuple[str | int, ...], str, Condition]]:
    """(file key, path of the condition, item id, condition) for every condition of every rule-bearing file."""
    for key in ("rules", "match_rules"):
        file = cfg.get(key)
        for i, rule in enumerate(file.rules if file else []):
            if rule.condition is not None:
                yield key, ("rules", i, "when"), rule.id, rule.condition
    scoring = cfg.get("scoring")
    for group in ("fit", "intent"):
        for i, rule in enumerate(getattr(scoring, group, None) or []):
            yield "scoring", (group, i, "when"), rule.id, rule.condition
    plays = cfg.get("plays")
    for i, play in enumerate(plays.plays if plays else []):
        if play.when is not None:
            yield "plays", ("plays", i, "when"), play.id, play.when


def unknown_fields(cfg: GtmConfig) -> list[str]:
    """A warning, with file:line, for each condition field no record or context provides, and the nearest
    known name."""
    known = known_fields()
    out = []
    for key, loc, item, cond in _conditions(cfg):
        for leaf in leaves(cond):
            name = leaf.field
            if name in known or name.startswith(OPEN_PREFIXES) or "__" in name:  # custom fields: __c
                continue
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]}?)" if near else ""
            out.append(f"{cfg.location(key, loc)}: [{item}] no record or context provides {name}{hint}")
    return out


def _actions(cfg: GtmConfig) -> Iterable[tuple[int, Rule]]:
    rules = cfg.get("rules")
    return enumerate(rules.rules if rules else [])


def crm_references(cfg: GtmConfig, crm: CRM) -> list[str] | None:
    """Errors, with file:line, for each queue that is not in the CRM and each user that is missing or inactive;
    None when the CRM holds no users yet (an empty embedded CRM is no org to check against).

    Raises:
        RevloopsError: the CRM could not be read (the caller reports the references as unchecked).
    """
    if crm.find_one(Query("User", limit=1)) is None:
        return None
    queues = {getattr(g, "DeveloperName", None) for g in crm.query_all(Query("Group", (Filter("Type", "eq", "Queue"),)))}
    users: dict[str, Any] = {}
    for u in crm.query_all(Query("User")):
        for ident in (u.Id, getattr(u, "Username", None), getattr(u, "Email", None)):
            if ident:
                users[str(ident).lower()] = u
    problems = []
    for i, rule in _actions(cfg):
        action = rule.action
        where = cfg.location("rules", ("rules", i, "action"))
        if action.type == "queue" and action.queue not in queues:
            problems.append(f"{where}: [rule {rule.id}] queue {action.queue} is not in the CRM")
        if action.type == "user":
            user = users.get(str(action.user).lower())
            if user is None:
                problems.append(f"{where}: [rule {rule.id}] user {action.user} is not in the CRM")
            elif not getattr(user, "IsActive", True):
                problems.append(f"{where}: [rule {rule.id}] user {action.user} is inactive in the CRM")
    return problems


def references(cfg: GtmConfig) -> list[str]:
    """Every queue and user the rules' actions name (what a CRM check looks at)."""
    out = []
    for _, rule in _actions(cfg):
        if rule.action.type == "queue":
            out.append(f"queue {rule.action.queue}")
        elif rule.action.type == "user":
            out.append(f"user {rule.action.user}")
    return out
