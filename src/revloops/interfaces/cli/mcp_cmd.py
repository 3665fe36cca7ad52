"""`revloops mcp`: the MCP server over stdio (Claude Code, Claude Desktop) or, with --http, streamable HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from revloops.interfaces.cli.common import ConfigOpt, DbOpt, application, handles_errors


@handles_errors
def mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="Address to bind (--http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (--http).")] = 8765,
    url: Annotated[str | None, typer.Option(help="Public URL of the endpoint (--http; default http://HOST:PORT/mcp).",
                                            show_default=False)] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Serve the MCP tools. Over stdio the caller is REVLOOPS_TOKEN (one of REVLOOPS_API_TOKENS); over HTTP each
    request's bearer token. Logs go to stderr."""
    from revloops.interfaces.mcp.server import serve_http, serve_stdio

    app = application(config, db)
    if http:
        serve_http(app, host=host, port=port, url=url)
        return
    code = serve_stdio(app)
    if code:
        raise typer.Exit(code)
