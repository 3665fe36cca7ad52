"""The ports: small abstract classes for everything a loop reaches past itself, and ``Ports``, the typed
bundle a loop's flow receives (the bootstrap's ``Platform`` provides it; tests may hand in their own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from revloops.config.loader import GtmConfig
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
    from revloops.settings import Settings


class Ports(Protocol):
    """What a loop's flow works through: the config, the stores, the providers and the unit of work."""

    @property
    def settings(self) -> Settings:
        """The platform settings (timeouts, thresholds; secrets never leave the adapters)."""
        ...

    @property
    def config(self) -> GtmConfig:
        """The config directory, loaded and checked."""
        ...

    @property
    def crm(self) -> CRM:
        """The field system (Salesforce, or the embedded CRM)."""
        ...

    @property
    def decisions(self) -> DecisionStore:
        """The decision log."""
        ...

    @property
    def rotation(self) -> DurableRotation:
        """Durable round-robin state."""
        ...

    @property
    def inbox(self) -> EventInbox:
        """The durable CRM events inbox."""
        ...

    @property
    def sequences(self) -> SequenceStore:
        """Engage's sequences, one per lead."""
        ...

    @property
    def enrichment(self) -> Enrichment:
        """The enrichment waterfall."""
        ...

    @property
    def llm(self) -> LLM | None:
        """The LLM, or None when none is configured (loops use their offline logic)."""
        ...

    @property
    def plans(self) -> PlanStore:
        """Milestone plans (Pursue, Onboard, Expand) and their milestones."""
        ...

    @property
    def scanner(self) -> SignalScanner:
        """The outbound signal scanner."""
        ...

    @property
    def ledger(self) -> SignalLedger:
        """Outbound signals, their scans and the scan budget."""
        ...

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work every store joins."""
        ...

    @property
    def enrichment_spend(self) -> EnrichmentSpend:
        """What enrichment cost."""
        ...

    @property
    def llm_spend(self) -> LlmSpend:
        """What the LLM cost."""
        ...
