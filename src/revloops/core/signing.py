"""HMAC-SHA256 signatures of webhook bodies: ``t=<unix seconds>,v1=<hex hmac(secret, "<t>.<body>")>``."""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300
MAX_HEADER = 256  # t=<10 digits>,v1=<64 hex> is 80 characters


class BadSignature(Exception):
    """The signature is missing, malformed, wrong or stale."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body`` (what our Salesforce flow computes in Apex)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> int:
    """Check a signature header; answers its timestamp or raises BadSignature."""
    if not header:
        raise BadSignature("missing signature")
    if len(header) > MAX_HEADER or not header.isascii():
        raise BadSignature("malformed signature")
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    # ASCII digits only (``int`` would take other scripts' digits and thousands of them), and a hex digest
    if not (stamp.isdigit() and len(stamp) <= 12 and len(given) == 64
            and all(c in "0123456789abcdef" for c in given.lower())):
        raise BadSignature("malformed signature")
    t = int(stamp)
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise BadSignature("stale signature timestamp")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise BadSignature("signature does not match")
    return t
