"""Route: the shared rule evaluator that resolves a record's owner (spec/route.md)."""
