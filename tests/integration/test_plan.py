"""`revloops plan`: a config change reviewed over the current data, one section per loop that changed.

The example org's config is committed in a git repository in ``tmp_path``; each test changes the working tree
and plans it over a small seeded org. What a section says is checked against the per-record paths the live
loops use (scoring each lead, picking each deal's play, matching each account), not against the batch code
that computed it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from revloops.app import Caller, Revloops, app_on
from revloops.bootstrap import Platform
from revloops.config.loader import load_config
from revloops.config.revision import load_config_at
from revloops.core.context import build_context, geo_of
from revloops.core.errors import InputError
from revloops.interfaces.cli.app import app as cli
from revloops.loops.plays import plays_in, read_subject, select
from revloops.loops.qualify.logic import score
from revloops.ports.crm import Query
from tests.integration.conftest import TOKENS
from tests.integration.test_chain_effects import EXAMPLE, seeded_org

OPS = Caller.operator("plan-test")


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The example org seeded (leads, accounts, deals, customers with usage) over a config committed in git."""
    root = tmp_path_factory.mktemp("plan")
    shutil.copytree(EXAMPLE, root / "config")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "the example org")
    mp = pytest.MonkeyPatch()
    mp.setenv("REVLOOPS_API_TOKENS", TOKENS)
    yield seeded_org(root, leads=500, accounts=120, seed=5)
    mp.undo()


@pytest.fixture()
def config(org: Platform) -> Iterator[Path]:
    """The working tree's config directory, put back as committed after each test."""
    root = Path(org.settings.config)
    yield root
    _git(root.parent, "checkout", "-q", "--", "config")
    _git(root.parent, "clean", "-qfd", "config")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _app(org: Platform) -> Revloops:
    return app_on(org)


def test_no_change_plans_nothing_and_lists_every_loop_unchanged(org: Platform, config: Path) -> None:
    plan = _app(org).plan_change(OPS)
    assert (plan.files, plan.sections, plan.problems, plan.moves) == ([], [], [], 0)
    assert "Route" in plan.unchanged and "Qualify" in plan.unchanged
    # a comment changes no model: still nothing to plan
    with (config / "rules.yaml").open("a") as f:
        f.write("# a note for reviewers\n")
    assert _app(org).plan_change(OPS).files == []


def test_a_threshold_change_moves_exactly_the_leads_the_per_record_score_moves(org: Platform, config: Path) -> None:
    _edit(config / "qualify" / "scoring.yaml", "  mql: 60", "  mql: 50")
    plan = _app(org).plan_change(OPS)
    assert [f.file for f in plan.files] == ["qualify/scoring.yaml"]
    assert [s.loop for s in plan.sections] == ["qualify", "engage"]
    section = plan.section("qualify")
    assert section is not None and section.qualify is not None
    q = section.qualify
    old_s, new_s = load_config_at(config, "HEAD").get("scoring"), load_config(config).get("scoring")
    expected: Counter[tuple[str, str]] = Counter()
    leads = list(org.crm.query_all(Query("Lead")))
    for lead in leads:  # the live path: one context, one score per lead, on each side
        ctx = build_context(lead.fields(), score={}, sobject="Lead")
        ctx.update({k: v for k, v in _geo(org, lead).items()})
        a, b = score(ctx, old_s).band, score(ctx, new_s).band
        if a != b:
            expected[(a, b)] += 1
    assert q.leads == len(leads)
    assert {(c.old, c.new): c.count for c in q.bands} == dict(expected)
    assert q.changed == sum(expected.values()) > 0
    assert q.mql_gained == q.changed and q.mql_lost == 0
    assert q.by_rule == {"(thresholds)": q.changed}  # no rule's points moved: the threshold did
    assert all(50 <= m.new_total < 60 and m.old_total == m.new_total for m in q.top)
    assert section.moves == q.changed and plan.moves == q.changed + plan.section("engage").moves  # type: ignore[union-attr]


def _geo(org: Platform, lead: Any) -> dict[str, Any]:
    from revloops.loops.route.flow import route_env

    env = route_env(org)
    ctx = env.context(lead, "Lead")
    return {k: v for k, v in ctx.items() if k.startswith(("geo.", "account.")) or k == "segment"}


def test_a_rule_sent_to_another_pool_moves_its_leads_with_both_owners(org: Platform, config: Path) -> None:
    _edit(config / "rules.yaml", "action: {type: round_robin, pool: na-sdr}", "action: {type: round_robin, pool: smb-ae}")
    plan = _app(org).plan_change(OPS, caps=False)
    section = plan.section("route")
    assert section is not None and section.route is not None
    r = section.route
    assert r.moves > 0 and r.leads == 500
    # without caps nothing but that rule's action changes: every move is that rule's, to the other pool's people
    assert {(c.old, c.new) for c in r.by_rule} == {("mid-market-na", "mid-market-na")}
    pools = {p.id: {m.user for m in p.members} for p in load_config(config).get("pools").pools}
    names = {u.Id: u.Username for u in org.crm.query_all(Query("User"))}
    for move in r.top:
        assert move.reason == "action"
        assert names[move.old_owner] in pools["na-sdr"] and names[move.new_owner] in pools["smb-ae"]
    live = _app(org).resolve_route(OPS, record_id=r.top[0].record_id)  # the live path, on the working tree
    assert live.outcome == r.top[0].new_owner or live.detail.get("rule_id") == "mid-market-na"


def test_a_state_moved_between_territories_moves_exactly_its_accounts(org: Platform, config: Path) -> None:
    path = config / "deploy" / "match_rules.yaml"
    lines = path.read_text().splitlines()
    assert "US-CO," in lines[4] and "US-TX, " in lines[5]
    lines[4], lines[5] = lines[4].replace(" US-CO,", ""), lines[5].replace("US-TX, ", "US-TX, US-CO, ")
    path.write_text("\n".join(lines) + "\n")
    plan = _app(org).plan_change(OPS, only=["deploy"])
    section = plan.section("deploy")
    assert section is not None and section.deploy is not None
    d = section.deploy
    # the accounts whose address reads as Colorado, by the live path's geography
    colorado = {a.Id for a in org.crm.query_all(Query("Account"))
                if geo_of(a.fields(), "Account").get("geo.region") == "US-CO"}
    assert colorado, "the seeded org has no Colorado account: nothing was tested"
    assert {m.account_id for m in d.top} == colorado and d.moves == len(colorado)
    assert {(c.old, c.new) for c in d.by_territory} <= {("NA_West", "NA_Central")}
    assert d.sync_added == [] and d.sync_dropped == []  # the hierarchy did not change


def test_deal_play_and_health_changes_name_the_records_the_live_selection_moves(org: Platform, config: Path) -> None:
    _edit(config / "pursue" / "deal_plays.yaml", "        - Amount: {gte: 100000}", "        - Amount: {gte: 20000}")
    _edit(config / "expand" / "health.yaml", "  - {name: green, min: 70}", "  - {name: green, min: 55}")
    plan = _app(org).plan_change(OPS)
    assert {s.loop for s in plan.sections} == {"pursue", "expand"}
    pursue = plan.section("pursue")
    assert pursue is not None and pursue.plays is not None
    old, new = load_config_at(config, "HEAD"), load_config(config)
    expected = {}
    for opp in org.crm.query_all(Query("Opportunity")):
        if opp.IsClosed:
            continue
        ctx = read_subject(org, "Opportunity", str(opp.Id)).ctx
        a, b = select(plays_in(old, "pursue"), ctx).play, select(plays_in(new, "pursue"), ctx).play
        if (a and a.id) != (b and b.id):
            expected[str(opp.Id)] = (a.id if a else None, b.id if b else None)
    assert pursue.plays.changed == len(expected) > 0
    assert {m.record_id: (m.old, m.new) for m in pursue.plays.top} == dict(list(expected.items())[:len(pursue.plays.top)]) \
        or all(expected[m.record_id] == (m.old, m.new) for m in pursue.plays.top)
    expand = plan.section("expand")
    assert expand is not None and expand.plays is not None
    assert expand.plays.changed > 0
    assert {(c.old, c.new) for c in expand.plays.transitions} <= {("yellow", "green")}
    health = _app(org).expand_account_health(OPS, expand.plays.top[0].record_id)
    assert health.score is not None and 55 <= health.score < 70


def test_design_and_config_only_sections(org: Platform, config: Path) -> None:
    _edit(config / "design" / "capacity_config.yaml", "active_scenario: base", "active_scenario: aggressive_hiring")
    with (config / "generate" / "targets.yaml").open("a") as f:
        f.write("  - {name: Planned Co, domain: planned.example, priority: 3}\n")
    plan = _app(org).plan_change(OPS)
    design = plan.section("design")
    assert design is not None and design.design is not None
    assert (design.design.old_scenario, design.design.new_scenario) == ("base", "aggressive_hiring")
    capacity = next(r for r in design.design.rows if (r.section, r.key) == ("total", "capacity"))
    assert capacity.new is not None and capacity.old is not None and capacity.new > capacity.old
    targets = plan.section("generate")
    assert targets is not None and targets.items == ["+ targets Planned Co"]


def test_problems_on_either_side_are_named_at_their_line_and_plan_nothing(org: Platform, config: Path) -> None:
    _edit(config / "rules.yaml", "    priority: 5\n", "    priority: [5\n")
    plan = _app(org).plan_change(OPS)
    assert plan.sections == [] and plan.problems
    assert plan.problems[0].startswith("working tree: ") and "rules.yaml:" in plan.problems[0]
    result = CliRunner().invoke(cli, ["plan", "--config", str(config), "--db", org.settings.db])
    assert result.exit_code == 1, result.output
    assert "rules.yaml:" in result.output


def test_bad_input_is_named(org: Platform, config: Path) -> None:
    app = _app(org)
    with pytest.raises(InputError) as bad:
        app.plan_change(OPS, fail_on=["moves>>3"])
    assert bad.value.field == "fail_on.0"
    with pytest.raises(InputError) as unknown:
        app.plan_change(OPS, only=["routing"])
    assert unknown.value.field == "only"
    with pytest.raises(InputError) as rev:
        app.plan_change(OPS, against="no-such-branch")
    assert rev.value.field == "against"


def test_the_cli_renders_markdown_json_and_the_limits(org: Platform, config: Path) -> None:
    _edit(config / "qualify" / "scoring.yaml", "  mql: 60", "  mql: 50")
    args = ["plan", "--config", str(config), "--db", org.settings.db]
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    moved = body["sections"][0]["qualify"]["changed"]
    assert body["moves"] >= moved > 0 and body["sections"][0]["loop"] == "qualify"
    md = CliRunner().invoke(cli, [*args, "--markdown"])
    assert md.exit_code == 0
    assert md.stdout.startswith("### revloops plan:") and "#### Qualify" in md.stdout
    first = body["sections"][0]["qualify"]["top"][0]["lead_id"]
    assert first in md.stdout and "<details>" in md.stdout
    over = CliRunner().invoke(cli, [*args, "--fail-on", "qualify.moves>0", "--fail-on", "moves>99%"])
    assert over.exit_code == 3, over.output
    assert "qualify.moves>0" in over.output and "moves>99%" not in over.output.split("over the limit")[-1]
    under = CliRunner().invoke(cli, [*args, "--fail-on", f"moves>{body['moves']}"])
    assert under.exit_code == 0, under.output


def test_the_api_and_the_action_give_the_same_plan(org: Platform, config: Path) -> None:
    from revloops.interfaces.api.app import create_app

    _edit(config / "qualify" / "scoring.yaml", "  mql: 60", "  mql: 50")
    expected = _app(org).plan_change(OPS).model_dump(mode="json", exclude={"seconds"})
    with TestClient(create_app(_app(org))) as client:
        headers = {"Authorization": "Bearer ops-token"}
        got = client.post("/api/plan", json={"against": "HEAD"}, headers=headers)
        assert got.status_code == 200, got.text
        body = got.json()
        body.pop("seconds")
        for s in body["sections"]:
            s.pop("seconds")
        for s in expected["sections"]:
            s.pop("seconds")
        assert body == expected
        bad = client.post("/api/plan", json={"fail_on": ["nope"]}, headers=headers)
        assert bad.status_code == 422 and "fail_on" in bad.text
    ran = CliRunner().invoke(cli, ["plan", "--config", str(config), "--db", org.settings.db, "--json"])
    assert ran.exit_code == 0, ran.output
    twin = json.loads(ran.stdout)
    twin.pop("seconds")
    for s in twin["sections"]:
        s.pop("seconds")
    assert twin == body



@pytest.mark.parametrize("change", ["plays and points", "points alone"])
def test_a_play_change_moves_exactly_the_open_leads_the_per_record_selection_moves(org: Platform, config: Path,
                                                                                    change: str) -> None:
    # event leads now get the mid-market play first (or not), and VP titles score more: each side's plays are
    # picked on its own scores (the score bands of plays.yaml read the total)
    # on both sides, mid-market leads get their play only on a high score: a scoring change alone moves plays
    _edit(config / "engage" / "plays.yaml", "    when: {segment: {eq: mid_market}}",
          "    when: {all: [{segment: {eq: mid_market}}, {score.band: {in: [A, B]}}]}")
    _git(config.parent, "commit", "-qam", "mid-market play on high scores")
    try:
        if change == "plays and points":
            _edit(config / "engage" / "plays.yaml", "    priority: 30\n", "    priority: 55\n")
        _edit(config / "qualify" / "scoring.yaml", "    points: 20\n    reason: VP-level buyer",
              "    points: 45\n    reason: VP-level buyer")
        _check_engage(org, config)
    finally:
        _git(config.parent, "reset", "-q", "--hard", "HEAD~1")


def _check_engage(org: Platform, config: Path) -> None:
    from revloops.loops.engage.logic import engage_context, select_play
    from revloops.loops.route.flow import route_env

    plan = _app(org).plan_change(OPS, only=["engage"])
    section = plan.section("engage")
    assert section is not None and section.plays is not None
    old, new = load_config_at(config, "HEAD"), load_config(config)
    env = route_env(org)
    expected: dict[str, tuple[str | None, str | None]] = {}
    considered = 0
    for lead in org.crm.query_all(Query("Lead")):
        if lead.IsConverted or str(lead.Status or "").startswith("Closed"):
            continue
        considered += 1
        ctx = env.context(lead, "Lead")
        picks = []
        for cfg in (old, new):
            total = score(ctx, cfg.get("scoring")).total
            chosen = select_play(cfg.get("plays"), engage_context({**ctx, "score.total": total}, cfg.get("plays")))
            picks.append(chosen.play.id if chosen.play else None)
        if picks[0] != picks[1]:
            expected[str(lead.Id)] = (picks[0], picks[1])
    p = section.plays
    assert p.considered == considered and p.changed == len(expected) > 0
    assert all(expected[m.record_id] == (m.old, m.new) for m in p.top)
    assert {(c.old, c.new): c.count for c in p.transitions} == dict(Counter(expected.values()))
