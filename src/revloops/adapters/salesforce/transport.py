"""One signed-in simple-salesforce client with our fault policy around every call.

- 401 INVALID_SESSION_ID: sign in again once and retry (only when the sign-in method can renew).
- 403 REQUEST_LIMIT_EXCEEDED, 5xx, timeouts, refused connections: retried with exponential backoff and
  jitter up to ``RetryPolicy.attempts``, then ``UpstreamUnavailable`` (with ``retry_after`` when known).
  A create that timed out is not retried: Salesforce may have done it, and a second POST would duplicate.
- 400 becomes ``RecordRejected`` (status code and fields), 404 ``NotFound``, other 4xx ``UpstreamRejected``.
- ``Sforce-Limit-Info`` of every answer (errors included) updates ``usage``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import requests.adapters
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from revloops.adapters.salesforce.auth import Authenticator, Token
from revloops.core.errors import NotFound, RecordRejected, UpstreamRejected, UpstreamUnavailable

T = TypeVar("T")
_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried within one call."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before retry number ``attempt`` (1-based): exponential, capped, half of it jittered."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class ApiUsage:
    """Daily API requests used and allowed, as the last answer reported them."""

    used: int
    limit: int

    @property
    def fraction(self) -> float:
        """Share of the daily allowance spent (0..1+)."""
        return self.used / self.limit if self.limit else 0.0


def error_detail(exc: SalesforceError) -> tuple[str, str, list[str]]:
    """(errorCode, message, fields) of a Salesforce error body ``[{"message", "errorCode", "fields"}]``."""
    content = exc.content
    first: dict[str, Any] = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    if isinstance(content, dict):
        first = content
    code = str(first.get("errorCode") or first.get("statusCode") or f"HTTP_{exc.status}")
    message = str(first.get("message") or content)
    return code, message, [str(f) for f in first.get("fields") or []]


class _Bounded(requests.adapters.HTTPAdapter):
    """Gives every request through the session a timeout and the configured CA file.

    Some simple-salesforce helpers (``oauth2``) pass no request options through; this keeps their calls
    bounded too, and a CA bundle from the environment cannot override the configured one.
    """

    def __init__(self, timeout: float, ca_bundle: Path | None) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.ca_bundle = str(ca_bundle) if ca_bundle else None

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: bool | str = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        if self.ca_bundle and verify is not False:
            verify = self.ca_bundle
        return super().send(request, stream=stream, timeout=timeout or self.default_timeout, verify=verify,
                            cert=cert, proxies=proxies)


class SalesforceClient:
    """A simple-salesforce client that signs in lazily, tracks API usage and applies the fault policy."""

    def __init__(self, auth: Authenticator, *, api_version: str = "59.0", timeout: float = 30.0,
                 ca_bundle: Path | None = None, retry: RetryPolicy | None = None,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.auth = auth
        self.api_version = api_version
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.hooks["response"].append(self._observe)
        for prefix in ("https://", "http://"):
            self.session.mount(prefix, _Bounded(timeout, ca_bundle))
        # verify per request: a CA bundle from the environment would otherwise override a session-level one
        self.request_kwargs: dict[str, Any] = {"timeout": timeout, "verify": str(ca_bundle) if ca_bundle else True}
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.usage: ApiUsage | None = None
        self.token: Token | None = None
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        found = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if found:
            self.usage = ApiUsage(int(found.group(1)), int(found.group(2)))
        after = response.headers.get("Retry-After", "")
        self._local.retry_after = float(after) if after.replace(".", "", 1).isdigit() else None

    def sign_in(self) -> Token:
        """Get a session now (a new one for JWT sign-in) and point the client at its instance."""
        with self._lock:
            token = self.auth.sign_in(self.session, **self.request_kwargs)
            self.token = token
            self._sf = Salesforce(instance_url=token.instance_url, session_id=token.access_token,
                                  version=self.api_version, session=self.session, object_pairs_hook=dict)
            return token

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce client, signed in on first use."""
        if self._sf is None:
            self.sign_in()
        assert self._sf is not None
        return self._sf

    def call(self, op: Callable[[Salesforce], T], *, what: str, idempotent: bool = True) -> T:
        """Run ``op`` against the client under the fault policy; ``what`` names the call in errors."""
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            self._local.retry_after = None
            try:
                return op(self.sf)
            except SalesforceExpiredSession:
                if renewed or not self.auth.can_refresh:
                    raise UpstreamRejected(f"Salesforce refused the session ({what}): INVALID_SESSION_ID; "
                                           f"sign-in by {self.auth.method} cannot renew it") from None
                renewed = True
                attempt -= 1  # the renewal is not one of the transient attempts
                self.sign_in()
                continue
            except UpstreamUnavailable as exc:  # from a sign-in
                failure = exc
            except Exception as exc:  # noqa: BLE001 - every other failure is classified, none is swallowed
                failure = self._classify(exc, what, idempotent)
            retry_after = failure.retry_after or getattr(self._local, "retry_after", None)
            if attempt >= self.retry.attempts or (retry_after or 0) > self.retry.max_delay:
                raise UpstreamUnavailable(f"{failure.message} (after {attempt} attempt(s))", retry_after) from None
            self.sleep(max(self.retry.delay(attempt, self.rng), retry_after or 0))

    def _classify(self, exc: Exception, what: str, idempotent: bool) -> UpstreamUnavailable:
        """The transient failure ``exc`` stands for, or raise the permanent error it maps to."""
        if isinstance(exc, requests.exceptions.SSLError):
            raise UpstreamRejected(f"TLS to Salesforce failed ({what}): {exc}") from None
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return UpstreamUnavailable(f"Salesforce did not accept the connection ({what})")
        if isinstance(exc, requests.ConnectionError):
            # refused or reset: a reset may come after Salesforce did the write, so writes are not repeated
            if not idempotent:
                raise UpstreamUnavailable(f"the connection to Salesforce failed ({what}); the write may or may "
                                          "not have happened, so it was not repeated") from None
            return UpstreamUnavailable(f"the connection to Salesforce failed ({what})")
        if isinstance(exc, requests.Timeout):
            if not idempotent:
                raise UpstreamUnavailable(f"Salesforce did not answer in time ({what}); the write may or may "
                                          "not have happened, so it was not repeated") from None
            return UpstreamUnavailable(f"Salesforce did not answer in time ({what})")
        if not isinstance(exc, SalesforceError):
            raise exc
        code, message, fields = error_detail(exc)
        if isinstance(exc, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
            return UpstreamUnavailable(f"Salesforce API request limit exceeded ({what}): {message}")
        if exc.status >= 500:
            return UpstreamUnavailable(f"Salesforce answered {exc.status} {code} ({what}): {message}")
        if isinstance(exc, SalesforceResourceNotFound):
            raise NotFound(f"{what}: {message}") from None
        if isinstance(exc, SalesforceMalformedRequest):
            raise RecordRejected(message, code, fields) from None
        raise UpstreamRejected(f"Salesforce refused {what}: {exc.status} {code}: {message}") from None
