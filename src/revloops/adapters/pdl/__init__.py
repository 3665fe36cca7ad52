"""People Data Labs enrichment, its cache and spend log, and the provider waterfall."""

from revloops.adapters.pdl.client import PdlEnrichment
from revloops.adapters.pdl.store import CachedEnrichment, EnrichmentCache, SpendLog, SpendTotals
from revloops.adapters.pdl.waterfall import Waterfall, build_enrichment

__all__ = ["CachedEnrichment", "EnrichmentCache", "PdlEnrichment", "SpendLog", "SpendTotals", "Waterfall",
           "build_enrichment"]
