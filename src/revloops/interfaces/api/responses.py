"""What the OpenAPI says about errors: one body for every 4xx and 5xx, and each status's meaning.

Every error the API answers has the shape of ``revloops.core.errors.error_body`` (the CLI's ``--json`` too),
modelled here as ``ErrorBody``; a router lists the statuses an endpoint can answer with ``errors(...)``.
An endpoint that reads its body itself (the signed events webhook) names its body model with ``raw_body``,
and ``install`` puts that model in the components, so every ``$ref`` of the served schema resolves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

REF = "#/components/schemas/{model}"


class ErrorItem(BaseModel):
    """One problem among several: the field (and line) or the config location at fault."""

    model_config = ConfigDict(extra="forbid")

    message: str
    field: str | None = Field(default=None, description="the parameter or body field, dotted (`records.3.Email`)")
    line: int | None = Field(default=None, description="the line of a file, when the input was one")
    location: str | None = Field(default=None, description="`file:line:col` of a config problem")


class ErrorBody(BaseModel):
    """The one shape of an error: a stable code, a message, and what is at fault."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="a stable code: `unauthenticated`, `forbidden`, `not_found`, `invalid_input`, "
                                   "`config_invalid`, `body_too_large`, `upstream_unavailable`, ...")
    message: str = Field(description="what went wrong, for a person")
    field: str | None = Field(default=None, description="the parameter or body field at fault, dotted")
    line: int | None = Field(default=None, description="the line of a file at fault")
    location: str | None = Field(default=None, description="`file:line:col` of a config problem")
    setting: str | None = Field(default=None, description="the `REVLOOPS_*` setting at fault")
    errors: list[ErrorItem] | None = Field(default=None, description="every problem, when there are several")


_MEANING = {
    401: "no bearer token, or one `REVLOOPS_API_TOKENS` does not name",
    403: "the caller's tier is below what the action needs",
    404: "no such record, decision or scenario, or one outside the caller's scope (the same answer)",
    409: "the config does not load or a loop could not decide: every problem listed, each with its `file:line`",
    413: "the body is over `REVLOOPS_API_MAX_BODY_BYTES`: refused before it is read",
    422: "a parameter or the body is invalid: `field` names the place, `errors` lists every problem",
    502: "the CRM or another upstream refused the request",
    503: "the CRM or another upstream is unavailable for now (`Retry-After` when it says)",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "seconds to wait, when the upstream said", "schema": {"type": "string"}}},
}

def errors(*codes: int, meaning: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a router or route: each status with ``ErrorBody`` and what it means (``meaning``
    words a status for this endpoint: ``errors(404, meaning={404: "no such scenario"})``)."""
    words = {**_MEANING, **(meaning or {})}
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorBody, "description": words[code]}
        if code in _HEADERS:
            entry["headers"] = _HEADERS[code]
        out[code] = entry
    return out


_RAW_BODIES: dict[str, type[BaseModel]] = {}


def raw_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of an endpoint that parses its body itself: ``model`` as its required JSON body (and
    in the components, by ``install``)."""
    _RAW_BODIES[model.__name__] = model
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": REF.format(model=model.__name__)}}}}}


def install(app: FastAPI) -> None:
    """Serve the schema with the models of ``raw_body`` endpoints among the components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _RAW_BODIES.items():
            body = model.model_json_schema(ref_template=REF)
            for sub, definition in body.pop("$defs", {}).items():
                components.setdefault(sub, definition)
            components.setdefault(name, body)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
