"""Offline deterministic providers: the defaults when no vendor key is set."""

from revloops.adapters.offline.enrichment import OfflineEnrichment

__all__ = ["OfflineEnrichment"]
