"""Records and the decision log: explain a decision, the decisions on a record, a caller's leads."""

from __future__ import annotations

import datetime as dt

from revloops.app.base import AppBase, Page
from revloops.core.decisions import Decision
from revloops.core.errors import InputError, NotFound
from revloops.core.identity import Caller
from revloops.core.inputs import check_record_id
from revloops.core.model import Frozen
from revloops.ports.crm import Filter, Query

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

    def list_leads(self, caller: Caller, *, status: str | None = None, qualification: str | None = None,
                   limit: int = 50, cursor: str | None = None) -> Page[LeadSummary]:
        """The leads the caller sees (a rep's own, a manager's team's, everyone's), newest first."""
        query = Query("Lead", order_by=(("CreatedDate", True), ("Id", True)))
        owners = self.visible_owners(caller)
        if owners is not None:
            query = query.where("OwnerId", "in", sorted(owners) or ["(none)"])
        if status:
            query = Query(query.sobject, (*query.filters, Filter("Status", "eq", status)), query.order_by)
        if qualification:
            query = query.where("Qualification__c", "eq", qualification)
        try:
            page = self.platform.crm.query(query, page_size=_limit(limit), page_token=cursor)
        except ValueError:
            raise InputError("not a cursor this list gave out", field="cursor") from None
        items = [LeadSummary(
            id=r.Id or "", name=" ".join(p for p in (getattr(r, "FirstName", None), getattr(r, "LastName", None)) if p),
            company=getattr(r, "Company", None), email=getattr(r, "Email", None), status=getattr(r, "Status", None),
            owner_id=getattr(r, "OwnerId", None), qualification=getattr(r, "Qualification__c", None),
            score=getattr(r, "Lead_Score__c", None), created=getattr(r, "CreatedDate", None),
        ) for r in page.records]
        return Page[LeadSummary](items=items, total=page.total, next_cursor=page.next_token)
