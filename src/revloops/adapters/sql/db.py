"""The state database: one SQLAlchemy engine, migrated to the latest schema when opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic_core
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` (as users write it) and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def json_text(value: Any) -> str:
    """JSON columns' serializer: pydantic-core's (Rust) encoder, about 3x the standard library's on a
    decision's trace; compact, and read back by any JSON parser."""
    return pydantic_core.to_json(value).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside one writer; busy_timeout makes concurrent writers wait instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> sa.Engine:
    """An engine for the state database; a SQLite file's folder is created when missing."""
    url = normalise_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, json_serializer=json_text)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=json_text)


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revisions(engine: sa.Engine) -> frozenset[str]:
    """The schema revisions the database is at (empty when new)."""
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> frozenset[str]:
    """The latest revisions: loops add their tables on branches of their own from the shared base."""
    return frozenset(ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://"))).get_heads())


def upgrade(engine: sa.Engine, revision: str = "heads") -> None:
    """Create a missing schema or migrate an older one."""
    command.upgrade(alembic_config(engine), revision)


def open_database(url: str) -> sa.Engine:
    """An engine on ``url`` whose schema is at the latest revisions."""
    engine = make_engine(url)
    if current_revisions(engine) != head_revisions():
        upgrade(engine)
    return engine
