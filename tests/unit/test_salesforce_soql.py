"""SOQL built from data: values are escaped by every builder, names are never taken on trust.

The fake's SOQL reader (a separate tokenizer following Salesforce's escape rules) reads the queries back:
a value must come back as exactly one literal equal to what went in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revloops.adapters.salesforce import soql
from revloops.core.errors import InputError
from revloops.ports.crm import Filter, Query
from revloops.testing.fake_soql import parse

HOSTILE = ["O'Brien", "back\\slash", "x' OR Name != '", "\\' OR Id != null OR Name = '", "tab\tnew\nline", 'say "hi"',
           "trailing\\", "'", "%_", "\\\\'"]


def _builders(value: str) -> dict[str, str]:
    """Every way a text value reaches a query."""
    return {
        "select": soql.select("Account", ["Id"], [Filter("Name", "eq", value)]),
        "query_soql": soql.query_soql(Query("Account", (Filter("Name", "ne", value),))),
        "lookup_soql": soql.lookup_soql("Group", "DeveloperName", value),
        "in": soql.select("Lead", ["Id"], [Filter("Email", "in", ["a@b.example", value])]),
        "not_in": soql.select("Lead", ["Id"], [Filter("Email", "not_in", [value])]),
        "like": soql.select("Lead", ["Id"], [Filter("Company", "like", value)]),
    }


@pytest.mark.parametrize("value", HOSTILE)
def test_every_builder_keeps_a_hostile_value_one_literal(value: str) -> None:
    for name, text in _builders(value).items():
        parsed = parse(text)
        assert len(parsed.conditions) == 1, name  # no injected OR / extra comparison
        assert value in [lit.value for lit in parsed.conditions[0].values], name


@given(st.text(max_size=40))
def test_any_text_round_trips_through_escaping(value: str) -> None:
    for name, text in _builders(value).items():
        parsed = parse(text)
        assert [c.field for c in parsed.conditions] == [parsed.conditions[0].field], name
        assert value in [lit.value for lit in parsed.conditions[0].values], name


def test_injection_does_not_match_other_records() -> None:
    query = parse(soql.select("Account", ["Id"], [Filter("Name", "eq", "x' OR Name != '")]))
    assert not query.where({"Name": "Acme"})
    assert query.where({"Name": "x' OR Name != '"})


def test_field_and_object_names_must_be_fields_of_our_records() -> None:
    with pytest.raises(InputError) as info:
        soql.select("Account", ["Id"], [Filter("Name = 'x' OR Name", "eq", "y")])
    assert info.value.field == "Name = 'x' OR Name"
    with pytest.raises(InputError):
        soql.select("Account", ["Id, (SELECT Id FROM Contacts)"])
    with pytest.raises(InputError):
        soql.select("Account WHERE Name != null", ["Id"])
    with pytest.raises(InputError):
        soql.select("Account", ["Id"], order_by=[("Name DESC, Id", False)])


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (250, "number", 250),
        (1.5e6, "number", 1_500_000.0),
        (1e-7, "number", 1e-7),
        (True, "bool", True),
        (None, "null", None),
        (dt.date(2026, 12, 3), "date", dt.date(2026, 12, 3)),
        (dt.datetime(2026, 11, 29, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))), "datetime",
         dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)),
    ],
)
def test_typed_values_become_bare_soql_literals(value: object, kind: str, expected: object) -> None:
    field = {"number": "AnnualRevenue", "bool": "IsConverted", "null": "Email", "date": "ConvertedDate",
             "datetime": "CreatedDate"}[kind]
    lit = parse(soql.select("Lead", ["Id"], [Filter(field, "eq", value)])).conditions[0].values[0]
    assert (lit.kind, lit.value) == (kind, expected)


def test_non_finite_numbers_and_odd_types_are_refused() -> None:
    with pytest.raises(InputError):
        soql.literal(float("nan"))
    with pytest.raises(InputError):
        soql.literal(object())


def test_empty_in_list_matches_nothing_and_its_negation_everything() -> None:
    none = parse(soql.select("Lead", ["Id"], [Filter("Email", "in", [])]))
    every = parse(soql.select("Lead", ["Id"], [Filter("Email", "not_in", [])]))
    record = {"Id": "00Q8d0000000001AAA", "Email": "a@b.example"}
    assert not none.where(record) and every.where(record)


def test_port_query_orders_totally_and_spells_out_null_placement() -> None:
    text = soql.query_soql(Query("Lead", order_by=(("NumberOfEmployees", True),), limit=5))
    parsed = parse(text)
    assert parsed.order_by == [("NumberOfEmployees", True, True), ("Id", False, False)]
    assert parsed.limit == 5
    assert set(parsed.fields) >= {"Id", "LastName", "Company", "Lead_Score__c"}
