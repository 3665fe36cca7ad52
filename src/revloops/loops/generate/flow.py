"""Generate (inbound): capture a created lead: duplicate check, lead-to-account match, normalised geography.

The capture is a decision like any other (``loop="generate"``), stored once per lead: running it again
answers the stored one and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from revloops.core.decisions import Decision, digest
from revloops.core.errors import NotFound
from revloops.core.geo import normalise_geo
from revloops.core.records import Lead
from revloops.ports import Ports
from revloops.ports.crm import Filter, Query

DUPLICATE_WINDOW = dt.timedelta(days=30)


def capture_decision_id(lead_id: str) -> str:
    """One capture per lead."""
    return f"dec_generate_{lead_id}"


def find_duplicate(plat: Ports, lead: Lead, window: dt.timedelta = DUPLICATE_WINDOW) -> str | None:
    """An earlier open lead with the same email created within ``window`` before this one, if any."""
    if not lead.Email or lead.CreatedDate is None:
        return None
    since = lead.CreatedDate - window
    query = Query("Lead", (Filter("Email", "eq", lead.Email), Filter("CreatedDate", "gte", since),
                           Filter("CreatedDate", "lte", lead.CreatedDate)),
                  order_by=(("CreatedDate", False),))
    for other in plat.crm.query_all(query, page_size=50):
        if other.Id == lead.Id:
            continue
        earlier = (other.CreatedDate, other.Id or "") < (lead.CreatedDate, lead.Id or "")
        if earlier and not getattr(other, "IsConverted", False):
            return other.Id
    return None


def capture(plat: Ports, lead_id: str, *, actor: str = "system",
            window: dt.timedelta = DUPLICATE_WINDOW) -> Decision:
    """Capture one lead; the outcome is ``captured`` or ``duplicate_of:<lead id>``.

    Writes ``Matched_Account__c`` on the lead when an account matches.
    """
    return capture_lead(plat, lead_id, actor=actor, window=window)[0]


def capture_lead(plat: Ports, lead_id: str, *, actor: str = "system",
                 window: dt.timedelta = DUPLICATE_WINDOW) -> tuple[Decision, Lead]:
    """Capture one lead and answer the decision with the lead as captured (what the chain passes on)."""
    lead = plat.crm.get("Lead", lead_id)
    assert isinstance(lead, Lead)
    try:
        return plat.decisions.get(capture_decision_id(lead_id)), lead
    except NotFound:
        pass
    from revloops.loops.route.flow import route_env

    env = route_env(plat)
    found = env.accounts.match(email=lead.Email, website=lead.Website, company=lead.Company, mode="domain_then_name")
    geo = normalise_geo(lead.Country, lead.State, lead.PostalCode, lead.City)
    duplicate_of = find_duplicate(plat, lead, window)
    detail: dict[str, Any] = {
        "account_id": found.account_id if found else None, "account_match": found.how if found else None,
        "account_score": found.score if found else None, "geo": geo.model_dump(), "duplicate_of": duplicate_of,
    }
    parts = [f"account {found.account_id} by {found.how}" if found else "no account match",
             f"geo {geo.country or '?'}{'/' + geo.region if geo.region else ''}"
             + (f" (ambiguous: {geo.reason})" if geo.ambiguous else "")]
    if duplicate_of:
        parts.insert(0, f"duplicate of {duplicate_of} (same email within {window.days} days)")
    matched = bool(found and lead.Matched_Account__c != found.account_id)
    if found and matched:
        lead = lead.model_copy(update={"Matched_Account__c": found.account_id})
    decision = Decision(
        id=capture_decision_id(lead_id), loop="generate", sobject="Lead", record_id=lead_id,
        outcome=f"duplicate_of:{duplicate_of}" if duplicate_of else "captured", detail=detail,
        explanation="; ".join(parts), config_version=plat.config.version,
        inputs_digest=digest({"lead": lead.model_dump(mode="json", exclude={"SystemModstamp", "LastModifiedDate"})}),
        actor=actor,
    )
    with plat.uow.together():  # the account on the lead and the capture decision: one commit
        if found and matched:
            plat.crm.update("Lead", lead_id, {"Matched_Account__c": found.account_id})
        return plat.decisions.record(decision), lead
