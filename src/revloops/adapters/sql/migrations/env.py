"""Alembic environment: migrations run on the engine handed over by ``db.upgrade``."""

from __future__ import annotations

from alembic import context

from revloops.adapters.sql.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
