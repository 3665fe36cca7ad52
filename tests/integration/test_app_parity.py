"""One action, two interfaces: the CLI's ``--json`` and the API answer the same input with the same fields.

Both call the same application-layer method; a difference here means an interface composes logic of its own.
Fields that differ by nature between two calls (a dry run's fresh decision id and time, who asked) are set
aside by each case's projection.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from revloops.app import Caller, app_on
from revloops.app.retention import PlanResult
from revloops.bootstrap import Platform
from revloops.interfaces.api.app import create_app
from revloops.interfaces.cli.app import app as cli
from revloops.loops.generate.seed import AS_OF
from revloops.ports.crm import Filter, Query

OPS = {"Authorization": "Bearer ops-token"}
NEWS = Path(__file__).resolve().parents[2] / "examples" / "acme" / "signals"
#: the target the fixture scans (the shipped news corpus has reports of it in the weeks before AS_OF)
SCANNED = "tamarindrobotics.example"
Project = Callable[[Any], Any]


def _same(x: Any) -> Any:
    return x


def _undated(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("id", "created_at", "actor")}


def _not_due(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A target's ``next_due`` is counted from the moment of the call."""
    return [{k: v for k, v in r.items() if k != "next_due"} for r in rows]


@pytest.fixture(scope="module")
def client(acme: Platform) -> TestClient:
    return TestClient(create_app(app_on(acme)))


@pytest.fixture(scope="module")
def ids(acme: Platform, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A routed lead (its decision stored), the territory model synced, a record for the score case, and the
    retention and signal records the later loops' cases read, each left where a second call answers as the
    first (so the writes a case repeats change nothing)."""
    lead = acme.crm.find_one(Query("Lead", (Filter("Country", "ne", None),)))
    assert lead is not None and lead.Id
    # before the first routing call: the API's routing snapshot (accounts, refreshed each minute) then holds
    # the accounts the conversions make, as the CLI's fresh one does
    later = {**_retention(acme, besides=lead.Id), **_signals(acme)}
    app, me = app_on(acme), Caller.operator("test")
    decision = app.resolve_route(me, record_id=lead.Id, dry_run=False)
    app.sync_territories(me, dry_run=False)  # coverage needs the territory model in the CRM
    later.update(_warehouse(acme))  # last: every loop's records are in
    folder = tmp_path_factory.mktemp("records")
    record = {"LastName": "Ng", "Company": "Bluepeak", "Email": "ng@bluepeak.example", "Title": "VP Sales",
              "Country": "Germany", "NumberOfEmployees": 800}
    (folder / "lead.json").write_text(json.dumps(record))
    return {"lead": lead.Id, "decision": decision.id, "record_file": str(folder / "lead.json"),
            "record": json.dumps(record), "as_of": AS_OF.isoformat(), **later}


def _retention(acme: Platform, *, besides: str) -> dict[str, str]:
    """An open deal with its play started, a task of it completed (complete again: no change) and one
    reopened (reopen again: no change); a won deal onboarded; a customer; health written as of AS_OF (the
    write again: no change)."""
    app, me = app_on(acme), Caller.operator("test")
    unconverted = Query("Lead", (Filter("IsConverted", "eq", False), Filter("Id", "ne", besides)))
    deal, won = (app.convert_lead(me, str(x.Id)) for x in acme.crm.query(unconverted, page_size=2).records)
    plan = app.pursue_start(me, deal.opportunity_id)
    assert isinstance(plan, PlanResult) and plan.milestones[0].task_id
    done = plan.milestones[0].task_id
    after = app.complete_task(me, done)
    [reopened] = [m.task_id for m in after.milestones if m.status == "open" and m.task_id]
    app.complete_task(me, reopened)
    app.reopen_task(me, reopened)
    app.set_stage(me, won.opportunity_id, "Closed Won")
    assert isinstance(app.onboard_start(me, won.opportunity_id), PlanResult)
    [customer] = app.expand_health(me, as_of=AS_OF, limit=1).page.items
    app.write_health(me, as_of=AS_OF, dry_run=False)
    return {"opportunity": deal.opportunity_id, "task_done": done, "task_reopened": reopened,
            "onboarded": won.account_id, "customer": customer.account_id}


def _signals(acme: Platform) -> dict[str, str]:
    """The shipped news corpus beside the config, and one target scanned on AS_OF: a signal in the ledger,
    a scan in the metrics, a score."""
    shutil.copytree(NEWS, Path(acme.settings.config).parent / "signals")
    scanned = app_on(acme).run_ticks(Caller.operator("test"), start=dt.datetime.combine(AS_OF, dt.time(12), dt.UTC),
                                     domain=SCANNED)
    assert scanned.new_signals, scanned
    return {"domain": SCANNED}


def _warehouse(acme: Platform) -> dict[str, str]:
    """The warehouse loaded as of AS_OF (after the other loops' records exist), and a manager for the digest."""
    acme.settings.warehouse_as_of = AS_OF
    app_on(acme).refresh_warehouse(Caller.operator("test"), full=True)
    users = list(acme.crm.query_all(Query("User")))
    managers = {u.ManagerId for u in users if u.ManagerId}
    manager = next(u for u in users if u.Id in managers)
    return {"manager": str(manager.Username), "metric": "win_rate_by_count"}


def _refreshed(d: dict[str, Any]) -> dict[str, Any]:
    """A refresh's answer without what depends on what happened since the one before it: its times, the rows
    read again at its marks, and whether the facts had changes to catch up with (the cases before this one
    write to the CRM: the first of the two refreshes catches up, the second finds nothing)."""
    loads = [{k: v for k, v in load.items() if k not in ("seconds", "watermark", "read")} for load in d["loads"]]
    return {k: v for k, v in d.items() if k not in ("seconds", "read", "loads", "facts")} | {"loads": loads}


def _timeless(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "elapsed_ms"}


# (name, CLI arguments, HTTP method, path, JSON body, projection of the CLI answer, projection of the API's)
CASES: list[tuple[str, list[str], str, str, Any, Project, Project]] = [
    ("validate", ["validate"], "POST", "/api/config/validate", None, _same, _same),
    ("loops", ["loops"], "GET", "/api/loops", None, _same, _same),
    ("test", ["test"], "POST", "/api/config/test", None, _same, _same),
    ("test a kind", ["test", "--kind", "score"], "POST", "/api/config/test?kind=score", None, _same, _same),
    ("test routing", ["test", "--kind", "route"], "POST", "/api/loops/route/test", None, _same, _same),
    ("explain a decision", ["explain", "{decision}"], "GET", "/api/decisions/{decision}", None, _same, _same),
    ("explain a record", ["explain", "{lead}"], "GET", "/api/explain/{lead}", None, _same, _same),
    ("resolve by id", ["route", "resolve", "--id", "{lead}"], "POST", "/api/loops/route/resolve",
     {"record_id": "{lead}"}, _undated, _undated),
    ("preview the CRM", ["route", "preview", "--from-crm"], "POST", "/api/loops/route/preview",
     {"from_crm": True}, _same, _same),
    ("score a record", ["qualify", "score", "--record", "{record_file}", "--no-enrich"], "POST",
     "/api/loops/qualify/score", {"record": "{record}", "enrich": False}, _same, _same),
    ("design run", ["design", "run", "base", "--draws", "200"], "GET", "/api/loops/design/scenarios/base/run?draws=200",
     None, _same, lambda api: {**api["run"], "chart": api["chart"]}),
    ("design validate", ["design", "validate"], "POST", "/api/loops/design/validate", None, _same, _same),
    ("territory plan", ["territories", "sync"], "POST", "/api/loops/deploy/sync", None, _same, _same),
    ("assignment plan", ["territories", "assign"], "POST", "/api/loops/deploy/assign", None, _same, _same),
    ("pending", ["territories", "pending"], "GET", "/api/loops/deploy/pending", None, _same, _same),
    ("coverage", ["territories", "coverage"], "GET", "/api/loops/deploy/coverage", None, _same, _same),
    ("crm check", ["crm", "check"], "GET", "/api/crm/check", None, _same, _same),
    ("events", ["crm", "events"], "GET", "/api/crm/events", None, _same, _same),
    # Pursue, Onboard, Expand and the milestone tasks
    ("deal plays", ["pursue", "plays"], "GET", "/api/loops/pursue/plays", None, _same, _same),
    # the play was started by the fixture: a start again answers the plan as it stands, the same to both
    ("pursue start", ["pursue", "start", "{opportunity}"], "POST", "/api/loops/pursue/{opportunity}/start", None,
     _same, _same),
    ("plans", ["pursue", "show", "{opportunity}"], "GET", "/api/loops/plans/{opportunity}", None, _same, _same),
    ("pipeline", ["pursue", "pipeline"], "GET", "/api/loops/pursue/pipeline", None, _same, _same),
    ("onboarding", ["onboard", "status", "{onboarded}"], "GET", "/api/loops/onboard/{onboarded}", None, _same, _same),
    ("health", ["expand", "health", "--as-of", "{as_of}", "--limit", "20"], "GET",
     "/api/loops/expand/health?as_of={as_of}&limit=20", None, _same, _same),
    ("account health", ["expand", "health", "{customer}", "--as-of", "{as_of}"], "GET",
     "/api/loops/expand/health/{customer}?as_of={as_of}", None, _same, _same),
    # the fixture wrote health as of AS_OF: writing it again changes nothing, on either side
    ("write health", ["expand", "health", "--apply", "--as-of", "{as_of}"], "POST",
     "/api/loops/expand/health?as_of={as_of}&dry_run=false", None, _same, _same),
    ("backtest", ["expand", "backtest", "--as-of", "{as_of}"], "GET", "/api/loops/expand/backtest?as_of={as_of}",
     None, _same, _same),
    ("renewals", ["expand", "renewals", "--as-of", "{as_of}"], "POST", "/api/loops/expand/renewals?as_of={as_of}",
     None, _same, _same),
    ("expand plays", ["expand", "plays", "--as-of", "{as_of}"], "POST", "/api/loops/expand/plays?as_of={as_of}",
     None, _same, _same),
    ("my tasks", ["tasks", "mine"], "GET", "/api/loops/tasks", None, _same, _same),
    # completed, and reopened, by the fixture already: doing it again moves nothing
    ("complete a task", ["tasks", "complete", "{task_done}"], "POST", "/api/loops/tasks/{task_done}/complete", None,
     _same, _same),
    ("reopen a task", ["tasks", "reopen", "{task_reopened}"], "POST", "/api/loops/tasks/{task_reopened}/reopen",
     None, _same, _same),
    # Generate's outbound signals
    ("signals", ["generate", "signals"], "GET", "/api/loops/generate/signals", None, _same, _same),
    ("targets", ["generate", "targets"], "GET", "/api/loops/generate/targets", None, _not_due, _not_due),
    ("target score", ["generate", "score", "{domain}"], "GET", "/api/loops/generate/targets/{domain}/score", None,
     _same, _same),
    ("add a target", ["generate", "targets", "add", "newco.example", "--name", "Newco", "--priority", "2"], "POST",
     "/api/loops/generate/targets", {"name": "Newco", "domain": "newco.example", "priority": 2}, _same, _same),
    ("remove a target", ["generate", "targets", "remove", "{domain}"], "DELETE", "/api/loops/generate/targets/{domain}",
     None, _same, _same),
    ("scan budget", ["generate", "budget"], "GET", "/api/loops/generate/budget", None, _same, _same),
    ("signal metrics", ["generate", "metrics"], "GET", "/api/loops/generate/metrics", None, _same, _same),
    # the warehouse (loaded by the fixture as of AS_OF), its metrics and Coach
    ("warehouse refresh", ["warehouse", "refresh"], "POST", "/api/warehouse/refresh", None, _refreshed, _refreshed),
    ("warehouse tables", ["warehouse", "tables"], "GET", "/api/warehouse/tables", None, _same, _same),
    ("sql", ["sql", "SELECT count(*) AS n FROM crm_lead"], "POST", "/api/warehouse/sql",
     {"sql": "SELECT count(*) AS n FROM crm_lead"}, _timeless, _timeless),
    ("metrics", ["metrics", "list"], "GET", "/api/metrics", None, _same, _same),
    ("a metric", ["metrics", "show", "{metric}", "--grain", "quarter", "--by", "segment"], "GET",
     "/api/metrics/{metric}?grain=quarter&by=segment", None, _same, _same),
    ("funnel", ["metrics", "funnel", "--by", "source", "--grain", "none"], "GET",
     "/api/reports/funnel?by=source&grain=none", None, _same, _same),
    ("coach team", ["coach", "team"], "GET", "/api/coach/team", None, _same, _same),
    ("coach insights", ["coach", "insights"], "GET", "/api/coach/insights", None, _same, _same),
    ("coach digest", ["coach", "digest", "--manager", "{manager}"], "GET", "/api/coach/digest?manager={manager}", None,
     _same, _same),
    ("coach suggest", ["coach", "suggest"], "POST", "/api/coach/suggest", None, _same, _same),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        text = value.format(**ids)
        return json.loads(text) if value == "{record}" else text
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name, args, method, path, body, cli_view, api_view", CASES, ids=[c[0] for c in CASES])
def test_the_cli_and_the_api_answer_alike(acme: Platform, client: TestClient, ids: dict[str, str], name: str,
                                          args: list[str], method: str, path: str, body: Any, cli_view: Project,
                                          api_view: Project) -> None:
    argv = [_fill(a, ids) for a in args] + ["--json", "--config", str(acme.settings.config),
                                            "--db", acme.settings.db_url]
    ran = CliRunner().invoke(cli, argv, env={"REVLOOPS_EVENTS_SECRET": "test-secret",  # the fixture's settings
                                             "REVLOOPS_WAREHOUSE": str(acme.settings.warehouse_path),
                                             "REVLOOPS_WAREHOUSE_AS_OF": AS_OF.isoformat()})
    assert ran.exit_code == 0, ran.output
    resp = client.request(method, _fill(path, ids), json=_fill(body, ids), headers=OPS)
    assert resp.status_code == 200, resp.text
    assert cli_view(json.loads(ran.output)) == api_view(resp.json())


def _shape(path: str) -> str:
    """A path with each parameter's name set aside (``/api/loops/plans/{}``), the scenario named as the cases do."""
    return re.sub(r"\{\w+\}", "{}", path.split("?")[0].replace("{scenario}", "base"))


def test_every_api_action_is_checked_here(client: TestClient) -> None:
    """A new endpoint with a CLI twin belongs in CASES (each method of a path); this lists the ones that have
    none on purpose (a path: all its methods; ``path:METHOD``: that one)."""
    no_cli_twin = {"/health", "/api/crm/events:POST", "/api/records/{record_id}/decisions", "/api/leads",
                   "/api/crm/poll", "/api/loops/design/scenarios", "/api/loops/design/compare",
                   "/api/loops/design/explain", "/api/loops/design/scenarios/{scenario}/promote",
                   "/api/loops/deploy/pending/{account_id}", "/api/workflows", "/api/workflows/{workflow_id}/retry",
                   "/api/report",  # the report's CLI twin writes a file
                   "/api/plan"}  # needs the config in git: its CLI twin is checked in test_plan.py
    covered = {(_shape(p), method) for _, _, method, p, _, _, _ in CASES}
    routes = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    unchecked = set()
    for path, methods in routes.items():
        for method in (m.upper() for m in methods):
            if path in no_cli_twin or f"{path}:{method}" in no_cli_twin or (_shape(path), method) in covered:
                continue
            unchecked.add(f"{path}:{method}")
    assert unchecked == set(), f"add a CLI/API parity case for {sorted(unchecked)}"


@pytest.mark.parametrize("scenario", ["base"])
def test_design_run_defaults_agree(acme: Platform, client: TestClient, scenario: str) -> None:
    """The CLI and the API default to the same draws and seed (so the same question gets the same figures)."""
    ran = CliRunner().invoke(cli, ["design", "run", scenario, "--json", "--config", str(acme.settings.config)])
    assert ran.exit_code == 0, ran.output
    api = client.get(f"/api/loops/design/scenarios/{scenario}/run", headers=OPS).json()
    assert json.loads(ran.output)["monte_carlo"] == api["run"]["monte_carlo"]
