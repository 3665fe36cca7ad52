"""The HTTP API: one router per resource under /api; OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from revloops import __version__
from revloops.bootstrap import Platform, build
from revloops.interfaces.api import crm_events, decisions, errors, health, route


def create_app(plat: Platform | None = None, *, run_engine: bool = False) -> FastAPI:
    """The FastAPI app on a platform (built from the environment when not given).

    With ``run_engine`` the workflow engine (and its queue workers) runs in the API process too.
    """
    platform = plat or build()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _ = platform.engine  # open and migrate the state database before the first request
        if not run_engine:
            yield
            return
        import asyncio

        from revloops.engine.setup import launch, shutdown

        await asyncio.to_thread(launch, platform)
        try:
            yield
        finally:
            await asyncio.to_thread(shutdown, 10)

    app = FastAPI(
        title="Revenue Loops API",
        version=__version__,
        description="Revenue operations as code. Every decision explainable and replayable.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    errors.install(app)
    app.include_router(health.router)
    app.include_router(decisions.router)
    app.include_router(crm_events.router)
    app.include_router(route.router)
    for router in extra_routers():
        app.include_router(router)
    return app


def extra_routers() -> list:  # type: ignore[type-arg]
    """Loop routers, in chain order."""
    return []
