"""Base models: config is strict and frozen; values that travel between loops are frozen too."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Base of every config-file model: unknown keys are errors, and loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Frozen(BaseModel):
    """Base of values passed around and returned by loops (decisions, traces, results)."""

    model_config = ConfigDict(frozen=True)
