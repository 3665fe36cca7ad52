"""Our records: Salesforce objects with their API field names, typed.

Custom fields the loops write end in ``__c`` and exist in the org-side metadata under ``salesforce/``.
Records are frozen; change one with ``record.model_copy(update={...})`` or through the CRM port.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from revloops.core.errors import InputError

Date = dt.date
DateTime = dt.datetime


class SObject(BaseModel):
    """Base of every record. ``Id`` is an 18-character Salesforce id (None before create)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    sobject_type: ClassVar[str] = ""
    #: fields the CRM sets itself (refused on create/update)
    system_fields: ClassVar[frozenset[str]] = frozenset(
        {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
    )
    #: fields a create must carry (as Salesforce requires them)
    required_fields: ClassVar[tuple[str, ...]] = ()
    #: fields usable as external ids for upsert
    external_id_fields: ClassVar[tuple[str, ...]] = ()

    Id: str | None = None
    CreatedDate: DateTime | None = None
    LastModifiedDate: DateTime | None = None
    SystemModstamp: DateTime | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _as_stored(cls, value: Any) -> Any:
        """Values as the CRM keeps them: a datetime with an offset in UTC (Salesforce stores UTC, so a record
        reads on one day whichever path reads it), and whole numbers within the 64-bit range a store holds."""
        if isinstance(value, dt.datetime) and value.tzinfo is not None and value.utcoffset():
            return value.astimezone(dt.UTC)
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise ValueError("a whole number beyond the 64-bit range the CRM stores")
        return value

    def fields(self) -> dict[str, Any]:
        """The set fields (None left out), as a plain dict."""
        return self.model_dump(exclude_none=True)


class User(SObject):
    sobject_type: ClassVar[str] = "User"
    required_fields: ClassVar[tuple[str, ...]] = ("Username", "LastName", "Email")
    external_id_fields: ClassVar[tuple[str, ...]] = ("Username",)
    Username: str | None = None
    Email: str | None = None
    FirstName: str | None = None
    LastName: str | None = None
    Name: str | None = None
    Title: str | None = None
    IsActive: bool | None = True
    ManagerId: str | None = None
    Sales_Role__c: str | None = None
    Country: str | None = None
    TimeZoneSidKey: str | None = None


class Group(SObject):
    """A queue (Type = Queue) or public group."""

    sobject_type: ClassVar[str] = "Group"
    required_fields: ClassVar[tuple[str, ...]] = ("Name", "DeveloperName")
    external_id_fields: ClassVar[tuple[str, ...]] = ("DeveloperName",)
    Name: str | None = None
    DeveloperName: str | None = None
    Type: str | None = "Queue"
    Email: str | None = None


class Account(SObject):
    sobject_type: ClassVar[str] = "Account"
    required_fields: ClassVar[tuple[str, ...]] = ("Name",)
    external_id_fields: ClassVar[tuple[str, ...]] = ("External_Id__c",)
    Name: str | None = None
    Website: str | None = None
    Industry: str | None = None
    NumberOfEmployees: int | None = None
    AnnualRevenue: float | None = None
    Type: str | None = None
    Phone: str | None = None
    BillingCity: str | None = None
    BillingState: str | None = None
    BillingPostalCode: str | None = None
    BillingCountry: str | None = None
    OwnerId: str | None = None
    ParentId: str | None = None
    Description: str | None = None
    Named__c: bool | None = None
    External_Id__c: str | None = None
    Territory_Status__c: str | None = None
    Territory_Evidence__c: str | None = None
    Customer_Since__c: Date | None = None
    Contract_End__c: Date | None = None
    ARR__c: float | None = None
    Seats_Purchased__c: int | None = None
    Churned_On__c: Date | None = None
    Health_Score__c: float | None = None
    Health_Band__c: str | None = None


class Contact(SObject):
    sobject_type: ClassVar[str] = "Contact"
    required_fields: ClassVar[tuple[str, ...]] = ("LastName",)
    external_id_fields: ClassVar[tuple[str, ...]] = ("External_Id__c",)
    FirstName: str | None = None
    LastName: str | None = None
    Email: str | None = None
    Title: str | None = None
    Phone: str | None = None
    AccountId: str | None = None
    OwnerId: str | None = None
    MailingCountry: str | None = None
    External_Id__c: str | None = None


class Lead(SObject):
    sobject_type: ClassVar[str] = "Lead"
    required_fields: ClassVar[tuple[str, ...]] = ("LastName", "Company")
    external_id_fields: ClassVar[tuple[str, ...]] = ("External_Id__c",)
    FirstName: str | None = None
    LastName: str | None = None
    Company: str | None = None
    Email: str | None = None
    Title: str | None = None
    Phone: str | None = None
    Website: str | None = None
    Industry: str | None = None
    NumberOfEmployees: int | None = None
    AnnualRevenue: float | None = None
    City: str | None = None
    State: str | None = None
    PostalCode: str | None = None
    Country: str | None = None
    LeadSource: str | None = None
    Status: str | None = "Open - Not Contacted"
    Rating: str | None = None
    OwnerId: str | None = None
    IsConverted: bool | None = False
    ConvertedAccountId: str | None = None
    ConvertedContactId: str | None = None
    ConvertedOpportunityId: str | None = None
    ConvertedDate: Date | None = None
    Description: str | None = None
    External_Id__c: str | None = None
    Lead_Score__c: float | None = None
    Fit_Score__c: float | None = None
    Intent_Score__c: float | None = None
    Score_Reasons__c: str | None = None
    Qualification__c: str | None = None
    Enrichment_Status__c: str | None = None
    Routing_Decision_Id__c: str | None = None
    Routing_Explanation__c: str | None = None
    Matched_Account__c: str | None = None
    Segment__c: str | None = None


class Opportunity(SObject):
    sobject_type: ClassVar[str] = "Opportunity"
    required_fields: ClassVar[tuple[str, ...]] = ("Name", "StageName", "CloseDate")
    external_id_fields: ClassVar[tuple[str, ...]] = ("External_Id__c",)
    Name: str | None = None
    AccountId: str | None = None
    StageName: str | None = None
    CloseDate: Date | None = None
    Amount: float | None = None
    Probability: float | None = None
    Type: str | None = None
    LeadSource: str | None = None
    IsClosed: bool | None = False
    IsWon: bool | None = False
    OwnerId: str | None = None
    Territory2Id: str | None = None
    External_Id__c: str | None = None
    Deal_Play__c: str | None = None
    Description: str | None = None
    Use_Cases__c: str | None = None
    Champion__c: str | None = None
    Economic_Buyer__c: str | None = None
    Success_Metric__c: str | None = None
    Risks__c: str | None = None
    Contract_Start__c: Date | None = None
    Contract_End__c: Date | None = None


class Task(SObject):
    sobject_type: ClassVar[str] = "Task"
    required_fields: ClassVar[tuple[str, ...]] = ("Subject",)
    external_id_fields: ClassVar[tuple[str, ...]] = ("Revloops_Key__c",)
    Subject: str | None = None
    Description: str | None = None
    WhoId: str | None = None
    WhatId: str | None = None
    OwnerId: str | None = None
    Status: str | None = "Not Started"
    Priority: str | None = "Normal"
    ActivityDate: Date | None = None
    Type: str | None = None
    Revloops_Key__c: str | None = None
    CompletedDateTime: DateTime | None = None


class OpportunityHistory(SObject):
    """One state of an opportunity (Salesforce's read-only standard object): the CRM writes a row when the
    opportunity is created and one each time a change touches its StageName, Amount, CloseDate or Probability,
    holding all four as they stood after the change; ``CreatedDate`` is when the change was made.

    Nothing creates, updates or deletes these rows through the API (``READ_ONLY``); the history object has no
    ``LastModifiedDate`` (a row never changes), so the field the base class declares is taken away here.
    """

    sobject_type: ClassVar[str] = "OpportunityHistory"
    system_fields: ClassVar[frozenset[str]] = frozenset({"Id", "CreatedDate", "SystemModstamp"})
    LastModifiedDate: ClassVar[None] = None  # type: ignore[misc]  # Salesforce's history objects have none
    OpportunityId: str | None = None
    StageName: str | None = None
    Amount: float | None = None
    CloseDate: Date | None = None
    Probability: float | None = None


class Territory2Model(SObject):
    sobject_type: ClassVar[str] = "Territory2Model"
    required_fields: ClassVar[tuple[str, ...]] = ("Name", "DeveloperName")
    external_id_fields: ClassVar[tuple[str, ...]] = ("DeveloperName",)
    Name: str | None = None
    DeveloperName: str | None = None
    State: str | None = "Planning"
    Description: str | None = None


class Territory2Type(SObject):
    sobject_type: ClassVar[str] = "Territory2Type"
    required_fields: ClassVar[tuple[str, ...]] = ("DeveloperName", "MasterLabel", "Priority")
    external_id_fields: ClassVar[tuple[str, ...]] = ("DeveloperName",)
    DeveloperName: str | None = None
    MasterLabel: str | None = None
    Priority: int | None = None
    Description: str | None = None


class Territory2(SObject):
    sobject_type: ClassVar[str] = "Territory2"
    required_fields: ClassVar[tuple[str, ...]] = ("Name", "DeveloperName", "Territory2ModelId", "Territory2TypeId")
    external_id_fields: ClassVar[tuple[str, ...]] = ("DeveloperName",)
    Name: str | None = None
    DeveloperName: str | None = None
    Territory2ModelId: str | None = None
    Territory2TypeId: str | None = None
    ParentTerritory2Id: str | None = None
    AccountAccessLevel: str | None = None
    OpportunityAccessLevel: str | None = None
    CaseAccessLevel: str | None = None
    ContactAccessLevel: str | None = None
    Description: str | None = None


class UserTerritory2Association(SObject):
    sobject_type: ClassVar[str] = "UserTerritory2Association"
    required_fields: ClassVar[tuple[str, ...]] = ("UserId", "Territory2Id")
    UserId: str | None = None
    Territory2Id: str | None = None
    RoleInTerritory2: str | None = None
    IsActive: bool | None = True


class ObjectTerritory2Association(SObject):
    """Create/delete only in Salesforce: updates are refused."""

    sobject_type: ClassVar[str] = "ObjectTerritory2Association"
    required_fields: ClassVar[tuple[str, ...]] = ("ObjectId", "Territory2Id", "AssociationCause")
    ObjectId: str | None = None
    Territory2Id: str | None = None
    AssociationCause: str | None = None


class Territory2ObjectExclusion(SObject):
    sobject_type: ClassVar[str] = "Territory2ObjectExclusion"
    required_fields: ClassVar[tuple[str, ...]] = ("ObjectId", "Territory2Id")
    ObjectId: str | None = None
    Territory2Id: str | None = None


class Usage_Snapshot__c(SObject):  # noqa: N801 - a Salesforce custom object's API name
    """A customer's product usage for one month (what Expand's health score reads, and back-tests on)."""

    sobject_type: ClassVar[str] = "Usage_Snapshot__c"
    required_fields: ClassVar[tuple[str, ...]] = ("Account__c", "Month__c")
    external_id_fields: ClassVar[tuple[str, ...]] = ("External_Id__c",)
    Account__c: str | None = None
    Month__c: Date | None = None
    Seats_Purchased__c: int | None = None
    Seats_Active__c: int | None = None
    Logins_Per_User__c: float | None = None
    Support_Tickets__c: int | None = None
    NPS__c: float | None = None
    Executive_Sponsor__c: bool | None = None
    External_Id__c: str | None = None


SOBJECTS: dict[str, type[SObject]] = {
    cls.sobject_type: cls
    for cls in (
        User, Group, Account, Contact, Lead, Opportunity, OpportunityHistory, Task, Territory2Model,
        Territory2Type, Territory2, UserTerritory2Association, ObjectTerritory2Association,
        Territory2ObjectExclusion, Usage_Snapshot__c,
    )
}
#: objects whose records cannot be updated, only created and deleted (as in Salesforce)
CREATE_DELETE_ONLY = frozenset({"ObjectTerritory2Association", "Territory2ObjectExclusion"})
#: objects the CRM writes itself: read through the API, never created, updated or deleted there
READ_ONLY = frozenset({"OpportunityHistory"})
#: the fields of an opportunity whose change writes an OpportunityHistory row
HISTORY_TRACKED = ("StageName", "Amount", "CloseDate", "Probability")


def model_for(sobject: str) -> type[SObject]:
    """The record class of an object name, or KeyError listing the known ones."""
    try:
        return SOBJECTS[sobject]
    except KeyError:
        raise KeyError(f"unknown object {sobject!r}; known: {', '.join(sorted(SOBJECTS))}") from None


def parse_record(sobject: str, data: dict[str, Any], field_prefix: str = "record") -> SObject:
    """A record of ``sobject`` from user input; an InputError names the field at fault
    (``record.NumberOfEmployees``, ``records.3.Colour__c``) or ``object`` for an unknown object."""
    from revloops.core.inputs import check_plain

    try:
        model = model_for(sobject)
    except KeyError:
        raise InputError(f"unknown object {sobject}", field="object") from None
    check_plain(data, field_prefix)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(err["msg"], field=f"{field_prefix}.{where}" if where else field_prefix) from None
