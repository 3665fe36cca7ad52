"""The HTTP API: one router per resource under /api; OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

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
    plan,
    qualify,
    responses,
    retention,
    route,
    signals,
    territories,
    warehouse,
)
from revloops.interfaces.api.guard import Guard

DEFAULT_MCP_URL = "http://127.0.0.1:8080/mcp"


def create_app(revloops: Revloops | None = None, *, run_engine: bool = False, mcp_url: str = DEFAULT_MCP_URL,
               mcp_host: str = "127.0.0.1") -> FastAPI:
    """The FastAPI app on an application (built from the environment when not given), with the MCP server's
    streamable HTTP endpoint at ``/mcp`` (``mcp_url`` is its public URL; ``mcp_host`` the address served).

    With ``run_engine`` the workflow engine (and its queue workers) runs in the API process too.
    """
    from revloops.interfaces.mcp.server import HttpMount

    application = revloops or open_app()
    mcp = HttpMount(application, url=mcp_url, host=mcp_host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        application.open_state()  # open and migrate the state database before the first request
        async with mcp.lifespan():
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
    for module in (health, decisions, crm_events, config, plan, design, territories, qualify, route, engine, retention,
                   signals, warehouse):
        app.include_router(module.router)
    responses.install(app)
    for path in mcp.paths:  # /mcp and its protected-resource metadata, through the MCP app's own auth
        app.router.routes.append(Route(path, endpoint=mcp, include_in_schema=False))
    app.add_middleware(Guard, revloops=application, max_body=application.settings.api_max_body_bytes)
    return app
