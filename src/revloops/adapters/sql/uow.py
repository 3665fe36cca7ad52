"""The unit of work on the state database (``fast_sql(engine).together()``)."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from revloops.adapters.sql.fast import fast_sql
from revloops.ports.uow import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    """One transaction on the state database that its stores (the embedded CRM, decisions, sequences,
    rotation) join when they are built on the same engine.

    Args:
        engine: the state database.
        joins_crm: whether the CRM is the embedded one on ``engine``. With a remote CRM (Salesforce) each
            write stands alone: a remote call must not hold the state database's write lock.
    """

    def __init__(self, engine: sa.Engine, *, joins_crm: bool) -> None:
        self.engine = engine
        self.joins_crm = joins_crm

    def together(self) -> contextlib.AbstractContextManager[None]:
        """See ``UnitOfWork.together``; a nullcontext (each write commits by itself) unless ``joins_crm``."""
        return fast_sql(self.engine).together() if self.joins_crm else contextlib.nullcontext()
