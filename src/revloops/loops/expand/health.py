"""Expand's health score: ``config/expand/health.yaml``, the features it reads as of a date, the score (a whole
frame at once, or one account with its explanation term by term), and the back-test against churn.

A measure grades one feature into 0..100 points, by ``ranges`` (steps) or ``linear`` (a line from ``bad`` to
``good``). The score is the weighted mean of the points of the measures that have data: a measure with no data
drops out and the other weights are renormalised. Accounts younger than ``new_account.months`` use the
new-account weights (measures that need history weighted 0). ``score_frame`` and ``score_one`` compute exactly
the same thing, in the same order of operations, so they agree to the last bit; tests hold them to that.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal, get_args

import polars as pl
from pydantic import Field, ValidationInfo, field_validator, model_validator

from revloops.core.errors import NotFound
from revloops.core.model import ConfigModel, Frozen

Feature = Literal["seat_utilisation", "logins_per_user", "support_tickets", "nps", "executive_sponsor",
                  "active_seat_trend", "customer_months"]
#: the feature columns ``features`` computes and a measure may grade
FEATURES: tuple[str, ...] = get_args(Feature)
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)]
Weight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class Step(ConfigModel):
    """One step of a ranged grading: a value below ``below`` (and not below the step before) scores ``points``;
    the last step has no ``below`` and takes every value above."""

    below: Number | None = None
    points: float = Field(ge=0, le=100)


class Linear(ConfigModel):
    """A line from ``bad`` (0 points) to ``good`` (100 points), clamped to 0..100; ``good`` below ``bad`` means
    lower is better (support tickets)."""

    good: Number
    bad: Number

    @model_validator(mode="after")
    def _apart(self) -> Linear:
        if self.good == self.bad or not math.isfinite(100.0 / (self.good - self.bad)):
            raise ValueError("good and bad must be two different values, far enough apart to grade between")
        return self

    @property
    def scale(self) -> float:
        """Points per unit of the feature (negative when lower is better). Both scoring paths multiply by this
        one number: Polars turns a division by a constant into a multiplication, which rounds differently."""
        return 100.0 / (self.good - self.bad)


class Measure(ConfigModel):
    """One term of the score: a feature graded into points, and its weight.

    Attributes:
        id: the measure's slug (``points_<id>`` and ``term_<id>`` in a scored frame).
        label: how the explanation names it.
        feature: the feature column it grades; defaults to ``id``.
        weight: its weight (relative: the weights of the measures with data are renormalised).
        ranges: steps, ascending by ``below``, the last one open; or
        linear: a line from ``bad`` to ``good``.
    """

    id: Slug
    label: str = Field(min_length=1, max_length=80)
    feature: Feature | None = None
    weight: float = Field(gt=0, le=1000, allow_inf_nan=False)
    ranges: list[Step] | None = Field(default=None, min_length=1)
    linear: Linear | None = None

    @field_validator("ranges")
    @classmethod
    def _ascending(cls, steps: list[Step] | None) -> list[Step] | None:
        if steps is None:
            return None
        if any(s.below is None for s in steps[:-1]):
            raise ValueError("only the last step may leave out below (every other step needs one)")
        if steps[-1].below is not None:
            raise ValueError("the last step must leave out below: it takes every value above the others")
        bounds = [s.below for s in steps[:-1] if s.below is not None]
        if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"the steps' below values must be strictly ascending, got {bounds}")
        return steps

    @model_validator(mode="after")
    def _one_grading(self) -> Measure:
        if (self.ranges is None) == (self.linear is None):
            raise ValueError("a measure needs exactly one grading: ranges or linear")
        if self.feature is None and self.id not in FEATURES:
            raise ValueError(f"measure {self.id!r} is not a feature: name one with feature "
                             f"(one of {', '.join(FEATURES)})")
        return self

    @property
    def source(self) -> str:
        """The feature column this measure grades."""
        return self.feature or self.id


class HealthBand(ConfigModel):
    """A band: scores from ``min`` up to the next band's ``min``."""

    name: str = Field(min_length=1, max_length=40)
    min: float = Field(ge=0, le=100)


class NewAccount(ConfigModel):
    """Weights for accounts that have been customers for fewer than ``months`` months; a measure not listed
    keeps its weight, one weighted 0 does not count (the ones that need history)."""

    months: int = Field(ge=1, le=120)
    weights: dict[str, Weight] = Field(min_length=1)


class HealthFile(ConfigModel):
    """``config/expand/health.yaml``: the measures, their grading and weights, the bands."""

    version: int = Field(default=1, ge=1)
    lookback_months: int = Field(default=3, ge=1, le=24)
    measures: list[Measure] = Field(min_length=1)
    bands: list[HealthBand] = Field(min_length=1)
    new_account: NewAccount | None = None

    @field_validator("measures")
    @classmethod
    def _unique(cls, measures: list[Measure]) -> list[Measure]:
        ids = [m.id for m in measures]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate measure ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return measures

    @field_validator("bands")
    @classmethod
    def _bands(cls, bands: list[HealthBand]) -> list[HealthBand]:
        mins = [b.min for b in bands]
        if mins[0] != 0:
            raise ValueError(f"the first band must start at min 0 (got {mins[0]:g}) so every score has a band")
        if any(a >= b for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError(f"the bands' min values must be strictly ascending, got {[f'{m:g}' for m in mins]}")
        names = [b.name for b in bands]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate band names: {sorted({n for n in names if names.count(n) > 1})}")
        return bands

    @field_validator("new_account")
    @classmethod
    def _known(cls, new: NewAccount | None, info: ValidationInfo) -> NewAccount | None:
        measures: list[Measure] | None = info.data.get("measures")
        if new is None or measures is None:  # measures invalid: their own errors are reported
            return new
        known = [m.id for m in measures]
        unknown = [k for k in new.weights if k not in known]
        if unknown:
            raise ValueError(f"weights.{unknown[0]}: {', '.join(map(repr, unknown))} is not a measure "
                             f"(the measures are {', '.join(known)})")
        if not any(new.weights.get(m.id, m.weight) > 0 for m in measures):
            raise ValueError("weights: at least one measure must keep a weight above 0 for new accounts")
        return new

    def weights(self, new_account: bool) -> dict[str, float]:
        """Each measure's weight, for new accounts or for established ones."""
        extra = self.new_account.weights if new_account and self.new_account else {}
        return {m.id: extra.get(m.id, m.weight) for m in self.measures}

    def band_of(self, score: float) -> str:
        """The band of a score: the last whose ``min`` it reaches."""
        return next(b.name for b in reversed(self.bands) if score >= b.min)


# -- features ----------------------------------------------------------------------------------------------------
def features(accounts: pl.DataFrame, usage: pl.DataFrame, as_of: date, lookback_months: int = 3) -> pl.DataFrame:
    """The health features of every account that is a customer at ``as_of``.

    A customer at ``as_of`` has ``Customer_Since__c <= as_of`` and no ``Churned_On__c`` on or before it (the type
    is not read: a back-test at a past date sees today's former customers as the customers they were). Usage
    comes from the latest snapshot with ``Month__c <= as_of`` and, for the trend, the latest one at least
    ``lookback_months`` before that. A measure that cannot be computed (no snapshot, no seats) is null.

    Args:
        accounts: CRM accounts (``Id``, ``Customer_Since__c``, ``Churned_On__c``, ``Seats_Purchased__c``...).
        usage: ``Usage_Snapshot__c`` rows, one per account per month.
        as_of: the date the features describe.
        lookback_months: how far back the active-seat trend looks.

    Returns:
        One row per customer: ``Id``, the columns of ``FEATURES``, ``snapshot_month`` and ``prior_month``.
    """
    since, churned = pl.col("Customer_Since__c"), pl.col("Churned_On__c")
    customers = (accounts.filter(pl.col("Id").is_not_null()).unique("Id", keep="first", maintain_order=True)
                 .filter((since <= as_of) & (churned.is_null() | (churned > as_of)))
                 .select("Id", since, pl.col("Seats_Purchased__c").alias("_account_seats")))
    snaps = (usage.filter(pl.col("Account__c").is_not_null() & pl.col("Month__c").is_not_null()
                          & (pl.col("Month__c") <= as_of))
             .sort("Account__c", "Month__c", maintain_order=True))
    latest = snaps.unique("Account__c", keep="last", maintain_order=True)
    target = latest.select("Account__c", pl.col("Month__c").dt.offset_by(f"-{lookback_months}mo").alias("_target"))
    prior = (snaps.join(target, on="Account__c").filter(pl.col("Month__c") <= pl.col("_target"))
             .unique("Account__c", keep="last", maintain_order=True)
             .select(pl.col("Account__c").alias("Id"), pl.col("Month__c").alias("prior_month"),
                     pl.col("Seats_Active__c").alias("_prior_active")))
    joined = (customers.join(latest.rename({"Account__c": "Id"}), on="Id", how="left", maintain_order="left")
              .join(prior, on="Id", how="left", maintain_order="left"))
    return joined.select("Id", *_feature_exprs(as_of), pl.col("Month__c").alias("snapshot_month"), "prior_month")


def _feature_exprs(as_of: date) -> list[pl.Expr]:
    since = pl.col("Customer_Since__c")
    active = pl.col("Seats_Active__c").cast(pl.Float64)
    seats = pl.coalesce(pl.col("Seats_Purchased__c"), pl.col("_account_seats")).cast(pl.Float64)
    prior = pl.col("_prior_active").cast(pl.Float64)
    months = ((as_of.year - since.dt.year().cast(pl.Int64)) * 12 + (as_of.month - since.dt.month().cast(pl.Int64))
              - (since.dt.day() > as_of.day).cast(pl.Int64))
    return [
        pl.when(seats > 0).then(active / seats).alias("seat_utilisation"),
        pl.col("Logins_Per_User__c").cast(pl.Float64).alias("logins_per_user"),
        pl.col("Support_Tickets__c").cast(pl.Float64).alias("support_tickets"),
        pl.col("NPS__c").cast(pl.Float64).alias("nps"),
        pl.col("Executive_Sponsor__c").cast(pl.Float64).alias("executive_sponsor"),
        pl.when(prior > 0).then((active - prior) / prior).alias("active_seat_trend"),
        months.alias("customer_months"),
    ]


# -- one account, in plain Python (the reference) ----------------------------------------------------------------
class HealthTerm(Frozen):
    """One measure of one account's score.

    Attributes:
        measure: the measure's id.
        label: its label.
        value: the feature's value (``None``: no data, the measure drops out).
        points: the graded points 0..100 (``None``: no data).
        weight: the weight in force (the new-account one for a new account).
        share: the weight renormalised over the measures with data (``None`` when it did not count).
        contribution: points × share: what it adds to the score (``None`` when it did not count).
    """

    measure: str
    label: str
    value: float | None
    points: float | None
    weight: float
    share: float | None
    contribution: float | None


class HealthScore(Frozen):
    """One account's health: the score, its band, and every term that made it."""

    account_id: str | None = None
    score: float | None
    band: str | None
    new_account: bool
    customer_months: float | None
    terms: tuple[HealthTerm, ...]
    config_version: int

    @property
    def no_data(self) -> tuple[str, ...]:
        """The measures that had no data (they dropped out; the others' weights were renormalised)."""
        return tuple(t.measure for t in self.terms if t.value is None)

    def explanation(self) -> str:
        """A readable line per term (``seat utilisation 0.82 → 85 pts × 0.30 = 25.5``), then what did not count."""
        age = "age unknown" if self.customer_months is None else f"customer for {_num(self.customer_months)} months"
        weights = "new-account weights" if self.new_account else "standard weights"
        head = (f"health {self.score:.1f} ({self.band})" if self.score is not None
                else "no health score: no measure with a weight has data")
        lines = [f"{head}; {weights} ({age})"]
        lines += [f"  {t.label} {_num(t.value)} → {_num(t.points, 1)} pts × {t.share:.2f} = {t.contribution:.1f}"
                  for t in self.terms if t.contribution is not None and t.share is not None and t.weight > 0]
        missing = [t.label for t in self.terms if t.value is None]
        if missing:
            rest = " (left out; the other weights are renormalised)" if self.score is not None else ""
            lines.append(f"  no data: {', '.join(missing)}{rest}")
        zero = [t.label for t in self.terms if t.value is not None and t.weight == 0]
        if zero:
            lines.append(f"  weight 0 for {'new accounts' if self.new_account else 'this account'}: {', '.join(zero)}")
        return "\n".join(lines)


def score_one(cfg: HealthFile, feature_row: Mapping[str, Any]) -> HealthScore:
    """One account's score in plain Python: the reference ``score_frame`` agrees with.

    Args:
        cfg: the health config.
        feature_row: the account's features (a row of ``features``); a missing key, None or NaN is no data.

    Returns:
        The score, its band and every term.
    """
    months = _number(feature_row.get("customer_months"))
    new = cfg.new_account is not None and months is not None and months < cfg.new_account.months
    weights = cfg.weights(new)
    graded: list[tuple[Measure, float | None, float | None]] = []
    total, weighted = 0.0, 0.0
    for m in cfg.measures:
        value = _number(feature_row.get(m.source))
        points = None if value is None else _points(m, value)
        if points is not None:
            total += weights[m.id]
            weighted += points * weights[m.id]
        graded.append((m, value, points))
    score = min(max(weighted / total, 0.0), 100.0) if total > 0 else None
    counted = score is not None
    terms = tuple(HealthTerm(measure=m.id, label=m.label, value=value, points=points, weight=weights[m.id],
                             share=weights[m.id] / total if counted and points is not None else None,
                             contribution=points * weights[m.id] / total if counted and points is not None else None)
                  for m, value, points in graded)
    account = feature_row.get("Id")
    return HealthScore(account_id=None if account is None else str(account), score=score,
                       band=None if score is None else cfg.band_of(score), new_account=new, customer_months=months,
                       terms=terms, config_version=cfg.version)


def _number(raw: Any) -> float | None:
    if raw is None:
        return None
    if type(raw) is not float and not isinstance(raw, numbers.Real):  # float first: the ABC check is slow
        raise TypeError(f"a health feature must be a number, got {type(raw).__name__}")
    value = float(raw)
    return None if math.isnan(value) else value


def _points(m: Measure, value: float) -> float:
    if m.linear is not None:
        return min(max((value - m.linear.bad) * m.linear.scale, 0.0), 100.0)
    steps = m.ranges or []
    return next((s.points for s in steps[:-1] if s.below is not None and value < s.below), steps[-1].points)


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if not math.isfinite(value) or abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def explain(cfg: HealthFile, feats: pl.DataFrame, account_id: str) -> HealthScore:
    """One account's score with its terms, from its row of ``features``.

    Raises:
        NotFound: the account is not among ``feats`` (not a customer at their date).
    """
    rows = feats.filter(pl.col("Id") == account_id).head(1).to_dicts()
    if not rows:
        raise NotFound(f"account {account_id} is not a customer with health features")
    return score_one(cfg, rows[0])


# -- a whole frame, vectorised -----------------------------------------------------------------------------------
def score_frame(cfg: HealthFile, feats: pl.DataFrame) -> pl.DataFrame:
    """Every account's score at once; the same arithmetic as ``score_one``, column by column.

    Args:
        cfg: the health config.
        feats: a frame of features (``features``'s output); a missing column is no data.

    Returns:
        ``Id``, ``score``, ``band``, ``new_account``, and per measure ``points_<id>`` and ``term_<id>`` (its
        contribution; null when it did not count). Score and band are null when no measure has data.
    """
    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64).fill_nan(None) if name in feats.columns else pl.lit(None, pl.Float64)

    months = col("customer_months")
    is_new = (months < cfg.new_account.months).fill_null(False) if cfg.new_account else pl.lit(False)
    base, young = cfg.weights(False), cfg.weights(True)
    points = {m.id: _points_expr(m, col(m.source)) for m in cfg.measures}
    weight = {m.id: pl.when(is_new).then(pl.lit(young[m.id])).otherwise(pl.lit(base[m.id])) for m in cfg.measures}
    total: pl.Expr = pl.lit(0.0)
    weighted: pl.Expr = pl.lit(0.0)
    for m in cfg.measures:  # in score_one's order, so the sums round the same way
        total = total + pl.when(points[m.id].is_not_null()).then(weight[m.id]).otherwise(0.0)
        weighted = weighted + (points[m.id] * weight[m.id]).fill_null(0.0)
    out = feats.select(pl.col("Id") if "Id" in feats.columns else pl.lit(None, pl.String).alias("Id"),
                       is_new.alias("new_account"), total.alias("_total"), weighted.alias("_weighted"),
                       *(points[m.id].alias(f"points_{m.id}") for m in cfg.measures),
                       *(weight[m.id].alias(f"_w_{m.id}") for m in cfg.measures))
    counted = pl.col("_total") > 0
    score = pl.when(counted).then((pl.col("_weighted") / pl.col("_total")).clip(0.0, 100.0))
    out = out.with_columns(score.alias("score"), *(
        pl.when(counted).then(pl.col(f"points_{m.id}") * pl.col(f"_w_{m.id}") / pl.col("_total")).alias(f"term_{m.id}")
        for m in cfg.measures))
    return out.select("Id", "score", _band_expr(cfg, pl.col("score")).alias("band"), "new_account",
                      *(f"points_{m.id}" for m in cfg.measures), *(f"term_{m.id}" for m in cfg.measures))


def _points_expr(m: Measure, x: pl.Expr) -> pl.Expr:
    if m.linear is not None:
        return ((x - m.linear.bad) * m.linear.scale).clip(0.0, 100.0)
    steps = m.ranges or []
    chain: Any = pl.when(x.is_null()).then(pl.lit(None, pl.Float64))
    for s in steps[:-1]:
        chain = chain.when(x < s.below).then(pl.lit(s.points, pl.Float64))
    return chain.otherwise(pl.lit(steps[-1].points, pl.Float64))  # type: ignore[no-any-return]


def _band_expr(cfg: HealthFile, score: pl.Expr) -> pl.Expr:
    chain: Any = pl.when(score.is_null()).then(pl.lit(None, pl.String))
    for b in reversed(cfg.bands[1:]):
        chain = chain.when(score >= b.min).then(pl.lit(b.name))
    return chain.otherwise(pl.lit(cfg.bands[0].name))  # type: ignore[no-any-return]


# -- back-test ---------------------------------------------------------------------------------------------------
class BandRate(Frozen):
    """How many accounts of one band churned (``band`` ``None``: the accounts with no score)."""

    band: str | None
    accounts: int
    churned: int
    churn_rate: float | None


class Backtest(Frozen):
    """How well the score at ``as_of`` ranked the accounts that churned within the horizon.

    Attributes:
        auc: the chance a churner scored lower than a survivor (ties count half); 0.5 is no better than chance.
            ``None`` with ``reason`` when there is nothing to rank (no churner, or no survivor).
        accounts: customers at ``as_of``; ``scored``: those with a score (the AUC ranks only these).
        churned: customers that churned in (as_of, as_of + horizon_days].
        bands: the churn rate per band, in the config's order (then the unscored accounts, if any).
    """

    as_of: date
    horizon_days: int
    config_version: int
    accounts: int
    scored: int
    churned: int
    auc: float | None
    reason: str | None
    bands: tuple[BandRate, ...]

    def summary(self) -> str:
        """A few lines: the AUC (or why there is none) and the churn rate per band."""
        auc = f"AUC {self.auc:.3f}" if self.auc is not None else f"no AUC: {self.reason}"
        lines = [f"health v{self.config_version} as of {self.as_of}, churn within {self.horizon_days} days: {auc} "
                 f"({self.accounts} customers, {self.scored} scored, {self.churned} churned)"]
        lines += [f"  {b.band or '(no score)'}: {b.churned}/{b.accounts} churned"
                  + (f" ({b.churn_rate:.1%})" if b.churn_rate is not None else "") for b in self.bands]
        return "\n".join(lines)


def auc_low_score(score: pl.Series, churned: pl.Series) -> tuple[float | None, str | None]:
    """AUC of "a low score predicts churn": Mann–Whitney U over the churners' ranks, ties counted half.

    Args:
        score: one score per account (nulls are left out).
        churned: whether each account churned.

    Returns:
        ``(auc, None)``, or ``(None, reason)`` when there are no churners or no survivors to rank.
    """
    frame = pl.DataFrame({"score": score.cast(pl.Float64), "churned": churned.cast(pl.Boolean)}).drop_nulls()
    positives = int(frame["churned"].sum())
    negatives = frame.height - positives
    if frame.height == 0:
        return None, "no scored accounts"
    if positives == 0:
        return None, "no scored account churned within the horizon"
    if negatives == 0:
        return None, "every scored account churned: no survivor to rank them against"
    # ranked by descending score: a churner ranks above a survivor when it scored lower
    ranks = frame.select(pl.col("score").rank("average", descending=True).filter(pl.col("churned")).sum()).item()
    u = float(ranks) - positives * (positives + 1) / 2
    return u / (positives * negatives), None


def backtest(cfg: HealthFile, accounts: pl.DataFrame, usage: pl.DataFrame, as_of: date,
             horizon_days: int = 180) -> Backtest:
    """Score every customer at ``as_of`` and measure how well low health predicted churn within the horizon.

    Args:
        cfg: the health config.
        accounts: CRM accounts, with ``Churned_On__c`` as known today.
        usage: ``Usage_Snapshot__c`` rows.
        as_of: the date to score at (only snapshots up to it are read).
        horizon_days: churn counts when ``Churned_On__c`` is in (as_of, as_of + horizon_days].

    Returns:
        The AUC (or why there is none), the counts, and the churn rate per band.
    """
    scored = score_frame(cfg, features(accounts, usage, as_of, cfg.lookback_months))
    end = pl.col("Churned_On__c")
    labels = (accounts.filter(pl.col("Id").is_not_null()).unique("Id", keep="first", maintain_order=True)
              .select("Id", ((end > as_of) & (end <= as_of + timedelta(days=horizon_days))).fill_null(False)
                      .alias("churned")))
    frame = scored.select("Id", "score", "band").join(labels, on="Id", how="left", maintain_order="left")
    frame = frame.with_columns(pl.col("churned").fill_null(False))
    auc, reason = auc_low_score(frame["score"], frame["churned"])
    counts = {r["band"]: (int(r["n"]), int(r["c"])) for r in frame.group_by("band").agg(
        pl.len().alias("n"), pl.col("churned").sum().alias("c")).to_dicts()}
    names: list[str | None] = [b.name for b in cfg.bands] + ([None] if None in counts else [])
    bands = tuple(BandRate(band=name, accounts=n, churned=c, churn_rate=c / n if n else None)
                  for name, (n, c) in ((name, counts.get(name, (0, 0))) for name in names))
    return Backtest(as_of=as_of, horizon_days=horizon_days, config_version=cfg.version, accounts=frame.height,
                    scored=int(frame["score"].is_not_null().sum()), churned=int(frame["churned"].sum()),
                    auc=auc, reason=reason, bands=bands)
