"""Builds the platform from settings: picks adapters and wires the ports. Every interface starts here."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.adapters.sql.inbox import SqlInbox
from revloops.adapters.sql.rotation import SqlRotation
from revloops.config.loader import GtmConfig, load_config
from revloops.ports.crm import CRM
from revloops.ports.decisions import DecisionStore
from revloops.ports.inbox import EventInbox
from revloops.settings import Settings, load_settings


@dataclass
class Platform:
    """The wired ports and the config a command or request works with."""

    settings: Settings
    _config: GtmConfig | None = field(default=None, repr=False)
    #: per-process caches of loops (compiled rules, CRM snapshots), keyed by the loop
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _config_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @cached_property
    def engine(self) -> sa.Engine:
        """The state database, created or migrated on first use."""
        return open_database(self.settings.db_url)

    @cached_property
    def crm(self) -> CRM:
        if self.settings.crm == "salesforce":
            from revloops.adapters.salesforce.crm import SalesforceCRM

            return SalesforceCRM.from_settings(self.settings)
        from revloops.adapters.localcrm.crm import LocalCRM

        return LocalCRM(self.engine)

    @cached_property
    def decisions(self) -> DecisionStore:
        return SqlDecisionStore(self.engine)

    @cached_property
    def rotation(self) -> SqlRotation:
        """Durable round-robin state (concurrency-safe)."""
        return SqlRotation(self.engine)

    @cached_property
    def inbox(self) -> EventInbox:
        """The durable CRM events inbox."""
        return SqlInbox(self.engine)

    @cached_property
    def enrichment(self) -> Any:
        """The enrichment waterfall (People Data Labs when a key is set, then the offline provider)."""
        from revloops.adapters.pdl import build_enrichment

        return build_enrichment(self.settings, self.engine)

    @cached_property
    def llm(self) -> Any:
        """Claude through the Anthropic adapter when a key is set, else None (offline composers are used)."""
        if self.settings.anthropic_api_key is None:
            return None  # and the SDK (slow to import) is never loaded
        from revloops.adapters.anthropic import build_llm

        return build_llm(self.settings, self.engine)

    @property
    def config(self) -> GtmConfig:
        """The config directory, loaded and checked once (raises ConfigErrors).

        Once per process, not once per thread: a worker's steps start together, and each loading the
        config by itself cost a new worker seconds of parsing before its first lead.
        """
        if self._config is None:
            with self._config_lock:
                if self._config is None:
                    self._config = load_config(self.settings.config)
        return self._config

    def writes_together(self) -> AbstractContextManager[None]:
        """A block whose CRM writes and state-database writes (decisions, sequences) commit as one unit, when
        the CRM is the embedded one on the state database; otherwise each write stands alone (a remote CRM
        call must not hold the state database's write lock)."""
        from revloops.adapters.localcrm.crm import LocalCRM
        from revloops.adapters.sql.fast import fast_sql

        if isinstance(self.crm, LocalCRM) and self.crm.engine is self.engine:
            return fast_sql(self.engine).together()
        return nullcontext()

    def close(self) -> None:
        """Release what the platform opened (CRM sessions, database connections)."""
        if "crm" in self.__dict__:
            self.crm.close()
        if "engine" in self.__dict__:
            self.engine.dispose()

    def reload_config(self) -> GtmConfig:
        self._config = None
        self.cache.clear()
        return self.config


def build(config: Path | None = None, db: str | None = None, **overrides: object) -> Platform:
    """A platform from the environment, with explicit options winning."""
    return Platform(load_settings(config=config, db=db, **overrides))
