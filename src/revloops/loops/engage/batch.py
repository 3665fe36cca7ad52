"""Plays over columns: the play each lead of a frame would get, row for row what ``logic.select_play`` picks
on ``engage_context`` (the persona from the title, the score band from the total). A change plan's Engage
section uses it on stored leads; a property test holds it to the per-record selection."""

from __future__ import annotations

import numpy as np
import polars as pl

from revloops.core.rules.batch import text_column
from revloops.loops.engage.config import PlaysFile
from revloops.loops.engage.logic import compiled_plays, persona_for, score_band


def play_fields(plays: PlaysFile) -> list[str]:
    """The context fields the plays read, with the inputs ``persona`` and ``score.band`` derive from."""
    fields = compiled_plays(plays).fields
    return list(dict.fromkeys([*fields, "Title", "score.total"]))


def play_frame(plays: PlaysFile, frame: pl.DataFrame, totals: np.ndarray | None = None) -> list[str | None]:
    """The play id (None: no play holds) of each row of a context frame carrying ``play_fields``; ``totals``:
    each row's score total when a scoring computed it (else the frame's ``score.total``)."""
    n = frame.height
    out = frame
    if "persona" not in frame.columns or frame.get_column("persona").null_count() == n:
        titles = frame.get_column("Title") if "Title" in frame.columns else pl.Series([None] * n, dtype=pl.String)
        distinct = titles.cast(pl.String).unique(maintain_order=True)
        table = pl.DataFrame({"t": distinct, "persona": [persona_for(t, plays) for t in distinct.to_list()]},
                             schema={"t": pl.String, "persona": pl.String})
        persona = pl.DataFrame({"t": titles.cast(pl.String)}).join(table, on="t", how="left", nulls_equal=True,
                                                                   maintain_order="left").get_column("persona")
        out = out.with_columns(text_column(persona).alias("persona"))
    if totals is not None:
        total = pl.Series(totals.astype(np.float64))
    elif "score.total" in frame.columns:
        total = frame.get_column("score.total").cast(pl.Float64, strict=False)
    else:
        total = pl.Series([None] * n, dtype=pl.Float64)
    floors = sorted(plays.score_bands.items(), key=lambda kv: -kv[1])
    bands = [score_band(t, plays.score_bands) if t is not None else None for t in total.unique().to_list()]
    table = pl.DataFrame({"t": total.unique(), "b": bands}, schema={"t": pl.Float64, "b": pl.String}) \
        if floors else pl.DataFrame({"t": [], "b": []}, schema={"t": pl.Float64, "b": pl.String})
    band = pl.DataFrame({"t": total}).join(table, on="t", how="left", nulls_equal=True,
                                           maintain_order="left").get_column("b")
    out = out.with_columns(text_column(band).alias("score.band"))
    compiled = compiled_plays(plays)
    first = compiled.first_match(out)
    ids = [r.id for r in compiled.rules]
    return [ids[k] if k >= 0 else None for k in first.tolist()]
