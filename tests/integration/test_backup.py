"""``revloops backup`` and ``revloops restore``: a backup taken while the chain runs restores into a fresh folder,
the engine there resumes the runs that were in flight, and every lead ends with its effects exactly once.

The engine runs in this process on SQLite files in ``tmp_path``; the effects are checked with the chain's own
checker (``test_chain_effects.chain_problems``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dbos import DBOS
from typer.testing import CliRunner

from revloops.app import Caller, app_on
from revloops.app.models import BackupManifest
from revloops.bootstrap import Platform, build
from revloops.core.errors import Forbidden, InputError
from revloops.core.identity import Tier
from revloops.engine import setup
from revloops.engine.status import engine_status
from revloops.interfaces.cli.app import app as cli
from tests.integration.test_chain_effects import (
    chain_problems,
    created_events,
    lead_ids,
    seeded_org,
)
from tests.support.workers import wait_for

ENG = Caller.operator("backup-test")
N = 120


def fresh_platform(org: Platform, folder: Path) -> Platform:
    """New settings on an empty folder, with the org's config: where a backup is restored."""
    return build(config=org.settings.config, db=f"sqlite:///{folder / 'state.sqlite'}", state_dir=folder)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Platform, Path]:
    """A small org with its engine database, and a backup of both (tests that write leave it as backed up)."""
    root = tmp_path_factory.mktemp("small")
    org = seeded_org(root / "org", leads=4, accounts=8)
    setup.migrate(org.settings)  # the engine's database, as a worker or `revloops status` creates it
    taken = app_on(org).backup(ENG, root / "backup")
    return org, Path(taken.path)


@pytest.mark.timeout(300)
def test_a_backup_taken_mid_chain_restores_into_a_fresh_folder_and_each_lead_has_its_effects_once(
        tmp_path: Path) -> None:
    live = seeded_org(tmp_path / "live", leads=N, accounts=60)
    ids = lead_ids(live)
    assert live.inbox.accept(created_events(live, ids), "webhook").accepted == N
    app = app_on(live)
    app.start_engine()  # its inbox tick starts a run per event
    client = setup.client(live.settings)

    # Back up while the chain is going and many runs are still to finish: the engine's copy, taken first, must
    # catch runs in flight or queued, however fast or slow this machine runs the chain (engaged tasks alone
    # can reach any count only near the end of the batch).
    def going_with_runs_left() -> bool:
        counts = engine_status(client).counts
        return counts.get("SUCCESS", 0) >= 5 and counts.get("PENDING", 0) + counts.get("ENQUEUED", 0) >= N // 4

    try:
        wait_for(going_with_runs_left, 150, "the chain to get going with runs left", every=0.05)
        taken = app.backup(ENG, tmp_path / "backup")
    finally:
        # Waits until no run of this process is active, so none of its threads outlives this engine into the
        # restored one; whatever they do now lands in the live folder, after the backup.
        client.destroy()
        app.stop_engine(wait_seconds=60)

    folder = Path(taken.path)
    assert sorted(p.name for p in folder.iterdir()) == ["engine.sqlite", "manifest.json", "state.sqlite"]
    assert BackupManifest.model_validate_json((folder / "manifest.json").read_text()) == taken.manifest
    assert [d.name for d in taken.manifest.databases] == ["engine", "state"]

    restored_org = fresh_platform(live, tmp_path / "restored")
    restorer = app_on(restored_org)
    restored = restorer.restore(ENG, folder, dry_run=False)
    assert [(d.name, d.replaced) for d in restored.databases] == [("engine", False), ("state", False)]
    unfinished = sum(restored.resuming.values()) + restored.queued
    assert unfinished > 0, "every run had finished at the backup; nothing was tested"
    assert set(restored.resuming) <= {restored_org.settings.executor_id}

    restorer.start_engine()  # the same executor id: it recovers the runs in flight at the backup
    client = setup.client(restored_org.settings)
    try:
        wait_for(lambda: engine_status(client).by_workflow.get("lead.inbound", {}).get("SUCCESS", 0) == N, 240,
                 "every lead's run to finish in the restored folder", every=0.5)
        final = engine_status(client)
        assert final.by_workflow["lead.inbound"] == {"SUCCESS": N} and final.failures == []
    finally:
        client.destroy()
        restorer.stop_engine()

    assert chain_problems(restored_org, ids) == []
    entries = restored_org.inbox.entries(limit=N + 10)
    assert {(e.status, e.workflow_id) for e in entries} == {("done", f"lead-{e.event.record_id}") for e in entries}
    assert len(entries) == N


def test_an_event_dispatched_after_the_engines_copy_is_pending_again_and_its_lead_runs(tmp_path: Path) -> None:
    org = seeded_org(tmp_path / "org", leads=3, accounts=6)
    setup.migrate(org.settings)
    lead = lead_ids(org)[0]
    [event] = created_events(org, [lead])
    org.inbox.accept([event], "webhook")
    # As the dispatcher leaves an event once it queued the run: a run the engine's copy, taken first, never saw.
    assert org.inbox.mark(event.id, "processing", workflow_id=f"lead-{lead}", only_from="pending")
    taken = app_on(org).backup(ENG, tmp_path / "backup")

    restored_org = fresh_platform(org, tmp_path / "restored")
    restorer = app_on(restored_org)
    result = restorer.restore(ENG, Path(taken.path), dry_run=False)
    assert (result.requeued_events, result.resuming, result.queued) == (1, {}, 0)
    assert [e.status for e in restored_org.inbox.entries()] == ["pending"]

    restorer.start_engine()
    try:
        wait_for(lambda: restored_org.inbox.counts() == {"done": 1}, 60, "the lead's run to finish", every=0.2)
        assert DBOS.retrieve_workflow(f"lead-{lead}").get_result()["lead_id"] == lead
    finally:
        restorer.stop_engine()
    assert chain_problems(restored_org, [lead]) == []


def test_a_restore_replaces_databases_that_hold_data_only_when_forced(small: tuple[Platform, Path]) -> None:
    org, backup = small
    app = app_on(org)
    with pytest.raises(InputError, match="--force") as refused:
        app.restore(ENG, backup, dry_run=False)
    assert refused.value.field == "force" and "state database" in refused.value.message

    lead = lead_ids(org)[0]
    org.inbox.accept(created_events(org, [lead]), "webhook")  # a change after the backup
    planned = app.restore(ENG, backup, dry_run=True, force=True)
    assert planned.dry_run and [(d.name, d.replaced) for d in planned.databases] == [("engine", False),
                                                                                   ("state", True)]
    assert len(org.inbox.entries()) == 1  # a dry run writes nothing

    done = app.restore(ENG, backup, dry_run=False, force=True)
    assert not done.dry_run
    assert org.inbox.entries() == []  # the org is as the backup has it again


@pytest.mark.parametrize("tier", ["rep", "ops"])
def test_only_the_eng_tier_backs_up_or_restores(small: tuple[Platform, Path], tmp_path: Path, tier: Tier) -> None:
    org, backup = small
    app, caller = app_on(org), Caller(tier=tier, name="someone")
    with pytest.raises(Forbidden):
        app.backup(caller, tmp_path / "backup")
    with pytest.raises(Forbidden):
        app.restore(caller, backup, dry_run=True)
    assert not (tmp_path / "backup").exists()


def test_a_damaged_backup_is_refused_before_anything_is_written(small: tuple[Platform, Path], tmp_path: Path) -> None:
    org, backup = small
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    with (damaged / "engine.sqlite").open("r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    target = fresh_platform(org, tmp_path / "restored")
    with pytest.raises(InputError, match="damaged"):
        app_on(target).restore(ENG, damaged, dry_run=False)
    assert not (tmp_path / "restored" / "state.sqlite").exists()
    assert not (tmp_path / "restored" / "engine.sqlite").exists()


def test_a_backup_goes_in_a_new_folder_and_a_restore_needs_a_backup(small: tuple[Platform, Path],
                                                                    tmp_path: Path) -> None:
    org, backup = small
    app = app_on(org)
    with pytest.raises(InputError, match="not an empty folder") as err:
        app.backup(ENG, backup)
    assert err.value.field == "path"
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="not a revloops backup"):
        app.restore(ENG, tmp_path / "nothing", dry_run=True)


SYS = "postgresql://rev@127.0.0.1:5432/revloops_sys"
STATE = "postgresql://rev@127.0.0.1:5432/revloops"


@pytest.mark.parametrize("engine_db, dumps", [
    ("", [("state", STATE)]),  # the engine's tables live in the state database: one dump holds both
    ("postgresql://rev:pw@127.0.0.1:5432/revloops_sys", [("engine", SYS), ("state", STATE)]),
])
def test_on_postgres_both_actions_answer_the_pg_dump_and_pg_restore_commands(
        tmp_path: Path, engine_db: str, dumps: list[tuple[str, str]]) -> None:
    org = build(db="postgresql://rev:s3cret@127.0.0.1:5432/revloops", engine_db=engine_db, state_dir=tmp_path)
    app = app_on(org)  # nothing connects: the refusal comes first
    path = tmp_path / "backup"
    with pytest.raises(InputError) as backup:
        app.backup(ENG, path)
    assert backup.value.field == "REVLOOPS_DB"
    assert "s3cret" not in backup.value.message and "pw@" not in backup.value.message
    assert backup.value.message.split("\n  ")[1:] == [
        f"pg_dump --format=custom --file={path}/{name}.dump {url}" for name, url in dumps]
    with pytest.raises(InputError) as restore:
        app.restore(ENG, path, dry_run=False)
    assert "Stop every worker" in restore.value.message
    assert restore.value.message.split("\n  ")[1:] == [
        f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname={url} {path}/{name}.dump"
        for name, url in dumps]
    assert not path.exists()


def test_the_cli_backs_up_and_checks_a_restore_with_json(small: tuple[Platform, Path], tmp_path: Path) -> None:
    org, _backup = small
    env = {"REVLOOPS_STATE_DIR": str(org.settings.state_dir), "REVLOOPS_ENGINE_DB": ""}
    where = ["--config", str(org.settings.config), "--db", org.settings.db_url, "--json"]
    made = CliRunner().invoke(cli, ["backup", str(tmp_path / "b"), *where], env=env)
    assert made.exit_code == 0, made.output
    body = json.loads(made.output)
    assert [d["file"] for d in body["manifest"]["databases"]] == ["engine.sqlite", "state.sqlite"]

    refused = CliRunner().invoke(cli, ["restore", str(tmp_path / "b"), *where], env=env)
    assert refused.exit_code == 1 and json.loads(refused.output)["field"] == "force"
    checked = CliRunner().invoke(cli, ["restore", str(tmp_path / "b"), "--dry-run", "--force", *where], env=env)
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["dry_run"] is True
