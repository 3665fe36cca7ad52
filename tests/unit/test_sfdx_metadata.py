"""The org-side metadata under ``salesforce/``: every file parses, every field the code writes is there.

Our records (``revloops.core.records``) name the custom fields the loops write; the org must have each one,
with a type that holds the record's values, visible to the integration user through the permission set.
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from revloops.core.records import SOBJECTS, SObject

ROOT = Path(__file__).resolve().parents[2] / "salesforce"
SOURCE = ROOT / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
# Which Salesforce field types hold which of our Python types.
COMPATIBLE: dict[type, set[str]] = {
    str: {"Text", "TextArea", "LongTextArea", "Picklist", "Email", "Url", "Phone", "Lookup"},
    float: {"Number", "Percent", "Currency"},
    int: {"Number"},
    bool: {"Checkbox"},
    dt.date: {"Date"},
    dt.datetime: {"DateTime"},
}
EVENT_TYPES = ["lead.created", "lead.converted", "opportunity.stage_changed", "opportunity.closed_won", "account.changed"]


def _custom_fields() -> list[tuple[type[SObject], str]]:
    return [(model, name) for model in SOBJECTS.values() for name in model.model_fields if name.endswith("__c")]


def _python_type(model: type[SObject], name: str) -> type:
    ann = model.model_fields[name].annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)] if isinstance(ann, types.UnionType) else [ann]
    assert len(args) == 1 and isinstance(args[0], type), f"{model.sobject_type}.{name}: unexpected type {ann}"
    return args[0]


def _field_file(model: type[SObject], name: str) -> Path:
    # Task and Event custom fields live on Activity in Salesforce metadata.
    folder = "Activity" if model.sobject_type in ("Task", "Event") else model.sobject_type
    return SOURCE / "objects" / folder / "fields" / f"{name}.field-meta.xml"


def _text(node: ET.Element, tag: str) -> str | None:
    found = node.find(f"md:{tag}", NS)
    return found.text if found is not None else None


def test_every_xml_file_parses_in_the_metadata_namespace() -> None:
    files = sorted(ROOT.rglob("*.xml"))
    assert len(files) >= len(_custom_fields()) + 5
    for path in files:
        root = ET.parse(path).getroot()
        assert root.tag.startswith("{http://soap.sforce.com/2006/04/metadata}"), path.name


def test_project_file_points_at_the_source() -> None:
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    paths = [d["path"] for d in project["packageDirectories"]]
    assert all((ROOT / p).is_dir() for p in paths) and float(project["sourceApiVersion"]) >= 59.0


@pytest.mark.parametrize(("model", "name"), _custom_fields(), ids=lambda v: getattr(v, "sobject_type", v))
def test_each_custom_field_exists_with_a_compatible_type(model: type[SObject], name: str) -> None:
    path = _field_file(model, name)
    assert path.is_file(), f"{model.sobject_type}.{name} is written by the loops but has no {path.name}"
    root = ET.parse(path).getroot()
    assert _text(root, "fullName") == name
    sf_type = _text(root, "type") or ""
    py_type = _python_type(model, name)
    assert sf_type in COMPATIBLE[py_type], f"{model.sobject_type}.{name}: {sf_type} cannot hold {py_type.__name__}"
    if sf_type == "Number" and py_type is int:
        assert _text(root, "scale") == "0"
    if sf_type == "Text":
        assert 0 < int(_text(root, "length") or 0) <= 255
    if name in model.external_id_fields:
        assert _text(root, "externalId") == "true", f"{model.sobject_type}.{name} is upserted by; mark it External ID"


def test_the_integration_permission_set_grants_every_custom_field() -> None:
    root = ET.parse(SOURCE / "permissionsets" / "Revloops_Integration.permissionset-meta.xml").getroot()
    granted = {
        _text(fp, "field"): (_text(fp, "readable"), _text(fp, "editable"))
        for fp in root.findall("md:fieldPermissions", NS)
    }
    for model, name in _custom_fields():
        assert granted.get(f"{model.sobject_type}.{name}") == ("true", "true"), f"{model.sobject_type}.{name}"


def test_events_are_signed_and_sent_through_the_named_credential() -> None:
    credential = ET.parse(SOURCE / "namedCredentials" / "Revloops.namedCredential-meta.xml").getroot()
    assert (_text(credential, "endpoint") or "").startswith("https://")
    job = (SOURCE / "classes" / "RevloopsEventsJob.cls").read_text()
    assert "callout:Revloops/api/crm/events" in job
    assert "Crypto.generateMac('hmacSHA256', Blob.valueOf(timestamp + '.' + body)" in job
    assert "'t=' + timestamp + ',v1=' + EncodingUtil.convertToHex(mac)" in job
    assert "X-Revloops-Signature" in job and "Database.AllowsCallouts" in job
    events = (SOURCE / "classes" / "RevloopsEvents.cls").read_text()
    for event_type in EVENT_TYPES:
        assert f"'{event_type}'" in events
    for key in ("'id'", "'type'", "'object'", "'record_id'", "'occurred_at'", "'record'"):
        assert key in events
    for trigger in ("RevloopsLeadEvents", "RevloopsOpportunityEvents", "RevloopsAccountEvents"):
        assert (SOURCE / "triggers" / f"{trigger}.trigger").is_file()
        assert (SOURCE / "triggers" / f"{trigger}.trigger-meta.xml").is_file()
    for apex in SOURCE.joinpath("classes").glob("*.cls"):
        assert apex.with_name(apex.name + "-meta.xml").is_file()
