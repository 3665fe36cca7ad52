"""Records and the decision log: explain a decision, the decisions on a record, a caller's leads."""

from __future__ import annotations

import datetime as dt

from revloops.app.base import AppBase
from revloops.core.decisions import Decision
from revloops.core.errors import InputError, NotFound
from revloops.core.identity import Caller
from revloops.core.inputs import check_record_id
from revloops.core.model import Frozen

MAX_PAGE = 200


class LeadSummary(Frozen):
    """One lead as a list shows it."""

    id: str
    name: str
    company: str | None
    email: str | None
    status: str | None
    owner_id: str | None
    qualification: str | None
    score: float | None
    created: dt.datetime | None
    sla: str | None = None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


class RecordActions(AppBase):
    """Reading what the loops decided, within the caller's scope."""

    def decision(self, caller: Caller, decision_id: str) -> Decision:
        """One decision with its trace, config version and inputs digest.

        Raises:
            NotFound: no such decision, or one on a record outside the caller's scope (the same answer).
        """
        found = self.platform.decisions.get(decision_id)
        if not self.can_see(caller, found.record_id):
            raise NotFound(f"decision {decision_id} does not exist")
        return found

    def record_decisions(self, caller: Caller, record_id: str, limit: int = 20) -> list[Decision]:
        """The latest decisions on a record, newest first (the whole story of a lead).

        Raises:
            NotFound: a record outside the caller's scope (answered like a missing one).
        """
        check_record_id(record_id)
        if not self.can_see(caller, record_id):
            raise NotFound(f"no decision on {record_id}")
        return self.platform.decisions.for_record(record_id, limit=_limit(limit))

    def explain(self, caller: Caller, ident: str, limit: int = 10) -> list[Decision]:
        """A decision by id (``dec_...``), or the latest decisions on a record; newest first.

        Raises:
            NotFound: nothing to explain, or nothing the caller may see.
        """
        if ident.startswith("dec_"):
            return [self.decision(caller, ident)]
        found = self.record_decisions(caller, ident, limit=limit)
        if not found:
            raise NotFound(f"no decision on {ident}")
        return found
