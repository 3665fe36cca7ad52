"""The throwaway Postgres fixture (server handling lives in ``revloops.testing.postgres``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revloops.testing.postgres import PostgresServer, throwaway_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A Postgres server on 127.0.0.1 for this test module, stopped and deleted afterwards."""
    with throwaway_postgres() as server:
        yield server
