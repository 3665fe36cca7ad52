"""Generate Outbound Signal: a signal that lifted its account over the threshold becomes outreach.

``prepare`` ties the signal to its CRM account (created from the target when there is none), matches the
account to its territory (Deploy's match rules through Route's engine), picks the person to work (the
persona the signal's Engage play names, among the account's contacts; when none fits, a lead for the
account itself) and writes that person as a lead sourced ``Outbound Signal``, keyed by the signal (one
outreach per account per event). It logs a ``generate`` decision on the lead that tells the story from the
news item on; the chain then scores (the signal is intent), routes and engages the lead with the play of
the signal's type, whose first email cites the signal and its source.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from revloops.core.decisions import Decision, digest
from revloops.core.errors import NotFound
from revloops.core.records import Account
from revloops.ports.crm import Query, eq
from revloops.ports.ledger import StoredSignal

if TYPE_CHECKING:
    from revloops.ports import Ports

LEAD_SOURCE = "Outbound Signal"


def lead_key(signal_id: str) -> str:
    """The outreach lead's external id: one per signal (an event)."""
    return f"outbound:{signal_id}"


def signal_context(signal: StoredSignal) -> dict[str, Any]:
    """The ``signal.*`` fields rules, scoring and plays read."""
    first = signal.sources[0] if signal.sources else {}
    return {"type": signal.type, "summary": signal.headline, "strength": signal.strength,
            "confidence": signal.confidence, "date": signal.event_date.isoformat(), "url": first.get("url"),
            "outlet": first.get("outlet"), "sources": len(signal.sources), "synthetic": signal.synthetic,
            "id": signal.id}


def get_signal(plat: Ports, signal_id: str) -> StoredSignal:
    """A signal of the ledger by id."""
    found = plat.ledger.get(signal_id)
    if found is None:
        raise NotFound(f"no signal {signal_id}")
    return found


def _account(plat: Ports, signal: StoredSignal) -> dict[str, Any]:
    from revloops.loops.generate.outbound import find_target, targets_file

    if signal.account_id:
        try:
            return plat.crm.get("Account", signal.account_id).fields()
        except NotFound:
            pass
    target = find_target(targets_file(plat), signal.domain)
    found = plat.crm.find_one(eq("Account", Website=signal.domain))
    if found is not None:
        return found.fields()
    from revloops.loops.generate.roster import territory_countries

    # the account's country from the target's territory, so territory matching has a place to go on
    country = territory_countries(plat.config).get(target.territory or "")
    account_id = plat.crm.create(Account(Name=target.name, Website=signal.domain, Type="Prospect",
                                         BillingCountry=country,
                                         Description=f"Created from outbound target {signal.domain}"))
    return plat.crm.get("Account", account_id).fields()


def _person(plat: Ports, account: dict[str, Any], ctx: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The account's contact to work and why: the persona the signal's play names, else the most senior."""
    from revloops.loops.engage.config import PlaysFile
    from revloops.loops.engage.logic import engage_context, persona_for, select_play

    plays: PlaysFile = plat.config.require("plays", PlaysFile)
    play = select_play(plays, engage_context(ctx, plays)).play
    wanted = play.persona if play is not None else None
    order = [p.id for p in plays.personas]
    contacts = [c.fields() for c in plat.crm.query_all(Query("Contact").where("AccountId", "eq", account["Id"]))]
    scored = []
    for c in contacts:
        persona = persona_for(c.get("Title"), plays)
        rank = 0 if wanted is not None and persona == wanted else 1 + (order.index(persona) if persona in order
                                                                        else len(order))
        scored.append((rank, c.get("LastName") or "", c["Id"], c, persona))
    if not scored:
        return None, "no contact at the account: a lead for the account itself"
    rank, _, _, contact, persona = min(scored, key=lambda t: (t[0], t[1], t[2]))
    why = (f"contact {contact.get('FirstName', '')} {contact.get('LastName', '')} ({contact.get('Title') or 'no title'}), "
           f"persona {persona}" + (f", the one play {play.id} works" if rank == 0 and play is not None else ""))
    return contact, why.strip()


def prepare(plat: Ports, signal_id: str, *, score: float, actor: str) -> dict[str, Any]:
    """Write the outreach lead for a signal (once) and log the story so far; answers the lead's fields and
    the signal's context for the chain's next steps."""
    from revloops.core.context import build_context
    from revloops.loops.route.flow import route_env

    signal = get_signal(plat, signal_id)
    account = _account(plat, signal)
    env = route_env(plat)
    account_ctx = build_context(account, account=account, sobject="Account")
    territory, rule = env.handlers().territory_of(account_ctx)
    sig = signal_context(signal)
    contact, who = _person(plat, account, {**account_ctx, **{f"signal.{k}": v for k, v in sig.items()}})
    fields = {
        "FirstName": (contact or {}).get("FirstName"), "LastName": (contact or {}).get("LastName") or "Revenue team",
        "Email": (contact or {}).get("Email"), "Title": (contact or {}).get("Title"),
        "Company": account.get("Name"), "Website": signal.domain, "Industry": account.get("Industry"),
        "NumberOfEmployees": account.get("NumberOfEmployees"), "Country": account.get("BillingCountry"),
        "State": account.get("BillingState"), "City": account.get("BillingCity"), "LeadSource": LEAD_SOURCE,
        "Matched_Account__c": account["Id"],
        "Description": f"{signal.type}: {signal.headline} ({sig.get('outlet') or ''} {sig.get('url') or ''})"[:32000],
    }
    result = plat.crm.upsert("Lead", "External_Id__c", lead_key(signal_id), {k: v for k, v in fields.items()
                                                                              if v is not None})
    lead_id = result.id or ""
    lead = plat.crm.get("Lead", lead_id).fields()
    sources = "; ".join(f"{s.get('outlet') or s.get('url')} ({s.get('published') or '?'})" for s in signal.sources)
    synthetic = " (offline corpus: these news items are shipped with the example org, not read from the web)" \
        if signal.synthetic else ""
    explanation = (f"signal {signal.type}: {signal.headline!r} from {sources}{synthetic}; the account's score "
                   f"{score:.2f} reached the outreach threshold; account {account.get('Name')} "
                   f"({account['Id']}), territory {territory or 'none'} ({rule}); {who}")
    plat.decisions.record(Decision(
        id=f"dec_generate_{lead_id}", loop="generate", sobject="Lead", record_id=lead_id, outcome="outbound_signal",
        detail={"signal": sig, "sources": signal.sources, "score": score, "account_id": account["Id"],
                "territory": territory, "contact_id": (contact or {}).get("Id")},
        explanation=explanation, config_version=plat.config.version,
        inputs_digest=digest({"signal": signal_id}), actor=actor))
    return {"lead": {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in lead.items()},
            "signal": sig, "territory": territory}
