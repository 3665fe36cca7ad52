"""Backup and restore of the state and engine databases (``revloops backup`` / ``revloops restore``).

On SQLite a backup is SQLite's online backup of each file (``sqlite3.Connection.backup``): one consistent
snapshot per database while workers keep writing (WAL lets the copy read beside them). Two files cannot be
copied at one instant, so the engine's is copied first: a step's effects commit in the state database before
the engine records the step, so every step the engine copy records as done has its effects in the later state
copy. What the state copy holds beyond that is the work of steps the engine will run again on recovery (every
chain step is idempotent because a crash leaves the same picture), or an inbox event dispatched to a run the
engine copy never saw: a restore puts those back to pending, so the dispatcher starts their runs.

A restore stages the copies beside the target, checks them against the manifest, upgrades them to this code's
schemas (a backup from a newer revloops fails there, before any target is touched) and writes them into place
with the same backup API, so a database is never half replaced. On Postgres nothing is copied here:
``pg_dump`` and ``pg_restore`` are the tools, and the actions answer with the exact commands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import os
import shlex
import shutil
import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from pydantic import ValidationError

from revloops.app.base import AppBase
from revloops.app.engine import redact
from revloops.bootstrap import Platform
from revloops.core.errors import InputError
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.settings import Settings

if TYPE_CHECKING:
    from dbos import DBOSClient

    from revloops.ports.inbox import EventInbox

MANIFEST = "manifest.json"
FORMAT = 1
Name = Literal["state", "engine"]
#: tables that say which schema a database is at, not what it holds
_BOOKKEEPING = frozenset({"alembic_version", "dbos_migrations"})
#: how many in-flight inbox events a restore looks at (those dispatched but not done at the backup)
_IN_FLIGHT_LIMIT = 100_000


class BackedUpDatabase(Frozen):
    """One database of a backup: where it came from, its file in the backup folder, its schema."""

    name: Name
    file: str
    source: str  # the URL it was copied from, password hidden
    size_bytes: int
    sha256: str
    revisions: list[str]  # the schema: Alembic revisions (state) or DBOS's schema version (engine)


class BackupManifest(Frozen):
    """``manifest.json``: when the copy began, with which versions, and what each file holds."""

    format: int
    created_at: dt.datetime
    versions: dict[str, str]  # revloops, dbos, sqlite
    databases: list[BackedUpDatabase]

    def database(self, name: Name) -> BackedUpDatabase:
        """The entry of one database (a read manifest has both)."""
        return next(d for d in self.databases if d.name == name)


class BackupResult(Frozen):
    """A backup written: its folder and its manifest."""

    path: str
    manifest: BackupManifest


class RestoredDatabase(Frozen):
    """One database restored (or, in a dry run, that would be)."""

    name: Name
    target: str  # URL, password hidden
    replaced: bool  # the target held data, now replaced by the backup's
    size_bytes: int


class RestoreResult(Frozen):
    """What a restore did, and what resumes when the engine starts on the restored databases."""

    path: str
    dry_run: bool
    manifest: BackupManifest
    databases: list[RestoredDatabase]
    requeued_events: int  # dispatched to a run the engine's copy never saw: pending again
    resuming: dict[str, int]  # runs in flight at the backup, by executor id: a worker of that id resumes them
    queued: int  # runs waiting on a queue at the backup: any worker takes them


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def _file_of(url: str, setting: str) -> Path:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise InputError(f"{redact(url)} is an in-memory database: there is no file to copy", field=setting)
    return Path(database).resolve()


def _open(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:  # never creates or changes the file (a read in WAL mode still shares its -shm)
        return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    return sqlite3.connect(path, timeout=30)


def _copy(source: Path, target: Path, *, journal: Literal["DELETE", "WAL"]) -> None:
    """SQLite's online backup of ``source`` into ``target`` in one step: one consistent snapshot, however busy
    ``source`` is; readers of ``target`` see the old database or the new one, never a mix."""
    with closing(_open(source, readonly=True)) as src, closing(_open(target)) as dst:
        src.backup(dst)
        dst.execute(f"PRAGMA journal_mode={journal}")  # DELETE: a backup's file stands alone, no -wal beside it


def _schema(path: Path, name: Name) -> list[str]:
    query = "SELECT version_num FROM alembic_version" if name == "state" else "SELECT version FROM dbos_migrations"
    with closing(_open(path, readonly=True)) as conn:
        try:
            return sorted(str(row[0]) for row in conn.execute(query))
        except sqlite3.OperationalError:  # no such table: never migrated
            return []


def _holds_data(path: Path) -> bool:
    """Whether a database file has a row in any table but the schema's bookkeeping."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with closing(_open(path, readonly=True)) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return any(conn.execute(f'SELECT 1 FROM "{t.replace(chr(34), chr(34) * 2)}" LIMIT 1').fetchone()
                   for t in tables if t not in _BOOKKEEPING)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _versions() -> dict[str, str]:
    versions = {"sqlite": sqlite3.sqlite_version}
    for dist in ("revloops", "dbos"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


def _databases(settings: Settings) -> list[tuple[Name, str, str]]:
    """(name, URL, setting), the engine's first: the order a consistent pair is copied in."""
    return [("engine", settings.engine_db_url, "REVLOOPS_ENGINE_DB"), ("state", settings.db_url, "REVLOOPS_DB")]


def _libpq(url: str) -> str:
    """A URL pg_dump and pg_restore take: no SQLAlchemy driver, no password (PGPASSWORD or ~/.pgpass)."""
    return redact("postgresql://" + url.split("://", 1)[1])


def postgres_steps(settings: Settings, action: Literal["backup", "restore"], path: Path) -> InputError | None:
    """The refusal to give when a database is on Postgres, with the commands to run instead: ``pg_dump`` /
    ``pg_restore`` (one dump when the engine shares the state database: its tables are in the ``dbos``
    schema), the engine's first, and sqlite3's own ``.backup`` / ``.restore`` for a SQLite one beside it."""
    dbs = _databases(settings)
    on_postgres = [(name, setting) for name, url, setting in dbs if not _is_sqlite(url)]
    if not on_postgres:
        return None
    lines = []
    for name, url, setting in dbs:
        if name == "engine" and url == settings.db_url:
            continue  # the state database's dump holds it
        if _is_sqlite(url):
            copy = f".{action} '{path / f'{name}.sqlite'}'"
            lines.append(f"sqlite3 {shlex.quote(str(_file_of(url, setting)))} {shlex.quote(copy)}")
        elif action == "backup":
            lines.append(f"pg_dump --format=custom --file={shlex.quote(str(path / f'{name}.dump'))} "
                         f"{shlex.quote(_libpq(url))}")
        else:
            lines.append(f"pg_restore --clean --if-exists --no-owner --single-transaction "
                         f"--dbname={shlex.quote(_libpq(url))} {shlex.quote(str(path / f'{name}.dump'))}")
    names = " and ".join(name for name, _ in reversed(on_postgres))
    what = f"the {names} database{'s are' if len(on_postgres) > 1 else ' is'} on Postgres"
    order = ", in this order" if len(lines) > 1 else ""
    if action == "backup":
        how = (f"{what}: revloops backup copies SQLite files only. Back up with Postgres's own tool{order} (the "
               "password from PGPASSWORD or ~/.pgpass):")
    else:
        how = (f"{what}: revloops restore writes SQLite files only. Stop every worker and the API, restore with "
               f"Postgres's own tool{order}, then start the workers with the executor ids they had (they resume "
               "the runs in flight):")
    return InputError("\n  ".join([how, *lines]), field=on_postgres[-1][1])


def _read_manifest(path: Path) -> BackupManifest:
    file = path / MANIFEST
    if not file.is_file():
        raise InputError(f"{path} is not a revloops backup: it has no {MANIFEST}", field="path")
    try:
        manifest = BackupManifest.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{file} is not a backup manifest: {where}: {err['msg']}", field="path") from None
    if manifest.format != FORMAT:
        raise InputError(f"{file} is format {manifest.format}; this revloops reads format {FORMAT}", field="path")
    if sorted(d.name for d in manifest.databases) != ["engine", "state"]:
        raise InputError(f"{file} must list the state and the engine database once each", field="path")
    for db in manifest.databases:
        if db.file != Path(db.file).name or not (path / db.file).is_file():
            raise InputError(f"the backup in {path} has no file {db.file!r}", field="path")
    return manifest


def _stage(backup: Path, entry: BackedUpDatabase, into: Path) -> Path:
    staged = into / entry.file
    shutil.copyfile(backup / entry.file, staged)
    if staged.stat().st_size != entry.size_bytes or _sha256(staged) != entry.sha256:
        raise InputError(f"{backup / entry.file} is not the file the backup wrote (its checksum differs): "
                         "the backup is damaged", field="path")
    return staged


def _requeue_orphans(inbox: EventInbox, client: DBOSClient) -> int:
    """Put back to pending the events the state copy says were dispatched to a run the engine's copy does not
    have (dispatched between the two copies), so the dispatcher starts their runs."""
    entries = inbox.entries(status="processing", limit=_IN_FLIGHT_LIMIT)
    ids = sorted({e.workflow_id for e in entries if e.workflow_id})
    known: set[str] = set()
    for i in range(0, len(ids), 500):
        known |= {w.workflow_id for w in client.list_workflows(workflow_ids=ids[i:i + 500], load_input=False,
                                                               load_output=False)}
    return sum(inbox.mark(e.event.id, "pending", reason="its run was not in the engine's backup",
                          only_from="processing") for e in entries if e.workflow_id not in known)


class MaintenanceActions(AppBase):
    """Backups of the state and engine databases, and restores from them."""

    def backup(self, caller: Caller, path: Path) -> BackupResult:
        """Copy the state and engine databases into a new folder ``path`` while workers run, with a manifest.

        Raises:
            Forbidden: below the eng tier.
            InputError: ``path`` is not a new or empty folder, a database is missing or in memory, or a
                database is on Postgres (the message gives the pg_dump commands to run instead).
        """
        self.require(caller, "eng")
        path = path.absolute()
        refusal = postgres_steps(self.settings, "backup", path)
        if refusal is not None:
            raise refusal
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise InputError(f"{path} exists and is not an empty folder: a backup goes in a new one", field="path")
        sources = [(name, url, _file_of(url, setting), setting) for name, url, setting in _databases(self.settings)]
        for name, _url, file, setting in sources:
            if not file.is_file():
                raise InputError(f"there is no {name} database at {file}: nothing to back up", field=setting)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
        try:
            began = dt.datetime.now(dt.UTC)
            databases = []
            for name, url, file, _setting in sources:  # the engine's first: see the module's docstring
                copy = partial / f"{name}.sqlite"
                _copy(file, copy, journal="DELETE")
                databases.append(BackedUpDatabase(name=name, file=copy.name, source=redact(url),
                                                  size_bytes=copy.stat().st_size, sha256=_sha256(copy),
                                                  revisions=_schema(copy, name)))
            manifest = BackupManifest(format=FORMAT, created_at=began, versions=_versions(), databases=databases)
            (partial / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
            os.replace(partial, path)  # a folder with a manifest is a whole backup, never a partial one
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return BackupResult(path=str(path), manifest=manifest)

    def restore(self, caller: Caller, path: Path, *, dry_run: bool = True, force: bool = False) -> RestoreResult:
        """Restore a backup into the databases of these settings; the engine resumes the runs it had in flight.

        Stop every worker and the API first. A dry run checks the backup and the targets and writes nothing.

        Args:
            caller: who asks (eng tier).
            path: a folder ``revloops backup`` wrote.
            dry_run: check everything, change nothing.
            force: replace target databases that hold data (refused otherwise).

        Raises:
            Forbidden: below the eng tier.
            InputError: not a backup, a damaged or too new one, a target holding data without ``force``, the
                engine running in this process, or a database on Postgres (the message gives the pg_restore
                commands to run instead).
        """
        from revloops.engine import setup

        self.require(caller, "eng")
        path = path.absolute()
        refusal = postgres_steps(self.settings, "restore", path)
        if refusal is not None:
            raise refusal
        if setup.is_running():
            raise InputError("the engine runs in this process: stop it before a restore")
        manifest = _read_manifest(path)
        targets = [(name, url, _file_of(url, setting)) for name, url, setting in _databases(self.settings)]
        held = {name: _holds_data(file) for name, _url, file in targets}
        if any(held.values()) and not force:
            full = " and ".join(f"the {name} database {file}" for name, _url, file in targets if held[name])
            raise InputError(f"{full} already hold{'' if sum(held.values()) > 1 else 's'} data; a restore "
                             "replaces it only when forced (--force)", field="force")
        home = targets[-1][2].parent
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=home) as tmp:
            staged = {name: _stage(path, manifest.database(name), Path(tmp)) for name, _url, _file in targets}
            requeued, resuming, queued = self._prepare(staged["state"], staged["engine"])
            if not dry_run:
                for name, _url, file in targets:  # the engine's first, as they were copied
                    file.parent.mkdir(parents=True, exist_ok=True)
                    _copy(staged[name], file, journal="WAL")
        if not dry_run and "engine" in self.platform.__dict__:
            self.platform.engine.dispose()  # its pooled connections knew the database before the restore
        restored = [RestoredDatabase(name=name, target=redact(url), replaced=held[name],
                                     size_bytes=manifest.database(name).size_bytes) for name, url, _file in targets]
        return RestoreResult(path=str(path), dry_run=dry_run, manifest=manifest, databases=restored,
                             requeued_events=requeued, resuming=resuming, queued=queued)

    def _prepare(self, state: Path, engine: Path) -> tuple[int, dict[str, int], int]:
        """Upgrade the staged copies to this code's schemas and requeue orphaned events; answers the events
        requeued, the runs in flight by executor id, and the runs queued."""
        from alembic.util import CommandError

        from revloops.engine import setup

        staged = self.settings.model_copy(update={"db": f"sqlite:///{state}", "engine_db": f"sqlite:///{engine}"})
        setup.migrate(staged)
        plat = Platform(staged)
        try:
            try:
                _ = plat.engine  # Alembic upgrades an older schema and refuses one it does not know
            except CommandError as exc:
                raise InputError(f"the backup's state database is at a schema this revloops does not know (made "
                                 f"by a newer version?): {exc}", field="path") from None
            client = setup.client(staged)
            try:
                requeued = _requeue_orphans(plat.inbox, client)
                running = client.list_workflows(status="PENDING", load_input=False, load_output=False)
                queued = client.list_workflows(status="ENQUEUED", load_input=False, load_output=False)
            finally:
                client.destroy()
        finally:
            plat.close()
        resuming = Counter(str(w.executor_id) for w in running)
        return requeued, dict(sorted(resuming.items())), len(queued)
