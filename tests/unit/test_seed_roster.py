"""`revloops seed` on the example org: the active roster's named reps exist with their managers."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from revloops.bootstrap import build
from revloops.interfaces.cli.app import app
from revloops.ports.crm import Query

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


def test_seed_creates_roster_users_with_managers_and_is_deterministic(tmp_path: Path) -> None:
    runner = CliRunner()
    dumps = []
    for name in ("a", "b"):
        db = f"sqlite:///{tmp_path / name}.sqlite"
        result = runner.invoke(app, ["seed", "--users", "5", "--accounts", "40", "--leads", "60", "--seed", "3",
                                     "--config", str(EXAMPLE), "--db", db, "--json"])
        assert result.exit_code == 0, result.output
        plat = build(config=EXAMPLE, db=db)
        users = {u.Username: u for u in plat.crm.query_all(Query("User"))}  # type: ignore[attr-defined]
        assert "ava.chen@acme.example" in users and "olivia.brown@acme.example" in users
        ava, olivia = users["ava.chen@acme.example"], users["olivia.brown@acme.example"]
        assert ava.ManagerId == olivia.Id and ava.Sales_Role__c == "AE"  # type: ignore[attr-defined]
        assert users["emma.schulz@acme.example"].Country == "DE"  # type: ignore[attr-defined]
        dumps.append(sorted((r.Id, r.LastName) for r in plat.crm.query_all(Query("Lead"))))  # type: ignore[attr-defined]
    assert dumps[0] == dumps[1] and len(dumps[0]) == 60
