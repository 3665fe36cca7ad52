"""GET /health: liveness, no auth (the baseline the API benchmarks compare against)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (async: no thread-pool hop, so a busy pool of previews cannot delay it)."""
    return {"status": "ok"}
