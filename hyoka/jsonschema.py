"""Export the schema declaration as a JSON Schema for editors (YAML language server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import SiteConfig
from .schema import SHEET, SLUG_PATTERN, YEAR_MAX, YEAR_MIN, Field
from .validate import BUILTIN_CHOICES

SCHEMA_PATH = Path("schema") / "sheet.schema.json"
YEAR_KEY = r"^(19|20|21)[0-9]{2}$"


def _describe(f: Field) -> str:
    text = f"{f.label}: {f.help}"
    return f"{text}（単位: {f.unit}）" if f.unit else text


def field_schema(f: Field, config: SiteConfig) -> dict[str, Any]:
    """JSON Schema for one field (null allowed where the field is optional)."""
    s: dict[str, Any]
    if f.kind == "object":
        s = {"type": "object", "additionalProperties": False,
             "properties": {sub.key: field_schema(sub, config) for sub in f.fields}}
        required = [sub.key for sub in f.fields if sub.required]
        if required:
            s["required"] = required
    elif f.kind == "year_map":
        item = Field(f.key, f.label, "object", f.help, fields=f.fields)
        s = {"type": "object", "additionalProperties": False,
             "patternProperties": {YEAR_KEY: field_schema(item, config)},
             "propertyNames": {"pattern": YEAR_KEY}}
    elif f.kind == "list":
        inner = (field_schema(Field(f.key, f.label, "object", f.help, fields=f.fields), config)
                 if f.fields else field_schema(f.item, config) if f.item else {})
        s = {"type": "array", "items": inner}
        if f.item is not None and f.item.kind == "int":
            s["uniqueItems"] = True
    elif f.kind == "map":
        s = {"type": "object"}
    elif f.kind in ("str", "text"):
        s = {"type": "string"}
    elif f.kind == "slug":
        s = {"type": "string", "pattern": SLUG_PATTERN}
    elif f.kind == "choice":
        choices = BUILTIN_CHOICES.get(f.choices or "") or config.choice_list(f.choices or "") or ()
        s = {"type": "string", "enum": list(choices)}
    elif f.kind == "int":
        s = {"type": "integer"}
    elif f.kind == "year":
        s = {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX}
    elif f.kind == "number":
        s = {"type": "number"}
    elif f.kind == "bool":
        s = {"type": "boolean"}
    else:  # pragma: no cover
        raise AssertionError(f.kind)
    if f.minimum is not None and f.kind != "year":
        s["minimum"] = f.minimum
    if f.maximum is not None and f.kind != "year":
        s["maximum"] = f.maximum
    if f.max_length:
        s["maxLength"] = f.max_length
    s = {"title": f.label, "description": _describe(f), **s}
    if f.examples:
        s["examples"] = list(f.examples)
    if not f.required and f.kind != "map" and f.key != "sheet":
        s = _nullable(s)
    return s


def _nullable(s: dict[str, Any]) -> dict[str, Any]:
    t = s.get("type")
    if isinstance(t, str):
        s = {**s, "type": [t, "null"]}
        if "enum" in s:
            s["enum"] = [*s["enum"], None]
    return s


def sheet_schema(config: SiteConfig) -> dict[str, Any]:
    """The whole sheet front matter as a JSON Schema document."""
    body = field_schema(SHEET, config)
    return {"$schema": "http://json-schema.org/draft-07/schema#",
            "$id": "https://hyoka.example/schema/sheet.schema.json", **body}


def schema_text(config: SiteConfig) -> str:
    """Stable JSON text (sorted nowhere: declaration order is the order staff read)."""
    return json.dumps(sheet_schema(config), ensure_ascii=False, indent=2) + "\n"


def write_schema(config: SiteConfig, out: Path | None = None) -> Path:
    """Write schema/sheet.schema.json (or `out`)."""
    path = out or config.root / SCHEMA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(config), encoding="utf-8")
    return path
