"""Test support shipped with the package: local fakes of external services and a server runner for them.

Nothing here is used in production; contract tests point the real adapters at these fakes.
"""
