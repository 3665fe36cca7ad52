"""The unit-of-work port: writes through several stores that commit as one."""

from __future__ import annotations

import abc
import contextlib


class UnitOfWork(abc.ABC):
    """Where a step's writes (a record, its decision, a sequence) commit together or not at all."""

    @abc.abstractmethod
    def together(self) -> contextlib.AbstractContextManager[None]:
        """A block whose writes through every store that joins this unit commit as one, or none do;
        nested blocks join the outer one.

        Returns:
            A context manager: the writes commit when the block ends and are undone when it raises.
        """
