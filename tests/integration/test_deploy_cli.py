"""``revloops territories`` end to end through the CLI: sync, assign, pending, resolve, coverage, --against.

The module shares one seeded copy of the example org (``acme``); the fixtures build on each other (the
hierarchy synced, then the accounts assigned) so each test can also run alone. Expected figures are worked
out from the example config's YAML and from the CRM's raw records, never from the Deploy code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner, Result

from revloops.bootstrap import Platform
from revloops.core.records import Account
from revloops.interfaces.cli.app import app as cli
from revloops.ports.crm import Query
from revloops.testing.fake_salesforce import FakeSalesforce
from revloops.testing.servers import serve

WIDE = {"COLUMNS": "220"}  # rich tables wrap at 80 columns otherwise, cutting ids and states
#: seeded countries by the territory the example match rules give them (US states spread over three)
BY_COUNTRY = {
    "United Kingdom": "EMEA_UKI", "France": "EMEA_France", "Canada": "NA_Canada", "CAN": "NA_Canada",
    "Australia": "APAC_ANZ", "New Zealand": "APAC_ANZ", "Germany": "EMEA_DACH", "Austria": "EMEA_DACH",
    "Switzerland": "EMEA_DACH", "Singapore": "APAC_SEA", "Japan": "APAC_Japan", "Norway": "EMEA_Nordics",
    "Sweden": "EMEA_Nordics", "SE": "EMEA_Nordics", "Danmark": "EMEA_Nordics", "Denmark": "EMEA_Nordics",
    "Finland": "EMEA_Nordics",
}
US_NAMES = {"United States", "U.S.", "US", "USA", "America"}
#: accounts no rule can place on its own: no rule for Brazil; Germany with a US state; Georgia (state or country)
AWKWARD = {
    "Paulista Software": ({"BillingCountry": "Brazil"}, "pending:no_match"),
    "Mixed Signals GmbH": ({"BillingCountry": "Germany", "BillingState": "CA"}, "pending:ambiguous_geo"),
    "Peach State Freight": ({"BillingState": "Georgia"}, "pending:ambiguous_geo"),
}


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def run(acme: Platform, *args: str, config: Path | None = None, env: Mapping[str, str] | None = None) -> Result:
    """One CLI command against the module's org (or another config directory)."""
    where = ["--config", str(config or acme.settings.config), "--db", acme.settings.db_url]
    return CliRunner().invoke(cli, [*args, *where], env={**WIDE, **(env or {})})


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output + str(result.exception or "")
    return result


def _records(acme: Platform, sobject: str) -> list[Any]:
    return list(acme.crm.query_all(Query(sobject)))


def _associations(acme: Platform) -> dict[str, list[tuple[str, str]]]:
    """Account id -> [(territory developer name, cause)] as the CRM holds them."""
    names = {t.Id: t.DeveloperName for t in _records(acme, "Territory2")}
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a in _records(acme, "ObjectTerritory2Association"):
        out[a.ObjectId].append((names[a.Territory2Id], a.AssociationCause))
    return out


@pytest.fixture(scope="module")
def awkward(acme: Platform) -> dict[str, str]:
    """The awkward accounts, created in the org: name -> id."""
    return {name: acme.crm.create(Account(Name=name, **fields)) for name, (fields, _) in AWKWARD.items()}


@pytest.fixture(scope="module")
def synced(acme: Platform) -> dict[str, Result]:
    """The hierarchy planned, applied and planned again."""
    return {"plan": _ok(run(acme, "territories", "sync")), "apply": _ok(run(acme, "territories", "sync", "--apply")),
            "again": _ok(run(acme, "territories", "sync")),
            "again_json": _ok(run(acme, "territories", "sync", "--refresh", "--json"))}


@pytest.fixture(scope="module")
def assigned(acme: Platform, synced: dict[str, Result], awkward: dict[str, str]) -> Result:
    """Every account assigned (applied) once the hierarchy is in the CRM."""
    return _ok(run(acme, "territories", "assign", "--apply"))


def test_sync_plans_the_example_hierarchy_applies_it_and_then_has_nothing_to_do(
        acme: Platform, synced: dict[str, Result]) -> None:
    config = Path(acme.settings.config)
    tree = _yaml(config / "design" / "territories.yaml")
    people = _yaml(config / "deploy" / "assignments.yaml")["assignments"]
    wanted = 1 + len(tree["types"]) + len(tree["territories"]) + len(people)
    plan = synced["plan"].output
    assert f"Plan: {wanted} to create, 0 to update, 0 to delete." in plan
    assert f"+ Territory2Model {tree['model']['developer_name']}" in plan
    for t in tree["territories"]:
        assert f"+ Territory2 {t['developer_name']} " in plan
    assert f"Applied: {wanted} succeeded, 0 failed." in synced["apply"].output
    crm_terrs = {t.Id: t for t in _records(acme, "Territory2")}
    parent_of = {t.DeveloperName: crm_terrs[t.ParentTerritory2Id].DeveloperName if t.ParentTerritory2Id else None
                 for t in crm_terrs.values()}
    assert parent_of == {t["developer_name"]: t.get("parent") for t in tree["territories"]}
    usernames = {u.Id: u.Username.lower() for u in _records(acme, "User")}
    held = {(usernames[a.UserId], crm_terrs[a.Territory2Id].DeveloperName, a.RoleInTerritory2)
            for a in _records(acme, "UserTerritory2Association")}
    assert held == {(p["user"].lower(), p["territory"], p["role"]) for p in people}
    assert "No changes" in synced["again"].output and "Plan:" not in synced["again"].output
    full = json.loads(synced["again_json"].output)  # --refresh: read every record, not the watermark
    assert full["changes"] == [] and not full["fast"]


def test_assign_apply_writes_associations_and_status(acme: Platform, assigned: Result,
                                                      awkward: dict[str, str]) -> None:
    assoc = _associations(acme)
    for account in _records(acme, "Account"):
        placed = assoc.get(account.Id, [])
        if account.Name in AWKWARD:
            assert placed == [] and account.Territory_Status__c == AWKWARD[account.Name][1], account.Name
            continue
        assert len(placed) == 1 and account.Territory_Status__c == "assigned", (account.Name, placed)
        (territory, cause), country = placed[0], account.BillingCountry
        assert cause == "Territory2AssignmentRule"
        if country in US_NAMES:
            assert territory in {"NA_West", "NA_Central", "NA_East"}, (account.Name, account.BillingState)
        else:
            assert territory == BY_COUNTRY[country], (account.Name, country)
    rows = sum(len(v) for v in assoc.values())
    assert f"Applied: {rows} associations created, 0 deleted" in assigned.output
    again = json.loads(_ok(run(acme, "territories", "assign", "--json")).output)
    assert (again["creates"], again["deletes"], again["status_updates"]) == (0, 0, 0)


def test_pending_lists_the_awkward_accounts_with_their_evidence(acme: Platform, assigned: Result,
                                                                 awkward: dict[str, str]) -> None:
    # the resolve test may already have settled Mixed Signals; whatever is still pending must be listed
    still = {a.Id: a for a in _records(acme, "Account") if (a.Territory_Status__c or "").startswith("pending:")}
    assert set(still) <= set(awkward.values()) and awkward["Paulista Software"] in still
    found = {p["account_id"]: p for p in json.loads(_ok(run(acme, "territories", "pending", "--json")).output)}
    assert set(found) == set(still)
    for name, account_id in awkward.items():
        if account_id in found:
            assert found[account_id]["status"] == AWKWARD[name][1] and found[account_id]["name"] == name
    assert found[awkward["Paulista Software"]]["evidence"]["rule_id"] == "unmatched"
    georgia = found[awkward["Peach State Freight"]]["evidence"]
    assert georgia["address"] == {"BillingState": "Georgia"}
    assert any("GE" in line and "US" in line for line in georgia["resolution"]["evidence"])
    text = _ok(run(acme, "territories", "pending")).output
    assert f"{len(still)} accounts pending review" in text
    assert "Paulista Software" in text and "no territory rule holds (only unmatched)" in text
    assert "Peach State Freight" in text and "pending:ambiguous_geo" in text


def test_resolve_logs_who_and_why_and_the_account_leaves_the_queue(acme: Platform, assigned: Result,
                                                                   awkward: dict[str, str]) -> None:
    account = awkward["Mixed Signals GmbH"]
    why = "HQ is in Munich; the CA in the state field is a typo"
    out = _ok(run(acme, "territories", "resolve", account, "--territory", "EMEA_DACH", "--reason", why,
                  "--by", "ops@acme.example"))
    assert "EMEA_DACH" in out.output
    explained = json.loads(_ok(run(acme, "explain", account, "--json")).output)
    latest = explained[0] if isinstance(explained, list) else explained
    assert latest["loop"] == "deploy" and latest["outcome"] == "EMEA_DACH"
    assert latest["actor"] == "ops@acme.example" and latest["detail"]["review"]["why"] == why
    assert why in latest["explanation"]
    pending = json.loads(_ok(run(acme, "territories", "pending", "--json")).output)
    assert account not in {p["account_id"] for p in pending}
    assert _associations(acme)[account] == [("EMEA_DACH", "Territory2Manual")]
    assert acme.crm.get("Account", account).Territory_Status__c == "manual"  # type: ignore[attr-defined]
    # a later assignment run keeps the manual choice, and the review stays on the account
    plan = json.loads(_ok(run(acme, "territories", "assign", "--json")).output)
    assert (plan["creates"], plan["deletes"], plan["status_updates"]) == (0, 0, 0)
    _ok(run(acme, "territories", "assign", "--apply"))
    kept = json.loads(acme.crm.get("Account", account).Territory_Evidence__c)  # type: ignore[attr-defined]
    assert kept["review"]["why"] == why and kept["review"]["decided_by"] == "ops@acme.example"
    assert _associations(acme)[account] == [("EMEA_DACH", "Territory2Manual")]
    again = run(acme, "territories", "resolve", account, "--territory", "EMEA_UKI")
    assert again.exit_code == 1 and "not pending" in again.output


def test_coverage_json_agrees_with_the_crm(acme: Platform, assigned: Result) -> None:
    cov = json.loads(_ok(run(acme, "territories", "coverage", "--json")).output)
    terrs = {t.Id: t for t in _records(acme, "Territory2")}
    parent = {t.DeveloperName: terrs[t.ParentTerritory2Id].DeveloperName if t.ParentTerritory2Id else None
              for t in terrs.values()}
    direct: dict[str, set[str]] = defaultdict(set)
    for a in _records(acme, "ObjectTerritory2Association"):
        direct[terrs[a.Territory2Id].DeveloperName].add(a.ObjectId)
    open_amount: dict[str, float] = defaultdict(float)
    for o in _records(acme, "Opportunity"):
        if not o.IsClosed and o.AccountId:
            open_amount[o.AccountId] += o.Amount or 0.0

    def under(name: str) -> set[str]:
        return direct[name].union(*(under(child) for child, p in parent.items() if p == name))

    users = {u.Id: u for u in _records(acme, "User")}
    people: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for a in _records(acme, "UserTerritory2Association"):
        u = users[a.UserId]
        people[terrs[a.Territory2Id].DeveloperName][a.RoleInTerritory2].append(u.Name or f"{u.FirstName} {u.LastName}")
    got = {t["territory"]: t for t in cov["territories"]}
    assert set(got) == set(parent)
    for name, row in got.items():
        assert row["accounts"] == len(direct[name]) and row["accounts_rolled_up"] == len(under(name)), name
        assert row["open_pipeline"] == pytest.approx(sum(open_amount[a] for a in direct[name]))
        assert row["open_pipeline_rolled_up"] == pytest.approx(sum(open_amount[a] for a in under(name)))
        assert {r: sorted(n) for r, n in row["users"].items()} == {r: sorted(n) for r, n in people[name].items()}
    accounts = _records(acme, "Account")
    covered = set().union(*direct.values())
    loose = [a for a in accounts if a.Id not in covered]
    assert (cov["accounts"], cov["unassigned"]) == (len(accounts), len(loose))
    by_status: dict[str, int] = defaultdict(int)
    for a in loose:
        by_status[a.Territory_Status__c or "never assigned"] += 1
    assert cov["unassigned_by_status"] == by_status
    assert got["Global"]["accounts_rolled_up"] == len(covered)


@pytest.fixture
def repo_config(acme: Platform, tmp_path: Path) -> Iterator[Path]:
    """A copy of the org's config, committed in a fresh git repository (the org's own copy is left alone)."""
    config = tmp_path / "repo" / "config"
    shutil.copytree(acme.settings.config, config)
    git = ["git", "-C", str(config.parent), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    yield config


def test_assign_against_head_lists_exactly_the_accounts_that_would_move(
        acme: Platform, assigned: Result, repo_config: Path) -> None:
    def moves() -> list[dict[str, Any]]:
        out = json.loads(_ok(run(acme, "territories", "assign", "--against", "HEAD", "--json",
                                 config=repo_config)).output)
        return list(out["moves"])

    assert moves() == []
    rules = repo_config / "deploy" / "match_rules.yaml"
    text = rules.read_text()
    canada = "action: {type: assign, territory: NA_Canada}"
    assert text.count(canada) == 1
    rules.write_text(text.replace(canada, "action: {type: assign, territory: NA_East}"))
    canadian = {a.Id for a in _records(acme, "Account") if a.BillingCountry in {"Canada", "CAN"}}
    assert canadian
    found = moves()
    assert {m["account_id"] for m in found} == canadian and len(found) == len(canadian)
    for m in found:
        assert (m["before"], m["after"]) == ("NA_Canada", "NA_East")
        assert m["before_owner"] == "dan.kowalski@acme.example"  # the one AE of NA_Canada at HEAD
        assert m["after_owner"] in {"carla.mendes@acme.example", "dan.kowalski@acme.example"}
    shown = _ok(run(acme, "territories", "assign", "--against", "HEAD", config=repo_config)).output
    assert f"{len(canadian)} accounts would move" in shown
    # a preview writes nothing: the CRM still has them in Canada
    assoc = _associations(acme)
    assert all(assoc[a] == [("NA_Canada", "Territory2AssignmentRule")] for a in canadian)


def test_sync_apply_against_the_salesforce_fake(acme: Platform, tmp_path: Path) -> None:
    config = Path(acme.settings.config)
    tree = _yaml(config / "design" / "territories.yaml")
    people = _yaml(config / "deploy" / "assignments.yaml")["assignments"]
    fake = FakeSalesforce()
    for username in sorted({p["user"] for p in people}):
        fake.store.create("User", {"Username": username, "LastName": username.split("@")[0], "Email": username})
    with serve(fake.app, tls=True) as server:
        env = {"REVLOOPS_CRM": "salesforce", "REVLOOPS_SF_INSTANCE_URL": server.url,
               "REVLOOPS_SF_ACCESS_TOKEN": fake.new_session(), "REVLOOPS_SF_CA_BUNDLE": str(server.ca_file)}

        def sf(*args: str) -> Result:
            return CliRunner().invoke(cli, [*args, "--config", str(config), "--db",
                                            f"sqlite:///{tmp_path / 'sf.sqlite'}"], env={**WIDE, **env})

        applied = _ok(sf("territories", "sync", "--apply", "--json"))
        assert json.loads(applied.output)["applied"]["complete"]
        records = fake.store.records
        assert len(records["Territory2Model"]) == 1 and len(records["Territory2Type"]) == len(tree["types"])
        by_id = records["Territory2"]
        assert {t["DeveloperName"]: by_id[t["ParentTerritory2Id"]]["DeveloperName"] if t.get("ParentTerritory2Id")
                else None for t in by_id.values()} == {t["developer_name"]: t.get("parent") for t in tree["territories"]}
        assert len(records["UserTerritory2Association"]) == len(people)
        for extra in ([], ["--refresh"]):
            plan = json.loads(_ok(sf("territories", "sync", "--json", *extra)).output)
            assert plan["changes"] == [] and plan["summary"] == {"create": 0, "update": 0, "delete": 0}, extra
