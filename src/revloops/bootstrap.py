"""Builds the platform from settings: picks adapters and wires the ports. Every interface starts here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import sqlalchemy as sa

from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.adapters.sql.inbox import SqlInbox
from revloops.adapters.sql.rotation import SqlRotation
from revloops.adapters.sql.sequences import SqlSequenceStore
from revloops.adapters.sql.uow import SqlUnitOfWork
from revloops.config.loader import GtmConfig, load_config
from revloops.ports.crm import CRM
from revloops.ports.decisions import DecisionStore
from revloops.ports.enrichment import Enrichment
from revloops.ports.inbox import EventInbox
from revloops.ports.ledger import SignalLedger
from revloops.ports.llm import LLM
from revloops.ports.plans import PlanStore
from revloops.ports.rotation import DurableRotation
from revloops.ports.sequences import SequenceStore
from revloops.ports.signals import SignalScanner
from revloops.ports.spend import EnrichmentSpend, LlmSpend
from revloops.ports.uow import UnitOfWork
from revloops.ports.warehouse import Published, Warehouse, WarehouseAnswer, WarehouseSources
from revloops.settings import Settings, load_settings


@dataclass(eq=False)  # identity-hashed: loops keep per-platform snapshots in weak maps keyed by it
class Platform:
    """The wired ports and the config a command or request works with (it meets ``revloops.ports.Ports``)."""

    settings: Settings
    _config: GtmConfig | None = field(default=None, repr=False)
    _config_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
    def rotation(self) -> DurableRotation:
        """Durable round-robin state (concurrency-safe)."""
        return SqlRotation(self.engine)

    @cached_property
    def inbox(self) -> EventInbox:
        """The durable CRM events inbox."""
        return SqlInbox(self.engine)

    @cached_property
    def sequences(self) -> SequenceStore:
        """Engage's sequences, one per lead."""
        return SqlSequenceStore(self.engine)

    @cached_property
    def plans(self) -> PlanStore:
        """Milestone plans (Pursue, Onboard, Expand) and their milestones."""
        from revloops.adapters.sql.plans import SqlPlanStore

        return SqlPlanStore(self.engine)

    @cached_property
    def scanner(self) -> SignalScanner:
        """Claude with web search when ``REVLOOPS_ANTHROPIC_API_KEY`` is set; else the offline scanner over the
        example org's news corpus, which says in every answer that its news is not the web. Never one behind
        the other: a failing Claude fails the scan, it does not fall back to the corpus."""
        llm = self.llm
        if llm is not None:
            from revloops.adapters.anthropic.client import AnthropicLLM
            from revloops.adapters.anthropic.signals import AnthropicScanner

            assert isinstance(llm, AnthropicLLM)
            # the reservation bounds each model step's input at 20k tokens (a scan's search results): tighter
            # than the context window, so a scan's worst case fits a day's token budget (see worst_case)
            return AnthropicScanner(llm, context_tokens=20_000)
        from revloops.adapters.offline.signals import OfflineScanner

        corpus = self.settings.signal_corpus
        return OfflineScanner(corpus) if corpus is not None else OfflineScanner.for_config(self.settings.config)

    @cached_property
    def ledger(self) -> SignalLedger:
        """Outbound signals, their scans and the scan budget."""
        from revloops.adapters.sql.signals import SqlSignalLedger

        return SqlSignalLedger(self.engine)

    @cached_property
    def warehouse_sources(self) -> WarehouseSources:
        """What the warehouse is loaded from: the CRM's objects and the loops' state tables."""
        from revloops.adapters.sql.extract import StateSources

        return StateSources(self.crm, self.engine)

    def warehouse(self, *, read_only: bool = True) -> Warehouse:
        """The revenue warehouse (a DuckDB file), opened for the reads of metrics and reports, or for a
        refresh; the caller closes it (one process writes a DuckDB file at a time)."""
        from revloops.adapters.warehouse.duck import DuckWarehouse

        return DuckWarehouse(self.settings.warehouse_path, read_only=read_only)

    def warehouse_sql(self, sql: str) -> WarehouseAnswer:
        """One read-only statement over the warehouse (``revloops sql``, the MCP tool ``run_sql``): parsed and
        refused unless it only reads, on a connection opened read-only without file or network access."""
        from revloops.adapters.warehouse.readonly import run_readonly

        res = run_readonly(self.settings.warehouse_path, sql, max_rows=self.settings.sql_max_rows,
                           timeout_s=self.settings.sql_timeout_seconds)
        return WarehouseAnswer(res.columns, res.types, res.rows, res.truncated, res.elapsed_ms)

    def publish_warehouse(self, wh: Warehouse, url: str, schema: str,
                          progress: Callable[[str, int, int | None], None] | None = None) -> Published:
        """Copy the warehouse's tables and views to a Postgres schema (for Hex and other notebooks)."""
        from revloops.adapters.warehouse.duck import DuckWarehouse
        from revloops.adapters.warehouse.publish import publish

        assert isinstance(wh, DuckWarehouse)
        done = publish(wh, url, schema, progress)
        return Published(done.tables, done.rows, done.seconds)

    @cached_property
    def uow(self) -> UnitOfWork:
        """The unit of work: with the embedded CRM on the state database its writes join the stores' in one
        commit; with a remote CRM each CRM write stands alone (a remote call must not hold the state
        database's write lock)."""
        from revloops.adapters.localcrm.crm import LocalCRM

        crm = self.crm
        return SqlUnitOfWork(self.engine, joins_crm=isinstance(crm, LocalCRM) and crm.engine is self.engine)

    @cached_property
    def enrichment_spend(self) -> EnrichmentSpend:
        """What enrichment providers cost."""
        from revloops.adapters.pdl.store import SpendLog

        return SpendLog(self.engine)

    @cached_property
    def llm_spend(self) -> LlmSpend:
        """What the LLM cost."""
        from revloops.adapters.anthropic.spend import SpendLedger

        return SpendLedger(self.engine)

    @cached_property
    def enrichment(self) -> Enrichment:
        """The enrichment waterfall (People Data Labs when a key is set, then the offline provider)."""
        from revloops.adapters.pdl import build_enrichment

        return build_enrichment(self.settings, self.engine)

    @cached_property
    def llm(self) -> LLM | None:
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

    def close(self) -> None:
        """Release what the platform opened (CRM sessions, database connections)."""
        if "crm" in self.__dict__:
            self.crm.close()
        if "engine" in self.__dict__:
            self.engine.dispose()

    def reload_config(self) -> GtmConfig:
        self._config = None
        return self.config


def build(config: Path | None = None, db: str | None = None, **overrides: object) -> Platform:
    """A platform from the environment, with explicit options winning."""
    return Platform(load_settings(config=config, db=db, **overrides))
