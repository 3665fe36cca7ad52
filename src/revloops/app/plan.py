"""The change plan: what a change to the config directory does over the current data, loop by loop, for the
pull request (``revloops plan``, ``POST /api/plan``, the MCP tool ``diff_routing``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from revloops.app.base import AppBase
from revloops.config.loader import GtmConfig, load_config, with_file
from revloops.config.revision import load_config_at, merge_base
from revloops.config.yamlfile import YamlDoc
from revloops.core.errors import ConfigErrors, InputError, InputErrors
from revloops.core.identity import Caller
from revloops.core.inputs import check_plain
from revloops.loops.changeplan import SECTION_KEYS, ChangePlan, breaches, build_plan, parse_limit

Progress = Callable[[str, int], None]


def _tree(version: str) -> str:
    """The working tree's label: its commit, and ``+dirty.<digest>`` when it holds uncommitted changes."""
    commit, _, dirty = version.partition("+")
    return f"working tree ({commit[:12]}{'+' + dirty if dirty else ''})"


def _problems(side: str, exc: ConfigErrors) -> list[str]:
    return [f"{side}: {e}" for e in exc.errors]


class PlanActions(AppBase):
    """Config changes reviewed like code."""

    def plan_change(self, caller: Caller, *, against: str | None = "HEAD", rules: Mapping[str, Any] | None = None,
                    only: Sequence[str] | None = None, fail_on: Sequence[str] = (), today: dt.date | None = None,
                    caps: bool = True, progress: Progress | None = None) -> ChangePlan:
        """Validate both sides of a change, then say what it does over the current data, one section per loop
        whose files changed. The old side is the config at the merge base of ``against`` and ``HEAD`` (a pull
        request's base; ``HEAD`` itself by default), the new side the working tree; or, with ``rules``, the
        current config against those proposed rules. Problems on either side are answered with no section.
        ``fail_on`` limits (``moves>N``, ``moves>P%``, ``route.moves>N``) the plan goes past are listed in its
        ``breaches``.

        Raises:
            Forbidden: below the ops tier.
            InputError: an unknown loop in ``only``, a revision git does not know, a config that is not in a
                git repository, both ``rules`` and a revision other than ``HEAD``.
        """
        self.require(caller, "ops")
        for i, text in enumerate(fail_on):
            try:
                parse_limit(text)
            except ValueError as exc:
                raise InputError(str(exc), field=f"fail_on.{i}") from None
        unknown = [k for k in only or () if k not in SECTION_KEYS]
        if unknown:
            raise InputError(f"unknown section {unknown[0]!r}; known: {', '.join(SECTION_KEYS)}", field="only")
        root = self.settings.config
        problems: list[str] = []
        new: GtmConfig | None = None
        old: GtmConfig | None = None
        try:
            new = load_config(root)
        except ConfigErrors as exc:
            problems += _problems("working tree", exc)
        if rules is not None:
            if against not in (None, "HEAD"):
                raise InputError("give proposed rules or a revision, not both", field="rules")
            check_plain(dict(rules), "rules")
            if new is None:
                return ChangePlan(old="working tree", new="proposed rules", old_version=None, new_version=None,
                                  files=[], problems=problems)
            try:
                proposed = with_file(new, "rules", YamlDoc("rules", dict(rules), {}))
            except ConfigErrors as exc:
                raise InputErrors([InputError(e.message, field="rules") for e in exc.errors],
                                  source="the proposed rules") from None
            plan = build_plan(self.platform, new, proposed, old_label=_tree(new.version),
                              new_label="proposed rules", today=today, caps=caps, only=only, progress=progress)
            return plan.model_copy(update={"breaches": breaches(plan, fail_on)})
        rev = against or "HEAD"
        base = merge_base(root, rev)
        label = rev if base.startswith(rev) or rev == "HEAD" else f"{rev} (merge base {base[:12]})"
        try:
            old = load_config_at(root, base)
        except ConfigErrors as exc:
            problems += _problems(rev, exc)
        if old is None or new is None:
            return ChangePlan(old=label, new="working tree", old_version=old.version if old else base,
                              new_version=new.version if new else None, files=[], problems=problems)
        plan = build_plan(self.platform, old, new, old_label=label, new_label=_tree(new.version),
                          today=today, caps=caps, only=only, progress=progress)
        return plan.model_copy(update={"breaches": breaches(plan, fail_on)})
