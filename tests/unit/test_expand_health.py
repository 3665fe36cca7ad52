"""Expand's health score: the vectorised frame agrees with the one-account reference, features read the right
snapshots, the back-test's AUC is Mann–Whitney's, and the config refuses what it cannot score."""

from __future__ import annotations

import math
import shutil
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from revloops.config.loader import load_config
from revloops.core.errors import ConfigErrors, NotFound
from revloops.loops.expand.health import (
    FEATURES,
    HealthFile,
    auc_low_score,
    backtest,
    explain,
    features,
    score_frame,
    score_one,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
AS_OF = date(2024, 4, 20)
ACCOUNT_SCHEMA = {"Id": pl.String, "Name": pl.String, "Type": pl.String, "NumberOfEmployees": pl.Int64,
                  "Customer_Since__c": pl.Date, "Contract_End__c": pl.Date, "ARR__c": pl.Float64,
                  "Seats_Purchased__c": pl.Int64, "Churned_On__c": pl.Date}
USAGE_SCHEMA = {"Account__c": pl.String, "Month__c": pl.Date, "Seats_Purchased__c": pl.Int64,
                "Seats_Active__c": pl.Int64, "Logins_Per_User__c": pl.Float64, "Support_Tickets__c": pl.Int64,
                "NPS__c": pl.Float64, "Executive_Sponsor__c": pl.Boolean}


@cache
def example_health() -> HealthFile:
    cfg = load_config(EXAMPLE).get("health", HealthFile)
    assert isinstance(cfg, HealthFile)
    return cfg


def accounts_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in ACCOUNT_SCHEMA} for r in rows], schema=ACCOUNT_SCHEMA)


def usage_frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=USAGE_SCHEMA, orient="row")


# -- score_frame agrees with score_one ---------------------------------------------------------------------------
EXTREMES = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, 0.5, 100.0]
values = st.one_of(st.none(), st.sampled_from(EXTREMES), st.floats(-200, 200), st.integers(-5, 60).map(float))
bounded = st.floats(-1000, 1000, allow_nan=False)


@st.composite
def gradings(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        good = draw(bounded)
        bad = draw(bounded.filter(lambda b: abs(b - good) > 1e-6))
        return {"linear": {"good": good, "bad": bad}}
    bounds = sorted(set(draw(st.lists(bounded, max_size=4))))
    points = draw(st.lists(st.floats(0, 100), min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return {"ranges": [{"below": b, "points": p} for b, p in zip(bounds, points, strict=False)]
            + [{"points": points[-1]}]}


@st.composite
def configs(draw: st.DrawFn) -> HealthFile:
    ids = draw(st.lists(st.sampled_from(FEATURES), min_size=1, max_size=len(FEATURES), unique=True))
    measures = [{"id": f, "label": f.replace("_", " "), "weight": draw(st.floats(0.01, 100)), **draw(gradings())}
                for f in ids]
    mins = sorted(set(draw(st.lists(st.floats(0.001, 100), max_size=3))))
    bands = [{"name": "b0", "min": 0}] + [{"name": f"b{i + 1}", "min": m} for i, m in enumerate(mins)]
    data: dict[str, Any] = {"measures": measures, "bands": bands}
    if draw(st.booleans()):
        weights = {m: draw(st.sampled_from([0.0, 0.5, 3.0])) for m in draw(st.lists(st.sampled_from(ids), unique=True))}
        if all(weights.get(m["id"], m["weight"]) == 0 for m in measures):
            weights[ids[0]] = 1.0
        data["new_account"] = {"months": draw(st.integers(1, 24)), "weights": weights or {ids[0]: 1.0}}
    return HealthFile.model_validate(data)


@st.composite
def feature_rows(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]]]:
    # a column left out of the frame is no data for every row, as a key left out of a row is for that row
    columns = draw(st.lists(st.sampled_from(FEATURES), unique=True, max_size=len(FEATURES)))
    rows = draw(st.lists(st.fixed_dictionaries({c: values for c in columns}), min_size=1, max_size=30))
    return columns, [{"Id": f"001{i:05d}", **row} for i, row in enumerate(rows)]


@settings(max_examples=200, deadline=None)
@given(cfg=configs(), data=feature_rows())
def test_score_frame_equals_score_one(cfg: HealthFile, data: tuple[list[str], list[dict[str, Any]]]) -> None:
    columns, rows = data
    frame = pl.DataFrame({"Id": [r["Id"] for r in rows],
                          **{c: pl.Series(c, [r[c] for r in rows], dtype=pl.Float64) for c in columns}})
    scored = score_frame(cfg, frame)
    assert scored["Id"].to_list() == [r["Id"] for r in rows]
    for got, row in zip(scored.to_dicts(), rows, strict=True):
        one = score_one(cfg, row)
        assert (got["score"] is None) == (one.score is None), (got, one)
        if one.score is not None:
            assert abs(got["score"] - one.score) <= 1e-9
            assert 0 <= one.score <= 100
        assert got["band"] == one.band
        assert got["new_account"] == one.new_account
        for term in one.terms:
            assert got[f"points_{term.measure}"] == term.points
            assert got[f"term_{term.measure}"] == pytest.approx(term.contribution, abs=1e-9)


def test_explanation_names_each_term_and_what_had_no_data() -> None:
    cfg = example_health()
    row = {"Id": "001A", "seat_utilisation": 0.82, "logins_per_user": 6.0, "support_tickets": 3,
           "nps": None, "executive_sponsor": True, "active_seat_trend": -0.1, "customer_months": 40}
    full = score_one(cfg, {**row, "nps": 20.0})
    assert "seat utilisation 0.82 → 85 pts × 0.30 = 25.5" in full.explanation()
    assert math.isclose(sum(t.contribution or 0 for t in full.terms), full.score or 0)
    partial = score_one(cfg, row)
    assert partial.no_data == ("nps",)
    # NPS's 0.15 is spread over the others: seat utilisation's 0.30 becomes 0.30 / 0.85
    assert "seat utilisation 0.82 → 85 pts × 0.35 = 30.0" in partial.explanation()
    assert "no data: NPS (left out; the other weights are renormalised)" in partial.explanation()
    young = score_one(cfg, {**row, "customer_months": 2})
    assert young.new_account and "new-account weights" in young.explanation()
    assert "weight 0 for new accounts: active seat trend" in young.explanation()
    empty = score_one(cfg, {"Id": "001B"})
    assert empty.score is None and empty.band is None
    assert empty.explanation().startswith("no health score")


# -- features ----------------------------------------------------------------------------------------------------
def small_org() -> tuple[pl.DataFrame, pl.DataFrame]:
    accounts = accounts_frame([
        {"Id": "A1", "Type": "Customer", "Customer_Since__c": date(2023, 1, 15), "Seats_Purchased__c": 100},
        {"Id": "A2", "Type": "Former Customer", "Customer_Since__c": date(2022, 1, 1),
         "Churned_On__c": date(2024, 3, 31)},
        {"Id": "A3", "Type": "Customer", "Customer_Since__c": date(2024, 5, 1)},
        {"Id": "A4", "Type": "Prospect"},
        {"Id": "A5", "Type": "Former Customer", "Customer_Since__c": date(2024, 2, 25),
         "Churned_On__c": date(2024, 9, 1)},
        {"Id": "A6", "Type": "Customer", "Customer_Since__c": date(2023, 6, 1), "Seats_Purchased__c": 40},
        {"Id": "A7", "Type": "Customer", "Customer_Since__c": date(2023, 6, 1), "Churned_On__c": AS_OF},
        {"Id": "A8", "Type": "Customer", "Customer_Since__c": date(2023, 6, 1), "Seats_Purchased__c": 0},
    ])
    usage = usage_frame([
        ("A1", date(2024, 4, 1), 100, 80, 5.5, 2, 30.0, True),
        ("A1", date(2024, 1, 1), 100, 50, 4.0, 1, None, True),
        ("A1", date(2024, 3, 1), 100, 60, 5.0, 4, None, True),
        ("A1", date(2024, 7, 1), 100, 10, 0.1, 9, -80.0, False),  # after as_of: not read
        ("A2", date(2024, 3, 1), 10, 1, 0.2, 9, -50.0, False),
        ("A6", date(2023, 12, 1), None, 0, 1.0, 0, None, False),
        ("A6", date(2024, 4, 1), None, 10, 2.0, None, None, False),
        ("A8", date(2024, 4, 1), 0, 0, 1.0, 0, 10.0, None),
        (None, date(2024, 4, 1), 5, 5, 1.0, 0, 10.0, True),
    ])
    return accounts, usage


def test_features_read_the_latest_snapshot_of_each_customer_at_as_of() -> None:
    feats = features(*small_org(), as_of=AS_OF, lookback_months=3)
    assert feats["Id"].to_list() == ["A1", "A5", "A6", "A8"]  # churned before/on, customer later, prospect: out
    rows = {r["Id"]: r for r in feats.to_dicts()}
    a1 = rows["A1"]
    assert (a1["snapshot_month"], a1["prior_month"]) == (date(2024, 4, 1), date(2024, 1, 1))
    assert a1["seat_utilisation"] == 0.8 and a1["logins_per_user"] == 5.5 and a1["support_tickets"] == 2.0
    assert a1["nps"] == 30.0 and a1["executive_sponsor"] == 1.0
    assert a1["active_seat_trend"] == pytest.approx((80 - 50) / 50)
    assert a1["customer_months"] == 15
    a5 = rows["A5"]  # churns later, so a customer at as_of; no usage: every usage feature is no data
    assert a5["customer_months"] == 1 and a5["snapshot_month"] is None
    assert all(a5[f] is None for f in FEATURES if f != "customer_months")
    a6 = rows["A6"]  # the snapshot's seats are missing: the account's; the prior had 0 active: no trend
    assert a6["seat_utilisation"] == 0.25 and a6["executive_sponsor"] == 0.0
    assert a6["prior_month"] == date(2023, 12, 1) and a6["active_seat_trend"] is None
    assert rows["A8"]["seat_utilisation"] is None and rows["A8"]["executive_sponsor"] is None


def test_features_score_the_same_through_both_paths() -> None:
    cfg = example_health()
    feats = features(*small_org(), as_of=AS_OF, lookback_months=cfg.lookback_months)
    scored = score_frame(cfg, feats)
    for got, row in zip(scored.to_dicts(), feats.to_dicts(), strict=True):
        one = score_one(cfg, row)
        assert (got["score"], got["band"]) == (one.score, one.band)
    assert explain(cfg, feats, "A1").score == scored["score"][0]
    with pytest.raises(NotFound):
        explain(cfg, feats, "A2")


def test_features_of_empty_frames() -> None:
    feats = features(accounts_frame([]), usage_frame([]), AS_OF)
    assert feats.height == 0 and "seat_utilisation" in feats.columns
    assert score_frame(example_health(), feats).height == 0


# -- AUC and the back-test ---------------------------------------------------------------------------------------
def test_auc_by_hand_with_ties() -> None:
    # churners 10 and 50 against survivors 50, 80, 30: pairs where the churner scored lower
    # 10: 3 of 3; 50: below 80 (1), tied with 50 (1/2), above 30 (0): 4.5 of 6
    score = pl.Series([10.0, 50.0, 50.0, 80.0, 30.0, None])
    churned = pl.Series([True, True, False, False, False, True])
    assert auc_low_score(score, churned) == (0.75, None)
    assert auc_low_score(pl.Series([1.0, 1.0]), pl.Series([True, False])) == (0.5, None)
    assert auc_low_score(pl.Series([9.0, 1.0]), pl.Series([True, False])) == (0.0, None)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5).map(float), st.booleans()), min_size=1, max_size=40))
def test_auc_is_the_pair_count(pairs: list[tuple[float, bool]]) -> None:
    churn = [s for s, c in pairs if c]
    stay = [s for s, c in pairs if not c]
    auc, reason = auc_low_score(pl.Series([s for s, _ in pairs]), pl.Series([c for _, c in pairs]))
    if not churn or not stay:
        assert auc is None and reason
        return
    wins = sum(1.0 if a < b else 0.5 if a == b else 0.0 for a in churn for b in stay)
    assert auc == pytest.approx(wins / (len(churn) * len(stay)), abs=1e-12)


@pytest.mark.parametrize("score, churned, reason", [
    ([50.0, 60.0], [False, False], "no scored account churned"),
    ([50.0, 60.0], [True, True], "every scored account churned"),
    ([None, None], [True, False], "no scored accounts"),
    ([], [], "no scored accounts"),
])
def test_auc_degenerate_cases(score: list[float | None], churned: list[bool], reason: str) -> None:
    auc, why = auc_low_score(pl.Series(score, dtype=pl.Float64), pl.Series(churned, dtype=pl.Boolean))
    assert auc is None and why is not None and reason in why


def test_backtest_ranks_churners_and_rates_bands() -> None:
    cfg = example_health()
    since = date(2022, 1, 1)
    accounts = accounts_frame([
        {"Id": "H1", "Customer_Since__c": since, "Seats_Purchased__c": 10},
        {"Id": "H2", "Customer_Since__c": since, "Seats_Purchased__c": 10},
        {"Id": "L1", "Customer_Since__c": since, "Seats_Purchased__c": 10, "Churned_On__c": date(2024, 6, 1)},
        {"Id": "L2", "Customer_Since__c": since, "Seats_Purchased__c": 10, "Churned_On__c": date(2025, 6, 1)},
        {"Id": "N1", "Customer_Since__c": since},
    ])
    usage = usage_frame([
        ("H1", date(2024, 4, 1), 10, 10, 12.0, 0, 50.0, True),
        ("H2", date(2024, 4, 1), 10, 9, 10.0, 1, 40.0, True),
        ("L1", date(2024, 4, 1), 10, 2, 1.0, 9, -50.0, False),
        ("L2", date(2024, 4, 1), 10, 3, 1.0, 8, -40.0, False),
    ])
    result = backtest(cfg, accounts, usage, AS_OF, horizon_days=180)
    # L2 churns after the horizon: a survivor here, and it scored below both healthy ones but above L1
    assert (result.accounts, result.scored, result.churned) == (5, 4, 1)
    assert result.auc == 1.0 and result.reason is None
    rates = {b.band: (b.accounts, b.churned) for b in result.bands}
    assert rates == {"red": (2, 1), "yellow": (0, 0), "green": (2, 0), None: (1, 0)}
    assert "AUC 1.000" in result.summary()
    later = backtest(cfg, accounts, usage, AS_OF, horizon_days=30)
    assert later.auc is None and later.reason and "no scored account churned" in later.reason


# -- config validation -------------------------------------------------------------------------------------------
GOOD: dict[str, Any] = {
    "measures": [{"id": "seat_utilisation", "label": "seats", "weight": 1,
                  "ranges": [{"below": 0.5, "points": 0}, {"points": 100}]},
                 {"id": "nps", "label": "NPS", "weight": 1, "linear": {"good": 50, "bad": -50}}],
    "bands": [{"name": "red", "min": 0}, {"name": "green", "min": 60}],
}


def _errors(**changes: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        HealthFile.model_validate({**GOOD, **changes})
    return [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]


def _measure(**changes: Any) -> list[dict[str, Any]]:
    return [{**GOOD["measures"][0], **changes}, GOOD["measures"][1]]


@pytest.mark.parametrize("changes, loc, message", [
    ({"measures": _measure(ranges=[{"below": 0.5, "points": 0}, {"below": 0.4, "points": 50}, {"points": 100}])},
     ("measures", 0, "ranges"), "strictly ascending"),
    ({"measures": _measure(ranges=[{"below": 0.5, "points": 0}, {"below": 0.9, "points": 100}])},
     ("measures", 0, "ranges"), "last step must leave out below"),
    ({"measures": _measure(ranges=[{"points": 0}, {"points": 100}])}, ("measures", 0, "ranges"), "only the last"),
    ({"measures": _measure(ranges=[{"below": 0.5, "points": 120}, {"points": 100}])},
     ("measures", 0, "ranges", 0, "points"), "less than or equal to 100"),
    ({"measures": _measure(linear={"good": 1, "bad": 0})}, ("measures", 0), "exactly one grading"),
    ({"measures": _measure(ranges=None, linear={"good": 5e-324, "bad": 0})}, ("measures", 0, "linear"),
     "far enough apart"),
    ({"measures": _measure(weight=0)}, ("measures", 0, "weight"), "greater than 0"),
    ({"measures": _measure(id="vibes")}, ("measures", 0), "is not a feature"),
    ({"measures": [GOOD["measures"][0]] * 2}, ("measures",), "duplicate measure ids"),
    ({"bands": [{"name": "red", "min": 10}, {"name": "green", "min": 60}]}, ("bands",), "start at min 0"),
    ({"bands": [{"name": "red", "min": 0}, {"name": "green", "min": 60}, {"name": "gold", "min": 60}]},
     ("bands",), "strictly ascending"),
    ({"new_account": {"months": 6, "weights": {"trend": 0}}}, ("new_account",), "weights.trend"),
    ({"new_account": {"months": 6, "weights": {"nps": 0, "seat_utilisation": 0}}}, ("new_account",),
     "at least one measure"),
])
def test_bad_config_names_the_field(changes: dict[str, Any], loc: tuple[Any, ...], message: str) -> None:
    errors = _errors(**changes)
    assert any(where == loc and message in msg for where, msg in errors), errors


def test_the_example_health_file_loads_through_the_loader() -> None:
    cfg = example_health()
    assert [b.name for b in cfg.bands] == ["red", "yellow", "green"]
    assert cfg.new_account is not None and cfg.weights(True)["active_seat_trend"] == 0


def test_a_bad_health_file_is_reported_at_its_line(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "config")
    path = tmp_path / "config" / "expand" / "health.yaml"
    path.write_text(path.read_text().replace("active_seat_trend: 0", "active_seat_trnd: 0"))
    with pytest.raises(ConfigErrors) as info:
        load_config(tmp_path / "config")
    [problem] = [str(e) for e in info.value.errors]
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("new_account:"))
    assert f"expand/health.yaml:{line}:" in problem
    assert "new_account: weights.active_seat_trnd" in problem and "is not a measure" in problem
