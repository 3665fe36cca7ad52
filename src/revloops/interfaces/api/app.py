"""The HTTP API: one router per resource under /api; OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from revloops import __version__
from revloops.app import Revloops, open_app
from revloops.interfaces.api import (
    config,
    crm_events,
    decisions,
    design,
    engine,
    errors,
    health,
    qualify,
    responses,
    retention,
    route,
    signals,
    territories,
    warehouse,
)
from revloops.interfaces.api.guard import Guard


def create_app(revloops: Revloops | None = None, *, run_engine: bool = False) -> FastAPI:
    """The FastAPI app on an application (built from the environment when not given).

    With ``run_engine`` the workflow engine (and its queue workers) runs in the API process too.
    """
    application = revloops or open_app()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        application.open_state()  # open and migrate the state database before the first request
        if not run_engine:
            yield
            return
        import asyncio

        await asyncio.to_thread(application.start_engine)
        try:
            yield
        finally:
            await asyncio.to_thread(application.stop_engine, 10)

    app = FastAPI(
        title="Revenue Loops API",
        version=__version__,
        description="Revenue operations as code. Every decision explainable and replayable.",
        lifespan=lifespan,
    )
    app.state.revloops = application
    errors.install(app)
    for module in (health, decisions, crm_events, config, design, territories, qualify, route, engine, retention, signals,
                   warehouse):
        app.include_router(module.router)
    responses.install(app)
    app.add_middleware(Guard, revloops=application, max_body=application.settings.api_max_body_bytes)
    return app
