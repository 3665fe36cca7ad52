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

from revloops.adapters.sql.tables import rotation_claims, rotation_state
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

    def keyed(self, key: str) -> KeyedRotation:
        """This rotation, where each pool's claim under ``key`` is taken once: a re-run answers the same member."""
        return KeyedRotation(self, key)

    def claimed(self, key: str) -> tuple[str, int] | None:
        """The member and slot a keyed claim took, if it was taken."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(rotation_claims.c.member, rotation_claims.c.slot)
                               .where(rotation_claims.c.key == key)).first()
        return (row.member, int(row.slot)) if row else None

    def claim_slot(self, pool_id: str, candidates: Sequence[Candidate], day: dt.date,
                   key: str | None = None) -> tuple[str | None, int]:
        """Take the next slot and answer ``(member, slot number)``; slot numbers are unique per pool.

        With ``key``, the claim is recorded in the same transaction as the slot, and a second claim under the
        same key answers the first one's member and slot without taking another.
        """
        for attempt in range(MAX_ATTEMPTS):
            if key is not None and (done := self.claimed(key)) is not None:
                return done
            state, version = self.state(pool_id)
            chosen, new_state = next_in_rotation(state, candidates, day)
            if chosen is None:
                return None, version
            if self._swap(pool_id, version, new_state, claim=(key, chosen) if key else None):
                return chosen, version + 1
            # lost the race: back off a little (jitter keeps contenders from colliding in step)
            time.sleep(min(0.05, 0.001 * (attempt + 1)) * random.random())
        raise UpstreamUnavailable(f"round-robin pool {pool_id} is too contended; try again", retry_after=1)

    def _swap(self, pool_id: str, version: int, new_state: dict[str, Any],
              claim: tuple[str, str] | None = None) -> bool:
        now = dt.datetime.now(dt.UTC)
        try:
            with self.engine.begin() as conn:
                if version == 0:
                    conn.execute(rotation_state.insert().values(pool=pool_id, state=new_state, version=1,
                                                                updated_at=now))
                else:
                    done = conn.execute(
                        rotation_state.update()
                        .where(rotation_state.c.pool == pool_id, rotation_state.c.version == version)
                        .values(state=new_state, version=version + 1, updated_at=now)
                    ).rowcount
                    if not done:
                        return False
                if claim is not None:  # a concurrent claim under the same key fails here and rolls back
                    conn.execute(rotation_claims.insert().values(key=claim[0], pool=pool_id, member=claim[1],
                                                                 slot=version + 1, claimed_at=now))
                return True
        except sa.exc.IntegrityError:
            return False  # another resolver created the pool's row first
        except sa.exc.OperationalError as exc:
            if "locked" in str(exc).lower():
                return False
            raise


class KeyedRotation:
    """A ``Rotation`` whose claims are recorded under a key (one decision), so a re-run takes no new slot."""

    def __init__(self, rotation: SqlRotation, key: str) -> None:
        self.rotation, self.key = rotation, key

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: dt.date) -> str | None:
        """See ``Rotation.claim``; the claim's key is ``<key>:<pool>``."""
        return self.rotation.claim_slot(pool_id, candidates, day, key=f"{self.key}:{pool_id}")[0]
