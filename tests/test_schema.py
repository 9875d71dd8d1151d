"""The schema declaration: complete labels and help, and the exported JSON Schema in sync."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from hyoka.jsonschema import SCHEMA_PATH, schema_text, sheet_schema
from hyoka.load import find_content, load_source
from hyoka.schema import CONFIG, SHEET, walk

from .conftest import ROOT


@pytest.mark.parametrize("decl", [SHEET, CONFIG], ids=["sheet", "config"])
def test_every_field_has_label_and_help(decl) -> None:
    for path, f in walk(decl):
        assert f.label.strip(), f"{path}: 和名 (label) missing"
        assert f.help.strip() and f.help.endswith(("。", "）", ")")), f"{path}: help missing or unfinished"
        assert not any("\u3040" <= ch <= "\u9fff" for ch in f.key), f"{path}: key must be English"


def test_choice_fields_name_their_list(config) -> None:
    for path, f in walk(SHEET):
        if f.kind == "choice":
            assert f.choices, path


def test_committed_json_schema_is_current(config) -> None:
    committed = (ROOT / SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == schema_text(config), "run: python build.py schema"


def test_committed_field_reference_is_current(config) -> None:
    from hyoka.docs import FIELDS_PATH, fields_markdown
    assert (ROOT / FIELDS_PATH).read_text(encoding="utf-8") == fields_markdown(config), "run: python build.py schema"


def test_json_schema_is_valid_and_accepts_committed_content(config) -> None:
    schema = sheet_schema(config)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    files = find_content(config.content_dir)
    assert files
    for path in files:
        src, problems = load_source(path, path.name)
        assert problems == []
        assert src is not None
        # YAML year keys are integers; JSON object keys are strings, as the editor sees them.
        doc = json.loads(json.dumps(src.data, default=str))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], f"{path.name}: {errors}"


def test_json_schema_rejects_what_validation_rejects(config) -> None:
    validator = jsonschema.Draft7Validator(sheet_schema(config))
    bad = {"id": "X Y", "evaluation_year": 2025, "results_year": 2024, "title": "t",
           "organization": {"bureau": "b", "division": "d"}, "sdgs": [18],
           "costs": {"2024": {"kind": "見込", "total": -1}}, "titel": "typo"}
    messages = " ".join(e.message for e in validator.iter_errors(bad))
    for needle in ("X Y", "18", "見込", "-1", "titel"):
        assert needle in messages


def test_schema_file_is_json(config) -> None:
    data = json.loads(Path(ROOT / SCHEMA_PATH).read_text(encoding="utf-8"))
    assert data["properties"]["evaluation"]["properties"]["direction"]["properties"]["rating"]["enum"][0] == "拡充"
