"""Contexts as columns: what ``RouteEnv.context`` derives for one record, computed over a frame of records.

The batch paths (preview, diff, territory assign, rescoring) read stored records as frames (``CRM.read_columns``)
and get their evaluation contexts here, without one Python object per record. Each derived field keeps the one
definition the live path uses: the scalar function is called once per *distinct* input (a country spelling, a
company name, a domain) and the answers are joined back onto the rows. Only one step is re-expressed over columns,
the host of an email address, and only for plain ASCII addresses where the two readings cannot differ; any other
value goes through ``host_of`` itself. A property test holds both paths to the same context, field for field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from revloops.core.context import GEO_FIELDS, segment_for
from revloops.core.domains import (
    FREE_MAIL_DOMAINS,
    company_domain,
    host_of,
    normalise_company,
    registrable_domain,
)
from revloops.core.frames import records_to_frame
from revloops.core.geo import normalise_geo
from revloops.core.records import model_for
from revloops.core.rules.batch import text_column

if TYPE_CHECKING:
    from revloops.loops.route.env import RouteEnv

#: the evaluation context's score keys and the lead fields they fall back to (``build_context``)
SCORE_FIELDS = {"score.total": "Lead_Score__c", "score.fit": "Fit_Score__c", "score.intent": "Intent_Score__c"}
_GEO_KEYS = ("geo.country", "geo.region", "geo.postal", "geo.ambiguous")
_MATCH_INPUTS = ("Email", "Website", "Company")
#: plain addresses whose host Polars reads exactly as ``host_of`` does
_PLAIN_EMAIL = r"^[A-Za-z0-9._%+'-]*@[A-Za-z0-9.-]+$"


def record_columns(sobject: str, fields: Sequence[str]) -> list[str]:
    """The stored columns a frame of ``sobject`` needs so its contexts can carry ``fields`` (plus ``Id`` and
    ``CreatedDate``, which every batch reads)."""
    model = model_for(sobject).model_fields
    need: list[str] = ["Id", "CreatedDate"]
    for name in fields:
        if name in model:
            need.append(name)
        elif name.startswith("geo."):
            need.extend(c for c in GEO_FIELDS.get(sobject, GEO_FIELDS["Lead"]) if c in model)
        elif name.startswith("account.") and sobject == "Lead":
            need.extend(_MATCH_INPUTS)
        elif name in SCORE_FIELDS and SCORE_FIELDS[name] in model:
            need.append(SCORE_FIELDS[name])
        elif name == "segment":
            need.extend(c for c in ("NumberOfEmployees", "Segment__c") if c in model)
    return list(dict.fromkeys(need))


def _per_distinct(frame: pl.DataFrame, keys: Sequence[str], fn: Callable[..., Any], dtype: pl.DataType,
                  name: str) -> pl.Series:
    """``fn(*row[keys])`` for every row, calling ``fn`` once per distinct combination of the keys."""
    distinct = frame.select(keys).unique(maintain_order=True)
    values = [fn(*row) for row in distinct.iter_rows()]
    table = distinct.with_columns(pl.Series(name, values, dtype=dtype))
    joined = frame.select(keys).join(table, on=list(keys), how="left", nulls_equal=True, maintain_order="left")
    return joined.get_column(name)


def _context_value(column: pl.Series) -> pl.Series:
    """A stored column in the kind the batch frame reads (``contexts_to_frame``): numbers as floats, datetimes
    as dates, repeating text dictionary-encoded."""
    dtype = column.dtype
    if dtype.is_integer() or dtype == pl.Float32:
        return column.cast(pl.Float64)
    if dtype == pl.Float64:
        return column.fill_nan(None)
    if isinstance(dtype, pl.Datetime):
        return column.dt.date()
    if dtype == pl.String:
        return text_column(column)
    return column


def _email_domain(emails: pl.Series) -> pl.Series:
    """``company_domain(email)`` per row: the host read over columns for plain addresses, ``host_of`` for the
    rest; the registrable domain once per distinct host."""
    plain = emails.str.contains(_PLAIN_EMAIL)
    fast_host = emails.str.to_lowercase().str.extract(r"@([^@]+)$", 1).str.strip_chars(".")
    odd = pl.DataFrame({"e": emails.filter(plain.not_() & emails.is_not_null())}).unique()
    slow = {e: host_of(e) for e in odd["e"]} if odd.height else {}
    host = pl.select(pl.when(plain).then(fast_host).otherwise(
        emails.replace_strict(list(slow), list(slow.values()), default=None, return_dtype=pl.String)
        if slow else pl.lit(None, pl.String))).to_series()
    hosts = pl.DataFrame({"h": host})
    domain = _per_distinct(hosts, ["h"], lambda h: registrable_domain(h) if h else None, pl.String(), "d")
    return pl.select(pl.when(domain.is_in(list(FREE_MAIL_DOMAINS))).then(None).otherwise(domain)).to_series()


def _account_positions(env: RouteEnv, frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The matched account's position in the index and how it matched (``domain``/``name``), per lead, as
    ``AccountIndex.match(..., mode="domain_then_name")`` answers."""
    index = env.accounts
    n = frame.height
    if len(index) == 0:
        return pl.Series("pos", [None] * n, dtype=pl.Int64), pl.Series("how", [None] * n, dtype=pl.String)
    names = _per_distinct(frame, ["Company"], normalise_company, pl.String(), "qn")
    websites = _per_distinct(frame, ["Website"], company_domain, pl.String(), "wd")
    by_domain = list(index.domain_positions())
    email_d = _email_domain(frame.get_column("Email"))
    domain = pl.select(pl.when(email_d.is_in(by_domain)).then(email_d)
                       .when(websites.is_in(by_domain)).then(websites).otherwise(None)).to_series()
    keyed = pl.DataFrame({"d": domain, "qn": names})
    by_dom = _per_distinct(keyed.filter(pl.col("d").is_not_null()), ["d", "qn"], index.domain_position,
                           pl.Int64(), "pos") if domain.null_count() < n else pl.Series("pos", [], dtype=pl.Int64)
    dom_pos = pl.Series("pos", [None] * n, dtype=pl.Int64).scatter(domain.is_not_null().arg_true(), by_dom) \
        if len(by_dom) else pl.Series("pos", [None] * n, dtype=pl.Int64)
    # the rest by company name, each distinct name once, the fuzzy ones a block at a time
    rest = keyed.with_row_index("row").filter(pl.col("d").is_null() & (pl.col("qn") != ""))
    distinct = rest.select("qn").unique(maintain_order=True)
    found = index.name_positions(distinct["qn"].to_list())
    table = distinct.with_columns(pl.Series("pos", found, dtype=pl.Int64))
    name_pos = rest.join(table, on="qn", how="left", maintain_order="left")
    pos = dom_pos.scatter(name_pos["row"], name_pos["pos"]) if name_pos.height else dom_pos
    how = pl.select(pl.when(domain.is_not_null()).then(pl.lit("domain"))
                    .when(pos.is_not_null()).then(pl.lit("name")).otherwise(None)).to_series()
    return pos.alias("pos"), how.alias("how")


def _account_columns(env: RouteEnv, pos: pl.Series, fields: Sequence[str]) -> dict[str, pl.Series]:
    """The ``account.*`` fields of each lead's matched account (missing where none matched)."""
    wanted = [f.removeprefix("account.") for f in fields if f.startswith("account.") and f != "account.match"]
    known = [f for f in wanted if f in model_for("Account").model_fields]
    index = env.accounts
    accounts = records_to_frame("Account", [index.account_at(i) for i in range(len(index))], known) \
        .with_row_index("pos").with_columns(pl.col("pos").cast(pl.Int64))
    joined = pl.DataFrame({"pos": pos}).join(accounts, on="pos", how="left", maintain_order="left")
    out = {f"account.{f}": _context_value(joined.get_column(f)) for f in known}
    for f in wanted:
        out.setdefault(f"account.{f}", pl.Series([None] * len(pos), dtype=pl.String))
    return out


def context_frame(env: RouteEnv, records: pl.DataFrame, sobject: str, fields: Sequence[str]) -> pl.DataFrame:
    """The batch frame of ``fields`` for a frame of stored records (``record_columns`` of them), row for row
    what ``contexts_to_frame([env.context(r, sobject) for r in records], fields)`` gives."""
    n = records.height
    model = model_for(sobject).model_fields
    out: dict[str, pl.Series] = {}
    wanted = list(dict.fromkeys(fields))
    matched = sobject == "Lead" and any(f.startswith("account.") for f in wanted)
    pos, how = _account_positions(env, records) if matched else (None, None)
    accounts = _account_columns(env, pos, wanted) if pos is not None else {}
    geo = _geo(records, sobject) if any(f in _GEO_KEYS for f in wanted) else None
    for name in wanted:
        if name in model:
            out[name] = _context_value(records.get_column(name))
        elif geo is not None and name in _GEO_KEYS:
            out[name] = geo.get_column(name)
        elif name == "account.match" and how is not None:
            out[name] = text_column(how)
        elif name in accounts:
            out[name] = accounts[name]
        elif name in SCORE_FIELDS and SCORE_FIELDS[name] in model:
            out[name] = _context_value(records.get_column(SCORE_FIELDS[name]))
        elif name == "segment":
            out[name] = text_column(_segment(env, records))
        else:  # a field no stored record carries (enrichment.*, signal.*, a typo): missing everywhere
            out[name] = pl.Series(name, [None] * n, dtype=pl.String)
    if not out:
        out["__row"] = pl.Series(values=range(n), dtype=pl.Int64)
    return pl.DataFrame([v.alias(k) for k, v in out.items()])


def _geo(records: pl.DataFrame, sobject: str) -> pl.DataFrame:
    columns = [c for c in GEO_FIELDS.get(sobject, GEO_FIELDS["Lead"])]
    # a missing address field is a column of nulls as long as the frame (a bare literal would be one row)
    inputs = pl.DataFrame([records.get_column(c) if c in records.columns
                           else pl.Series(c, [None] * records.height, dtype=pl.String) for c in columns])
    distinct = inputs.unique(maintain_order=True)
    geos = [normalise_geo(*row) for row in distinct.iter_rows()]
    table = distinct.with_columns(
        pl.Series("geo.country", [g.country for g in geos], dtype=pl.String),
        pl.Series("geo.region", [g.region for g in geos], dtype=pl.String),
        pl.Series("geo.postal", [g.postal for g in geos], dtype=pl.String),
        pl.Series("geo.ambiguous", [g.ambiguous for g in geos], dtype=pl.Boolean),
    )
    joined = inputs.join(table, on=columns, how="left", nulls_equal=True, maintain_order="left")
    return joined.select(*(pl.col(k) for k in _GEO_KEYS)).with_columns(
        *(text_column(joined.get_column(k)).alias(k) for k in ("geo.country", "geo.region", "geo.postal")))


def _segment(env: RouteEnv, records: pl.DataFrame) -> pl.Series:
    n = records.height
    stored = records.get_column("Segment__c") if "Segment__c" in records.columns else \
        pl.Series([None] * n, dtype=pl.String)
    capacity = env.cfg.get("capacity")
    if capacity is None or "NumberOfEmployees" not in records.columns:
        return stored
    segments = capacity.segments
    derived = _per_distinct(records, ["NumberOfEmployees"],
                            lambda e: segment_for(e, segments), pl.String(), "segment")
    return pl.select(pl.coalesce(derived, stored)).to_series()
