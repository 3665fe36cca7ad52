"""Generate: captures demand (inbound leads from CRM events, outbound signals)."""
