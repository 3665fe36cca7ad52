"""The MCP server: 37 tools over five role tiers, over stdio (``revloops mcp``) and streamable HTTP (``/mcp``)."""
