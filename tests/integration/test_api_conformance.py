"""The served OpenAPI is true: every ``$ref`` resolves, every error answer is the one ``ErrorBody``, and the API
answers what the schema says (schemathesis, in process, on a throwaway seeded org, with an ops token).

Every endpoint is exercised with a bounded number of generated requests, valid and invalid: no server error,
every status documented, the documented content type, and bodies that match their schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from revloops.app import app_on
from revloops.bootstrap import Platform, build
from revloops.core.signing import sign
from revloops.interfaces.api.app import create_app
from revloops.interfaces.api.responses import ErrorBody
from tests.integration.conftest import EXAMPLE

OPS = {"Authorization": "Bearer ops-token"}
SECRET = "test-secret"  # the events secret of the `acme` fixture
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
ERROR_STATUSES = {"401", "403", "404", "409", "413", "422", "502", "503"}


@pytest.fixture(scope="module")
def api(acme: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The API on the module's own seeded org; the engine's system database in a temporary folder too."""
    acme.settings.engine_db = f"sqlite:///{tmp_path_factory.mktemp('engine') / 'engine.sqlite'}"
    revloops = app_on(acme)
    yield create_app(revloops)
    asgi.shutdown_lifespans()  # schemathesis keeps an app's lifespan running until the process exits


@pytest.fixture(scope="module")
def client(api: FastAPI) -> Iterator[TestClient]:
    with TestClient(api) as c:
        yield c


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_ref_resolves(api: FastAPI) -> None:
    doc = api.openapi()
    components = doc["components"]["schemas"]
    refs = set(_refs(doc))
    assert refs, "the schema has no references at all"
    dangling = sorted(r for r in refs if not r.startswith("#/components/schemas/")
                      or r.removeprefix("#/components/schemas/") not in components)
    assert dangling == []


def test_every_error_is_the_one_body(api: FastAPI) -> None:
    doc = api.openapi()
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # FastAPI's own 422 shape is not ours
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status in ERROR_STATUSES:
                    body = answer["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
                else:
                    assert status.startswith("2"), (method, path, status)
            if path.startswith("/api/"):
                assert "401" in operation["responses"], (method, path)


def test_the_bearer_scheme_is_documented(api: FastAPI) -> None:
    doc = api.openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {"HTTPBearer": {"type": "http", "scheme": "bearer",
                                      "description": "A token from REVLOOPS_API_TOKENS"}}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            signed = path == "/api/crm/events" and method == "post"
            expected = None if signed or not path.startswith("/api/") else [{"HTTPBearer": []}]
            assert operation.get("security") == expected, (method, path)


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/api/loops/qualify/score", b"\xff\xfe{", 422, "invalid_input"),  # not UTF-8: FastAPI's own 400
    ("POST", "/api/loops/qualify/score", b'{"record": ', 422, "invalid_input"),
    ("POST", "/api/loops/qualify/score", b"x" * (9 * 1024 * 1024), 413, "body_too_large"),
    ("GET", "/api/no-such-thing", None, 404, "not_found"),
    ("GET", "/api/loops/route/resolve", None, 405, "method_not_allowed"),
])
def test_refusals_outside_the_routes_have_the_one_shape(client: TestClient, method: str, path: str,
                                                        body: bytes | None, status: int, code: str) -> None:
    headers = {**OPS, "Content-Type": "application/json"}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == status
    assert ErrorBody.model_validate(response.json()).error == code


def _as_served() -> dict[str, Any]:
    """The OpenAPI document the API serves: it depends on the code alone (no org, nothing opened), so the
    operations are known when the tests are collected."""
    return create_app(app_on(build(config=EXAMPLE, db="sqlite:///:memory:"))).openapi()


DOC = _as_served()
schema = schemathesis.openapi.from_dict(DOC, config=schemathesis.Config.from_dict({
    "headers": OPS,
    "generation": {"mode": "all", "max-examples": 15, "database": "none"},
    "phases": {"coverage": {"enabled": False}},
    # a capacity run is a Monte Carlo of up to 100 000 draws (a second or two each): fewer of them
    "operations": [{"include-tag": "design", "generation": {"max-examples": 5}}],
}))


def test_the_schema_tested_is_the_one_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json() == DOC


@schema.parametrize()
@settings(deadline=None)
def test_the_api_answers_as_documented(case: schemathesis.Case, api: FastAPI) -> None:
    case.call_and_validate(app=api, checks=CHECKS)


WEBHOOK = schema["/api/crm/events"]["POST"]


@settings(max_examples=30, deadline=None)
@given(case=st.one_of(WEBHOOK.as_strategy(generation_mode=mode) for mode in GenerationMode))
def test_signed_deliveries_answer_as_documented(case: schemathesis.Case, client: TestClient) -> None:
    """Generated calls to the webhook are unsigned (401); these carry a good signature over the exact bytes, so the
    body's own answers (202, 422) are checked too."""
    body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()  # negative: raw bytes too
    response = client.post("/api/crm/events", content=body, headers={
        "Content-Type": "application/json", "X-Revloops-Signature": sign(SECRET, body)})
    case.validate_response(response, checks=CHECKS)
