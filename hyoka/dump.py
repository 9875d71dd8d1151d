"""Write one sheet (front matter + Markdown body) as the text of a content file."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import yaml

from .schema import SHEET

SCHEMA_COMMENT = "# yaml-language-server: $schema=../../schema/sheet.schema.json"

# Top-level keys in the schema's order (the order people read a sheet); unknown keys follow.
KEY_ORDER: tuple[str, ...] = tuple(f.key for f in SHEET.fields)

# Staff counts read as 「0.40人」 on the paper sheet, so they keep two decimals.
_TWO_DECIMAL_KEYS = frozenset({"staff_regular", "staff_nonregular"})

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A plain scalar may not start with these (YAML indicators, quotes, comment, directive).
_BAD_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_BREAKERS = frozenset(",[]{}")


def dump_sheet(data: Mapping[str, Any], body: str) -> str:
    """The content file text: `---`, schema comment, block YAML, `---`, blank line, body."""
    keys = [k for k in KEY_ORDER if k in data] + [k for k in data if k not in KEY_ORDER]
    lines = ["---", SCHEMA_COMMENT]
    for key in keys:
        lines += _entry(key, data[key], 0)
    lines.append("---")
    text = "\n".join(lines) + "\n"
    body = body.strip("\n")
    if body:
        text += "\n" + body + "\n"
    return text


def _entry(key: Any, value: Any, indent: int) -> list[str]:
    """Lines for `key: value` at `indent`, recursing into block collections."""
    head = " " * indent + _key(key) + ":"
    if isinstance(value, Mapping):
        if not value:
            return [head + " {}"]
        if all(_is_scalar(v) for v in value.values()):
            return [head + " " + _flow_mapping(value)]
        lines = [head]
        for k, v in value.items():
            lines += _entry(k, v, indent + 2)
        return lines
    if isinstance(value, list | tuple):
        if not value:
            return [head + " []"]
        if all(_is_scalar(v) for v in value):
            return [head + " [" + ", ".join(_scalar(v, flow=True) for v in value) + "]"]
        lines = [head]
        for item in value:
            lines += _sequence_item(item, indent + 2)
        return lines
    return [head + " " + _scalar(value, flow=False, key=key)]


def _sequence_item(item: Any, indent: int) -> list[str]:
    """Lines for one `- item` of a block sequence; a mapping's keys align after the dash."""
    pad = " " * indent
    if isinstance(item, Mapping) and item:
        lines: list[str] = []
        for k, v in item.items():
            lines += _entry(k, v, indent + 2)
        lines[0] = pad + "- " + lines[0][indent + 2:]
        return lines
    if isinstance(item, Mapping):
        return [pad + "- {}"]
    if isinstance(item, list | tuple):
        if all(_is_scalar(v) for v in item):
            return [pad + "- [" + ", ".join(_scalar(v, flow=True) for v in item) + "]"]
        lines = [pad + "-"]
        for sub in item:
            lines += _sequence_item(sub, indent + 2)
        return lines
    return [pad + "- " + _scalar(item, flow=False)]


def _flow_mapping(value: Mapping[Any, Any]) -> str:
    """`{k: v, k: v}` on one line."""
    parts = [f"{_key(k)}: {_scalar(v, flow=True, key=k)}" for k, v in value.items()]
    return "{" + ", ".join(parts) + "}"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _key(key: Any) -> str:
    if isinstance(key, bool) or not isinstance(key, str):
        return _scalar(key, flow=True)
    return _string(key, flow=True)


def _scalar(value: Any, *, flow: bool, key: Any = None) -> str:
    """One scalar as YAML text that loads back to the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if key in _TWO_DECIMAL_KEYS and math.isfinite(value) and round(value, 2) == value:
            return f"{value:.2f}"
        return _float(value)
    if isinstance(value, str):
        return _string(value, flow=flow)
    raise TypeError(f"cannot write {type(value).__name__} as a sheet value")


def _float(value: float) -> str:
    text = repr(value)
    if all(c in "0123456789.-" for c in text) and "." in text:
        return text
    # Exponents and inf/nan: PyYAML's own spelling is the one its loader reads back.
    return yaml.safe_dump(value).split("\n", 1)[0]


def _string(text: str, *, flow: bool) -> str:
    """Plain when YAML reads it back unchanged, otherwise double-quoted."""
    return text if _plain_ok(text, flow=flow) else _double_quoted(text)


def _plain_ok(text: str, *, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _BAD_FIRST:
        return False
    if any(c in text for c in "\n\r\t") or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(c in text for c in _FLOW_BREAKERS):
        return False
    # The final word belongs to the loader: "null", "2024", "yes", "0.40" must stay strings.
    probe = f"{{k: {text}}}" if flow else f"k: {text}"
    try:
        return yaml.load(probe, Loader=_Loader) == {"k": text}
    except yaml.YAMLError:
        return False


def _double_quoted(text: str) -> str:
    out = yaml.dump(text, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True,
                    width=float("inf"))
    return out.rstrip("\n").removesuffix("\n...")
