"""The CRM port: what every loop needs from the field system (Salesforce, or the embedded local CRM)."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from revloops.core.records import SObject

if TYPE_CHECKING:
    import polars as pl

FilterOp = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "like"]
BATCH_SIZE = 200  # Salesforce's sObject Collections limit; the local CRM keeps the same shape


@dataclass(frozen=True)
class Filter:
    """One condition of a query. ``like`` takes a SOQL pattern (``%`` and ``_``); ``eq None`` means IS NULL."""

    field: str
    op: FilterOp
    value: Any


@dataclass(frozen=True)
class Query:
    """A query on one object: filters are ANDed; ``order_by`` items are ``(field, descending)``."""

    sobject: str
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None

    def where(self, field_name: str, op: FilterOp, value: Any) -> Query:
        """A copy with one more filter."""
        return Query(self.sobject, (*self.filters, Filter(field_name, op, value)), self.order_by, self.limit)


def eq(sobject: str, **values: Any) -> Query:
    """Shorthand: a query with an ``eq`` filter per keyword."""
    return Query(sobject, tuple(Filter(k, "eq", v) for k, v in values.items()))


@dataclass(frozen=True)
class Page:
    """One page of a query: the records, the token of the next page (None at the end) and the total."""

    records: list[SObject]
    next_token: str | None
    total: int


@dataclass(frozen=True)
class Conversion:
    """A converted lead and the records its conversion made or used."""

    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str


@dataclass(frozen=True)
class RecordError:
    """Why the CRM refused one record: a Salesforce status code, a message and the fields at fault."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class SaveResult:
    """The outcome of one record of a write."""

    id: str | None
    success: bool
    created: bool = False
    errors: tuple[RecordError, ...] = field(default_factory=tuple)


class CRM(abc.ABC):
    """The field system. Writes are per record or in batches of 200 with a result per record.

    Audit fields: a create with ``audit_fields`` keeps the record's given ``CreatedDate`` and
    ``LastModifiedDate`` (what Salesforce's "Set Audit Fields upon Record Creation" permission allows), so
    records loaded from another system, or a seeded history, keep their dates; without it the CRM sets them
    to the write's time, as always. ``SystemModstamp`` is the write's time either way, so a poller or an
    incremental load by ``SystemModstamp`` still sees every write. An update with ``audit_fields`` may carry
    ``LastModifiedDate``, the time the change was made (the embedded CRM keeps it, and dates the
    ``OpportunityHistory`` row of the change by it; Salesforce sets audit fields on creation only and refuses
    the field on an update).
    """

    name: str = "crm"

    @abc.abstractmethod
    def get(self, sobject: str, record_id: str) -> SObject:
        """One record by id. Raises NotFound."""

    @abc.abstractmethod
    def query(self, query: Query, page_size: int = 2000, page_token: str | None = None) -> Page:
        """One page of records matching ``query``."""

    @abc.abstractmethod
    def create(self, record: SObject, *, audit_fields: bool = False) -> str:
        """Create one record and answer its id; with ``audit_fields`` its given CreatedDate and
        LastModifiedDate are kept. Raises RecordRejected naming the field."""

    @abc.abstractmethod
    def update(self, sobject: str, record_id: str, changes: Mapping[str, Any], *,
               audit_fields: bool = False) -> None:
        """Change fields of one record; with ``audit_fields`` the changes may carry LastModifiedDate (when the
        change was made). Raises NotFound or RecordRejected."""

    @abc.abstractmethod
    def delete(self, sobject: str, record_id: str) -> None:
        """Delete one record. Raises NotFound."""

    @abc.abstractmethod
    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> SaveResult:
        """Create or update the record whose ``external_id_field`` equals ``external_id``."""

    @abc.abstractmethod
    def _create_batch(self, records: Sequence[SObject], *, audit_fields: bool = False) -> list[SaveResult]:
        """Create at most BATCH_SIZE records, one result each, in order (``audit_fields`` as in ``create``)."""

    @abc.abstractmethod
    def _update_batch(self, sobject: str, changes: Sequence[tuple[str, Mapping[str, Any]]], *,
                      audit_fields: bool = False) -> list[SaveResult]:
        """Update at most BATCH_SIZE records, one result each, in order (``audit_fields`` as in ``update``)."""

    @abc.abstractmethod
    def _delete_batch(self, sobject: str, ids: Sequence[str]) -> list[SaveResult]:
        """Delete at most BATCH_SIZE records, one result each, in order."""

    def query_all(self, query: Query, page_size: int = 2000) -> Iterator[SObject]:
        """Every record matching ``query``, following pages."""
        token: str | None = None
        while True:
            page = self.query(query, page_size=page_size, page_token=token)
            yield from page.records
            token = page.next_token
            if token is None:
                return

    def read_columns(self, sobject: str, columns: Sequence[str], *, chunk_rows: int | None = None,
                     limit: int | None = None, created_order: bool = False,
                     modified_since: dt.datetime | None = None) -> Iterator[pl.DataFrame]:
        """Every stored record of ``sobject`` as frames of ``columns`` (``revloops.core.frames.frame_schema``),
        at most ``chunk_rows`` rows each, so a batch path's memory stays bounded whatever the table's size;
        with ``created_order`` in creation order (``CreatedDate``, then ``Id``; records without one last), as a
        simulation that replays history needs them; with ``modified_since`` only the records whose
        ``SystemModstamp`` is at or after it (an incremental read: the warehouse's).

        This default builds the frames from ``query_all``; adapters override it with a columnar read (the
        embedded CRM straight from its database, Salesforce through Bulk API 2.0 query jobs).
        """
        from revloops.core.frames import CHUNK_ROWS, chunked, in_created_order

        order = (("CreatedDate", False), ("Id", False)) if created_order else ()
        since = (Filter("SystemModstamp", "gte", modified_since),) if modified_since is not None else ()
        records = self.query_all(Query(sobject, since, order_by=order, limit=limit))
        frames = chunked(records, sobject, columns, chunk_rows or CHUNK_ROWS)
        yield from in_created_order(frames, chunk_rows or CHUNK_ROWS) if created_order else frames

    def convert_lead(self, lead_id: str, *, account_id: str | None = None, opportunity_name: str | None = None,
                     amount: float | None = None, converted_on: dt.date | None = None) -> Conversion:
        """Convert a lead as Salesforce does: an account (the given one, the lead's matched account, or a new
        one from its company), a contact, an opportunity, and the lead marked converted with their ids.

        This default composes the conversion from this port's own writes (the embedded CRM); an adapter whose
        system converts leads itself overrides it.

        Raises:
            NotFound: no such lead. InputError: it is converted already.
        """
        from revloops.core.errors import InputError
        from revloops.core.records import Account, Contact, Opportunity

        lead = self.get("Lead", lead_id).fields()
        if lead.get("IsConverted"):
            raise InputError(f"lead {lead_id} is converted already (opportunity "
                             f"{lead.get('ConvertedOpportunityId')})", field="lead_id")
        day = converted_on or dt.datetime.now(dt.UTC).date()
        owner = lead.get("OwnerId") if str(lead.get("OwnerId") or "").startswith("005") else None
        account = account_id or lead.get("Matched_Account__c")
        if not account:
            account = self.create(Account(Name=lead.get("Company") or lead.get("LastName"), OwnerId=owner,
                                          Website=lead.get("Website"), Industry=lead.get("Industry"),
                                          NumberOfEmployees=lead.get("NumberOfEmployees"),
                                          BillingCountry=lead.get("Country"), BillingState=lead.get("State"),
                                          BillingCity=lead.get("City"), Type="Prospect"))
        contact = self.create(Contact(FirstName=lead.get("FirstName"), LastName=lead.get("LastName") or "Unknown",
                                      Email=lead.get("Email"), Title=lead.get("Title"), Phone=lead.get("Phone"),
                                      AccountId=account, OwnerId=owner, MailingCountry=lead.get("Country")))
        company = lead.get("Company") or lead.get("LastName") or "New"
        opportunity = self.create(Opportunity(
            Name=opportunity_name or f"{company} - New Business", AccountId=account, StageName="Prospecting",
            CloseDate=day + dt.timedelta(days=90), Amount=amount, Probability=10.0, Type="New Business",
            LeadSource=lead.get("LeadSource"), OwnerId=owner))
        self.update("Lead", lead_id, {"IsConverted": True, "ConvertedAccountId": account,
                                      "ConvertedContactId": contact, "ConvertedOpportunityId": opportunity,
                                      "ConvertedDate": day.isoformat(), "Status": "Closed - Converted"})
        return Conversion(lead_id, account, contact, opportunity)

    def find_one(self, query: Query) -> SObject | None:
        """The first record matching ``query``, or None."""
        page = self.query(Query(query.sobject, query.filters, query.order_by, 1), page_size=1)
        return page.records[0] if page.records else None

    def bulk_create(self, records: Sequence[SObject], *, audit_fields: bool = False) -> list[SaveResult]:
        """Create many records in batches of 200; a bad record fails alone (``audit_fields`` as in ``create``)."""
        return [r for i in range(0, len(records), BATCH_SIZE)
                for r in self._create_batch(records[i : i + BATCH_SIZE], audit_fields=audit_fields)]

    def bulk_update(self, sobject: str, changes: Sequence[tuple[str, Mapping[str, Any]]], *,
                    audit_fields: bool = False) -> list[SaveResult]:
        """Update many records in batches of 200; a bad record fails alone (``audit_fields`` as in ``update``)."""
        return [r for i in range(0, len(changes), BATCH_SIZE)
                for r in self._update_batch(sobject, changes[i : i + BATCH_SIZE], audit_fields=audit_fields)]

    def bulk_delete(self, sobject: str, ids: Sequence[str]) -> list[SaveResult]:
        """Delete many records in batches of 200."""
        return [r for i in range(0, len(ids), BATCH_SIZE) for r in self._delete_batch(sobject, ids[i : i + BATCH_SIZE])]

    def close(self) -> None:  # noqa: B027 - most adapters hold nothing to release
        """Release connections (HTTP sessions); the adapter must not be used afterwards."""

    def describe(self) -> dict[str, Any]:
        """What this CRM is, for `crm check` and health (adapters add API usage and identity)."""
        return {"crm": self.name}
