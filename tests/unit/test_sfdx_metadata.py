"""The org-side metadata under ``salesforce/``: every file parses, every field the code writes is there.

Our records (``revloops.core.records``) name the custom fields the loops write; the org must have each one,
with a type that holds the record's values, visible to the integration user through the permission set. A custom
field is one whose name ends in ``__c`` (standard fields such as ``Task.CompletedDateTime`` need no metadata);
a custom object (``Usage_Snapshot__c``) needs its object file too. The Apex sends every event type
``revloops.core.events`` knows, from a trigger on each object the events are about.
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from revloops.core.events import EVENT_OBJECT, EVENT_TYPES
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
PERMISSION_SET = SOURCE / "permissionsets" / "Revloops_Integration.permissionset-meta.xml"


def _custom_fields() -> list[tuple[type[SObject], str]]:
    return [(model, name) for model in SOBJECTS.values() for name in model.model_fields if name.endswith("__c")]


def _custom_objects() -> list[type[SObject]]:
    return [model for model in SOBJECTS.values() if model.sobject_type.endswith("__c")]


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


def test_only_custom_fields_are_demanded() -> None:
    # Task.CompletedDateTime is standard (API 44+): the org has it, so no XML and no field permission for it.
    demanded = {f"{model.sobject_type}.{name}" for model, name in _custom_fields()}
    assert "Task.CompletedDateTime" not in demanded and "Task.Revloops_Key__c" in demanded
    assert {"Usage_Snapshot__c.Account__c", "Usage_Snapshot__c.External_Id__c"} <= demanded


@pytest.mark.parametrize("model", _custom_objects(), ids=lambda m: m.sobject_type)
def test_each_custom_object_exists_and_is_deployed(model: type[SObject]) -> None:
    path = SOURCE / "objects" / model.sobject_type / f"{model.sobject_type}.object-meta.xml"
    assert path.is_file(), f"{model.sobject_type} is written by the loops but has no {path.name}"
    root = ET.parse(path).getroot()
    assert root.tag == "{http://soap.sforce.com/2006/04/metadata}CustomObject"
    assert _text(root, "label") and _text(root, "pluralLabel")
    assert _text(root, "deploymentStatus") == "Deployed"
    # ControlledByParent needs a master-detail field; our parents are lookups.
    assert _text(root, "sharingModel") in {"ReadWrite", "Read", "Private"}
    name_field = root.find("md:nameField", NS)
    assert name_field is not None and _text(name_field, "label")
    assert _text(name_field, "type") in {"AutoNumber", "Text"}
    if _text(name_field, "type") == "AutoNumber":
        assert "{0" in (_text(name_field, "displayFormat") or "")


def test_the_integration_permission_set_grants_every_custom_field() -> None:
    root = ET.parse(PERMISSION_SET).getroot()
    granted = {
        _text(fp, "field"): (_text(fp, "readable"), _text(fp, "editable"))
        for fp in root.findall("md:fieldPermissions", NS)
    }
    for model, name in _custom_fields():
        assert granted.get(f"{model.sobject_type}.{name}") == ("true", "true"), f"{model.sobject_type}.{name}"
        # A deploy refuses field permissions on a field the org requires (it is always visible and editable).
        assert _text(ET.parse(_field_file(model, name)).getroot(), "required") != "true", f"{model.sobject_type}.{name}"


def test_the_integration_permission_set_grants_every_custom_object() -> None:
    root = ET.parse(PERMISSION_SET).getroot()
    granted = {_text(op, "object"): op for op in root.findall("md:objectPermissions", NS)}
    for model in _custom_objects():
        op = granted.get(model.sobject_type)
        assert op is not None, model.sobject_type
        assert all(_text(op, flag) == "true" for flag in ("allowCreate", "allowEdit", "allowRead")), model.sobject_type


def test_events_are_signed_and_sent_through_the_named_credential() -> None:
    credential = ET.parse(SOURCE / "namedCredentials" / "Revloops.namedCredential-meta.xml").getroot()
    assert (_text(credential, "endpoint") or "").startswith("https://")
    job = (SOURCE / "classes" / "RevloopsEventsJob.cls").read_text()
    assert "callout:Revloops/api/crm/events" in job
    assert "Crypto.generateMac('hmacSHA256', Blob.valueOf(timestamp + '.' + body)" in job
    assert "'t=' + timestamp + ',v1=' + EncodingUtil.convertToHex(mac)" in job
    assert "X-Revloops-Signature" in job and "Database.AllowsCallouts" in job
    events = (SOURCE / "classes" / "RevloopsEvents.cls").read_text()
    assert set(EVENT_OBJECT) == EVENT_TYPES
    for event_type in sorted(EVENT_TYPES):
        assert f"'{event_type}'" in events
    for key in ("'id'", "'type'", "'object'", "'record_id'", "'occurred_at'", "'record'"):
        assert key in events
    for sobject in sorted(set(EVENT_OBJECT.values())):
        trigger = SOURCE / "triggers" / f"Revloops{sobject}Events.trigger"
        assert trigger.is_file(), trigger.name
        assert trigger.with_name(trigger.name + "-meta.xml").is_file()
        assert f" on {sobject} (after insert, after update)" in trigger.read_text()
    # task events are only about the tasks plans made
    assert "'plan:'" in events and "Revloops_Key__c" in events and "CompletedDateTime" in events
    for apex in SOURCE.joinpath("classes").glob("*.cls"):
        assert apex.with_name(apex.name + "-meta.xml").is_file()
