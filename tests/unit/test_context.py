"""The flat evaluation context of a record."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from revloops.core.context import build_context, geo_of, segment_by_ranges, segment_for
from revloops.core.records import Lead
from revloops.loops.design.config import Segment

LEAD = {
    "attributes": {"type": "Lead"},
    "LastName": "Doe", "Company": "Acme", "Country": "Deutschland", "State": "Bavaria", "PostalCode": "80331",
    "NumberOfEmployees": 1200, "Email": None, "Lead_Score__c": 71.0, "Fit_Score__c": 40.0,
}


def test_record_fields_bare_and_none_left_out() -> None:
    ctx = build_context(LEAD)
    assert ctx["LastName"] == "Doe" and ctx["NumberOfEmployees"] == 1200
    assert "Email" not in ctx  # None is missing, so only `exists: false` and `ne` hold
    assert "attributes" not in ctx and "attributes.type" not in ctx


def test_geo_from_lead_address() -> None:
    ctx = build_context(LEAD)
    assert (ctx["geo.country"], ctx["geo.region"], ctx["geo.postal"], ctx["geo.ambiguous"]) == (
        "DE", "DE-BY", "80331", False,
    )


def test_geo_from_account_billing_address() -> None:
    account = {"Name": "Maple", "BillingCountry": "Canada", "BillingState": "ON", "BillingPostalCode": "m5v2t6"}
    ctx = build_context(account)
    assert (ctx["geo.country"], ctx["geo.region"], ctx["geo.postal"]) == ("CA", "CA-ON", "M5V 2T6")
    assert geo_of({"BillingCountry": "UK"}, "Account")["geo.country"] == "GB"


def test_explicit_object_overrides_the_guess() -> None:
    # A lead-shaped dict read as an Account has no Billing* fields, so no geography.
    assert "geo.country" not in build_context({"Country": "France"}, sobject="Account")
    assert build_context({"Country": "France"})["geo.country"] == "FR"


def test_account_enrichment_signal_paths() -> None:
    ctx = build_context(
        LEAD,
        account={"Id": "001A", "Named__c": True, "OwnerId": None, "attributes": {"type": "Account"}},
        enrichment={"company": {"size": "1001-5000", "tech": ["salesforce", "hubspot"]}, "people": [{"x": 1}]},
        signal={"type": "funding", "amount": 5e6},
    )
    assert ctx["account.Named__c"] is True and "account.OwnerId" not in ctx
    assert ctx["enrichment.company.size"] == "1001-5000"
    assert ctx["enrichment.company.tech"] == ("salesforce", "hubspot")
    assert not any(k.startswith("enrichment.people") for k in ctx)
    assert (ctx["signal.type"], ctx["signal.amount"]) == ("funding", 5e6)
    assert not any(k.startswith("account.attributes") for k in ctx)


def test_score_given_or_from_record_fields() -> None:
    ctx = build_context(LEAD)
    assert (ctx["score.total"], ctx["score.fit"]) == (71.0, 40.0) and "score.intent" not in ctx
    ctx = build_context(LEAD, score={"total": 10, "fit": 5, "intent": 5})
    assert (ctx["score.total"], ctx["score.intent"]) == (10, 5)


def test_segment_given_or_from_record() -> None:
    assert build_context(LEAD, segment="enterprise")["segment"] == "enterprise"
    assert build_context({**LEAD, "Segment__c": "mid_market"})["segment"] == "mid_market"
    assert "segment" not in build_context(LEAD)


def test_segment_for_design_segments_first_match_wins() -> None:
    segments = [
        Segment(id="smb", label="SMB", employees={"max": 199}),
        Segment(id="mid_market", label="MM", employees={"min": 200, "max": 999}),
        Segment(id="enterprise", label="ENT", employees={"min": 1000}),
    ]
    assert [segment_for(n, segments) for n in (0, 199, 200, 999, 1000, 10**6, None)] == [
        "smb", "smb", "mid_market", "mid_market", "enterprise", "enterprise", None,
    ]


@given(st.integers(0, 100_000))
def test_segment_paths_agree(employees: int) -> None:
    segments = [Segment(id="smb", label="S", employees={"max": 199}), Segment(id="ent", label="E", employees={"min": 200})]
    ranges = [("smb", 0, 199), ("ent", 200, None)]
    assert segment_for(employees, segments) == segment_by_ranges(employees, ranges)


@given(st.sampled_from(["USA", "Germany", "Japan", None]), st.sampled_from(["CA", "Bayern", None]),
       st.integers(1, 10_000), st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)))
def test_record_model_and_its_dict_give_one_context(country: str | None, state: str | None, n: int, d: dt.date) -> None:
    lead = Lead(LastName="X", Company="Y", Country=country, State=state, NumberOfEmployees=n, ConvertedDate=d)
    as_dict = lead.model_dump()
    assert build_context(as_dict) == build_context(lead.fields())
    assert all(not isinstance(v, dict | list) for v in build_context(as_dict).values())
