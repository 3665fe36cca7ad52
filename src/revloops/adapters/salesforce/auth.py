"""Signing in to Salesforce: OAuth 2.0 JWT bearer flow (a connected app) or an existing session id.

simple-salesforce's own JWT path always posts to ``https://<domain>.salesforce.com`` and sets no timeout,
so the assertion is built here with PyJWT and posted to the configured login URL.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from revloops.core.errors import UpstreamRejected, UpstreamUnavailable

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Token:
    """A session: the access token, the instance it is valid on and the identity URL (when known)."""

    access_token: str
    instance_url: str
    identity_url: str | None = None


class Authenticator(abc.ABC):
    """A way to get a session; ``can_refresh`` says whether a new one can be had when it expires."""

    can_refresh: bool = False
    method: str = ""

    @abc.abstractmethod
    def sign_in(self, session: requests.Session, **request_kwargs: Any) -> Token:
        """A fresh session. Raises UpstreamRejected (bad credentials) or UpstreamUnavailable."""


class SessionAuth(Authenticator):
    """An existing session id and its instance URL; it cannot be renewed once Salesforce expires it."""

    method = "session id"

    def __init__(self, instance_url: str, access_token: str) -> None:
        self.token = Token(access_token, instance_url.rstrip("/"))

    def sign_in(self, session: requests.Session, **request_kwargs: Any) -> Token:
        return self.token


class JwtBearerAuth(Authenticator):
    """OAuth 2.0 JWT bearer flow: a connected app's consumer key, a pre-authorised user and the app's key."""

    can_refresh = True
    method = "OAuth 2.0 JWT bearer"

    def __init__(self, login_url: str, client_id: str, username: str, private_key: bytes | str,
                 lifetime: int = 180, clock: Callable[[], float] = time.time) -> None:
        self.login_url = login_url.rstrip("/")
        self.client_id = client_id
        self.username = username
        self._key = private_key
        self.lifetime = lifetime  # Salesforce accepts at most 3 minutes
        self.clock = clock

    def assertion(self) -> str:
        """The signed JWT: the app (iss) asks for a session of the user (sub) from the login server (aud)."""
        claims = {"iss": self.client_id, "sub": self.username, "aud": self.login_url,
                  "exp": int(self.clock()) + self.lifetime}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def sign_in(self, session: requests.Session, **request_kwargs: Any) -> Token:
        url = f"{self.login_url}/services/oauth2/token"
        try:
            answer = session.post(url, data={"grant_type": JWT_GRANT, "assertion": self.assertion()}, **request_kwargs)
        except requests.exceptions.SSLError as exc:
            raise UpstreamRejected(f"TLS to {self.login_url} failed: {exc}") from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise UpstreamUnavailable(f"Salesforce sign-in at {self.login_url} did not answer: {exc}") from None
        if answer.status_code >= 500:
            raise UpstreamUnavailable(f"Salesforce sign-in answered {answer.status_code}")
        body = _json(answer)
        if answer.status_code != 200 or "access_token" not in body:
            error = body.get("error", f"HTTP {answer.status_code}")
            raise UpstreamRejected(f"Salesforce refused the sign-in of {self.username}: {error}: "
                                   f"{body.get('error_description', '')}".rstrip(": "))
        return Token(str(body["access_token"]), str(body["instance_url"]).rstrip("/"), body.get("id"))


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
