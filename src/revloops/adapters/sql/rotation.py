"""Durable round-robin state: one row per pool, advanced by compare-and-swap on its version.

Two resolvers that read the same version both compute a next state, but only one UPDATE ... WHERE version = v
succeeds; the other re-reads and tries again. So no slot is ever handed out twice, on SQLite or Postgres,
without holding locks across the computation.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.tables import rotation_state
from revloops.core.errors import UpstreamUnavailable
from revloops.loops.route.rotation import Candidate, RotationState, next_in_rotation

MAX_ATTEMPTS = 200


class SqlRotation:
    """The ``Rotation`` port on the state database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def state(self, pool_id: str) -> tuple[RotationState | None, int]:
        """The pool's current state and version (None, 0 before its first claim)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(rotation_state.c.state, rotation_state.c.version).where(rotation_state.c.pool == pool_id)
            ).first()
        return (dict(row.state), int(row.version)) if row else (None, 0)

    def states(self) -> dict[str, RotationState]:
        """Every pool's state (what a preview starts its simulation from)."""
        with self.engine.connect() as conn:
            return {r.pool: dict(r.state) for r in conn.execute(sa.select(rotation_state))}

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: dt.date) -> str | None:
        """Take the next slot; None when every candidate is capped for the day."""
        return self.claim_slot(pool_id, candidates, day)[0]

    def claim_slot(self, pool_id: str, candidates: Sequence[Candidate], day: dt.date) -> tuple[str | None, int]:
        """Take the next slot and answer ``(member, slot number)``; slot numbers are unique per pool."""
        for attempt in range(MAX_ATTEMPTS):
            state, version = self.state(pool_id)
            chosen, new_state = next_in_rotation(state, candidates, day)
            if chosen is None:
                return None, version
            if self._swap(pool_id, version, new_state):
                return chosen, version + 1
            # lost the race: back off a little (jitter keeps contenders from colliding in step)
            time.sleep(min(0.05, 0.001 * (attempt + 1)) * random.random())
        raise UpstreamUnavailable(f"round-robin pool {pool_id} is too contended; try again", retry_after=1)

    def _swap(self, pool_id: str, version: int, new_state: dict[str, Any]) -> bool:
        now = dt.datetime.now(dt.UTC)
        try:
            with self.engine.begin() as conn:
                if version == 0:
                    conn.execute(rotation_state.insert().values(pool=pool_id, state=new_state, version=1,
                                                                updated_at=now))
                    return True
                done = conn.execute(
                    rotation_state.update()
                    .where(rotation_state.c.pool == pool_id, rotation_state.c.version == version)
                    .values(state=new_state, version=version + 1, updated_at=now)
                ).rowcount
                return bool(done)
        except sa.exc.IntegrityError:
            return False  # another resolver created the pool's row first
        except sa.exc.OperationalError as exc:
            if "locked" in str(exc).lower():
                return False
            raise
