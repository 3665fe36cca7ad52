"""Every rule-bearing file compiles when the config loads (and on ``validate``), not on the first record.

Rules, match rules, scoring rules and plays are compiled here exactly as the loops will compile them; a file
that does not compile is a config error with its place, never a crash of every later resolve.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from revloops.config.issues import ConfigIssue
from revloops.config.loader import GtmConfig
from revloops.core.rules import compile_rules
from revloops.core.rules.single import compile_condition

OBJECTS = ("Lead", "Account", "Contact", "Opportunity")


def _attempt(build: Callable[[], Any], key: str, loc: tuple[str | int, ...], what: str) -> ConfigIssue | None:
    try:
        build()
    except (SyntaxError, RecursionError, MemoryError, ValueError, TypeError) as exc:
        return ConfigIssue(key, loc, f"{what} does not compile: {type(exc).__name__}: {exc}")
    return None


def check_compiles(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """Compile every rule-bearing file as its loop will."""
    from revloops.loops.engage.logic import compile_plays

    found: list[ConfigIssue | None] = []
    rules = cfg.get("rules")
    if rules is not None:
        objects = sorted({o for r in rules.rules for o in (r.objects or OBJECTS)})
        found += [_attempt(functools.partial(compile_rules, rules, o), "rules", ("rules",), f"the rules for {o}")
                  for o in objects]
    match = cfg.get("match_rules")
    if match is not None:
        found.append(_attempt(lambda: compile_rules(match, "Account"), "match_rules", ("rules",), "the match rules"))
    csm = cfg.get("csm_rules")
    if csm is not None:
        found.append(_attempt(lambda: compile_rules(csm, "Account"), "csm_rules", ("rules",), "the CSM rules"))
    scoring = cfg.get("scoring")
    if scoring is not None:
        for group in ("fit", "intent"):
            for i, rule in enumerate(getattr(scoring, group, ()) or ()):
                found.append(_attempt(functools.partial(compile_condition, rule.condition), "scoring",
                                      (group, i, "when"), f"scoring rule {rule.id}"))
    plays = cfg.get("plays")
    if plays is not None:
        found.append(_attempt(lambda: compile_plays(plays), "plays", ("plays",), "the plays"))
    return [f for f in found if f is not None]


CHECKS = [check_compiles]
