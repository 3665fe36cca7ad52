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

from revloops.adapters.sql.fast import Unit, fast_sql
from revloops.adapters.sql.tables import rotation_claims, rotation_state
from revloops.core.errors import UpstreamUnavailable
from revloops.core.rotation import Candidate, RotationState, next_in_rotation
from revloops.ports.rotation import DurableRotation

MAX_ATTEMPTS = 200


class _Lost(Exception):
    """Another resolver moved the pool between this one's read and its swap."""


def _state_of_pool(lock: bool = False) -> sa.Select[Any]:
    stmt = sa.select(rotation_state.c.state, rotation_state.c.version).where(rotation_state.c.pool == sa.bindparam("pool"))
    return stmt.with_for_update() if lock else stmt


def _claim_of_key() -> sa.Select[Any]:
    return sa.select(rotation_claims.c.member, rotation_claims.c.slot).where(rotation_claims.c.key == sa.bindparam("key"))


def _swap_state() -> sa.Update:
    return (rotation_state.update()
            .where(rotation_state.c.pool == sa.bindparam("pool_"), rotation_state.c.version == sa.bindparam("version_"))
            .values(state=sa.bindparam("state"), version=sa.bindparam("version"), updated_at=sa.bindparam("updated_at")))


class SqlRotation(DurableRotation):
    """The durable rotation port on the state database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = fast_sql(engine)

    def state(self, pool_id: str) -> tuple[RotationState | None, int]:
        """The pool's current state and version (None, 0 before its first claim)."""
        with self.sql.unit() as unit:
            return self._state(unit, pool_id)

    def _state(self, unit: Unit, pool_id: str, lock: bool = False) -> tuple[RotationState | None, int]:
        stmt = self.sql.prepare(("rotation.state", lock), lambda: _state_of_pool(lock))
        row = unit.first(stmt, {"pool": pool_id})
        return (dict(row["state"]), int(row["version"])) if row else (None, 0)

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
        with self.sql.unit() as unit:
            return self._claimed(unit, key)

    def _claimed(self, unit: Unit, key: str) -> tuple[str, int] | None:
        row = unit.first(self.sql.prepare("rotation.claimed", _claim_of_key), {"key": key})
        return (row["member"], int(row["slot"])) if row else None

    def claim_slot(self, pool_id: str, candidates: Sequence[Candidate], day: dt.date,
                   key: str | None = None) -> tuple[str | None, int]:
        """Take the next slot and answer ``(member, slot number)``; slot numbers are unique per pool.

        With ``key``, the claim is recorded in the same transaction as the slot, and a second claim under the
        same key answers the first one's member and slot without taking another.
        """
        for attempt in range(MAX_ATTEMPTS):
            try:
                # One unit of work holding the pool: SQLite's write lock from the first read, Postgres's row lock
                # from the read of the state (contenders queue on it instead of all reading one version and
                # all but one failing their swap). The version check still guards the swap, and the first
                # claim of a new pool, which has no row to lock, races on its insert and retries. Inside an
                # open unit (``together``) each attempt is a savepoint, so a lost one is taken back alone.
                with self.sql.unit(write=True, savepoint=True) as unit:
                    if key is not None and (done := self._claimed(unit, key)) is not None:
                        return done
                    state, version = self._state(unit, pool_id, lock=True)
                    chosen, new_state = next_in_rotation(state, candidates, day)
                    if chosen is None:
                        return None, version
                    self._swap(unit, pool_id, version, new_state, claim=(key, chosen) if key else None)
                    return chosen, version + 1
            except (_Lost, self.sql.IntegrityError):
                pass  # another resolver swapped first, or created the pool's row first
            except self.sql.OperationalError as exc:
                if "locked" not in str(exc).lower():
                    raise
            # lost the race: back off a little (jitter keeps contenders from colliding in step)
            time.sleep(min(0.05, 0.001 * (attempt + 1)) * random.random())
        raise UpstreamUnavailable(f"round-robin pool {pool_id} is too contended; try again", retry_after=1)

    def _swap(self, unit: Unit, pool_id: str, version: int, new_state: dict[str, Any],
              claim: tuple[str, str] | None = None) -> None:
        now = dt.datetime.now(dt.UTC)
        if version == 0:
            insert = self.sql.prepare("rotation.insert_state", rotation_state.insert)
            unit.execute(insert, {"pool": pool_id, "state": new_state, "version": 1, "updated_at": now})
        elif not unit.execute(self.sql.prepare("rotation.swap", _swap_state),
                              {"pool_": pool_id, "version_": version, "state": new_state, "version": version + 1,
                               "updated_at": now}):
            raise _Lost(pool_id)
        if claim is not None:  # a concurrent claim under the same key fails here and rolls back
            unit.execute(self.sql.prepare("rotation.insert_claim", rotation_claims.insert),
                         {"key": claim[0], "pool": pool_id, "member": claim[1], "slot": version + 1, "claimed_at": now})


class KeyedRotation:
    """A ``Rotation`` whose claims are recorded under a key (one decision), so a re-run takes no new slot."""

    def __init__(self, rotation: SqlRotation, key: str) -> None:
        self.rotation, self.key = rotation, key

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: dt.date) -> str | None:
        """See ``Rotation.claim``; the claim's key is ``<key>:<pool>``."""
        return self.rotation.claim_slot(pool_id, candidates, day, key=f"{self.key}:{pool_id}")[0]
