"""Start and stop the workflow engine (DBOS Transact): one per process, on SQLite by default or Postgres.

The engine keeps its checkpoints in a system database: a SQLite file ``engine.sqlite`` in the state dir
(WAL on), or Postgres by URL (``REVLOOPS_ENGINE_DB``, else the state database when that is Postgres), where
several worker processes on several machines share the work. Steps reach the ports (CRM, enrichment,
LLM) through :func:`platform`, bound at launch, because workflow arguments must stay plain data.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig

from revloops.bootstrap import Platform
from revloops.engine.queues import register_queues
from revloops.engine.registry import SCHEDULES, code_version, load_workflow_modules
from revloops.settings import Settings

APP_NAME = "revloops"


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Running:
    platform: Platform
    url: str
    executor_id: str


_running: _Running | None = None


def system_db_url(settings: Settings) -> str:
    """The engine's system database URL, with a SQLite file's folder created."""
    url = settings.engine_db_url
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def is_sqlite(url: str) -> bool:
    """Whether a system database URL is a SQLite file."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def enable_wal(url: str) -> None:
    """Put a SQLite system database in WAL mode (persistent in the file): readers stop blocking the writer."""
    if not is_sqlite(url):
        return
    path = sa.make_url(url).database
    if not path or path == ":memory:":
        return
    conn = sqlite3.connect(path, timeout=30)
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def dbos_config(settings: Settings, executor_id: str | None = None) -> DBOSConfig:
    """The DBOS configuration for these settings."""
    url = system_db_url(settings)
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": url,
        "executor_id": executor_id or settings.executor_id,
        "application_version": code_version(),
        "log_level": "WARNING",
        "notification_listener_polling_interval_sec": 0.1,
    }
    if not is_sqlite(url):
        config["sys_db_pool_size"] = 20
    return config


def migrate(settings: Settings) -> str:
    """Create or upgrade the system database without starting the engine; answers its URL."""
    url = system_db_url(settings)
    enable_wal(url)
    DBOS.migrate(url)
    enable_wal(url)
    return url


def launch(
    plat: Platform,
    *,
    executor_id: str | None = None,
    listen: list[str] | None = None,
    modules: tuple[str, ...] = (),
) -> None:
    """Start the engine in this process: recover this executor's unfinished runs, register the queues.

    Args:
        plat: the platform whose ports the steps use.
        executor_id: this worker's name (default from settings); a restarted worker with the same name
            resumes the runs it had in flight.
        listen: only take work from these queues (default all).
        modules: extra modules declaring workflows (tests, plugins), imported before launch.
    """
    global _running
    url = system_db_url(plat.settings)
    if _running is not None:
        if _running.url == url:
            return
        raise RuntimeError(f"the engine already runs on {_running.url}; one engine per process")
    load_workflow_modules(modules)
    enable_wal(url)
    DBOS.destroy()  # a leftover, never-launched instance would swallow this config
    DBOS(config=dbos_config(plat.settings, executor_id))
    if listen is not None:
        DBOS.listen_queues(listen)
    try:
        DBOS.launch()
        register_queues(plat.settings)
        apply_schedules(plat.settings)
    except BaseException:
        DBOS.destroy()
        raise
    _running = _Running(plat, url, executor_id or plat.settings.executor_id)
    _start_ticker(plat)


_ticker_stop = threading.Event()


def _start_ticker(plat: Platform) -> None:
    """Run the declared ticks about once a second in a daemon thread until shutdown."""
    from revloops.engine.registry import TICKS

    _ticker_stop.clear()

    def loop() -> None:
        while not _ticker_stop.wait(1.0):
            for name, fn in list(TICKS.items()):
                try:
                    fn(plat)
                except Exception:  # noqa: BLE001 - a failing tick must not stop the others; it runs again
                    log.exception("tick %s failed", name)

    threading.Thread(target=loop, name="revloops-ticks", daemon=True).start()


def apply_schedules(settings: Settings) -> None:
    """Create or replace every enabled schedule, and remove disabled ones (after launch)."""
    on = [s for s in SCHEDULES.values() if s.enabled(settings)]
    if on:
        DBOS.apply_schedules([{"schedule_name": s.name, "workflow_fn": s.fn, "schedule": s.cron} for s in on])
    for s in SCHEDULES.values():
        if not s.enabled(settings) and DBOS.get_schedule(s.name) is not None:
            DBOS.delete_schedule(s.name)


def shutdown(wait_seconds: int = 0) -> None:
    """Stop the engine; ``wait_seconds`` lets running workflows finish first (unfinished ones recover later)."""
    global _running
    _ticker_stop.set()
    # the platform stays reachable until the engine is gone: a run finishing within the grace period still
    # calls its steps, which look the platform up
    DBOS.destroy(workflow_completion_timeout_sec=wait_seconds)
    _running = None


def is_running() -> bool:
    """Whether this process runs the engine."""
    return _running is not None


def platform() -> Platform:
    """The platform the running engine's steps use."""
    if _running is None:
        raise RuntimeError("the workflow engine is not running in this process (call engine.setup.launch)")
    return _running.platform


def client(settings: Settings) -> DBOSClient:
    """A client on the system database for processes that inspect or enqueue without running workflows."""
    return DBOSClient(system_database_url=system_db_url(settings), application_name=APP_NAME)
