"""A local fake Salesforce speaking the REST wire format our adapter uses, with fault injection.

It models an org with our metadata deployed: the objects and fields of ``revloops.core.records``.
Shapes follow the REST API: query with ``nextRecordsUrl`` paging (``Sforce-Query-Options: batchSize``,
200..2000), sObject CRUD and upsert by external id, sObject Collections with per-record errors, top-level
errors as ``[{"message", "errorCode", "fields"}]``, ``Sforce-Limit-Info`` on every data answer, the OAuth
JWT bearer token endpoint and ``userinfo``; and Bulk API 2.0 query jobs (``jobs/query``): a created job is
``UploadComplete``, answers ``InProgress`` to its first ``bulk_in_progress_polls`` polls and then
``JobComplete`` (or ``Failed`` with ``errorMessage``); its results are CSV pages (``maxRecords``,
``Sforce-Locator``, ``Sforce-NumberOfRecords``) of the records as they were when the job ran.

Drive it from a test through the Python handle (``FakeSalesforce``): ``inject("expired_session")``,
``inject("limit")``, ``inject("server_error", status=503, retry_after=2)``, ``inject("slow", delay=1.0)``,
``inject("bulk_job_failed", message=...)`` (the next query job created fails when it runs),
``inject("bulk_results_error", status=500)`` (the next results page answers an error),
or over HTTP with ``POST /_fake/faults`` ``{"kind", "times", "delay", "status", "message"}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
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

from revloops.core.ids import checksum
from revloops.testing.fake_sobjects import SfError, SObjectStore, results_csv, sf_now
from revloops.testing.fake_soql import SoqlError, SoqlQuery
from revloops.testing.servers import RunningServer, serve

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: faults any data API call consumes; the Bulk ones wait for the request they are about
GENERIC_FAULTS = ("expired_session", "limit", "server_error", "slow")
BULK_FAULTS = ("bulk_job_failed", "bulk_results_error")
_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_DONE = ("JobComplete", "Failed", "Aborted")


@dataclass
class Fault:
    """One injected failure, consumed by the next ``times`` data API calls."""

    kind: str  # expired_session | limit | server_error | slow | bulk_job_failed | bulk_results_error
    times: int = 1
    delay: float = 0.0
    status: int = 500
    retry_after: float | None = None
    message: str | None = None  # a failed job's errorMessage


@dataclass
class BulkJob:
    """One Bulk API 2.0 query job: its JSON as Salesforce shows it, its query and, once run, its records."""

    info: dict[str, Any]
    query: SoqlQuery
    delimiter: str = ","
    line_ending: str = "\n"
    fail_with: str | None = None
    polls: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


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
    #: polls a Bulk API query job answers InProgress before it runs
    bulk_in_progress_polls: int = 1
    #: records per results page when a request gives no maxRecords
    bulk_max_records: int = 10_000
    jobs: dict[str, BulkJob] = field(default_factory=dict)

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
               retry_after: float | None = None, message: str | None = None) -> None:
        """Make the next ``times`` data API calls fail (or answer slowly) in the given way; a Bulk fault
        waits for the next ``times`` job creations (``bulk_job_failed``) or results pages."""
        if kind not in GENERIC_FAULTS + BULK_FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self.faults.append(Fault(kind, times, delay, status, retry_after, message))

    def _next_fault(self, kinds: tuple[str, ...] = GENERIC_FAULTS) -> Fault | None:
        with self.lock:
            fault = next((f for f in self.faults if f.kind in kinds), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
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
                    status=int(body.get("status", 500)), retry_after=body.get("retry_after"),
                    message=body.get("message"))
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

    _bulk_routes(app, fake, data)
    return app


def _bulk_routes(app: FastAPI, fake: FakeSalesforce, data: str) -> None:
    jobs = data + "/jobs/query"

    @app.post(jobs)
    async def create_job(request: Request) -> JSONResponse:
        return JSONResponse(_create_job(fake, await request.json()))

    @app.get(jobs + "/{job_id}")
    async def job_info(job_id: str) -> dict[str, Any]:
        job = _job(fake, job_id)
        _advance(fake, job)
        extra = {"jobType": "V2Query", "numberRecordsProcessed": len(job.rows), "retries": 0, "totalProcessingTime": 0}
        return {**job.info, **extra}

    @app.patch(jobs + "/{job_id}")
    async def abort_job(job_id: str, request: Request) -> dict[str, Any]:
        job, body = _job(fake, job_id), await request.json()
        if body.get("state") != "Aborted" or job.info["state"] in _DONE:
            raise SfError(400, "INVALIDJOBSTATE", f"cannot move a {job.info['state']} job to {body.get('state')}")
        job.info.update(state="Aborted", systemModstamp=sf_now())
        return job.info

    @app.delete(jobs + "/{job_id}")
    async def delete_job(job_id: str) -> Response:
        fake.jobs.pop(_job(fake, job_id).info["id"])
        return Response(status_code=204)

    @app.get(jobs + "/{job_id}/results")
    async def job_results(job_id: str, locator: str | None = None, maxRecords: str | None = None) -> Response:  # noqa: N803
        job = _job(fake, job_id)
        failed = await _fault_response(fake, fake._next_fault(("bulk_results_error",)))
        if failed is not None:
            return failed
        if job.info["state"] != "JobComplete":
            raise SfError(400, "INVALIDJOBSTATE", f"the job is {job.info['state']}, its results are not ready")
        return _results(fake, job, locator, maxRecords)


def _create_job(fake: FakeSalesforce, body: dict[str, Any]) -> dict[str, Any]:
    """Check a job request as Salesforce does (the query is parsed and its fields checked now) and queue it."""
    operation, delimiter = body.get("operation"), body.get("columnDelimiter", "COMMA")
    line_ending, content = body.get("lineEnding", "LF"), body.get("contentType", "CSV")
    if operation not in ("query", "queryAll"):
        raise SfError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    if content != "CSV" or delimiter not in _DELIMITERS or line_ending not in _LINE_ENDINGS:
        raise SfError(400, "INVALIDJOB", f"InvalidJob : unsupported contentType, columnDelimiter or lineEnding: "
                      f"{content}, {delimiter}, {line_ending}")
    if not isinstance(body.get("query"), str):
        raise SfError(400, "INVALIDJOB", "InvalidJob : a query job needs a query")
    query = fake.store.checked(body["query"])
    body15 = "7508d" + secrets.token_hex(5).upper()
    now = sf_now()
    info = {
        "id": body15 + checksum(body15), "operation": operation, "object": query.sobject,
        "createdById": fake.user["user_id"], "createdDate": now, "systemModstamp": now, "state": "UploadComplete",
        "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(fake.api_version),
        "lineEnding": line_ending, "columnDelimiter": delimiter,
    }
    fault = fake._next_fault(("bulk_job_failed",))
    fail_with = (fault.message or "InvalidBatch : Failed to process query: UNKNOWN_EXCEPTION") if fault else None
    job = BulkJob(info, query, _DELIMITERS[delimiter], _LINE_ENDINGS[line_ending], fail_with)
    with fake.lock:
        fake.jobs[info["id"]] = job
    return info


def _job(fake: FakeSalesforce, job_id: str) -> BulkJob:
    job = fake.jobs.get(job_id)
    if job is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    return job


def _advance(fake: FakeSalesforce, job: BulkJob) -> None:
    """One poll's worth of progress: InProgress for the configured polls, then the query runs."""
    if job.info["state"] in _DONE:
        return
    job.polls += 1
    job.info["systemModstamp"] = sf_now()
    if job.polls <= fake.bulk_in_progress_polls:
        job.info["state"] = "InProgress"
        return
    # Bulk API query jobs cannot page with OFFSET; Salesforce fails such a job when it runs it.
    reason = job.fail_with or ("InvalidBatch : Failed to process query: OFFSET is not supported in Bulk API "
                               "queries" if job.query.offset else None)
    if reason:
        job.info.update(state="Failed", errorMessage=reason)
        return
    job.rows = [dict(r) for r in fake.store.run(job.query)]
    job.info["state"] = "JobComplete"


def _results(fake: FakeSalesforce, job: BulkJob, locator: str | None, max_records: str | None) -> Response:
    """The page of a complete job's results that ``locator`` names (the first without one)."""
    size = fake.bulk_max_records if max_records is None else int(max_records) if max_records.isdigit() else 0
    if size < 1:
        raise SfError(400, "INVALIDREQUEST", f"maxRecords must be a positive integer, not {max_records!r}")
    start = 0
    if locator is not None:
        try:
            start = int(base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode())
        except (ValueError, binascii.Error):
            start = -1
        if start < 0:
            raise SfError(400, "INVALIDREQUEST", f"invalid locator {locator!r}")
    rows = job.rows[start : start + size]
    model = fake.store.model(job.query.sobject)
    following = start + size
    # Salesforce's locators are unpadded base64 of the next offset ("MTAwMDA" is 10000)
    next_locator = base64.b64encode(str(following).encode()).decode().rstrip("=") if following < len(job.rows) else "null"
    body = results_csv(model, job.query.fields, rows, job.delimiter, job.line_ending)
    headers = {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(rows))}
    return Response(body.encode(), media_type="text/csv", headers=headers)


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
