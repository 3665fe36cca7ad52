"""Decisions are data: every owner, score, territory or play a loop picks is stored with its trace."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from typing import Any

from pydantic import Field

from revloops.core.model import Frozen

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_decision_id(now_ms: int | None = None, entropy: bytes | None = None) -> str:
    """``dec_`` + a ULID: time-ordered, so ids sort by when they were taken.

    Args:
        now_ms: the time in milliseconds since the epoch (default: now).
        entropy: the ULID's 80 random bits as 10 bytes (default: fresh ones); given ones make the id
            reproducible (a seeded history's decisions).
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes((entropy if entropy is not None else os.urandom(10))[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "dec_" + "".join(reversed(chars))


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    return str(value)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same inputs always give the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_default, ensure_ascii=False)


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value`` (the inputs of a decision)."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


class Decision(Frozen):
    """One decision of one loop on one record.

    Attributes:
        id: ``dec_<ulid>``; empty for a dry run's decision, which is shown but never stored.
        loop: the loop that decided (route, qualify, deploy, engage, pursue...).
        sobject: the record's object (Lead, Account...).
        record_id: the record's id.
        outcome: what was decided: an owner id, ``pending:<reason>``, a score band, a territory, a play.
        detail: structured facts of the outcome (rule id, action, score breakdown...).
        trace: the full evaluation trace.
        explanation: one human line naming the deciding facts.
        config_version: the config commit (or content hash) the decision used.
        inputs_digest: digest of the inputs, so a replay can prove it saw the same data.
        actor: who or what asked (a user, ``api:<token user>``, ``workflow:<id>``, ``cli``).
        created_at: when (UTC).
    """

    id: str = Field(default_factory=new_decision_id)
    loop: str
    sobject: str
    record_id: str
    outcome: str
    detail: dict[str, Any] = Field(default_factory=dict)
    trace: list[Any] = Field(default_factory=list)
    explanation: str = ""
    config_version: str
    inputs_digest: str
    actor: str = "system"
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
