"""The ``when`` field every config that selects by rules shares (routing rules, scoring rules, plays),
and the one way a config model reports located problems."""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from revloops.core.rules.conditions import (
    AllOf,
    AnyOf,
    Condition,
    ConditionProblems,
    Leaf,
    Loc,
    NotOf,
    parse_condition,
)

CONDITION_TYPES = (Leaf, AllOf, AnyOf, NotOf)


def raise_problems(problems: list[tuple[Loc, str]], title: str, value: Any = None) -> NoReturn:
    """Raise one pydantic ValidationError carrying every problem at its own path (so each gets its line)."""
    details = [
        InitErrorDetails(type=PydanticCustomError("config", "{m}", {"m": msg}), loc=loc, input=value)
        for loc, msg in problems
    ]
    raise ValidationError.from_exception_data(title, details)


def parse_when(raw: Any) -> Condition | None:
    """A ``when`` value parsed and checked at load (``None``: always true); use as a before-validator."""
    if raw is None or isinstance(raw, CONDITION_TYPES):
        return raw
    try:
        return parse_condition(raw)
    except ConditionProblems as exc:
        raise_problems(exc.problems, "when", raw)
