"""The CRM port on Salesforce's REST API (simple-salesforce): records in, our typed records out.

Vendor payloads stop here: ``attributes`` and unknown keys are dropped and values are validated into
``revloops.core.records`` models. Writes of many records go through sObject Collections, 200 at a time,
with one result per record (``allOrNone`` false: a bad record fails alone).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from simple_salesforce.api import Salesforce

from revloops.adapters.salesforce import bulk, soql
from revloops.adapters.salesforce.auth import JwtBearerAuth, SessionAuth
from revloops.adapters.salesforce.transport import ApiUsage, SalesforceClient
from revloops.core.errors import InputError, NotFound, RecordRejected, UpstreamRejected
from revloops.core.frames import CHUNK_ROWS, in_created_order
from revloops.core.records import SObject
from revloops.ports.crm import CRM, Page, Query, RecordError, SaveResult
from revloops.settings import Settings

if TYPE_CHECKING:
    import polars as pl

MIN_BATCH, MAX_BATCH = 200, 2000  # Salesforce keeps a query's batchSize within these


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_jsonable_python(v) for k, v in values.items()}


#: the system fields a create may set when the user holds "Set Audit Fields upon Record Creation"
AUDIT_FIELDS = frozenset({"CreatedDate", "LastModifiedDate"})


def _write_body(record: SObject, audit_fields: bool = False) -> dict[str, Any]:
    """A create's body: the record's fields without the system fields (with ``audit_fields``, CreatedDate
    and LastModifiedDate stay: Salesforce keeps them for a user with the permission, and refuses them else)."""
    values = record.fields()
    for name in record.system_fields - {"Id"} - (AUDIT_FIELDS if audit_fields else frozenset()):
        values.pop(name, None)
    return _jsonable(values)


def _save_result(raw: Mapping[str, Any], created: bool) -> SaveResult:
    errors = tuple(
        RecordError(str(e.get("statusCode", "UNKNOWN")), str(e.get("message", "")), tuple(e.get("fields") or ()))
        for e in raw.get("errors") or ()
    )
    ok = bool(raw.get("success"))
    return SaveResult(raw.get("id") if ok else None, ok, created=created and ok, errors=errors)


def _encode_token(url: str | None, skip: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"u": url, "s": skip}).encode()).decode()


def _decode_token(token: str) -> tuple[str | None, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return data["u"], int(data["s"])
    except (ValueError, KeyError, TypeError):
        raise InputError("not a page token of this CRM", field="page_token") from None


class SalesforceCRM(CRM):
    """The CRM port against a Salesforce org (API v59.0+)."""

    name = "salesforce"

    def __init__(self, client: SalesforceClient, bulk_options: bulk.BulkOptions | None = None) -> None:
        self.client = client
        self.bulk_options = bulk_options or bulk.BulkOptions()

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceCRM:
        """Build from ``REVLOOPS_SF_*``: JWT bearer when client id, user and key are set, else session id."""
        auth: JwtBearerAuth | SessionAuth
        if settings.sf_client_id and settings.sf_username and settings.sf_private_key_file:
            key_file = settings.sf_private_key_file
            if not key_file.is_file():
                raise InputError(f"no private key at {key_file}", field="REVLOOPS_SF_PRIVATE_KEY_FILE")
            auth = JwtBearerAuth(settings.sf_login_url, settings.sf_client_id, settings.sf_username, key_file.read_bytes())
        elif settings.sf_instance_url and settings.sf_access_token:
            auth = SessionAuth(settings.sf_instance_url, settings.sf_access_token.get_secret_value())
        else:
            raise InputError(
                "Salesforce needs REVLOOPS_SF_CLIENT_ID, REVLOOPS_SF_USERNAME and REVLOOPS_SF_PRIVATE_KEY_FILE "
                "(JWT bearer sign-in) or REVLOOPS_SF_INSTANCE_URL and REVLOOPS_SF_ACCESS_TOKEN", field="REVLOOPS_SF_*",
            )
        if settings.sf_ca_bundle is not None and not settings.sf_ca_bundle.is_file():
            raise InputError(f"no CA file at {settings.sf_ca_bundle}", field="REVLOOPS_SF_CA_BUNDLE")
        client = SalesforceClient(auth, api_version=settings.sf_api_version, timeout=settings.sf_timeout,
                                  ca_bundle=settings.sf_ca_bundle)
        return cls(client)

    @property
    def api_usage(self) -> ApiUsage | None:
        """Daily API usage as Salesforce last reported it (``Sforce-Limit-Info``), None before any call."""
        return self.client.usage

    def _kw(self) -> dict[str, Any]:
        return self.client.request_kwargs

    def _record(self, sobject: str, raw: Mapping[str, Any]) -> SObject:
        model = soql.model_of(sobject)
        values = {k: v for k, v in raw.items() if k in model.model_fields and v is not None}
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            raise UpstreamRejected(f"Salesforce sent a {sobject} our record cannot hold: {exc.errors()[0]['msg']}") from None

    # -- reads ------------------------------------------------------------------------------------
    def get(self, sobject: str, record_id: str) -> SObject:
        model = soql.model_of(sobject)
        path = f"sobjects/{model.sobject_type}/{urllib.parse.quote(record_id, safe='')}"
        params = {"fields": ",".join(model.model_fields)}
        what = f"get {sobject} {record_id}"
        try:
            raw = self.client.call(lambda sf: sf.restful(path, params=params, **self._kw()), what=what)
        except NotFound:
            raise NotFound(f"{sobject} {record_id} does not exist") from None
        return self._record(sobject, raw or {})

    def query(self, query: Query, page_size: int = 2000, page_token: str | None = None) -> Page:
        text = soql.query_soql(query)
        size = max(1, page_size)
        url, skip = _decode_token(page_token) if page_token else (None, 0)
        headers = {"Sforce-Query-Options": f"batchSize={max(MIN_BATCH, min(MAX_BATCH, size))}"}

        def fetch(sf: Salesforce) -> Any:
            if url:
                return sf.query_more(url, identifier_is_url=True, **self._kw())
            return sf.query(text, headers=headers, **self._kw())

        try:
            batch = self.client.call(fetch, what=f"query {query.sobject}")
        except RecordRejected as exc:
            raise InputError(f"Salesforce refused the query: {exc.status_code}: {exc.message}",
                             field=",".join(exc.fields) or None) from None
        rows = batch["records"]
        # A page smaller than the batch Salesforce sent is a slice of it; the token remembers where.
        records = [self._record(query.sobject, r) for r in rows[skip : skip + size]]
        if skip + size < len(rows):
            token: str | None = _encode_token(url, skip + size)
        elif not batch["done"]:
            token = _encode_token(batch["nextRecordsUrl"], 0)
        else:
            token = None
        return Page(records, token, int(batch["totalSize"]))

    def read_columns(self, sobject: str, columns: Sequence[str], *, chunk_rows: int | None = None,
                     limit: int | None = None, created_order: bool = False,
                     modified_since: dt.datetime | None = None) -> Iterator[pl.DataFrame]:
        """Frames of ``columns`` through a Bulk API 2.0 query job; a read limited to a REST page or two
        (``BulkOptions.rest_max_rows``) takes the REST query instead, which needs no job. Bulk API 2.0 takes no
        ORDER BY, so a read in creation order is sorted here, holding the columns read whole."""
        if limit is not None and 0 <= limit <= self.bulk_options.rest_max_rows:
            bulk.check_read(sobject, columns, chunk_rows=chunk_rows, limit=limit)  # refuse now, as Bulk would
            return super().read_columns(sobject, columns, chunk_rows=chunk_rows, limit=limit,
                                        created_order=created_order, modified_since=modified_since)
        frames = bulk.read_frames(self.client, sobject, columns, chunk_rows=chunk_rows, limit=limit,
                                  options=self.bulk_options, modified_since=modified_since)
        return in_created_order(frames, chunk_rows or CHUNK_ROWS) if created_order else frames

    # -- single-record writes -----------------------------------------------------------------------
    def create(self, record: SObject, *, audit_fields: bool = False) -> str:
        soql.model_of(record.sobject_type)
        body = _write_body(record, audit_fields)
        path = f"sobjects/{record.sobject_type}/"
        raw = self.client.call(lambda sf: sf.restful(path, method="POST", json=body, **self._kw()),
                               what=f"create {record.sobject_type}", idempotent=False)
        return str((raw or {})["id"])

    def update(self, sobject: str, record_id: str, changes: Mapping[str, Any], *,
               audit_fields: bool = False) -> None:
        """Change fields of one record. Salesforce sets audit fields on creation only: a LastModifiedDate
        among the changes is sent as given and refused there (``INVALID_FIELD_FOR_INSERT_UPDATE``)."""
        model = soql.model_of(sobject)
        path = f"sobjects/{model.sobject_type}/{urllib.parse.quote(record_id, safe='')}"
        body = _jsonable(changes)
        try:
            self.client.call(lambda sf: sf.restful(path, method="PATCH", json=body, **self._kw()),
                             what=f"update {sobject} {record_id}")
        except NotFound:
            raise NotFound(f"{sobject} {record_id} does not exist") from None

    def delete(self, sobject: str, record_id: str) -> None:
        model = soql.model_of(sobject)
        path = f"sobjects/{model.sobject_type}/{urllib.parse.quote(record_id, safe='')}"
        try:
            self.client.call(lambda sf: sf.restful(path, method="DELETE", **self._kw()), what=f"delete {sobject} {record_id}")
        except NotFound:
            raise NotFound(f"{sobject} {record_id} does not exist") from None

    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> SaveResult:
        model = soql.model_of(sobject)
        if external_id_field not in model.external_id_fields:
            raise RecordRejected(f"{external_id_field} is not an external id of {sobject}", "INVALID_FIELD",
                                 (external_id_field,))
        body = _jsonable({k: v for k, v in fields.items() if k != external_id_field})
        if not external_id_field.endswith("__c"):
            return self._upsert_by_lookup(sobject, external_id_field, external_id, body)
        path = f"sobjects/{sobject}/{external_id_field}/{urllib.parse.quote(external_id, safe='')}"
        raw = self.client.call(lambda sf: sf.restful(path, method="PATCH", json=body, **self._kw()),
                               what=f"upsert {sobject} {external_id_field}={external_id}")
        if raw is None:  # API versions before 46.0 answer an update with 204 and no body
            found = self.find_one(Query(sobject).where(external_id_field, "eq", external_id))
            return SaveResult(found.Id if found else None, found is not None, created=False)
        return SaveResult(str(raw["id"]), True, created=bool(raw.get("created")))

    def _upsert_by_lookup(self, sobject: str, field: str, value: str, body: dict[str, Any]) -> SaveResult:
        # Standard fields such as DeveloperName are not external ids in Salesforce: read, then write.
        text = soql.lookup_soql(sobject, field, value)
        rows = self.client.call(lambda sf: sf.query(text, **self._kw()), what=f"find {sobject} {field}")["records"]
        if len(rows) > 1:
            raise RecordRejected(f"more than one {sobject} has {field} = {value}", "DUPLICATE_VALUE", (field,))
        if rows:
            self.update(sobject, rows[0]["Id"], body)
            return SaveResult(str(rows[0]["Id"]), True, created=False)
        model = soql.model_of(sobject)
        try:
            record = model.model_validate({**body, field: value})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise RecordRejected(f"{err['loc'][0]}: {err['msg']}", "INVALID_FIELD", (str(err["loc"][0]),)) from None
        return SaveResult(self.create(record), True, created=True)

    # -- collections ------------------------------------------------------------------------------
    def _create_batch(self, records: Sequence[SObject], *, audit_fields: bool = False) -> list[SaveResult]:
        body = {"allOrNone": False, "records": [{"attributes": {"type": r.sobject_type}, **_write_body(r, audit_fields)}
                                                for r in records]}
        raw = self.client.call(lambda sf: sf.restful("composite/sobjects", method="POST", json=body, **self._kw()),
                               what=f"create {len(records)} records", idempotent=False)
        return [_save_result(r, created=True) for r in raw or []]

    def _update_batch(self, sobject: str, changes: Sequence[tuple[str, Mapping[str, Any]]], *,
                      audit_fields: bool = False) -> list[SaveResult]:
        model = soql.model_of(sobject)
        records = [{"attributes": {"type": model.sobject_type}, "id": rid, **_jsonable(ch)} for rid, ch in changes]
        body = {"allOrNone": False, "records": records}
        raw = self.client.call(lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body, **self._kw()),
                               what=f"update {len(changes)} {sobject} records")
        return [_save_result(r, created=False) for r in raw or []]

    def _delete_batch(self, sobject: str, ids: Sequence[str]) -> list[SaveResult]:
        params = {"ids": ",".join(ids), "allOrNone": "false"}
        raw = self.client.call(lambda sf: sf.restful("composite/sobjects", params=params, method="DELETE", **self._kw()),
                               what=f"delete {len(ids)} {sobject} records")
        return [_save_result(r, created=False) for r in raw or []]

    # -- health -----------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """Who the session belongs to (``/services/oauth2/userinfo``): user id, org id, username, name."""
        info = self.client.call(lambda sf: sf.oauth2("userinfo"), what="userinfo") or {}
        keys = ("user_id", "organization_id", "preferred_username", "name", "email")
        return {k: info.get(k) for k in keys if k in info}

    def object_access(self, sobject: str) -> dict[str, Any]:
        """What the signed-in user may do with an object, and which fields of our record the org lacks."""
        model = soql.model_of(sobject)
        raw = self.client.call(lambda sf: sf.restful(f"sobjects/{model.sobject_type}/describe/", **self._kw()),
                               what=f"describe {sobject}") or {}
        present = {f["name"] for f in raw.get("fields", [])}
        return {
            "read": bool(raw.get("queryable")), "create": bool(raw.get("createable")),
            "update": bool(raw.get("updateable")), "delete": bool(raw.get("deletable")),
            "missing_fields": sorted(f for f in model.model_fields if f not in present),
        }

    def convert_lead(self, lead_id: str, *, account_id: str | None = None, opportunity_name: str | None = None,
                     amount: float | None = None, converted_on: Any = None) -> Any:
        """Salesforce converts leads itself (its REST API has no conversion, and ``IsConverted`` is not
        writable): convert in Salesforce, and the ``lead.converted`` event starts the deal's play."""
        from revloops.core.errors import InputError

        raise InputError("Salesforce converts leads itself: convert the lead in Salesforce, and its "
                         "lead.converted event starts the deal play", field="lead_id")

    def describe(self) -> dict[str, Any]:
        """The CRM, its instance, API version, daily API usage and the signed-in identity."""
        user = self.identity()
        limits = self.client.call(lambda sf: sf.restful("limits/", **self._kw()), what="limits") or {}
        daily = limits.get("DailyApiRequests", {})
        if "Max" in daily:
            used, limit = int(daily["Max"]) - int(daily.get("Remaining", 0)), int(daily["Max"])
        else:
            usage = self.api_usage
            used, limit = (usage.used, usage.limit) if usage else (0, 0)
        token = self.client.token
        return {
            "crm": self.name, "instance": token.instance_url if token else None,
            "api_version": self.client.api_version, "sign_in": self.client.auth.method,
            "api_usage": {"used": used, "limit": limit}, "user": user,
        }
