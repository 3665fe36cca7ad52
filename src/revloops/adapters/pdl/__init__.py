"""People Data Labs enrichment, its cache and spend log, and the provider waterfall."""

from revloops.adapters.pdl.client import PdlEnrichment
from revloops.adapters.pdl.store import CachedEnrichment, EnrichmentCache, SpendLog
from revloops.adapters.pdl.waterfall import Waterfall, build_enrichment
from revloops.ports.spend import SpendTotals

__all__ = ["CachedEnrichment", "EnrichmentCache", "PdlEnrichment", "SpendLog", "SpendTotals", "Waterfall",
           "build_enrichment"]
