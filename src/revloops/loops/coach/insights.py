"""Coach: per-rep metrics turned into insights, each with the rows behind it and the query that found them.

Four kinds, each a query over the warehouse's views:

- ``slow_first_touch``: a rep whose median owned-to-first-touch time over the window is past the SLA, or who
  touched less than the SLA target share of their leads within it;
- ``stalled_deal``: an open deal past its stage's p90 age or with no activity for 30 days;
- ``ramp_behind``: a ramping rep whose bookings over the last three months are under 70% of what Design's ramp
  curve expects of them at their tenure;
- ``weak_rule``: a routing rule whose leads convert at less than half the rate of all leads (with enough leads
  to tell).

``team_rows`` is the per-rep table a manager's digest and ``team_performance`` show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from revloops.core.formatting import dollars
from revloops.core.model import Frozen
from revloops.ports.warehouse import Warehouse

Kind = Literal["slow_first_touch", "stalled_deal", "ramp_behind", "weak_rule"]
Severity = Literal["high", "medium", "low"]
EVIDENCE_ROWS = 10
RAMP_FLOOR = 0.7
WEAK_RULE_SHARE = 0.5
WEAK_RULE_MIN_LEADS = 20


class Insight(Frozen):
    """One thing worth a coach's attention, with its evidence and how it was found."""

    kind: Kind
    severity: Severity
    title: str
    detail: str
    owner_id: str | None = None
    owner_name: str | None = None
    manager_id: str | None = None
    evidence: list[dict[str, Any]]
    query: str
    params: list[Any] = []


class RepRow(Frozen):
    """One rep's figures over a window: speed to lead, SLA, conversion, activity, pipeline and bookings."""

    owner_id: str
    owner_name: str | None
    manager_id: str | None
    leads_owned: int
    touched: int
    first_touch_p50_h: float | None
    first_touch_p95_h: float | None
    sla_rate: float | None
    sla_breaches: int
    mqls: int
    converted: int
    conversion_rate: float | None
    activities: int
    open_deals: int
    open_pipeline: float
    won: int
    won_amount: float
    win_rate_by_count: float | None


def _scope_sql(column: str, owners: frozenset[str] | None, params: list[Any]) -> str:
    if owners is None:
        return "TRUE"
    params.extend(sorted(owners))
    return f"{column} IN ({', '.join('?' for _ in owners) or 'NULL'})"


def _rows(frame: pl.DataFrame, limit: int = EVIDENCE_ROWS) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.head(limit).to_dicts()]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    if value is not None and not isinstance(value, str | int | bool):
        return float(value)  # DuckDB decimals and huge integers
    return value


TEAM_SQL = """
WITH leads AS (
    SELECT owner_id, any_value(owner_name) AS owner_name, any_value(manager_id) AS manager_id,
           count(*) FILTER (WHERE owned_at IS NOT NULL) AS leads_owned, count(first_touch_at) AS touched,
           quantile_cont(human_delay_h, 0.5) AS first_touch_p50_h,
           quantile_cont(human_delay_h, 0.95) AS first_touch_p95_h,
           count(*) FILTER (WHERE within_sla) / nullif(count(*) FILTER (WHERE owned_at IS NOT NULL), 0) AS sla_rate,
           count(*) FILTER (WHERE owned_at IS NOT NULL AND NOT within_sla) AS sla_breaches,
           count(*) FILTER (WHERE is_mql) AS mqls, count(*) FILTER (WHERE is_converted) AS converted
    FROM lead_facts WHERE owner_id LIKE '005%' AND created_at >= ? AND created_at < ? GROUP BY owner_id),
acts AS (SELECT owner_id, sum(activities) AS activities FROM activity WHERE week >= ? AND week < ? GROUP BY 1),
pipe AS (SELECT owner_id, count(*) AS open_deals, sum(amount) AS open_pipeline FROM pipeline GROUP BY 1),
wins AS (SELECT owner_id, count(*) FILTER (WHERE is_won) AS won,
                coalesce(sum(amount) FILTER (WHERE is_won), 0) AS won_amount,
                count(*) FILTER (WHERE is_won) / nullif(count(*), 0) AS win_rate_by_count
         FROM opportunity_facts WHERE is_closed AND type = 'New Business' AND close_date >= ? AND close_date < ?
         GROUP BY 1),
reps AS (SELECT Id AS owner_id, Name AS owner_name, ManagerId AS manager_id FROM crm_user
         WHERE coalesce(IsActive, true) AND Sales_Role__c IS NOT NULL)
SELECT r.owner_id, r.owner_name, r.manager_id, coalesce(l.leads_owned, 0) AS leads_owned,
       coalesce(l.touched, 0) AS touched, l.first_touch_p50_h, l.first_touch_p95_h, l.sla_rate,
       coalesce(l.sla_breaches, 0) AS sla_breaches, coalesce(l.mqls, 0) AS mqls,
       coalesce(l.converted, 0) AS converted, l.converted / nullif(l.mqls, 0) AS conversion_rate,
       coalesce(a.activities, 0) AS activities, coalesce(p.open_deals, 0) AS open_deals,
       coalesce(p.open_pipeline, 0) AS open_pipeline, coalesce(w.won, 0) AS won,
       coalesce(w.won_amount, 0) AS won_amount, w.win_rate_by_count
FROM reps r LEFT JOIN leads l USING (owner_id) LEFT JOIN acts a USING (owner_id) LEFT JOIN pipe p USING (owner_id)
LEFT JOIN wins w USING (owner_id)
WHERE {scope}
ORDER BY r.owner_name
"""


def team_rows(wh: Warehouse, start: dt.date, end: dt.date, owners: frozenset[str] | None) -> list[RepRow]:
    """Every active rep in scope, with their figures from ``start`` to ``end`` (exclusive)."""
    params: list[Any] = [start, end, start, end, start, end]
    sql = TEAM_SQL.format(scope=_scope_sql("r.owner_id", owners, params))
    return [RepRow(**{k: _plain(v) if k not in ("owner_id", "owner_name", "manager_id") else v
                      for k, v in row.items()}) for row in wh.query(sql, params).to_dicts()]


def _slow_first_touch(wh: Warehouse, start: dt.date, end: dt.date, sla_hours: float, sla_target: float,
                      owners: frozenset[str] | None) -> list[Insight]:
    out: list[Insight] = []
    for rep in team_rows(wh, start, end, owners):
        if rep.leads_owned < 5:
            continue
        slow = rep.first_touch_p50_h is not None and rep.first_touch_p50_h > sla_hours
        missed = rep.sla_rate is not None and rep.sla_rate < 1.0 - sla_target
        if not (slow or missed):
            continue
        params: list[Any] = [rep.owner_id, start, end]
        sql = ("SELECT lead_id, company, created_at, owned_at, first_touch_at, round(human_delay_h, 1) AS hours "
               "FROM lead_facts WHERE owner_id = ? AND created_at >= ? AND created_at < ? "
               "AND owned_at IS NOT NULL AND NOT within_sla ORDER BY human_delay_h DESC NULLS FIRST")
        evidence = _rows(wh.query(sql, params))
        p50 = f"{rep.first_touch_p50_h:.1f} h" if rep.first_touch_p50_h is not None else "untouched"
        share = f"{rep.sla_rate:.0%}" if rep.sla_rate is not None else "none"
        out.append(Insight(
            kind="slow_first_touch", severity="high" if slow else "medium", owner_id=rep.owner_id,
            owner_name=rep.owner_name, manager_id=rep.manager_id,
            title=f"{rep.owner_name}: slow first touch (p50 {p50}, {share} within {sla_hours:g} h)",
            detail=(f"{rep.sla_breaches} of {rep.leads_owned} owned leads were not touched within the "
                    f"{sla_hours:g}-hour SLA; the p95 is "
                    f"{'untouched' if rep.first_touch_p95_h is None else f'{rep.first_touch_p95_h:.1f} h'}."),
            evidence=evidence, query=sql, params=_params(params)))
    return out


def _stalled(wh: Warehouse, owners: frozenset[str] | None) -> list[Insight]:
    params: list[Any] = []
    sql = ("SELECT opportunity_id, name, owner_id, owner_name, manager_id, stage, amount, stage_age_days, "
           "round(stage_p90_days) AS stage_p90_days, days_since_activity, past_stage_p90, no_recent_activity "
           f"FROM stalled_deals WHERE {_scope_sql('owner_id', owners, params)} ORDER BY amount DESC")
    frame = wh.query(sql, params)
    out: list[Insight] = []
    for row in frame.to_dicts():
        reasons = []
        if row["past_stage_p90"]:
            reasons.append(f"{row['stage_age_days']} days in {row['stage']} (p90 of the stage: "
                           f"{row['stage_p90_days']:g})")
        if row["no_recent_activity"]:
            reasons.append(f"no activity for {row['days_since_activity']} days")
        out.append(Insight(
            kind="stalled_deal", severity="high" if len(reasons) == 2 else "medium", owner_id=row["owner_id"],
            owner_name=row["owner_name"], manager_id=row["manager_id"],
            title=f"Stalled: {row['name']} ({_money(row['amount'])}, {row['owner_name']})",
            detail="; ".join(reasons), evidence=_rows(pl.DataFrame([row])), query=sql, params=_params(params)))
    return out


def _ramp_behind(wh: Warehouse, as_of: dt.date, owners: frozenset[str] | None) -> list[Insight]:
    first = _months_before(as_of, 3)
    params: list[Any] = [first, as_of]
    sql = ("SELECT username, owner_id, any_value(owner_name) AS owner_name, any_value(manager_id) AS manager_id, "
           "any_value(motion) AS motion, max(tenure_month) AS tenure_month, sum(bookings) AS bookings, "
           "sum(expected) AS expected, sum(bookings) / nullif(sum(expected), 0) AS attainment "
           "FROM rep_ramp WHERE month >= ? AND month <= ? AND ramp < 1.0 "
           f"AND {_scope_sql('owner_id', owners, params)} GROUP BY username, owner_id "
           f"HAVING sum(bookings) < {RAMP_FLOOR} * sum(expected) ORDER BY attainment")
    out: list[Insight] = []
    for row in wh.query(sql, params).to_dicts():
        out.append(Insight(
            kind="ramp_behind", severity="medium", owner_id=row["owner_id"], owner_name=row["owner_name"],
            manager_id=row["manager_id"],
            title=f"{row['owner_name'] or row['username']}: behind the ramp ({row['attainment'] or 0:.0%} of plan)",
            detail=(f"Month {row['tenure_month']} of tenure ({row['motion']}): {_money(row['bookings'])} booked "
                    f"in the last three months against {_money(row['expected'])} Design's ramp expects."),
            evidence=_rows(pl.DataFrame([row])), query=sql, params=_params(params)))
    return out


def _weak_rules(wh: Warehouse) -> list[Insight]:
    sql = ("WITH r AS (SELECT * FROM routing_rules WHERE rule_id <> '(not routed)'), "
           "o AS (SELECT sum(converted) / nullif(sum(leads), 0) AS overall FROM r) "
           "SELECT r.rule_id, r.action, r.leads, r.converted, r.conversion_rate, o.overall FROM r, o "
           f"WHERE r.leads >= {WEAK_RULE_MIN_LEADS} AND o.overall > 0 "
           f"AND r.conversion_rate < {WEAK_RULE_SHARE} * o.overall ORDER BY r.conversion_rate")
    out: list[Insight] = []
    for row in wh.query(sql).to_dicts():
        out.append(Insight(
            kind="weak_rule", severity="low",
            title=f"Rule {row['rule_id']}: its leads convert at {row['conversion_rate']:.1%}",
            detail=(f"{row['converted']} of {row['leads']} leads routed by {row['rule_id']} ({row['action']}) "
                    f"converted, against {row['overall']:.1%} across all rules."),
            evidence=_rows(pl.DataFrame([row])), query=sql))
    return out


def insights(wh: Warehouse, *, as_of: dt.date, window_days: int, sla_hours: float, sla_target: float,
             owners: frozenset[str] | None, kinds: Sequence[Kind] | None = None) -> list[Insight]:
    """Every insight for the reps in ``owners`` (None: the org), most severe first; rule-level insights
    only for the whole org."""
    start = as_of - dt.timedelta(days=window_days)
    end = as_of + dt.timedelta(days=1)
    wanted = set(kinds or ("slow_first_touch", "stalled_deal", "ramp_behind", "weak_rule"))
    found: list[Insight] = []
    if "slow_first_touch" in wanted:
        found += _slow_first_touch(wh, start, end, sla_hours, sla_target, owners)
    if "stalled_deal" in wanted:
        found += _stalled(wh, owners)
    if "ramp_behind" in wanted:
        found += _ramp_behind(wh, as_of, owners)
    if "weak_rule" in wanted and owners is None:
        found += _weak_rules(wh)
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(found, key=lambda i: (order[i.severity], i.kind, i.owner_name or "", i.title))


def _months_before(day: dt.date, months: int) -> dt.date:
    key = day.year * 12 + day.month - 1 - (months - 1)
    return dt.date(key // 12, key % 12 + 1, 1)


def _money(value: Any) -> str:
    return dollars(float(value or 0))


def _params(params: list[Any]) -> list[Any]:
    return [_plain(p) for p in params]
