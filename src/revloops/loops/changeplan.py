"""A change plan: what a change to the config directory does over the current data, loop by loop.

The two sides are two loaded configs (a git revision and the working tree, as ``git diff REV`` reads them).
Every loop whose files differ gets a section, computed over the stored records with the batch paths:

- Route: the leads whose rule, action or owner changes (``route.flow.Comparer``), by rule and by owner;
- Qualify: the leads whose score band changes (``qualify.batch``), MQLs gained and lost, by rule;
- Engage: the open leads whose play changes (``engage.batch``), on each side's own scores;
- Deploy: the sync steps the new side needs that the old one did not (and back), the accounts that would move
  territory (``deploy.flow.plan_assignments`` with both sides);
- Design: capacity, coverage, headcount and attainment of the active scenario, before and after;
- Pursue: the open deals whose deal play changes; Expand: the customers whose health band changes;
- the other files (Onboard's plans, the targets, the metrics, the tests): what was added, removed or changed.

The leads are read once, in chunks, and each chunk's contexts are computed once for Route, Qualify and Engage
together, so the plan's cost over a million leads stays a small multiple of reading their columns.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import computed_field

from revloops.config import layout
from revloops.config.loader import GtmConfig
from revloops.core.model import Frozen
from revloops.loops.route.columns import context_frame, record_columns
from revloops.loops.route.types import Move

Progress = Callable[[str, int], None]
TOP = 20  # records listed per section (the counts cover every one)
CLOSED_LEAD = "Closed"  # a lead whose status starts so is no longer worked
THRESHOLDS = "(thresholds)"  # what moved a lead whose points stayed the same

#: which config files each section reads (layout keys); a section is computed when one of them changed
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "route": ("rules", "pools", "assignments", "capacity", "territories", "match_rules"),
    "qualify": ("scoring",),
    "engage": ("plays", "scoring"),
    "deploy": ("territories", "assignments", "match_rules", "pools"),
    "design": ("capacity", "scenarios", "territories", "roles"),
    "pursue": ("deal_plays", "capacity"),
    "expand": ("health",),
    "onboard": ("onboard_plans", "csm_rules"),
    "generate": ("targets",),
    "coach": ("coach_metrics",),
    "tests": ("tests",),
}
TITLES = {"route": "Route", "qualify": "Qualify", "engage": "Engage", "deploy": "Deploy", "design": "Design",
          "pursue": "Pursue", "expand": "Expand", "onboard": "Onboard", "generate": "Generate (outbound targets)",
          "coach": "Coach (metrics)", "tests": "Tests"}


# -- what the plan says ------------------------------------------------------------------------------------------
class FileChange(Frozen):
    """A config file that differs between the two sides."""

    file: str
    key: str
    loop: str
    change: Literal["added", "removed", "modified"]


class Count(Frozen):
    """How many records go from ``old`` to ``new`` (a rule, owner, band, play or territory)."""

    old: str | None
    new: str | None
    count: int


class ScoreMove(Frozen):
    """A lead whose score band changes."""

    lead_id: str
    company: str | None
    old_total: int
    new_total: int
    old_band: str
    new_band: str


class PlayMove(Frozen):
    """A record whose play (Engage, Pursue) or health band (Expand) changes."""

    record_id: str
    name: str | None
    old: str | None
    new: str | None


class RouteSection(Frozen):
    """Route: every lead whose rule, action or owner changes."""

    leads: int
    moves: int
    rotation: int
    capped_old: int
    capped_new: int
    by_rule: list[Count]
    by_owner: list[Count]
    top: list[Move]


class QualifySection(Frozen):
    """Qualify: every lead whose band changes, scored on its stored fields and the cached enrichment."""

    leads: int
    enriched: int
    changed: int
    mql_gained: int
    mql_lost: int
    bands: list[Count]
    by_rule: dict[str, int]
    top: list[ScoreMove]


class PlaysSection(Frozen):
    """Engage / Pursue / Expand: the records whose play (or band) changes."""

    considered: int
    changed: int
    transitions: list[Count]
    top: list[PlayMove]


class AccountMove(Frozen):
    """An account whose territory would change."""

    account_id: str
    name: str | None
    before: str | None
    after: str | None


class DeploySection(Frozen):
    """Deploy: the sync steps only one side needs, and the accounts that would move territory."""

    sync_added: list[str]
    sync_dropped: list[str]
    accounts: int
    moves: int
    by_territory: list[Count]
    top: list[AccountMove]


class DesignRow(Frozen):
    """One figure of the active scenario before and after."""

    section: str
    key: str
    old: float | None
    new: float | None
    delta: float | None


class DesignSection(Frozen):
    """Design: the active scenario's figures before and after."""

    old_scenario: str | None
    new_scenario: str | None
    rows: list[DesignRow]


class Section(Frozen):
    """One loop's part of the plan: the files of it that changed, a one-line summary, how many records move,
    and the detail of its kind."""

    loop: str
    title: str
    files: list[str]
    summary: str
    moves: int = 0
    considered: int = 0
    items: list[str] = []
    route: RouteSection | None = None
    qualify: QualifySection | None = None
    plays: PlaysSection | None = None
    deploy: DeploySection | None = None
    design: DesignSection | None = None
    seconds: float = 0.0


class ChangePlan(Frozen):
    """What a config change does over the current data: both sides, the files that differ, the problems that
    keep a side from loading (then no section is computed), and one section per loop whose files changed."""

    old: str
    new: str
    old_version: str | None
    new_version: str | None
    files: list[FileChange]
    problems: list[str] = []
    sections: list[Section] = []
    unchanged: list[str] = []
    breaches: list[str] = []
    seconds: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def moves(self) -> int:
        """The changes of every section added up (a lead that changes owner and band counts in both)."""
        return sum(s.moves for s in self.sections)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def considered(self) -> int:
        """The records each section looked at, added up (the base of an overall share)."""
        return sum(s.considered for s in self.sections)

    def section(self, loop: str) -> Section | None:
        """The section of one loop, if it changed."""
        return next((s for s in self.sections if s.loop == loop), None)


# -- which files differ ------------------------------------------------------------------------------------------
def _dump(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else value


def changed_files(old: GtmConfig, new: GtmConfig) -> list[FileChange]:
    """Every file of the layout that is added, removed or different (by content, not by bytes: a comment
    changes nothing)."""
    out: list[FileChange] = []
    for spec in layout.FILES:
        a, b = old.files.get(spec.key), new.files.get(spec.key)
        if "*" in spec.pattern:
            left, right = dict(a or {}), dict(b or {})
            for stem in sorted(set(left) | set(right)):
                file = spec.pattern.replace("*", stem)
                if stem not in left:
                    out.append(FileChange(file=file, key=spec.key, loop=spec.loop, change="added"))
                elif stem not in right:
                    out.append(FileChange(file=file, key=spec.key, loop=spec.loop, change="removed"))
                elif _dump(left[stem]) != _dump(right[stem]):
                    out.append(FileChange(file=file, key=spec.key, loop=spec.loop, change="modified"))
            continue
        if a is None and b is None:
            continue
        if a is None or b is None:
            change: Literal["added", "removed", "modified"] = "added" if a is None else "removed"
            out.append(FileChange(file=spec.pattern, key=spec.key, loop=spec.loop, change=change))
        elif _dump(a) != _dump(b):
            out.append(FileChange(file=spec.pattern, key=spec.key, loop=spec.loop, change="modified"))
    return out


def sections_for(files: Sequence[FileChange]) -> dict[str, list[str]]:
    """The sections the changed files call for, each with its files, in the plan's order."""
    out: dict[str, list[str]] = {}
    for loop, reads in SECTION_KEYS.items():
        hit = [f.file for f in files if f.key in reads]
        if hit:
            out[loop] = hit
    return out


# -- the leads: Route, Qualify and Engage on one read ------------------------------------------------------------
def _counts(pairs: Iterable[tuple[str | None, str | None]] | Counter[tuple[str | None, str | None]]) -> list[Count]:
    """``(old, new)`` pairs, or a tally of them, as counts, most first."""
    tally = pairs if isinstance(pairs, Counter) else Counter(pairs)
    return [Count(old=a, new=b, count=n) for (a, b), n in sorted(tally.items(), key=lambda kv: (-kv[1], str(kv[0])))]




class LeadPass:
    """Reads the stored leads once, chunk by chunk, and feeds Route, Qualify and Engage from each chunk."""

    def __init__(self, plat: Any, old: GtmConfig, new: GtmConfig, loops: set[str], *,
                 today: dt.date | None = None, caps: bool = True) -> None:
        from revloops.loops.route.flow import Comparer, route_env

        self.plat, self.old, self.new = plat, old, new
        self.env = route_env(plat, cfg=new)
        self.comparer = Comparer(plat, before_cfg=old, after_cfg=new, today=today, caps=caps) \
            if "route" in loops else None
        self.scorings = (old.get("scoring"), new.get("scoring"))
        self.qualify = "qualify" in loops and all(s is not None for s in self.scorings)
        self.plays = (old.get("plays"), new.get("plays"))
        self.engage = "engage" in loops and all(p is not None for p in self.plays)
        # the same plays on both sides: only a lead whose score changed can change play
        self.same_plays = self.engage and _dump(self.plays[0]) == _dump(self.plays[1])
        fields: list[str] = []
        if self.comparer is not None and self.comparer.shared:
            fields += self.comparer.fields
        for scoring in self.scorings if (self.qualify or self.engage) else ():
            if scoring is not None:
                fields += list(scoring.fields)
        if self.engage:
            from revloops.loops.engage.batch import play_fields

            for plays in self.plays:
                fields += play_fields(plays)
        self.fields = list(dict.fromkeys(fields))
        extra = ["Company", "FirstName", "LastName", "Status", "IsConverted", "Email", "Website"]
        columns = record_columns("Lead", [*self.fields, *extra])
        if self.comparer is not None:
            columns += self.comparer.columns
        self.columns = list(dict.fromkeys(columns))
        self.facts: Any = None
        if self.qualify or self.engage:
            from revloops.loops.qualify.batch import CachedFacts, enrichment_fields

            needs = any(enrichment_fields(s.fields) for s in self.scorings if s is not None)
            self.facts = CachedFacts(plat.enrichment.known_facts()) if needs else CachedFacts([])
        self.leads = self.enriched = 0
        self.bands: Counter[tuple[str, str]] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.score_top: list[ScoreMove] = []
        self.score_changed = 0
        self.open = 0
        self.play_moves: Counter[tuple[str | None, str | None]] = Counter()
        self.play_top: list[PlayMove] = []

    def run(self, progress: Progress | None = None) -> None:
        """Read every lead and feed each chunk to the sections."""
        for frame in self.plat.crm.read_columns("Lead", self.columns, created_order=True):
            self.add(frame)
            if progress is not None:
                progress("leads", self.leads)

    def add(self, frame: pl.DataFrame) -> None:
        """One chunk of stored leads (``columns``)."""
        from revloops.loops.route.flow import records_frame

        frame = records_frame(frame, "Lead", self.columns)
        self.leads += frame.height
        contexts = context_frame(self.env, frame, "Lead", self.fields) if self.fields else None
        if self.comparer is not None:
            self.comparer.add(frame, contexts if self.comparer.shared else None)
        if not (self.qualify or self.engage) or contexts is None:
            return
        from revloops.loops.qualify.batch import enrichment_columns, score_frame

        enriched, hits = enrichment_columns(contexts, self.facts, self.fields, email=frame.get_column("Email"),
                                            website=frame.get_column("Website"))
        self.enriched += hits
        old_s, new_s = self.scorings
        scores = (score_frame(old_s, enriched), score_frame(new_s, enriched)) if old_s and new_s else None
        if self.qualify and scores is not None:
            self._qualify(frame, scores)
        if self.engage:
            self._engage(frame, enriched, scores)

    def _qualify(self, frame: pl.DataFrame, scores: tuple[Any, Any]) -> None:
        old_s, new_s = self.scorings
        a, b = scores
        band_a, band_b = a.bands(old_s), b.bands(new_s)
        changed = np.flatnonzero(band_a != band_b)
        self.bands.update(zip(band_a[changed].tolist(), band_b[changed].tolist(), strict=True))
        self.score_changed += len(changed)
        if not len(changed):
            return
        explained = np.zeros(len(changed), dtype=bool)
        for rule_id in dict.fromkeys([*a.rule_ids, *b.rule_ids]):
            differs = a.contribution(rule_id)[changed] != b.contribution(rule_id)[changed]
            if differs.any():
                self.by_rule[rule_id] += int(differs.sum())
                explained |= differs
        if not explained.all():  # the same points, another band: the thresholds moved
            self.by_rule[THRESHOLDS] += int((~explained).sum())
        room = TOP - len(self.score_top)
        if room > 0:
            ids = frame.get_column("Id").to_list()
            company = frame.get_column("Company").to_list() if "Company" in frame.columns else [None] * frame.height
            ta, tb = a.total, b.total
            for k in changed[:room].tolist():
                self.score_top.append(ScoreMove(lead_id=ids[k], company=company[k], old_total=int(ta[k]),
                                                new_total=int(tb[k]), old_band=str(band_a[k]),
                                                new_band=str(band_b[k])))

    def _engage(self, frame: pl.DataFrame, enriched: pl.DataFrame, scores: tuple[Any, Any] | None) -> None:
        from revloops.loops.engage.batch import play_frame

        status = frame.get_column("Status").cast(pl.String).fill_null("") if "Status" in frame.columns else \
            pl.Series([""] * frame.height)
        converted = frame.get_column("IsConverted").fill_null(False) if "IsConverted" in frame.columns else \
            pl.Series([False] * frame.height)
        open_mask = (~status.str.starts_with(CLOSED_LEAD) & ~converted).to_numpy()
        rows = np.flatnonzero(open_mask)
        self.open += len(rows)
        if self.same_plays and scores is not None:
            rows = rows[scores[0].total[rows] != scores[1].total[rows]]
        if not len(rows):
            return
        part = enriched[rows.tolist()]
        old_p, new_p = self.plays
        totals = (scores[0].total[rows], scores[1].total[rows]) if scores is not None else (None, None)
        a = play_frame(old_p, part, totals[0])
        b = play_frame(new_p, part, totals[1])
        ids = frame.get_column("Id").gather(rows).to_list()
        names = frame.get_column("Company").gather(rows).to_list() if "Company" in frame.columns else [None] * len(rows)
        for rid, name, x, y in zip(ids, names, a, b, strict=True):
            if x != y:
                self.play_moves[(x, y)] += 1
                if len(self.play_top) < TOP:
                    self.play_top.append(PlayMove(record_id=rid, name=name, old=x, new=y))

    def route_section(self) -> RouteSection | None:
        """The Route section, when Route was asked for."""
        if self.comparer is None:
            return None
        diff, _preview = self.comparer.result()
        moves = diff.moves
        return RouteSection(
            leads=self.leads, moves=len(moves), rotation=diff.rotation, capped_old=diff.capped_before,
            capped_new=diff.capped_after, by_rule=_counts((m.old_rule, m.new_rule) for m in moves),
            by_owner=_counts((m.old_owner_name, m.new_owner_name) for m in moves), top=list(moves[:TOP]))

    def qualify_section(self) -> QualifySection | None:
        """The Qualify section, when Qualify was asked for and both sides score."""
        if not self.qualify:
            return None
        gained = sum(n for (a, b), n in self.bands.items() if b == "mql" and a != "mql")
        lost = sum(n for (a, b), n in self.bands.items() if a == "mql" and b != "mql")
        return QualifySection(leads=self.leads, enriched=self.enriched, changed=self.score_changed,
                              mql_gained=gained, mql_lost=lost,
                              bands=_counts(self.bands),
                              by_rule=dict(self.by_rule.most_common()), top=self.score_top)

    def engage_section(self) -> PlaysSection | None:
        """The Engage section, when Engage was asked for and both sides have plays."""
        if not self.engage:
            return None
        return PlaysSection(considered=self.open, changed=sum(self.play_moves.values()),
                            transitions=_counts(self.play_moves),
                            top=self.play_top)


# -- the other sections ------------------------------------------------------------------------------------------
def deploy_section(plat: Any, old: GtmConfig, new: GtmConfig) -> DeploySection | None:
    """The sync steps only one side needs (against the CRM as it is), and the accounts that would move."""
    from revloops.loops.deploy import flow
    from revloops.loops.deploy.logic import describe

    if new.get("territories") is None:
        return None
    steps_new = [describe(c) for c in flow.plan_sync(new, plat.crm, refresh=True).changes]
    steps_old = [describe(c) for c in flow.plan_sync(old, plat.crm, refresh=True).changes] \
        if old.get("territories") is not None else []
    before = set(steps_old)
    after = set(steps_new)
    moves: list[Any] = []
    accounts = 0
    if new.get("match_rules") is not None and old.get("match_rules") is not None:
        # unclear addresses are read by the gazetteer on both sides: a plan never calls an LLM
        planned = flow.plan_assignments(new, plat.crm, flow.make_resolver(None), against=old)
        moves = list(planned.moves)
        accounts = sum(planned.assignments.counts().values())
    return DeploySection(
        sync_added=[s for s in steps_new if s not in before], sync_dropped=[s for s in steps_old if s not in after],
        accounts=accounts, moves=len(moves), by_territory=_counts((m.before, m.after) for m in moves),
        top=[AccountMove(account_id=m.account_id, name=m.name, before=m.before, after=m.after)
             for m in moves[:TOP]])


def design_section(old: GtmConfig, new: GtmConfig) -> DesignSection | None:
    """The active scenario's totals, headcount and attainment, before and after."""
    from revloops.loops.design import flow

    def run(cfg: GtmConfig) -> Any:
        return flow.run_scenario(cfg) if cfg.get("capacity") is not None else None

    a, b = run(old), run(new)
    if a is None and b is None:
        return None
    rows: list[DesignRow] = []
    if a is not None and b is not None:
        for r in flow.compare_runs(a, b).rows:
            if r.section in ("total", "headcount", "attainment", "segment"):
                rows.append(DesignRow(section=r.section, key=r.key, old=r.a, new=r.b, delta=r.delta))
        rows += [DesignRow(section="hiring gap", key="hires suggested", old=float(len(a.hiring_gap)),
                           new=float(len(b.hiring_gap)), delta=float(len(b.hiring_gap) - len(a.hiring_gap)))]
    return DesignSection(old_scenario=a.scenario if a else None, new_scenario=b.scenario if b else None, rows=rows)


def pursue_section(plat: Any, old: GtmConfig, new: GtmConfig) -> PlaysSection | None:
    """The open deals whose deal play changes (each deal's context as Pursue reads it)."""
    from revloops.loops.plays import plays_in, read_subject, select

    old_p, new_p = plays_in(old, "pursue"), plays_in(new, "pursue")
    if not old_p and not new_p:
        return None
    opps = plat.crm.read_columns("Opportunity", ["Id", "Name", "IsClosed"])
    ids: list[tuple[str, str | None]] = []
    for chunk in opps:
        part = chunk.filter(~pl.col("IsClosed").fill_null(False))
        ids.extend(zip(part.get_column("Id").to_list(), part.get_column("Name").to_list(), strict=True))
    moves: Counter[tuple[str | None, str | None]] = Counter()
    top: list[PlayMove] = []
    for rid, name in ids:
        ctx = read_subject(plat, "Opportunity", rid).ctx
        a, b = select(old_p, ctx, "deal play").play, select(new_p, ctx, "deal play").play
        x, y = (a.id if a else None), (b.id if b else None)
        if x != y:
            moves[(x, y)] += 1
            if len(top) < TOP:
                top.append(PlayMove(record_id=rid, name=name, old=x, new=y))
    return PlaysSection(considered=len(ids), changed=sum(moves.values()),
                        transitions=_counts(moves), top=top)


def expand_section(plat: Any, old: GtmConfig, new: GtmConfig, as_of: dt.date) -> PlaysSection | None:
    """The customers whose health band changes, on the same features."""
    from revloops.loops.expand.flow import read_frames
    from revloops.loops.expand.health import features, score_frame

    a_cfg, b_cfg = old.get("health"), new.get("health")
    if a_cfg is None or b_cfg is None:
        return None
    accounts, usage = read_frames(plat)
    feats = features(accounts, usage, as_of)
    a = score_frame(a_cfg, feats).select("Id", pl.col("band").alias("a"))
    b = score_frame(b_cfg, feats).select("Id", pl.col("band").alias("b"))
    joined = a.join(b, on="Id", how="full", coalesce=True).join(accounts.select("Id", "Name"), on="Id", how="left")
    scored = joined.filter(pl.col("a").is_not_null() | pl.col("b").is_not_null())
    moved = scored.filter(pl.col("a").ne_missing(pl.col("b")))
    return PlaysSection(considered=scored.height, changed=moved.height,
                        transitions=_counts(moved.select("a", "b").iter_rows()),
                        top=[PlayMove(record_id=r[0], name=r[3], old=r[1], new=r[2])
                             for r in moved.select("Id", "a", "b", "Name").head(TOP).iter_rows()])


def _ids(value: Any) -> dict[str, Any]:
    """A config model's items by id, for a file whose changes are listed item by item."""
    out: dict[str, Any] = {}
    dumped = _dump(value)
    if isinstance(dumped, dict):
        for key, items in dumped.items():
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        ident = item.get("id") or item.get("name") or item.get("domain")
                        if ident is not None:
                            out[f"{key} {ident}"] = item
            elif isinstance(items, dict) and key not in ("version",):
                out[key] = items
    return out


def item_changes(old: GtmConfig, new: GtmConfig, keys: Sequence[str]) -> list[str]:
    """What a file's items did: ``+ plays enterprise``, ``- targets acme.com``, ``~ measures usage``."""
    lines: list[str] = []
    for key in keys:
        a, b = old.files.get(key), new.files.get(key)
        if isinstance(a, dict) or isinstance(b, dict):  # a family: one entry per file
            left, right = {k: _dump(v) for k, v in (a or {}).items()}, {k: _dump(v) for k, v in (b or {}).items()}
        else:
            left, right = _ids(a), _ids(b)
        lines += [f"+ {k}" for k in right if k not in left]
        lines += [f"- {k}" for k in left if k not in right]
        lines += [f"~ {k}" for k in left if k in right and left[k] != right[k]]
    return lines


def build_plan(plat: Any, old: GtmConfig, new: GtmConfig, *, old_label: str, new_label: str,
               today: dt.date | None = None, caps: bool = True, only: Sequence[str] | None = None,
               progress: Progress | None = None) -> ChangePlan:
    """The plan of the change from ``old`` to ``new`` over the platform's current data."""
    started = time.perf_counter()
    files = changed_files(old, new)
    wanted = sections_for(files)
    if only:
        wanted = {k: v for k, v in wanted.items() if k in only}
    sections: list[Section] = []
    lead_loops = {k for k in wanted if k in ("route", "qualify", "engage")}
    if lead_loops:
        t0 = time.perf_counter()
        leads = LeadPass(plat, old, new, lead_loops, today=today, caps=caps)
        leads.run(progress)
        took = round(time.perf_counter() - t0, 3)  # one read serves the three sections
        route, qualify, engage = leads.route_section(), leads.qualify_section(), leads.engage_section()
        if route is not None:
            sections.append(Section(
                loop="route", title=TITLES["route"], files=wanted["route"], moves=route.moves,
                considered=route.leads, route=route, seconds=took,
                summary=f"{route.moves:,} of {route.leads:,} leads change rule, action or owner"
                        + (f"; {route.rotation:,} only rotate" if route.rotation else "")))
        if qualify is not None:
            sections.append(Section(
                loop="qualify", title=TITLES["qualify"], files=wanted["qualify"], moves=qualify.changed,
                considered=qualify.leads, qualify=qualify, seconds=took,
                summary=f"{qualify.changed:,} of {qualify.leads:,} leads change band: "
                        f"{qualify.mql_gained:,} MQL gained, {qualify.mql_lost:,} lost"))
        if engage is not None:
            sections.append(Section(
                loop="engage", title=TITLES["engage"], files=wanted["engage"], moves=engage.changed,
                considered=engage.considered, plays=engage, seconds=took,
                summary=f"{engage.changed:,} of {engage.considered:,} open leads would get another play"))
    for loop, loop_files in wanted.items():
        if loop in lead_loops:
            continue
        t0 = time.perf_counter()
        if progress is not None:
            progress(loop, 0)
        section = _other_section(plat, loop, loop_files, old, new, today or dt.datetime.now(dt.UTC).date())
        if section is not None:
            sections.append(section.model_copy(update={"seconds": round(time.perf_counter() - t0, 3)}))
    order = list(SECTION_KEYS)
    sections.sort(key=lambda s: order.index(s.loop))
    unchanged = [TITLES[k] for k in SECTION_KEYS if k not in wanted]
    return ChangePlan(old=old_label, new=new_label, old_version=old.version, new_version=new.version, files=files,
                      sections=sections, unchanged=unchanged, seconds=round(time.perf_counter() - started, 3))


def _other_section(plat: Any, loop: str, files: list[str], old: GtmConfig, new: GtmConfig,
                   today: dt.date) -> Section | None:
    title = TITLES[loop]
    if loop == "deploy":
        deploy = deploy_section(plat, old, new)
        if deploy is None:
            return Section(loop=loop, title=title, files=files, summary="no territory hierarchy on the new side")
        return Section(loop=loop, title=title, files=files, deploy=deploy, moves=deploy.moves,
                       considered=deploy.accounts,
                       summary=f"{deploy.moves:,} of {deploy.accounts:,} accounts move territory; "
                               f"{len(deploy.sync_added)} sync steps added, {len(deploy.sync_dropped)} dropped")
    if loop == "design":
        design = design_section(old, new)
        if design is None:
            return Section(loop=loop, title=title, files=files, summary="no capacity model on either side")
        total = next((r for r in design.rows if r.section == "total" and r.key == "capacity"), None)
        said = f"capacity {total.old or 0:,.0f} -> {total.new or 0:,.0f}" if total else "scenario figures below"
        return Section(loop=loop, title=title, files=files, design=design,
                       summary=f"active scenario {design.old_scenario} -> {design.new_scenario}: {said}")
    if loop == "pursue":
        pursue = pursue_section(plat, old, new)
        if pursue is None:
            return Section(loop=loop, title=title, files=files, summary="no deal plays on either side")
        return Section(loop=loop, title=title, files=files, plays=pursue, moves=pursue.changed,
                       considered=pursue.considered,
                       summary=f"{pursue.changed:,} of {pursue.considered:,} open deals would get another play")
    if loop == "expand":
        expand = expand_section(plat, old, new, today)
        items = item_changes(old, new, ["expand_plays"])
        if expand is None:
            return Section(loop=loop, title=title, files=files, items=items, summary="health config on one side only")
        return Section(loop=loop, title=title, files=files, plays=expand, moves=expand.changed,
                       considered=expand.considered, items=items,
                       summary=f"{expand.changed:,} of {expand.considered:,} customers change health band")
    items = item_changes(old, new, SECTION_KEYS[loop])
    return Section(loop=loop, title=title, files=files, items=items,
                   summary=f"{len(items)} item{'s' if len(items) != 1 else ''} added, removed or changed")


def share(plan: ChangePlan, loop: str | None = None) -> float:
    """Moves as a share of the records considered (a loop's, or all of them)."""
    if loop is None:
        moves, base = plan.moves, plan.considered
    else:
        section = plan.section(loop)
        moves, base = (section.moves, section.considered) if section else (0, 0)
    return moves / base if base else 0.0


LIMIT = re.compile(r"^\s*(?:(?P<loop>[a-z]+)\.)?moves\s*>\s*(?P<n>\d+(?:\.\d+)?)(?P<pct>%)?\s*$")


def parse_limit(text: str) -> tuple[str | None, float, bool]:
    """``moves>N``, ``moves>P%``, ``route.moves>N``: (loop or None, the bound, whether it is a share).

    Raises:
        ValueError: anything else, or an unknown loop.
    """
    m = LIMIT.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not moves>N, moves>P% or LOOP.moves>N")
    loop = m.group("loop")
    if loop is not None and loop not in SECTION_KEYS:
        raise ValueError(f"unknown loop {loop!r} in {text!r}; known: {', '.join(SECTION_KEYS)}")
    return loop, float(m.group("n")), m.group("pct") is not None


def breaches(plan: ChangePlan, limits: Sequence[str]) -> list[str]:
    """The limits (``parse_limit``) a plan goes past, each with what moved."""
    out = []
    for text in limits:
        loop, bound, pct = parse_limit(text)
        section = plan.section(loop) if loop else None
        moves = plan.moves if loop is None else (section.moves if section else 0)
        if pct:
            got = share(plan, loop) * 100
            if got > bound:
                out.append(f"{text.strip()}: {got:.2f}% moved ({moves:,} records)")
        elif moves > bound:
            out.append(f"{text.strip()}: {moves:,} moved")
    return out
