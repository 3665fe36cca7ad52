"""A local fake Salesforce speaking the REST wire format our adapter uses, with fault injection.

It models an org with our metadata deployed: the objects and fields of ``revloops.core.records``.
Shapes follow the REST API: query with ``nextRecordsUrl`` paging (``Sforce-Query-Options: batchSize``,
200..2000), sObject CRUD and upsert by external id, sObject Collections with per-record errors, top-level
errors as ``[{"message", "errorCode", "fields"}]``, ``Sforce-Limit-Info`` on every data answer, the OAuth
JWT bearer token endpoint and ``userinfo``.

Drive it from a test through the Python handle (``FakeSalesforce``): ``inject("expired_session")``,
``inject("limit")``, ``inject("server_error", status=503, retry_after=2)``, ``inject("slow", delay=1.0)``,
or over HTTP with ``POST /_fake/faults`` ``{"kind", "times", "delay", "status"}``.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import threading
import urllib.parse
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from revloops.testing.fake_sobjects import SfError, SObjectStore
from revloops.testing.fake_soql import SoqlError
from revloops.testing.servers import RunningServer, serve

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Fault:
    """One injected failure, consumed by the next ``times`` data API calls."""

    kind: str  # expired_session | limit | server_error | slow
    times: int = 1
    delay: float = 0.0
    status: int = 500
    retry_after: float | None = None


@dataclass
class ConnectedApp:
    """What the fake's token endpoint accepts: the app's consumer key, the user and the certificate's key."""

    client_id: str
    username: str
    public_key_pem: bytes
    audience: str | None = None  # None accepts any audience


@dataclass
class FakeSalesforce:
    """The fake org: records, sessions, API usage, faults. ``app`` is its FastAPI application."""

    api_version: str = "59.0"
    api_limit: int = 15000
    api_used: int = 0
    connected_app: ConnectedApp | None = None
    user: dict[str, str] = field(default_factory=lambda: {
        "user_id": "0058d00000AbCdEAAV", "organization_id": "00D8d00000XyZwVEA0",
        "preferred_username": "integration@acme.example", "name": "Revloops Integration",
        "email": "integration@acme.example",
    })
    store: SObjectStore = field(default_factory=SObjectStore)
    tokens: set[str] = field(default_factory=set)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = _build_app(self)

    # -- the Python handle -------------------------------------------------------------------------
    def new_session(self) -> str:
        """A valid session id, as if someone signed in."""
        token = "00D8d00000XyZwV!" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
        return token

    def expire_sessions(self) -> None:
        """Every session id stops working (answers 401 INVALID_SESSION_ID)."""
        with self.lock:
            self.tokens.clear()

    def inject(self, kind: str, times: int = 1, *, delay: float = 0.0, status: int = 500,
               retry_after: float | None = None) -> None:
        """Make the next ``times`` data API calls fail (or answer slowly) in the given way."""
        if kind not in ("expired_session", "limit", "server_error", "slow"):
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self.faults.append(Fault(kind, times, delay, status, retry_after))

    def _next_fault(self) -> Fault | None:
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.popleft()
            return fault

    def limit_header(self) -> str:
        """The ``Sforce-Limit-Info`` value of the current usage."""
        return f"api-usage={self.api_used}/{self.api_limit}"


def _errors(status: int, code: str, message: str, fields: list[str] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = [{"message": message, "errorCode": code, "fields": fields or []}]
    return JSONResponse(body, status_code=status, headers=headers)


async def _fault_response(fake: FakeSalesforce, fault: Fault | None) -> Response | None:
    if fault is None:
        return None
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind == "expired_session":
        fake.expire_sessions()
        return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if fault.kind == "limit":
        return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
    return _errors(fault.status, "SERVER_UNAVAILABLE" if fault.status == 503 else "UNKNOWN_EXCEPTION",
                   "An unexpected error occurred. Please include this ErrorId if you contact support", headers=headers)


async def _gate(fake: FakeSalesforce, request: Request) -> Response | None:
    """Faults, sign-in and API limits, in the order Salesforce applies them."""
    fake.calls.append((request.method, request.url.path))
    failed = await _fault_response(fake, fake._next_fault())
    if failed is not None:
        return failed
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
        return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if fake.api_used >= fake.api_limit:
        return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    fake.api_used += 1
    return None


def _token(fake: FakeSalesforce, form: dict[str, str], base_url: str) -> JSONResponse:
    if form.get("grant_type") != JWT_GRANT:
        return JSONResponse({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
    app = fake.connected_app
    if app is None:
        return JSONResponse({"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400)
    try:
        claims = jwt.decode(form.get("assertion", ""), app.public_key_pem, algorithms=["RS256"],
                            audience=app.audience, options={"verify_aud": app.audience is not None,
                                                            "require": ["iss", "sub", "aud", "exp"]})
    except jwt.PyJWTError as exc:
        return JSONResponse({"error": "invalid_grant", "error_description": f"invalid assertion: {exc}"}, 400)
    fake.token_requests.append(claims)
    if claims["iss"] != app.client_id:
        return JSONResponse({"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400)
    if claims["sub"] != app.username:
        return JSONResponse({"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}, 400)
    instance = base_url.rstrip("/")
    org, user = fake.user["organization_id"], fake.user["user_id"]
    return JSONResponse({
        "access_token": fake.new_session(), "scope": "api", "instance_url": instance,
        "id": f"{instance}/id/{org}/{user}", "token_type": "Bearer",
    })


def _build_app(fake: FakeSalesforce) -> FastAPI:
    app = FastAPI(title="fake Salesforce", openapi_url=None, docs_url=None, redoc_url=None)
    data = f"/services/data/v{fake.api_version}"

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        path = request.url.path
        guarded = path.startswith("/services/data/") or path == "/services/oauth2/userinfo"
        if guarded:
            refused = await _gate(fake, request)
            if refused is not None:
                refused.headers["Sforce-Limit-Info"] = fake.limit_header()
                return refused
        try:
            response: Response = await call_next(request)
        except SfError as exc:
            response = _errors(exc.status, exc.code, exc.message, exc.fields)
        except SoqlError as exc:
            response = _errors(400, exc.code, exc.message)
        if path.startswith("/services/data/"):
            response.headers["Sforce-Limit-Info"] = fake.limit_header()
        return response

    @app.post("/_fake/faults")
    async def add_fault(request: Request) -> dict[str, int]:
        body = await request.json()
        fake.inject(body["kind"], int(body.get("times", 1)), delay=float(body.get("delay", 0.0)),
                    status=int(body.get("status", 500)), retry_after=body.get("retry_after"))
        return {"queued": len(fake.faults)}

    @app.post("/services/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
        return _token(fake, form, str(request.base_url))

    @app.get("/services/oauth2/userinfo")
    async def userinfo() -> dict[str, str]:
        return fake.user

    @app.get(data + "/limits/")
    async def limits() -> dict[str, Any]:
        return {"DailyApiRequests": {"Max": fake.api_limit, "Remaining": fake.api_limit - fake.api_used}}

    @app.get(data + "/query/")
    async def query(q: str, request: Request) -> dict[str, Any]:
        return fake.store.query(q, _batch_size(request), data)

    @app.get(data + "/query/{locator}")
    async def query_more(locator: str) -> dict[str, Any]:
        return fake.store.query_more(locator, data)

    @app.get(data + "/sobjects/{sobject}/describe/")
    async def describe(sobject: str) -> dict[str, Any]:
        return fake.store.describe(sobject)

    @app.post(data + "/sobjects/{sobject}/")
    async def create(sobject: str, request: Request) -> JSONResponse:
        new_id = fake.store.create(sobject, await request.json())
        return JSONResponse({"id": new_id, "success": True, "errors": []}, status_code=201)

    @app.get(data + "/sobjects/{sobject}/{record_id}")
    async def get(sobject: str, record_id: str, fields: str | None = None) -> dict[str, Any]:
        wanted = [f.strip() for f in fields.split(",")] if fields else None
        return fake.store.get(sobject, record_id, wanted, data)

    @app.patch(data + "/sobjects/{sobject}/{record_id}")
    async def update(sobject: str, record_id: str, request: Request) -> Response:
        fake.store.update(sobject, record_id, await request.json())
        return Response(status_code=204)

    @app.delete(data + "/sobjects/{sobject}/{record_id}")
    async def delete(sobject: str, record_id: str) -> Response:
        fake.store.delete(sobject, record_id)
        return Response(status_code=204)

    @app.patch(data + "/sobjects/{sobject}/{ext_field}/{value:path}")
    async def upsert(sobject: str, ext_field: str, value: str, request: Request) -> JSONResponse:
        record_id, created = fake.store.upsert(sobject, ext_field, value, await request.json())
        body = {"id": record_id, "success": True, "errors": [], "created": created}
        return JSONResponse(body, status_code=201 if created else 200)

    @app.post(data + "/composite/sobjects")
    async def collection_create(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(fake.store.collection("create", body["records"], bool(body.get("allOrNone"))))

    @app.patch(data + "/composite/sobjects")
    async def collection_update(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(fake.store.collection("update", body["records"], bool(body.get("allOrNone"))))

    @app.delete(data + "/composite/sobjects")
    async def collection_delete(ids: str, allOrNone: str = "false") -> JSONResponse:  # noqa: N803
        records = [{"id": i} for i in ids.split(",") if i]
        return JSONResponse(fake.store.collection("delete", records, allOrNone.lower() == "true"))

    return app


def _batch_size(request: Request) -> int:
    # Salesforce reads batchSize from this header and keeps it within 200..2000.
    options = request.headers.get("sforce-query-options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key == "batchSize" and value.isdigit():
            return max(200, min(2000, int(value)))
    return 2000


def snapshot(fake: FakeSalesforce) -> dict[str, dict[str, dict[str, Any]]]:
    """A deep copy of every stored record, by object and id (for assertions)."""
    return copy.deepcopy(fake.store.records)


def rsa_key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA key for a test connected app: (private key PEM, public key PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@contextmanager
def running(fake: FakeSalesforce | None = None, *, tls: bool = True) -> Iterator[tuple[FakeSalesforce, RunningServer]]:
    """Serve a fake Salesforce (a new one unless given) on 127.0.0.1 for the length of the block."""
    fake = fake or FakeSalesforce()
    with serve(fake.app, tls=tls) as server:
        yield fake, server
