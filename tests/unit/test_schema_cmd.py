"""`revloops schema`: the JSON Schemas editors use accept the example org's files and refuse a bad one."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from revloops.config import layout
from revloops.interfaces.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemas")
    result = CliRunner().invoke(app, ["schema", "--config", str(EXAMPLE), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("spec", layout.FILES, ids=lambda s: s.key)
def test_every_example_file_validates_against_its_schema(schemas: Path, spec: layout.ConfigFileSpec) -> None:
    schema = json.loads((schemas / f"{spec.key}.schema.json").read_text())
    files = sorted(EXAMPLE.glob(spec.pattern))
    assert files, f"the example org has no {spec.pattern}"
    for path in files:
        # an editor sees dates as the strings they are written as
        data = json.loads(json.dumps(YAML(typ="safe").load(path.read_text()), default=str))
        jsonschema.validate(data, schema)


def test_a_schema_refuses_an_unknown_key(schemas: Path) -> None:
    schema = json.loads((schemas / "coach_metrics.schema.json").read_text())
    data = YAML(typ="safe").load((EXAMPLE / "coach" / "metrics.yaml").read_text())
    data["sla"]["first_touch_minutes"] = 5
    with pytest.raises(jsonschema.ValidationError, match="first_touch_minutes"):
        jsonschema.validate(data, schema)
