"""Onboard: the customer team and onboarding milestones when an opportunity is won."""
