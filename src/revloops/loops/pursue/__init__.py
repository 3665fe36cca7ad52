"""Pursue: a deal play with staggered milestones when a lead converts to an opportunity."""
