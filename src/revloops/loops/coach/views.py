"""The warehouse's documented views, as DuckDB SQL over its tables.

Tables (loaded by ``loops/coach/warehouse.py``): ``crm_<object>`` for every CRM object (``crm_lead``,
``crm_opportunity``, ``crm_opportunityhistory``, ``crm_task``, ``crm_user``...), the loops' state
(``decisions``, ``engage_sequences``, ``plan_instances``, ``plan_milestones``, ``signals``, ``signal_scans``,
``llm_spend``, ``enrichment_spend``), Design's plan (``design_capacity``, ``design_roster``,
``design_rep_months``, ``design_segments``), Coach's SLA (``coach_sla``) and ``warehouse_meta`` (the as-of day).

Each view is a ``View``: its name, what a row is, the columns a metric may group or filter by (its
dimensions) and its time column. The views are created in this order, so a view may use the ones above it.
Every figure is computed the same way for every reader: the report, Coach, the API, ``sql`` and MCP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    """A view of the warehouse: its SQL, what one row is, its time column and its dimensions."""

    name: str
    row: str
    sql: str
    time: str | None = None
    dimensions: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        return f"one row per {self.row}"


_AS_OF = "(SELECT as_of FROM warehouse_meta)"
_USER = "SELECT Id, Name, Username, Sales_Role__c, ManagerId FROM crm_user"

@dataclass(frozen=True)
class Fact:
    """A table the refresh keeps up to date row by row (the views over it then read a table, not a join).

    ``sql`` selects the fact's rows; ``{in:COLUMN}`` marks where a partial rebuild narrows each part of it to the
    keys that changed (``TRUE`` for a rebuild of everything). ``changes`` are, per source table, the query that
    turns that table's changed keys (``_changed_<table>``) into this fact's keys; a change in a table of
    ``rebuild`` (the users, Design's segments, Coach's SLA) rebuilds the whole fact.
    """

    table: str
    key: str
    sql: str  # its times are UTC without a zone: grouping by month then costs no time-zone arithmetic
    changes: tuple[tuple[str, str], ...]
    rebuild: tuple[str, ...]

    def select(self, scoped: bool) -> str:
        """The fact's SELECT: for every row, or (``scoped``) for the keys in ``_fact_keys``."""
        return re.sub(r"\{in:([\w.]+)\}", lambda m: f"{m.group(1)} IN (SELECT k FROM _fact_keys)" if scoped
                      else "TRUE", self.sql)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([t for t, _ in self.changes] + list(self.rebuild)))


FACT_LEAD = Fact("fact_lead", "lead_id", f"""
WITH route AS (
    SELECT record_id,
           min(created_at) AS first_routed_at,
           min(created_at) FILTER (WHERE outcome LIKE '005%') AS owned_at,
           arg_max(detail->>'rule_id', created_at) AS rule_id,
           arg_max(detail->>'action', created_at) AS action,
           arg_max(outcome, created_at) AS last_outcome
    FROM decisions WHERE loop = 'route' AND sobject = 'Lead' AND {{in:record_id}} GROUP BY record_id),
touch AS (
    SELECT WhoId AS lead_id, min(coalesce(CompletedDateTime, CreatedDate)) AS first_touch_at
    FROM crm_task WHERE Status = 'Completed' AND WhoId LIKE '00Q%' AND {{in:WhoId}} GROUP BY WhoId),
qual AS (
    SELECT record_id, arg_max(outcome, created_at) AS band
    FROM decisions WHERE loop = 'qualify' AND sobject = 'Lead' AND {{in:record_id}} GROUP BY record_id)
SELECT l.Id AS lead_id, l.Company AS company, timezone('UTC', l.CreatedDate) AS created_at,
       CAST(date_trunc('month', timezone('UTC', l.CreatedDate)) AS DATE) AS month,
       l.OwnerId AS owner_id, u.Name AS owner_name, u.Sales_Role__c AS owner_role, u.ManagerId AS manager_id,
       l.LeadSource AS source, l.Status AS status, l.Country AS country, l.Segment__c AS segment,
       l.Lead_Score__c AS score, lower(coalesce(l.Qualification__c, q.band, '')) AS qualification,
       (lower(coalesce(l.Qualification__c, q.band, '')) = 'mql' OR coalesce(l.IsConverted, false)) AS is_mql,
       coalesce(l.IsConverted, false) AS is_converted, l.ConvertedDate AS converted_date,
       l.ConvertedOpportunityId AS opportunity_id,
       r.rule_id AS route_rule, r.action AS route_action, timezone('UTC', r.first_routed_at) AS first_routed_at,
       timezone('UTC', r.owned_at) AS owned_at,
       coalesce(r.last_outcome LIKE 'pending%' OR r.last_outcome LIKE '00G%', false) AS is_pending,
       timezone('UTC', t.first_touch_at) AS first_touch_at,
       date_diff('second', l.CreatedDate, r.owned_at) / 3600.0 AS system_delay_h,
       CASE WHEN t.first_touch_at >= r.owned_at
            THEN date_diff('second', r.owned_at, t.first_touch_at) / 3600.0 END AS human_delay_h,
       coalesce(date_diff('second', r.owned_at, t.first_touch_at) / 3600.0
                <= (SELECT first_touch_hours FROM coach_sla), false) AS within_sla
FROM crm_lead l
LEFT JOIN route r ON r.record_id = l.Id
LEFT JOIN touch t ON t.lead_id = l.Id
LEFT JOIN qual q ON q.record_id = l.Id
LEFT JOIN ({_USER}) u ON u.Id = l.OwnerId
WHERE {{in:l.Id}}
""", changes=(
    ("crm_lead", "SELECT Id FROM _changed_crm_lead"),
    ("decisions", "SELECT d.record_id FROM decisions d JOIN _changed_decisions c ON c.id = d.id "
                  "WHERE d.sobject = 'Lead'"),
    ("crm_task", "SELECT t.WhoId FROM crm_task t JOIN _changed_crm_task c ON c.Id = t.Id WHERE t.WhoId LIKE '00Q%'"),
), rebuild=("crm_user", "coach_sla"))

FACT_OPPORTUNITY = Fact("fact_opportunity", "opportunity_id", f"""
WITH hist AS (
    SELECT h.OpportunityId AS opportunity_id, h.StageName AS stage, h.CreatedDate AS changed_at,
           o.StageName AS current_stage
    FROM crm_opportunityhistory h JOIN crm_opportunity o ON o.Id = h.OpportunityId
    WHERE {{in:h.OpportunityId}}),
other AS (SELECT opportunity_id, max(changed_at) AS last_other FROM hist WHERE stage <> current_stage GROUP BY 1),
entered AS (
    SELECT h.opportunity_id, min(h.changed_at) AS stage_entered_at
    FROM hist h LEFT JOIN other x USING (opportunity_id)
    WHERE h.stage = h.current_stage AND (x.last_other IS NULL OR h.changed_at > x.last_other) GROUP BY 1),
act AS (
    SELECT WhatId AS opportunity_id, max(coalesce(CompletedDateTime, CreatedDate)) AS last_activity_at
    FROM crm_task WHERE WhatId LIKE '006%' AND {{in:WhatId}} GROUP BY 1)
SELECT o.Id AS opportunity_id, o.Name AS name, o.AccountId AS account_id, a.Name AS account_name,
       o.OwnerId AS owner_id, u.Name AS owner_name, u.ManagerId AS manager_id,
       o.StageName AS stage, coalesce(o.Type, 'New Business') AS type, o.LeadSource AS source,
       coalesce(o.Amount, 0) AS amount, timezone('UTC', o.CreatedDate) AS created_at,
       CAST(date_trunc('month', timezone('UTC', o.CreatedDate)) AS DATE) AS month, o.CloseDate AS close_date,
       CAST(date_trunc('month', o.CloseDate) AS DATE) AS close_month,
       coalesce(o.IsClosed, false) AS is_closed, coalesce(o.IsWon, false) AS is_won, o.Deal_Play__c AS play_id,
       coalesce(s.id, 'unknown') AS segment, o.Territory2Id AS territory_id,
       CASE WHEN o.IsClosed THEN date_diff('day', CAST(o.CreatedDate AS DATE), o.CloseDate) END AS cycle_days,
       timezone('UTC', coalesce(e.stage_entered_at, o.CreatedDate)) AS stage_entered_at,
       timezone('UTC', act.last_activity_at) AS last_activity_at
FROM crm_opportunity o
LEFT JOIN crm_account a ON a.Id = o.AccountId
LEFT JOIN ({_USER}) u ON u.Id = o.OwnerId
LEFT JOIN design_segments s ON coalesce(a.NumberOfEmployees, -1) BETWEEN s.min_employees AND s.max_employees
LEFT JOIN entered e ON e.opportunity_id = o.Id
LEFT JOIN act ON act.opportunity_id = o.Id
WHERE {{in:o.Id}}
""", changes=(
    ("crm_opportunity", "SELECT Id FROM _changed_crm_opportunity"),
    ("crm_opportunityhistory", "SELECT h.OpportunityId FROM crm_opportunityhistory h "
                               "JOIN _changed_crm_opportunityhistory c ON c.Id = h.Id"),
    ("crm_task", "SELECT t.WhatId FROM crm_task t JOIN _changed_crm_task c ON c.Id = t.Id WHERE t.WhatId LIKE '006%'"),
    ("crm_account", "SELECT o.Id FROM crm_opportunity o JOIN _changed_crm_account c ON c.Id = o.AccountId"),
), rebuild=("crm_user", "design_segments"))

FACTS: tuple[Fact, ...] = (FACT_LEAD, FACT_OPPORTUNITY)

#: sources a fact reads that an org may not give (an integration user without access to the stage history):
#: made empty, with these columns, so the facts and views are built all the same
PLACEHOLDERS: dict[str, str] = {
    "crm_opportunityhistory": "Id VARCHAR, CreatedDate TIMESTAMPTZ, SystemModstamp TIMESTAMPTZ, OpportunityId VARCHAR, "
                              "StageName VARCHAR, Amount DOUBLE, CloseDate DATE, Probability DOUBLE",
}

LEAD_FACTS = View("lead_facts", "lead: created, owned (the route decision), first touch, qualified, converted",
                  "SELECT * FROM fact_lead", time="created_at",
                  dimensions=("owner_id", "owner_name", "manager_id", "source", "segment", "country", "route_rule",
                              "qualification", "status"))

OPPORTUNITY_FACTS = View("opportunity_facts", "opportunity: stage, amount, owner, segment, cycle, stage age", f"""
SELECT f.*,
       date_diff('day', CAST(f.stage_entered_at AS DATE), {_AS_OF}) AS stage_age_days,
       date_diff('day', CAST(coalesce(f.last_activity_at, f.created_at) AS DATE), {_AS_OF}) AS days_since_activity
FROM fact_opportunity f
""", time="created_at", dimensions=("owner_id", "owner_name", "manager_id", "stage", "type", "source", "segment",
                                    "play_id"))

FUNNEL = View("funnel", "month of lead creation: leads, MQLs, conversions, opportunities won from them", """
SELECT f.month, count(*) AS leads, count(*) FILTER (WHERE f.is_mql) AS mqls,
       count(*) FILTER (WHERE f.is_converted) AS converted,
       count(o.opportunity_id) FILTER (WHERE o.is_won) AS won, coalesce(sum(o.amount) FILTER (WHERE o.is_won), 0)
           AS won_amount,
       count(*) FILTER (WHERE f.is_mql) / nullif(count(*), 0) AS lead_to_mql,
       count(*) FILTER (WHERE f.is_converted) / nullif(count(*) FILTER (WHERE f.is_mql), 0) AS mql_to_opportunity,
       count(o.opportunity_id) FILTER (WHERE o.is_won) / nullif(count(o.opportunity_id) FILTER (WHERE o.is_closed), 0)
           AS opportunity_to_won
FROM lead_facts f LEFT JOIN opportunity_facts o ON o.opportunity_id = f.opportunity_id
GROUP BY f.month ORDER BY f.month
""", time="month")

STAGE_FUNNEL = View("stage_funnel", "month an opportunity was created and stage it reached (from its history)", """
SELECT o.month, h.StageName AS stage, count(DISTINCT h.OpportunityId) AS opportunities,
       min(h.CreatedDate) AS first_reached
FROM crm_opportunityhistory h JOIN opportunity_facts o ON o.opportunity_id = h.OpportunityId
GROUP BY ALL ORDER BY o.month, first_reached
""", time="month", dimensions=("stage",))

SPEED_TO_LEAD = View("speed_to_lead", "rep and month: the system's delay (created to owned) and the rep's "
                     "(owned to first touch), p50 and p95, and SLA compliance", """
SELECT f.month, f.owner_id, f.owner_name, f.manager_id, count(*) AS leads_owned,
       count(f.first_touch_at) AS touched,
       quantile_cont(f.system_delay_h, 0.5) AS system_p50_h, quantile_cont(f.system_delay_h, 0.95) AS system_p95_h,
       quantile_cont(f.human_delay_h, 0.5) AS human_p50_h, quantile_cont(f.human_delay_h, 0.95) AS human_p95_h,
       count(*) FILTER (WHERE f.within_sla) AS within_sla,
       count(*) FILTER (WHERE f.within_sla) / nullif(count(*), 0) AS sla_rate
FROM lead_facts f WHERE f.owned_at IS NOT NULL
GROUP BY ALL ORDER BY f.month, f.owner_name
""", time="month", dimensions=("owner_id", "owner_name", "manager_id"))

ROUTING_RULES = View("routing_rules", "routing rule: leads it decided, the share pending, and how they converted", """
SELECT coalesce(route_rule, '(not routed)') AS rule_id, any_value(route_action) AS action, count(*) AS leads,
       count(*) / sum(count(*)) OVER () AS share,
       count(*) FILTER (WHERE is_pending) AS pending, count(*) FILTER (WHERE is_pending) / count(*) AS pending_rate,
       count(*) FILTER (WHERE is_mql) AS mqls, count(*) FILTER (WHERE is_converted) AS converted,
       count(*) FILTER (WHERE is_converted) / count(*) AS conversion_rate
FROM lead_facts GROUP BY 1 ORDER BY leads DESC
""")

TERRITORY_COVERAGE = View("territory_coverage", "territory: accounts in it, reps on it, and its open pipeline", """
WITH accounts AS (SELECT Territory2Id, count(DISTINCT ObjectId) AS accounts
                  FROM crm_objectterritory2association GROUP BY 1),
     reps AS (SELECT Territory2Id, count(DISTINCT UserId) FILTER (WHERE coalesce(IsActive, true)) AS reps
              FROM crm_userterritory2association GROUP BY 1),
     pipe AS (SELECT a.Territory2Id, count(*) AS open_deals, sum(o.amount) AS open_pipeline
              FROM opportunity_facts o JOIN crm_objectterritory2association a ON a.ObjectId = o.account_id
              WHERE NOT o.is_closed GROUP BY 1)
SELECT t.DeveloperName AS territory, t.Name AS name, coalesce(a.accounts, 0) AS accounts,
       coalesce(r.reps, 0) AS reps, coalesce(p.open_deals, 0) AS open_deals,
       coalesce(p.open_pipeline, 0) AS open_pipeline,
       coalesce(a.accounts, 0) / nullif(r.reps, 0) AS accounts_per_rep
FROM crm_territory2 t
LEFT JOIN accounts a ON a.Territory2Id = t.Id LEFT JOIN reps r ON r.Territory2Id = t.Id
LEFT JOIN pipe p ON p.Territory2Id = t.Id
ORDER BY t.DeveloperName
""", dimensions=("territory",))

BOOKINGS = View("bookings", "month and rep: closed-won amount and deals (by close date)", """
SELECT close_month AS month, owner_id, owner_name, manager_id, segment, type,
       sum(amount) AS amount, count(*) AS deals
FROM opportunity_facts WHERE is_won GROUP BY ALL ORDER BY month
""", time="month", dimensions=("owner_id", "owner_name", "manager_id", "segment", "type"))

CAPACITY_VS_PLAN = View("capacity_vs_plan", "scenario and month: Design's capacity and target against bookings", """
SELECT c.scenario, c.active, c.month, c.capacity, c.target, coalesce(b.amount, 0) AS bookings,
       coalesce(b.amount, 0) / nullif(c.target, 0) AS attainment, c.capacity / nullif(c.target, 0) AS coverage
FROM design_capacity c
LEFT JOIN (SELECT month, sum(amount) AS amount FROM bookings GROUP BY 1) b ON b.month = c.month
ORDER BY c.scenario, c.month
""", time="month", dimensions=("scenario",))

PIPELINE = View("pipeline", "open opportunity with its stage, age and activity", """
SELECT opportunity_id, name, account_name, owner_id, owner_name, manager_id, stage, type, segment, amount,
       close_date, close_month, stage_age_days, days_since_activity, created_at
FROM opportunity_facts WHERE NOT is_closed
""", time="created_at", dimensions=("owner_id", "owner_name", "manager_id", "stage", "type", "segment"))

WIN_RATE = View("win_rate", "close month, rep and segment: won and lost by count and by amount", """
SELECT close_month AS month, owner_id, owner_name, manager_id, segment,
       count(*) FILTER (WHERE is_won) AS won, count(*) FILTER (WHERE NOT is_won) AS lost,
       coalesce(sum(amount) FILTER (WHERE is_won), 0) AS won_amount,
       coalesce(sum(amount) FILTER (WHERE NOT is_won), 0) AS lost_amount,
       count(*) FILTER (WHERE is_won) / count(*) AS win_rate_by_count,
       coalesce(sum(amount) FILTER (WHERE is_won), 0) / nullif(sum(amount), 0) AS win_rate_by_amount
FROM opportunity_facts WHERE is_closed AND type = 'New Business' GROUP BY ALL ORDER BY month
""", time="month", dimensions=("owner_id", "owner_name", "manager_id", "segment"))

CYCLE_TIME = View("cycle_time", "close month and segment: days from created to closed-won, p50 and p90", """
SELECT close_month AS month, segment, count(*) AS won, avg(cycle_days) AS mean_days,
       quantile_cont(cycle_days, 0.5) AS p50_days, quantile_cont(cycle_days, 0.9) AS p90_days
FROM opportunity_facts WHERE is_won AND type = 'New Business' AND cycle_days >= 0 GROUP BY ALL ORDER BY month
""", time="month", dimensions=("segment",))

ACCOUNT_ARR = View("account_arr", "account and month: its ARR (won deals whose contract covers the month)", f"""
WITH contracts AS (
    SELECT o.AccountId AS account_id, o.Amount AS amount,
           CAST(date_trunc('month', coalesce(o.Contract_Start__c, o.CloseDate)) AS DATE) AS first_month,
           CAST(date_trunc('month', coalesce(o.Contract_End__c,
                                             coalesce(o.Contract_Start__c, o.CloseDate) + INTERVAL 1 YEAR)) AS DATE)
               AS end_month
    FROM crm_opportunity o WHERE o.IsWon AND o.Amount > 0),
months AS (
    SELECT CAST(m AS DATE) AS month FROM range(
        (SELECT min(first_month) FROM contracts), CAST(date_trunc('month', {_AS_OF}) AS DATE) + INTERVAL 1 MONTH,
        INTERVAL 1 MONTH) r(m))
SELECT m.month, c.account_id, sum(c.amount) AS arr
FROM months m JOIN contracts c ON m.month >= c.first_month AND m.month < c.end_month
GROUP BY ALL
""", time="month")

ARR = View("arr", "month: ARR, new, expansion, contraction and churn, NRR and GRR over the twelve months before", """
WITH a AS (SELECT month, account_id, arr FROM account_arr),
pairs AS (
    SELECT coalesce(n.month, p.month + INTERVAL 12 MONTH) AS month, coalesce(p.arr, 0) AS before_arr,
           coalesce(n.arr, 0) AS now_arr, p.account_id IS NOT NULL AS was_customer
    FROM a n FULL JOIN a p ON p.account_id = n.account_id AND n.month = p.month + INTERVAL 12 MONTH),
flows AS (
    SELECT coalesce(n.month, p.month + INTERVAL 1 MONTH) AS month, coalesce(p.arr, 0) AS prev, coalesce(n.arr, 0) AS cur
    FROM a n FULL JOIN a p ON p.account_id = n.account_id AND n.month = p.month + INTERVAL 1 MONTH)
SELECT CAST(f.month AS DATE) AS month, t.arr,
       sum(f.cur) FILTER (WHERE f.prev = 0) AS new_arr,
       sum(f.cur - f.prev) FILTER (WHERE f.prev > 0 AND f.cur > f.prev) AS expansion_arr,
       sum(f.prev - f.cur) FILTER (WHERE f.cur > 0 AND f.cur < f.prev) AS contraction_arr,
       sum(f.prev) FILTER (WHERE f.cur = 0) AS churned_arr,
       y.nrr, y.grr
FROM flows f
JOIN (SELECT month, sum(arr) AS arr FROM a GROUP BY 1) t ON t.month = f.month
LEFT JOIN (SELECT CAST(month AS DATE) AS month,
                  sum(now_arr) FILTER (WHERE was_customer) / nullif(sum(before_arr), 0) AS nrr,
                  sum(least(now_arr, before_arr)) FILTER (WHERE was_customer) / nullif(sum(before_arr), 0) AS grr
           FROM pairs GROUP BY 1) y ON y.month = f.month
GROUP BY ALL ORDER BY month
""", time="month")

SIGNAL_YIELD = View("signal_yield", "signal type: signals found, acted on, and opportunities on their accounts after",
                    """
WITH per_signal AS (
    SELECT s.id, s.type, s.domain, s.outreach IS NOT NULL AS acted_on, s.synthetic,
           count(o.opportunity_id) AS opportunities, coalesce(sum(o.amount), 0) AS pipeline
    FROM signals s
    LEFT JOIN opportunity_facts o ON o.account_id = s.account_id AND o.created_at >= timezone('UTC', s.first_seen)
    GROUP BY ALL)
SELECT type, count(*) AS signals, count(DISTINCT domain) AS accounts, count(*) FILTER (WHERE acted_on) AS acted_on,
       count(*) FILTER (WHERE opportunities > 0) AS with_opportunity,
       count(*) FILTER (WHERE opportunities > 0) / count(*) AS yield, sum(pipeline) AS pipeline_after,
       bool_or(synthetic) AS synthetic
FROM per_signal GROUP BY 1 ORDER BY signals DESC
""", dimensions=("type",))

PLAY_OUTCOMES = View("play_outcomes", "loop and play: plans started, open, won, lost, cycle and milestones on time",
                     """
SELECT loop, play_id, count(*) AS started, count(*) FILTER (WHERE status = 'active') AS open,
       count(*) FILTER (WHERE outcome->>'result' = 'won') AS won,
       count(*) FILTER (WHERE outcome->>'result' = 'lost') AS lost,
       count(*) FILTER (WHERE outcome->>'result' = 'won')
           / nullif(count(*) FILTER (WHERE outcome->>'result' IN ('won', 'lost')), 0) AS win_rate,
       avg(CAST(outcome->>'cycle_days' AS DOUBLE)) FILTER (WHERE outcome->>'result' = 'won') AS cycle_days,
       sum(CAST(outcome->>'on_time' AS DOUBLE)) / nullif(sum(CAST(outcome->>'done' AS DOUBLE)), 0) AS on_time_share
FROM plan_instances GROUP BY ALL ORDER BY loop, started DESC
""", dimensions=("loop", "play_id"))

REP_RAMP = View("rep_ramp", "named rep and month: tenure month, bookings, what Design's ramp expects, attainment", """
SELECT r.month, r.username, u.Id AS owner_id, coalesce(u.Name, r.name) AS owner_name, u.ManagerId AS manager_id,
       r.motion, r.start, r.tenure_month, r.ramp, r.full_monthly, r.expected, coalesce(b.amount, 0) AS bookings,
       coalesce(b.amount, 0) / nullif(r.expected, 0) AS attainment
FROM design_rep_months r
LEFT JOIN crm_user u ON u.Username = r.username
LEFT JOIN (SELECT month, owner_id, sum(amount) AS amount FROM bookings WHERE type <> 'Renewal' GROUP BY 1, 2) b
    ON b.month = r.month AND b.owner_id = u.Id
ORDER BY r.username, r.month
""", time="month", dimensions=("owner_id", "owner_name", "manager_id", "motion"))

ACTIVITY = View("activity", "week, rep and kind: completed activities (calls, emails, meetings)", f"""
SELECT CAST(date_trunc('week', timezone('UTC', coalesce(t.CompletedDateTime, t.CreatedDate))) AS DATE) AS week,
       t.OwnerId AS owner_id, u.Name AS owner_name, u.ManagerId AS manager_id, coalesce(t.Type, 'Other') AS kind,
       count(*) AS activities
FROM crm_task t LEFT JOIN ({_USER}) u ON u.Id = t.OwnerId
WHERE t.Status = 'Completed'
GROUP BY ALL ORDER BY week
""", time="week", dimensions=("owner_id", "owner_name", "manager_id", "kind"))

STALLED_DEALS = View("stalled_deals", "open deal past its stage's p90 age or without activity for 30 days", """
WITH cohort AS (SELECT stage, quantile_cont(stage_age_days, 0.9) AS p90_days FROM pipeline GROUP BY 1)
SELECT p.*, c.p90_days AS stage_p90_days,
       p.stage_age_days > c.p90_days AS past_stage_p90, p.days_since_activity >= 30 AS no_recent_activity
FROM pipeline p JOIN cohort c USING (stage)
WHERE p.stage_age_days > c.p90_days OR p.days_since_activity >= 30
ORDER BY p.amount DESC
""", dimensions=("owner_id", "owner_name", "manager_id", "stage", "segment"))

VIEWS: tuple[View, ...] = (LEAD_FACTS, OPPORTUNITY_FACTS, FUNNEL, STAGE_FUNNEL, SPEED_TO_LEAD, ROUTING_RULES,
                           TERRITORY_COVERAGE, BOOKINGS, CAPACITY_VS_PLAN, PIPELINE, WIN_RATE, CYCLE_TIME,
                           ACCOUNT_ARR, ARR, SIGNAL_YIELD, PLAY_OUTCOMES, REP_RAMP, ACTIVITY, STALLED_DEALS)
BY_NAME = {v.name: v for v in VIEWS}
