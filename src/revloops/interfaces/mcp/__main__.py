"""``python -m revloops.interfaces.mcp``: the stdio server, configured from the environment (``REVLOOPS_*``,
the caller from ``REVLOOPS_TOKEN``); logs go to stderr, never stdout."""

from __future__ import annotations

import sys

from revloops.app import open_app
from revloops.core import logsafe
from revloops.core.errors import RevloopsError
from revloops.interfaces.mcp.server import serve_stdio


def main() -> int:
    """Serve until the client closes stdin; 2 when no valid token or setting allows serving."""
    logsafe.install()
    try:
        app = open_app()
    except RevloopsError as exc:
        print(f"revloops mcp: {exc}", file=sys.stderr)
        return 2
    try:
        return serve_stdio(app)
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
