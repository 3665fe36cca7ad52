"""Chains compose loops into durable workflows (the inbound lead chain: Generate → Qualify → Route → Engage)."""
