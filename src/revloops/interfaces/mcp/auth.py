"""Who is calling: the SDK's token verifier over the application's ``authenticate``.

Tokens are the API's (``REVLOOPS_API_TOKENS``), each naming a CRM user and a tier. Over HTTP the SDK's bearer
middleware calls ``verify_token`` on every request and answers 401 with ``WWW-Authenticate`` when it returns
None; over stdio the server checks ``REVLOOPS_TOKEN`` with the same verifier before it serves anything.
"""

from __future__ import annotations

from mcp.server.auth.provider import AccessToken

from revloops.app import Caller, Revloops
from revloops.core.errors import Unauthenticated

#: the one scope a verified token carries (required by the HTTP transport)
SCOPE = "revloops"
CHANNEL = "mcp"


class AppTokenVerifier:
    """Verifies bearer tokens with ``Revloops.authenticate`` (a token maps to a CRM user and a tier).

    Args:
        app: the application whose settings hold the tokens.
        resource: the URL of this MCP server; a verified token is reported as issued for it.
    """

    def __init__(self, app: Revloops, resource: str | None = None) -> None:
        self.app = app
        self.resource = resource

    def caller(self, token: str | None) -> Caller | None:
        """The caller a token names, or None for a missing or unknown one."""
        try:
            return self.app.authenticate(token, channel=CHANNEL)
        except Unauthenticated:
            return None

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's view of a valid token (None for an invalid one). Looked up once per token, then cached by
        the application, so it runs on the event loop without a thread hop."""
        caller = self.caller(token)
        if caller is None:
            return None
        return AccessToken(token=token, client_id=caller.name or caller.tier, scopes=[SCOPE], resource=self.resource,
                           subject=caller.user_id or caller.name, claims={"tier": caller.tier})
