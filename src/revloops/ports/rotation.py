"""The durable round-robin port: the store that keeps every pool's state and the claims taken under a key.

The pure algorithm (smooth weighted round robin), the ``Rotation`` protocol and the in-memory rotation that
previews simulate with live in ``revloops.core.rotation``; the adapter is
``revloops.adapters.sql.rotation.SqlRotation``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import date

from revloops.core.rotation import Candidate, Rotation, RotationState

__all__ = ["DurableRotation", "Rotation"]


class DurableRotation(abc.ABC):
    """The rotation every live routing decision claims from: two concurrent claims never take one slot."""

    @abc.abstractmethod
    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: date) -> str | None:
        """Take the next slot of ``pool_id`` among ``candidates`` on ``day``; None when all are capped."""

    @abc.abstractmethod
    def states(self) -> dict[str, RotationState]:
        """Every pool's current state (what a preview starts its simulation from)."""

    @abc.abstractmethod
    def keyed(self, key: str) -> Rotation:
        """This rotation, where each pool's claim under ``key`` is taken once: a re-run answers the same member."""

    @abc.abstractmethod
    def claimed(self, key: str) -> tuple[str, int] | None:
        """The member and slot a keyed claim took, if it was taken."""
