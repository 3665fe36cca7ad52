"""The SDK's own minimal server, the baseline of bench/mcp.py: one read tool answering a small page of rows,
over stdio or streamable HTTP (with a static bearer token checked by the SDK's verifier, as ours is).

    python bench/mcp_minimal.py stdio [CATALOG]
    python bench/mcp_minimal.py http PORT TOKEN [CATALOG]

CATALOG, a JSON file of tool definitions (a ``tools/list`` answer's ``tools``), makes it list those tools too, with
their schemas, so that its ``tools/list`` does the same work as the server it is compared with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

# bench/mcp.py sits next to this file: the folder on the path would shadow the SDK's package `mcp`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from mcp.server.auth.provider import AccessToken  # noqa: E402
from mcp.server.auth.settings import AuthSettings  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.server.mcpserver.tools import Tool  # noqa: E402
from mcp_types import ToolAnnotations  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402


class Row(BaseModel):
    """One row."""

    id: str
    name: str
    score: float


class Rows(BaseModel):
    """A page of rows."""

    items: list[Row]
    total: int
    next_cursor: str | None = None


def rows(limit: Annotated[int, Field(description="page size", ge=1, le=200)] = 20) -> Rows:
    """A page of rows."""
    return Rows(items=[Row(id=f"r{i}", name=f"row {i}", score=float(i)) for i in range(limit)], total=limit)


class Static:
    """One token, checked as a verifier does."""

    def __init__(self, token: str, resource: str) -> None:
        self.token, self.resource = token, resource

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's access, or None."""
        if token != self.token:
            return None
        return AccessToken(token=token, client_id="bench", scopes=["bench"], resource=self.resource)


def _listed(path: str | None) -> list[Tool]:
    """The tools of a catalog file, each answering ``rows`` (only their listing matters)."""
    if path is None:
        return []
    out = []
    for spec in json.loads(Path(path).read_text()):
        tool = Tool.from_function(rows, name=spec["name"], description=spec["description"],
                                  annotations=ToolAnnotations(**spec.get("annotations", {})))
        tool.parameters = spec["inputSchema"]
        tool.fn_metadata.output_schema = spec.get("outputSchema")
        out.append(tool)
    return out


def main(argv: list[str]) -> None:
    """Serve over the transport named."""
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    if argv[0] == "stdio":
        server: MCPServer = MCPServer("minimal", log_level="WARNING", tools=_listed(argv[1] if len(argv) > 1 else None))
        server.add_tool(rows, annotations=reads)
        server.run("stdio")
        return
    port, token = int(argv[1]), argv[2]
    url = f"http://127.0.0.1:{port}/mcp"
    server = MCPServer("minimal", log_level="WARNING", token_verifier=Static(token, url),
                       tools=_listed(argv[3] if len(argv) > 3 else None),
                       auth=AuthSettings(issuer_url=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
                                         resource_server_url=url,  # type: ignore[arg-type]
                                         required_scopes=["bench"], validate_token_resource=True))
    server.add_tool(rows, annotations=reads)
    server.run("streamable-http", host="127.0.0.1", port=port)


if __name__ == "__main__":
    main(sys.argv[1:])
