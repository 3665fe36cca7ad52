"""The revenue warehouse: a DuckDB file loaded from the state database."""
