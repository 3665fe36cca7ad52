"""`revloops serve`: the HTTP API and the workflow engine's workers in one process."""

from __future__ import annotations

from typing import Annotated

import typer

from revloops.interfaces.cli.common import ConfigOpt, DbOpt, application, console, handles_errors, operator


@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
    workers: Annotated[int, typer.Option(help="HTTP worker processes.")] = 1,
    engine: Annotated[bool, typer.Option(help="Run the workflow engine's workers in this process too.")] = True,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Run the API (OpenAPI at /docs), the MCP server (/mcp) and, unless --no-engine, the workflow workers."""
    import uvicorn

    from revloops.interfaces.api.app import create_app

    app = application(config, db)
    app.validate_config(operator())  # refuse to start on a broken config
    console.print(f"serving on http://{host}:{port} (OpenAPI at /docs, MCP at /mcp)")
    uvicorn.run(create_app(app, run_engine=engine, mcp_url=f"http://{host}:{port}/mcp", mcp_host=host), host=host,
                port=port, log_level="warning", workers=workers if workers > 1 else None)
