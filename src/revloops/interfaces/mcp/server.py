"""The MCP server: the catalog's tools on the official SDK's ``MCPServer``, filtered by the caller's tier.

A caller lists only the tools of its tier and below, and calling any other tool answers exactly what an
unknown tool answers. The caller is fixed for a stdio server (``REVLOOPS_TOKEN``, checked at start) and comes
from the verified bearer token of each HTTP request. Errors the model can fix (a bad field, a record it may not
see, a refused plan) come back as a tool error naming the field or record; anything else is logged to stderr
and answered with the SDK's short, sanitised message.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.caching import CacheHint
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, InputRequiredResult
from mcp_types import Tool as MCPTool
from pydantic import ConfigDict
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from revloops import __version__
from revloops.app import Caller, Revloops
from revloops.core.errors import AdapterError, RevloopsError
from revloops.interfaces.mcp.auth import SCOPE, AppTokenVerifier
from revloops.interfaces.mcp.tools import CATALOG, CURRENT, Entry

log = logging.getLogger("revloops.mcp")

INSTRUCTIONS = ("Revenue Loops: leads, accounts, pipeline, routing, territories, capacity and the decision log "
                "of one org. Lists are paged (limit, cursor -> next_cursor, total). Writes plan first: run with "
                "dry_run, then apply with the plan_id it gave.")


_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_NULL = {"type": "null"}


def _optional_input(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional argument whose default is null, published as its value's schema alone: send a value or
    leave it out (the server still takes an explicit null). Single-``type`` schemas are the portable kind."""
    arms = schema.get("anyOf")
    if "default" not in schema or schema["default"] is not None or not isinstance(arms, list) \
            or len(arms) != 2 or _NULL not in arms:
        return schema
    other = next(a for a in arms if a != _NULL)
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**other, **rest} if isinstance(other, dict) else schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: X, ...}, {type: null}]`` as ``type: [X, null]``: the same schema, shorter (answers only:
    a model never writes them, and clients validate them as JSON Schema)."""
    arms = schema.get("anyOf")
    if not isinstance(arms, list) or len(arms) != 2 or _NULL not in arms:
        return schema
    other = next(a for a in arms if a != _NULL)
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or "$ref" in other:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**other, **rest, "type": [other["type"], "null"]}


def _compact(schema: Any, *, output: bool = False) -> Any:
    """A JSON Schema with fewer bytes: no pydantic ``title`` (a property named ``title`` stays), no
    ``additionalProperties: true``; an input's optional null-defaulted argument as its value's schema; an
    output schema with nullable types as type lists and without descriptions, defaults, formats and
    ``required`` (every field of an answer is always there; the tool's description says what it answers)."""
    if isinstance(schema, list):
        return [_compact(s, output=output) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "additionalProperties" and value is True:
            continue
        if output and key in ("description", "required", "format", "default") and not isinstance(value, dict):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _compact(sub, output=output) for name, sub in value.items()}
        else:
            out[key] = _compact(value, output=output)
    return _nullable(out) if output else _optional_input(out)


def _tool(entry: Entry) -> Tool:
    """The SDK's tool for a catalog entry: compact schemas, and arguments no schema names refused (a misspelt
    argument is an error the model can fix, never silently ignored)."""
    built = Tool.from_function(entry.fn, annotations=entry.annotations)
    loose = built.fn_metadata.arg_model
    built.fn_metadata.arg_model = type(loose.__name__, (loose,), {"model_config": ConfigDict(
        arbitrary_types_allowed=True, extra="forbid")})
    built.parameters = {**_compact(built.parameters), "additionalProperties": False}
    if built.fn_metadata.output_schema is not None:
        built.fn_metadata.output_schema = _compact(built.fn_metadata.output_schema, output=True)
    return built


def _fixable(exc: BaseException) -> str | None:
    """The text of an error the model can fix, or None for one it cannot."""
    if isinstance(exc, AdapterError):
        log.warning("an upstream failed during a tool call: %s", exc)
        return f"{exc.code}: an external system did not answer as expected; try again later"
    if isinstance(exc, RevloopsError):
        return f"{exc.code}: {exc}"
    return None


class RevloopsMCP(MCPServer[Any]):
    """The Revenue Loops MCP server.

    Args:
        app: the application every tool calls.
        caller: the caller of a stdio server (checked before serving); None over HTTP, where each request's
            verified token names it.
        url: the server's public URL (``http://host:port/mcp``), which makes it an OAuth protected resource
            that answers 401 with ``WWW-Authenticate`` to a missing or bad token (HTTP only).
        entries: the catalog (the full one by default).
    """

    def __init__(self, app: Revloops, *, caller: Caller | None = None, url: str | None = None,
                 entries: Sequence[Entry] = CATALOG) -> None:
        self.app = app
        self.fixed_caller = caller
        self.verifier = AppTokenVerifier(app, resource=url)
        self.tiers = {e.name: e.tier for e in entries}
        self._listed: dict[str, list[MCPTool]] = {}
        auth: dict[str, Any] = {}
        if url is not None:
            base = url.rsplit("/mcp", 1)[0] or url
            auth = {"token_verifier": self.verifier,
                    "auth": AuthSettings(issuer_url=base, resource_server_url=url,
                                         required_scopes=[SCOPE], validate_token_resource=True)}
        super().__init__("revloops", title="Revenue Loops", version=__version__, instructions=INSTRUCTIONS,
                         tools=[_tool(e) for e in entries], log_level="WARNING",
                         cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")}, **auth)

    # -- who is calling ------------------------------------------------------------------------------------

    def caller(self) -> Caller | None:
        """The caller of the request being served: the stdio caller, or the one the verified token names."""
        if self.fixed_caller is not None:
            return self.fixed_caller
        token = get_access_token()
        return self.verifier.caller(token.token) if token is not None else None

    def may_use(self, name: str, caller: Caller | None) -> bool:
        """Whether ``caller`` may list and call the tool ``name``."""
        tier = self.tiers.get(name)
        return caller is not None and tier is not None and caller.at_least(tier)

    # -- the SDK's hooks -----------------------------------------------------------------------------------

    async def list_tools(self) -> list[MCPTool]:
        """The tools of the caller's tier and below (the catalog never changes: each tier's list is built once)."""
        who = self.caller()
        if who is None:
            return []
        listed = self._listed.get(who.tier)
        if listed is None:
            listed = self._listed[who.tier] = [t for t in await super().list_tools() if self.may_use(t.name, who)]
        return list(listed)

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """A tool's input schema for the SDK's header checks, only for a tool the caller may use (another one
        answers like an unknown tool, at dispatch)."""
        return super()._tool_input_schema(name) if self.may_use(name, self.caller()) else None

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
                        ) -> CallToolResult | InputRequiredResult:
        """Call a tool of the caller's tier with the caller in context; a tool outside it is unknown."""
        who = self.caller()
        if who is None or not self.may_use(name, who):
            raise ToolError(f"Unknown tool: {name}")
        token = CURRENT.set((self.app, who))
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            text = _fixable(exc.__cause__) if exc.__cause__ is not None else None
            if text is None:
                raise
            raise ToolError(f"Error executing tool {name}: {text}") from None
        finally:
            CURRENT.reset(token)


def http_app(app: Revloops, *, url: str, host: str = "127.0.0.1") -> tuple[RevloopsMCP, Starlette]:
    """The streamable HTTP app at ``/mcp`` (and its protected-resource metadata), and its server.

    Its lifespan runs the SDK's session manager; a host other than a loopback address turns the SDK's DNS
    rebinding protection off (it only knows loopback names).
    """
    server = RevloopsMCP(app, url=url)
    return server, server.streamable_http_app(host=host)


class HttpMount:
    """The MCP endpoint inside another ASGI app (the API): an ASGI app for the paths in ``paths``, and the
    lifespan the host app runs. The SDK's session manager runs once per instance, so each lifespan builds a
    fresh one (a test client or a reload may start the host app's lifespan again)."""

    def __init__(self, app: Revloops, *, url: str, host: str = "127.0.0.1") -> None:
        self.server, self.app = http_app(app, url=url, host=host)
        self.host = host
        self.paths = [str(getattr(route, "path", "")) for route in self.app.routes]

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Serve the endpoint while the host app runs."""
        self.app = self.server.streamable_http_app(host=self.host)
        async with self.server.session_manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def serve_stdio(app: Revloops) -> int:
    """Serve over stdio as the caller ``REVLOOPS_TOKEN`` names; without a valid token, refuse (exit 2)."""
    secret = app.settings.token
    caller = AppTokenVerifier(app).caller(secret.get_secret_value() if secret is not None else None)
    if caller is None:
        print("revloops mcp: refusing to serve: REVLOOPS_TOKEN is missing or is not one of REVLOOPS_API_TOKENS",
              file=sys.stderr)
        return 2
    print(f"revloops mcp: serving {caller.name or caller.user_id} ({caller.tier} tier) over stdio", file=sys.stderr)
    RevloopsMCP(app, caller=caller).run("stdio")
    return 0


def serve_http(app: Revloops, *, host: str, port: int, url: str | None = None) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted."""
    import uvicorn

    _, starlette = http_app(app, url=url or f"http://{host}:{port}/mcp", host=host)
    print(f"revloops mcp: serving http://{host}:{port}/mcp", file=sys.stderr)
    uvicorn.run(starlette, host=host, port=port, log_level="warning")
