"""Qualify: enrich a lead (People Data Labs, or the offline provider) and score its fit and intent."""
