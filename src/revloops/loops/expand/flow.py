"""Expand: customer health, its back-test, and renewals opened with their play before contracts end.

Health reads the CRM as columns (accounts and their monthly usage snapshots) and scores every customer at
once (``health.score_frame``); one account's explanation comes from the per-account path
(``health.score_one``), which the property test holds equal to it. A renewal opportunity is opened the
configured number of days before a contract ends (per segment), carrying the account's health breakdown,
and the renewal play's milestones start on it; both are keyed (the opportunity by
``renewal:<account>:<contract end>``, the plan by the same), so running renewals again opens nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from revloops.core.context import segment_for
from revloops.core.errors import InputError, NotFound
from revloops.core.frames import empty_frame
from revloops.loops.plays import PlanView, Selection, owners_for, read_subject, start

if TYPE_CHECKING:
    from revloops.loops.expand.config import ExpandPlay
    from revloops.loops.expand.health import HealthFile
    from revloops.ports import Ports

LOOP = "expand"
ACCOUNT_COLUMNS = ("Id", "Name", "Type", "OwnerId", "NumberOfEmployees", "Customer_Since__c", "Contract_End__c",
                   "ARR__c", "Seats_Purchased__c", "Churned_On__c")
USAGE_COLUMNS = ("Account__c", "Month__c", "Seats_Purchased__c", "Seats_Active__c", "Logins_Per_User__c",
                 "Support_Tickets__c", "NPS__c", "Executive_Sponsor__c")


def _read(plat: Ports, sobject: str, columns: tuple[str, ...]) -> pl.DataFrame:
    chunks = list(plat.crm.read_columns(sobject, columns))
    return pl.concat(chunks, how="vertical_relaxed") if chunks else empty_frame(sobject, columns)


def read_frames(plat: Ports) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every account and every usage snapshot, as columns (chunked reads, concatenated)."""
    return _read(plat, "Account", ACCOUNT_COLUMNS), _read(plat, "Usage_Snapshot__c", USAGE_COLUMNS)


def health_config(plat: Ports) -> HealthFile:
    """``expand/health.yaml``, required."""
    from revloops.loops.expand.health import HealthFile

    return plat.config.require("health", HealthFile)


def health_frame(plat: Ports, as_of: dt.date) -> pl.DataFrame:
    """Every customer's health at ``as_of``: score, band, each measure's points and term, joined to the
    account's name, owner, ARR and contract end."""
    from revloops.loops.expand.health import features, score_frame

    accounts, usage = read_frames(plat)
    scored = score_frame(health_config(plat), features(accounts, usage, as_of))
    return scored.join(accounts.select("Id", "Name", "OwnerId", "ARR__c", "Contract_End__c"), on="Id", how="left")


def health_changes(plat: Ports, as_of: dt.date) -> list[tuple[str, dict[str, Any]]]:
    """The accounts whose stored ``Health_Score__c`` / ``Health_Band__c`` differ from their health at ``as_of``
    (customers scored; a former customer's band is cleared), as CRM updates."""
    accounts = _read(plat, "Account", ("Id", "Health_Score__c", "Health_Band__c"))
    scored = health_frame(plat, as_of).select("Id", pl.col("score").round(1).alias("_score"),
                                              pl.col("band").alias("_band"))
    joined = accounts.join(scored, on="Id", how="left")
    differs = joined.filter(
        (pl.col("Health_Score__c").round(1).ne_missing(pl.col("_score")))
        | (pl.col("Health_Band__c").ne_missing(pl.col("_band"))))
    return [(r["Id"], {"Health_Score__c": r["_score"], "Health_Band__c": r["_band"]})
            for r in differs.iter_rows(named=True)]


def account_health(plat: Ports, account_id: str, as_of: dt.date) -> Any:
    """One account's health, explained term by term (``health.HealthScore``).

    Raises:
        NotFound: no such account, or it is not a customer at ``as_of``.
    """
    from revloops.loops.expand.health import features, score_one

    accounts, usage = read_frames(plat)
    one = accounts.filter(pl.col("Id") == account_id)
    if one.is_empty():
        raise NotFound(f"no account {account_id}")
    feats = features(one, usage.filter(pl.col("Account__c") == account_id), as_of)
    if feats.is_empty():
        raise NotFound(f"account {account_id} is not a customer on {as_of.isoformat()}")
    return score_one(health_config(plat), feats.row(0, named=True))


def backtest(plat: Ports, as_of: dt.date, horizon_days: int) -> Any:
    """Score past customers as of a date and measure how well health predicted the churn that followed."""
    from revloops.loops.expand.health import backtest as run

    accounts, usage = read_frames(plat)
    return run(health_config(plat), accounts, usage, as_of, horizon_days)


# -- renewals ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Renewal:
    """A customer whose contract ends soon: when its renewal play opens, and what exists for it."""

    account_id: str
    account: str
    contract_end: dt.date
    days_left: int
    opens_on: dt.date
    window_open: bool
    arr: float | None
    health: float | None
    band: str | None
    opportunity_id: str | None
    plan_id: str | None


def renewal_play(plat: Ports) -> ExpandPlay:
    """The first expand play with a renewal trigger."""
    from revloops.loops.expand.config import ExpandPlaysFile

    plays: ExpandPlaysFile = plat.config.require("expand_plays", ExpandPlaysFile)
    for play in plays.plays:
        if play.trigger.type == "renewal":
            return play
    raise InputError("expand/plays.yaml has no play with a renewal trigger", field="plays")


def renewal_key(account_id: str, contract_end: dt.date) -> str:
    """The renewal opportunity's external id (and its plan's id suffix)."""
    return f"renewal:{account_id}:{contract_end.isoformat()}"


def renewals(plat: Ports, *, due_within: int, as_of: dt.date) -> list[Renewal]:
    """Customers whose contract ends within ``due_within`` days of ``as_of``, soonest first."""
    if due_within < 0:
        raise InputError("due_within must be 0 or more days", field="due_within")
    play = renewal_play(plat)
    capacity = plat.config.get("capacity")
    health = health_frame(plat, as_of) if plat.config.get("health") is not None else None
    scores = {} if health is None else {r["Id"]: (r["score"], r["band"]) for r in
                                        health.select("Id", "score", "band").iter_rows(named=True)}
    accounts, _ = read_frames(plat)
    due = accounts.filter(pl.col("Contract_End__c").is_not_null() & pl.col("Churned_On__c").is_null()
                          & pl.col("Type").str.starts_with("Customer")
                          & (pl.col("Contract_End__c") >= as_of)
                          & (pl.col("Contract_End__c") <= as_of + dt.timedelta(days=due_within)))
    out = []
    for row in due.sort("Contract_End__c", "Id").iter_rows(named=True):
        employees = row.get("NumberOfEmployees")
        segment = segment_for(int(employees), capacity.segments) if capacity is not None and employees else None
        end: dt.date = row["Contract_End__c"]
        opens = end - dt.timedelta(days=play.trigger.window(segment))
        key = renewal_key(row["Id"], end)
        opp = plat.crm.find_one(_by_external("Opportunity", key))
        plan = plat.plans.get(f"{LOOP}:{key}")
        score, band = scores.get(row["Id"], (None, None))
        out.append(Renewal(account_id=row["Id"], account=row.get("Name") or row["Id"], contract_end=end,
                           days_left=(end - as_of).days, opens_on=opens, window_open=as_of >= opens,
                           arr=row.get("ARR__c"), health=score, band=band,
                           opportunity_id=opp.Id if opp is not None else None, plan_id=plan.id if plan else None))
    return out


def _by_external(sobject: str, key: str) -> Any:
    from revloops.ports.crm import eq

    return eq(sobject, External_Id__c=key)


def open_renewal(plat: Ports, renewal: Renewal, *, as_of: dt.date, actor: str = "system") -> PlanView:
    """Open one renewal: its opportunity (with the health breakdown) and the renewal play's milestones."""
    key = renewal_key(renewal.account_id, renewal.contract_end)
    return open_play(plat, renewal_play(plat), renewal.account_id, key, close=renewal.contract_end,
                     amount=renewal.arr, as_of=as_of, actor=actor,
                     facts={"contract_end": renewal.contract_end.isoformat(), "health": renewal.health,
                            "band": renewal.band})


def open_play(plat: Ports, play: ExpandPlay, account_id: str, key: str, *, close: dt.date, amount: float | None,
              as_of: dt.date, actor: str = "system", reason: str = "",
              facts: dict[str, Any] | None = None) -> PlanView:
    """Open an expand play on an account: the opportunity of its template (upserted by ``key``, carrying the
    account's health breakdown and why), then the play's milestones on it (instance ``expand:<key>``)."""
    breakdown = _breakdown(plat, account_id, as_of)
    account = plat.crm.get("Account", account_id).fields()
    name = play.opportunity.name.format(account=account.get("Name") or account_id, year=close.year)[:120]
    fields = {"Name": name, "AccountId": account_id, "StageName": play.opportunity.stage,
              "Type": play.opportunity.type, "CloseDate": close.isoformat(), "Amount": amount,
              "Description": ((reason + "\n\n") if reason else "") + breakdown[:30000],
              "OwnerId": account.get("OwnerId"), "Deal_Play__c": play.id}
    result = plat.crm.upsert("Opportunity", "External_Id__c", key, {k: v for k, v in fields.items() if v is not None})
    if not result.success or result.id is None:
        raise InputError(f"the {play.id} opportunity for {account_id} was refused", field="account_id")
    subject = read_subject(plat, "Opportunity", result.id)
    iid = f"{LOOP}:{key}"
    owners = owners_for(plat, subject, [m.owner_role for m in play.milestones], key=iid)
    why = Selection(play, reason or f"expand play {play.id!r}", [])
    return start(plat, loop=LOOP, play=play, subject=subject, instance_id=iid, started_on=as_of, owners=owners,
                 why=why, facts=dict(facts or {}), actor=actor, today=as_of)


# -- plays a customer's usage or health triggers --------------------------------------------------------------


@dataclass(frozen=True)
class Triggered:
    """An expand play a customer's state triggers: the account, the play, why, and its plan when one is open."""

    account_id: str
    account: str
    play_id: str
    reason: str
    plan_id: str | None


def triggered(plat: Ports, *, as_of: dt.date) -> tuple[list[Triggered], list[str]]:
    """The usage and health-drop plays customers trigger at ``as_of`` (an account with an active plan of a play
    is listed with it, so nothing opens twice), and notes on the triggers that cannot run yet."""
    from revloops.loops.expand.config import ExpandPlaysFile
    from revloops.loops.expand.health import features, score_frame

    plays: ExpandPlaysFile = plat.config.require("expand_plays", ExpandPlaysFile)
    accounts, usage = read_frames(plat)
    cfg = health_config(plat) if plat.config.get("health") is not None else None
    feats = features(accounts, usage, as_of, cfg.lookback_months if cfg else 3)
    scored = score_frame(cfg, feats) if cfg is not None else None
    names = dict(accounts.select("Id", "Name").iter_rows())
    out: list[Triggered] = []
    notes: list[str] = []
    for play in plays.plays:
        hits: list[tuple[str, str]] = []
        if play.trigger.type == "usage" and play.trigger.seat_utilisation_above is not None:
            limit = play.trigger.seat_utilisation_above
            hits = [(r["Id"], f"seat utilisation {r['seat_utilisation']:.0%} above {limit:.0%}")
                    for r in feats.filter(pl.col("seat_utilisation") > limit).iter_rows(named=True)]
        elif play.trigger.type == "health_drop" and play.trigger.below is not None:
            if scored is None:
                notes.append(f"{play.id}: no expand/health.yaml, so no health to drop")
                continue
            below = play.trigger.below
            hits = [(r["Id"], f"health {r['score']:.1f} below {below:g}")
                    for r in scored.filter(pl.col("score") < below).iter_rows(named=True)]
        elif play.trigger.type == "expansion_signal":
            notes.append(f"{play.id}: opens on outbound signals ({', '.join(play.trigger.signal_types)}), "
                         "which reach it from the signal ledger")
            continue
        else:
            continue
        for account_id, reason in sorted(hits):
            if play.when is not None:
                from revloops.core.rules.single import compile_condition

                if not compile_condition(play.when).holds(read_subject(plat, "Account", account_id).ctx):
                    continue
            active = plat.plans.instances(loop=LOOP, account_id=account_id, play_id=play.id, status="active")
            out.append(Triggered(account_id, names.get(account_id) or account_id, play.id, reason,
                                 active[0].id if active else None))
    return out, notes


def open_triggered(plat: Ports, hit: Triggered, *, as_of: dt.date, actor: str = "system") -> PlanView:
    """Open the play a customer triggered (its opportunity closes ``close_in_days`` after ``as_of``)."""
    from revloops.loops.expand.config import ExpandPlaysFile

    plays: ExpandPlaysFile = plat.config.require("expand_plays", ExpandPlaysFile)
    play = next((p for p in plays.plays if p.id == hit.play_id), None)
    if play is None:
        raise InputError(f"expand play {hit.play_id!r} is not in the config", field="play_id")
    key = f"{hit.play_id}:{hit.account_id}:{as_of:%Y-%m}"
    return open_play(plat, play, hit.account_id, key, close=as_of + dt.timedelta(days=play.opportunity.close_in_days),
                     amount=None, as_of=as_of, actor=actor, reason=hit.reason, facts={"reason": hit.reason})


def _breakdown(plat: Ports, account_id: str, as_of: dt.date) -> str:
    if plat.config.get("health") is None:
        return "No health config (expand/health.yaml)."
    try:
        return f"Health on {as_of.isoformat()}:\n" + str(account_health(plat, account_id, as_of).explanation())
    except NotFound as exc:
        return f"Health unknown: {exc}"
