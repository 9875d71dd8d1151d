"""Open data beside the pages: CSV and JSON downloads, the /data/ page, Atom feed, sitemap, robots.txt.

Everything here is a pure function returning text (or Page objects), so the same input gives
byte-identical files. The CSV columns are derived from hyoka/schema.py: every sheet field has a
column, documented on the /data/ page with its 和名 and help. `read_csv_folder` reads the three
CSV files back into front-matter data for `python build.py import-csv`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import operator
import os
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .cache import Packed, packed
from .charts import achievements
from .collect import Site
from .era import parse_wareki_year, wareki
from .jsonschema import sheet_schema
from .model import Sheet, SiteConfig
from .problems import Problem, ProblemsFound
from .render import Page, PageJob, href
from .schema import SDG_NAMES, SHEET, YEAR_MAX, YEAR_MIN, Field, walk
from .validate import BUILTIN_CHOICES

DATA_DIR = "data/"
DATA_PAGE = "data/index.html"
SHEET_JSON = "sheet.json"  # beside each sheet page: sheets/<id>/<year>/sheet.json
ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
BOM = "\ufeff"
# Derived cells (和暦, labels, achievement) that import-csv ignores: they are computed from the others.
ACHIEVEMENT_LABELS = {"achieved": "達成", "not_achieved": "未達成", "no_actual": "実績なし",
                      "no_target": "目標なし"}
_SITE_CONFIG_NOTE = re.compile(r"（[^（）]*site_config\.yaml[^（）]*）")
_INT_RE = re.compile(r"^-?\d+$")
_FLOAT_RE = re.compile(r"^-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?$")


# ---------------------------------------------------------------------------------------------
# columns


@dataclass(frozen=True)
class Column:
    """One CSV column: header, 和名, 説明 and how its cells are read."""

    name: str
    label: str
    help: str
    kind: str  # a schema Kind, or "flag" (1/0) and "label" (text computed from other cells)
    unit: str | None = None
    derived: bool = False  # computed from other columns; import-csv does not read it
    field: Field | None = None  # the schema field a cell is parsed as

    @property
    def type_text(self) -> str:
        """型・単位 as the /data/ page shows it."""
        text = {
            "year": "整数（西暦の年度）", "int": "整数", "number": "数値", "bool": "true / false",
            "flag": "1 / 0", "slug": "文字列（半角英小文字・数字・-）", "choice": "文字列（選択肢）",
            "text": "文字列（改行を含むことがあります）", "markdown": "文字列（Markdown、改行を含みます）",
        }.get(self.kind, "文字列")
        return f"{text}、単位: {self.unit}" if self.unit else text


@dataclass(frozen=True)
class Table:
    """One CSV file and its columns."""

    name: str  # file name under data/
    title: str
    description: str
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        """The first row of the file."""
        return [c.name for c in self.columns]


def _help(f: Field, config: SiteConfig) -> str:
    """A field's help for readers of the data: choices spelled out, no editor instructions."""
    # "null" is how a content file writes an empty value; in a CSV cell it is simply empty.
    text = _SITE_CONFIG_NOTE.sub("", f.help).replace("は null（", "はデータなし（")
    if f.kind == "choice" and f.choices and f.choices != "indicator_kind":  # that help names both values
        allowed = BUILTIN_CHOICES.get(f.choices) or config.choice_list(f.choices) or ()
        if allowed:
            text += f"値: {'、'.join(allowed)}。"
    if f.key == "personnel":
        text += f"人件費単価は{config.personnel_unit_cost:,}千円。"
    return text


def _column(name: str, f: Field, config: SiteConfig, label: str | None = None) -> Column:
    return Column(name, label or f.label, _help(f, config), f.kind, f.unit, field=f)


def _wareki_column(name: str, of: str) -> Column:
    return Column(f"{name}_wareki", f"{of}（和暦）", f"{of}の和暦表記（例: 令和6年度）。参考のための列です。",
                  "label", derived=True)


def _sheet_key_columns(config: SiteConfig) -> list[Column]:
    """id and evaluation_year: together they name one sheet (and its page) in every file."""
    id_f, year_f = SHEET.child("id"), SHEET.child("evaluation_year")
    assert id_f is not None and year_f is not None
    return [_column("id", id_f, config), _column("evaluation_year", year_f, config)]


def _title_column() -> Column:
    return Column("title", "事務事業名", "事務事業の名称（sheets.csv と同じ。参考のための列です）。", "label",
                  derived=True)


def sheet_table(config: SiteConfig) -> Table:
    """sheets.csv: one row per sheet, one column per field (indicators and costs aside)."""
    labels: dict[str, str] = {}
    columns: list[Column] = []
    for path, f in walk(SHEET):
        top = path.split(".")[0].split("[")[0]
        if top in ("indicators", "costs"):
            continue
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        # 「担当組織・部局」「今後の必要性・評価」: the evaluation group itself adds nothing.
        label = f"{labels[parent]}・{f.label}" if parent in labels and parent != "evaluation" else f.label
        labels[path] = label
        if f.kind == "object":
            continue
        if path == "sdgs":
            columns += [Column(f"sdgs.{n}", f"SDGs目標・ゴール{n}（{name}）",
                               f"1: ゴール{n}に関連する、0: 関連しない。SDGs目標が書かれていないシートは空欄。",
                               "flag") for n, name in SDG_NAMES.items()]
            continue
        column = _column(path, f, config, label)
        if f.kind == "year":
            columns += [replace(column, help=column.help + "和暦は隣の列にあります。"),
                        _wareki_column(path, f.label)]
        else:
            columns.append(column)
    columns.append(Column("body", "本文", "シートの本文（Markdown）: 現状の課題、今後の取組み。", "markdown"))
    columns.append(Column("url", "ページのURL", "このシートのページのURL（事業ID と評価年度から決まり、変わりません）。",
                          "label", derived=True))
    return Table("sheets.csv", "事務事業評価シート", "1行が1つのシート（1事業・1評価年度）です。", tuple(columns))


def indicator_table(config: SiteConfig) -> Table:
    """indicators.csv: one row per indicator × fiscal year."""
    ind = SHEET.child("indicators")
    assert ind is not None
    f = {sub.key: sub for sub in ind.fields}
    values = f["values"]
    target, actual = values.child("target"), values.child("actual")
    assert target is not None and actual is not None
    columns = [
        *_sheet_key_columns(config), _title_column(),
        Column("indicator_no", "指標の番号", "シートの中での指標の順番（1から）。同じ指標の年度ごとの行は同じ番号です。",
               "int"),
        _column("kind", f["kind"], config),
        Column("kind_label", "指標の種類（和名）", "活動指標または成果指標（参考のための列です）。", "label",
               derived=True),
        _column("name", f["name"], config),
        _column("description", f["description"], config, "指標の説明"),
        _column("unit", f["unit"], config),
        _column("lower_is_better", f["lower_is_better"], config),
        Column("fiscal_year", "年度", "目標・実績の年度（西暦）。年度ごとの値がない指標は空欄の1行です。和暦は隣の列にあります。",
               "year"),
        _wareki_column("fiscal_year", "年度"),
        _column("target", target, config),
        _column("actual", actual, config),
        Column("achievement", "達成状況",
               "実績と目標の比較: 達成・未達成・実績なし・目標なし。少ないほど良い指標は、実績が目標以下で達成です"
               "（参考のための列です）。", "label", derived=True),
    ]
    return Table("indicators.csv", "指標", "1行が1つの指標の1年度分（目標と実績）です。", tuple(columns))


def cost_table(config: SiteConfig) -> Table:
    """costs.csv: one row per sheet × fiscal year (each year has one kind: 決算・予算・予定)."""
    costs = SHEET.child("costs")
    assert costs is not None
    columns = [
        *_sheet_key_columns(config), _title_column(),
        Column("fiscal_year", "年度", "事業費の年度（西暦）。和暦は隣の列にあります。", "year"),
        _wareki_column("fiscal_year", "年度"),
        *(_column(sub.key, sub, config) for sub in costs.fields),
    ]
    return Table("costs.csv", "事業費", "1行が1つのシートの1年度分の事業費と職員数です（区分: 決算・予算・予定）。",
                 tuple(columns))


def tables(config: SiteConfig) -> tuple[Table, Table, Table]:
    """The three CSV files, in the order the /data/ page lists them."""
    return sheet_table(config), indicator_table(config), cost_table(config)


# ---------------------------------------------------------------------------------------------
# writing


def cell(value: Any) -> str:
    """One value as CSV text; None (no data) is an empty cell, never 0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return str(value)


def csv_text(table: Table, rows: Iterable[dict[str, Any]]) -> str:
    """UTF-8 text with a BOM and CRLF line ends, so Excel on Japanese Windows opens it correctly."""
    return BOM + csv_lines(table, None) + csv_lines(table, rows)


def csv_lines(table: Table, rows: Iterable[dict[str, Any]] | None) -> str:
    """CSV lines (CRLF) of `rows`, or the header line when rows is None."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    if rows is None:
        writer.writerow(table.header)
    else:
        # The csv module writes None as an empty cell, a str as it is and other values as
        # str() (repr() for a float): what `cell` gives, but for a bool (true/false).
        names = [c.name for c in table.columns]
        writer.writerows([value if value.__class__ is not bool else cell(value) for value in map(row.get, names)]
                         for row in rows)
    return buf.getvalue()


def _ordered(sheets: Iterable[Sheet]) -> list[Sheet]:
    """Program id, then evaluation year: one program's history stays together."""
    return sorted(sheets, key=lambda s: (s.id, s.evaluation_year))


# A sheet's lines of the three CSV files are the lines csv_lines writes, put together from runs of
# cells: each run is written by a csv.writer of the same dialect (its text without the line end)
# and a line is its runs joined by ",". The csv module quotes each cell on its own (QUOTE_MINIMAL),
# so the joined line is the one it would write, as long as each run has two cells or more (a
# record of one empty cell is the one it writes differently: as ""). The cells that repeat are
# written once: every line of indicators.csv and costs.csv starts with the sheet's id, evaluation
# year and title, an indicator's own cells repeat on each of its years' lines, and a year and its
# 和暦 are the same on every sheet. tests/test_opendata.py holds the lines equal to csv_lines of
# rows built cell by cell.

_Runs = Callable[[Iterable[list[Any]]], list[str]]  # lists of cells → their runs
_Getter = Callable[[Sheet, str], Any]  # one sheets.csv cell of a sheet, given the URL's base
_SHEET_GETTERS: dict[int, tuple[Table, tuple[_Getter, ...]]] = {}  # by id(table), the Table kept with them
_YEAR_RUNS: dict[int, str] = {}  # fiscal_year and fiscal_year_wareki, by year
_COST_KEYS = tuple(sub.key for sub in SHEET.child("costs").fields)  # type: ignore[union-attr]


def _run_writer() -> _Runs:
    """A function writing each list of cells as csv_lines would, without the line end."""
    written: list[str] = []
    writer = csv.writer(SimpleNamespace(write=written.append), lineterminator="\r\n")

    def runs(rows: Iterable[list[Any]]) -> list[str]:
        texts = []
        for cells in rows:
            if bool in map(type, cells):  # a bool as `cell` writes it (true / false), not as the csv module does
                cells = [cell(v) if v.__class__ is bool else v for v in cells]
            writer.writerow(cells)
            texts.append("".join(written)[:-2])
            written.clear()
        return texts

    return runs


def _path_getter(path: str) -> _Getter:
    """The value at a dotted path of a sheet's front matter; None where a part is missing."""
    parts = path.split(".")
    if len(parts) == 1:
        return lambda s, base: s.data.get(path)
    if len(parts) == 2:  # organization.bureau: what the loop below does, in one expression
        outer, inner = parts
        return lambda s, base: node.get(inner) if isinstance(node := s.data.get(outer), dict) else None

    def get(s: Sheet, base: str) -> Any:
        node: Any = s.data
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    return get


def _sheet_getter(c: Column) -> _Getter:
    """How a sheets.csv column reads its cell from a sheet."""
    if c.kind == "flag":
        goal = int(c.name.split(".")[1])
        return lambda s, base: None if (goals := s.data.get("sdgs")) is None else int(goal in goals)
    if c.name.endswith("_wareki"):
        year = _path_getter(c.name.removesuffix("_wareki"))
        return lambda s, base: wareki(year(s, base))
    if c.name == "body":
        return lambda s, base: s.body.strip("\n")
    if c.name == "url":
        return lambda s, base: base + href(s.url)
    return _path_getter(c.name)


def _sheet_getters(table: Table) -> tuple[_Getter, ...]:
    """The cell getters of sheets.csv, worked out once per Table (by column name, every sheet's
    lookups cost more than its cells)."""
    known = _SHEET_GETTERS.get(id(table))
    if known is not None and known[0] is table:
        return known[1]
    if len(_SHEET_GETTERS) > 16:
        _SHEET_GETTERS.clear()
    getters = tuple(_sheet_getter(c) for c in table.columns)
    _SHEET_GETTERS[id(table)] = (table, getters)
    return getters


def sheet_line(table: Table, sheet: Sheet, base_url: str | None, runs: _Runs) -> str:
    """The sheet's line of sheets.csv."""
    base = base_url or ""
    return runs([[get(sheet, base) for get in _sheet_getters(table)]])[0] + "\r\n"


def _year_run(runs: _Runs, year: int) -> str:
    """The cells fiscal_year and fiscal_year_wareki of `year`."""
    text = _YEAR_RUNS.get(year) if year.__class__ is int else None  # True would find 1's
    if text is None:
        text = runs([[year, wareki(year)]])[0]
        if year.__class__ is int and len(_YEAR_RUNS) < 1000:
            _YEAR_RUNS[year] = text
    return text


def indicator_lines(sheet: Sheet, runs: _Runs, key: str) -> list[str]:
    """The sheet's lines of indicators.csv (an indicator without yearly values still gets one);
    `key` is the run of its id, evaluation_year and title."""
    indicators = list(zip(sheet.indicators, sheet.data.get("indicators") or [], strict=True))
    owns = runs([no, ind.kind, ind.kind_label, ind.name, ind.description, ind.unit, raw.get("lower_is_better")]
                for no, (ind, raw) in enumerate(indicators, 1))
    lines = []
    for (ind, _raw), own in zip(indicators, owns, strict=True):
        if not ind.values:
            lines.append(f"{key},{own},,,,,\r\n")
        states = achievements(ind)  # ind.achievement of each year, worked out at once
        values = runs([v.target, v.actual, ACHIEVEMENT_LABELS[states[v.year]]] for v in ind.values)
        lines += [f"{key},{own},{_year_run(runs, v.year)},{text}\r\n"
                  for v, text in zip(ind.values, values, strict=True)]
    return lines


def cost_lines(sheet: Sheet, runs: _Runs, key: str) -> list[str]:
    """The sheet's lines of costs.csv; `key` is the run of its id, evaluation_year and title."""
    costs = (sheet.data.get("costs") or {}).items()
    values = runs([col.get(k) for k in _COST_KEYS] for _year, col in costs)
    return [f"{key},{_year_run(runs, year)},{text}\r\n"
            for (year, _col), text in zip(costs, values, strict=True)]


def json_text(value: Any) -> str:
    """Stable, readable JSON (key order is the schema's, the order people read a sheet).

    The same text as json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False) + "\n",
    written by `_json` (json.dumps with indent is its pure-Python encoder: several times slower,
    10,000 sheet.json files took seconds); anything `_json` does not know goes to json.dumps.
    """
    out: list[str] = []
    try:
        _json(value, "\n", out)
    except _NotPlain:
        return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    out.append("\n")
    return "".join(out)


class _NotPlain(Exception):
    """A value _json leaves to json.dumps (an odd key, a NaN, an unknown type)."""


def _json(value: Any, newline: str, out: list[str]) -> None:
    """Append `value` as indented JSON; `newline` is a line break plus the current indent."""
    if isinstance(value, str):
        out.append(_json_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif type(value) is int:
        out.append(int.__repr__(value))
    elif type(value) is float:
        if not math.isfinite(value):
            raise _NotPlain
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep, comma = "{" + inner, "," + inner
        for key, item in value.items():
            name = _JSON_KEYS.get(key) if type(key) in _KEY_TYPES else None  # True would find 1's
            if name is None:
                name = _json_key(key)
            kind = type(item)
            if kind is str:  # most values: written here, without a call per value
                out.append(f"{sep}{name}{_json_string(item)}")
            elif item is None:
                out.append(f"{sep}{name}null")
            elif kind is int:
                out.append(f"{sep}{name}{int.__repr__(item)}")
            elif kind is float and math.isfinite(item):
                out.append(f"{sep}{name}{float.__repr__(item)}")
            elif kind is bool:
                out.append(f"{sep}{name}{'true' if item else 'false'}")
            else:
                out.append(sep + name)
                _json(item, inner, out)
            sep = comma
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        sep, comma = "[" + inner, "," + inner
        for item in value:
            kind = type(item)
            if kind is int:  # SDGs goals
                out.append(sep + int.__repr__(item))
            elif kind is str:
                out.append(sep + _json_string(item))
            else:
                out.append(sep)
                _json(item, inner, out)
            sep = comma
        out.append(newline + "]")
    else:
        raise _NotPlain


_json_string = json.encoder.encode_basestring  # the C encoder for strings (ensure_ascii=False)
_JSON_KEYS: dict[str | int, str] = {}  # '"key": ' by key: a sheet's keys are the schema's and years
_KEY_TYPES = (str, int)


def _json_key(key: Any) -> str:
    """A mapping's key and the colon after it, as json.dumps writes them (int keys as strings, too)."""
    if isinstance(key, str):
        name = _json_string(key) + ": "
    elif type(key) is int:
        name = _json_string(int.__repr__(key)) + ": "
    else:
        raise _NotPlain
    if type(key) in _KEY_TYPES and len(_JSON_KEYS) < 10_000:
        _JSON_KEYS[key] = name
    return name


def sheet_json(sheet: Sheet) -> str:
    """A sheet's sheet.json: the front matter's keys and values (year keys become strings), plus
    `body` (Markdown)."""
    return json_text({**sheet.data, "body": sheet.body.strip("\n")})


def json_item(text: str) -> str:
    """An element's json_text as it reads inside an array.

    Nesting a value one level deeper indents each of its lines by two spaces; JSON strings hold
    no raw line breaks, so every line break in an element's text is one of its own lines.
    """
    return "  " + text.rstrip("\n").replace("\n", "\n  ")


def json_array_of_items(items: Sequence[str]) -> str:
    """json_text of a list from its json_item texts."""
    if not items:
        return "[]\n"
    return "[\n" + ",\n".join(items) + "\n]\n"


def published_schema(config: SiteConfig) -> dict[str, Any]:
    """The editors' JSON Schema of the front matter, extended with `body`: it validates sheet.json."""
    schema = sheet_schema(config)
    base = site_url(config)
    if base:
        schema["$id"] = f"{base}{DATA_DIR}sheet.schema.json"
    else:
        schema.pop("$id", None)  # the editors' placeholder host is no address of this site
    schema["title"] = "事務事業評価シート（JSON）"
    schema["properties"] = {**schema["properties"],
                            "body": {"title": "本文", "description": "本文（Markdown）: 現状の課題、今後の取組み。",
                                     "type": "string"}}
    schema["required"] = [*schema.get("required", []), "body"]
    return schema


# ---------------------------------------------------------------------------------------------
# feed, sitemap, robots.txt


def site_url(config: SiteConfig) -> str | None:
    """base_url ending in "/", or None when the site's address is not configured."""
    base = (config.base_url or "").strip()
    return base.rstrip("/") + "/" if base else None


def page_url(path: str) -> str:
    """Site-relative URL of an output file: "x/index.html" → "x/", "index.html" → ""."""
    return path[: -len("index.html")] if path == "index.html" or path.endswith("/index.html") else path


def _entry_date(year: int) -> str:
    """An entry's date, from the data alone: 1 April (JST) of its evaluation year, the fiscal year's start."""
    return f"{year:04d}-04-01T00:00:00+09:00"


def build_time() -> str | None:
    """SOURCE_DATE_EPOCH as an RFC 3339 date, when set (reproducible builds say when they were made)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch.isdigit():
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: str) -> str:
    """XML character data (what ElementTree escapes)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    """An XML attribute value in double quotes (what ElementTree escapes)."""
    return (_text(value).replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
            .replace("\t", "&#09;"))


def _element(name: str, text: str, indent: str) -> str:
    return f"{indent}<{name}>{_text(text)}</{name}>\n" if text else f"{indent}<{name} />\n"


def _empty(name: str, indent: str, **attrs: str) -> str:
    return f"{indent}<{name} " + " ".join(f'{k}="{_attr(v)}"' for k, v in attrs.items()) + " />\n"


XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def atom_feed(site: Site, base: str, *, encoded: bool = False) -> Any:
    """Atom 1.0: one entry per sheet, newest evaluation year first; ids are the permanent page URLs.

    Written as text (an ElementTree of every entry cost seconds at 10,000 sheets), indented two
    spaces per level as ElementTree.indent would; as UTF-8 bytes with `encoded` (the build: its
    cache keeps the entries so, and it writes 5 MB at 10,000 sheets).
    """
    cfg = site.config
    out = [XML_DECLARATION, f'<feed xmlns="{ATOM_NS}" xml:lang="ja">\n', _element("id", f"{base}feed.xml", "  "),
           _element("title", cfg.site_title, "  ")]
    if cfg.description:
        out.append(_element("subtitle", cfg.description, "  "))
    out += [_empty("link", "  ", rel="self", type="application/atom+xml", href=f"{base}feed.xml"),
            _empty("link", "  ", rel="alternate", type="text/html", href=base)]
    newest = max((s.evaluation_year for s in site.sheets), default=YEAR_MIN)  # dates sort as their years
    out.append(_element("updated", build_time() or _entry_date(newest), "  "))
    out += ["  <author>\n", _element("name", cfg.contact.get("name") or cfg.city, "    ")]
    if cfg.contact.get("url"):
        out.append(_element("uri", cfg.contact["url"], "    "))
    out.append("  </author>\n")
    if encoded:
        return b"".join([("".join(out)).encode(), *_encoded_entries(site.sheets, base), b"</feed>\n"])
    out += [_feed_entry(s, base, False) for s in site.sheets]
    out.append("</feed>\n")
    return "".join(out)


_FEED_ENTRIES: dict[tuple[str, int, str, str], str] = {}  # made in this process
_FEED_CACHED: Packed = {}  # the build cache's (cache.Packed: by (the site's address,))


def keep_feed_entries(entries: Packed) -> None:
    """The entries of the last build (hyoka/cache.py), kept for this process instead of those of
    the one before."""
    _FEED_CACHED.clear()
    _FEED_CACHED.update(entries)


def feed_entry_count() -> int:
    return len(_FEED_ENTRIES)


def feed_entries_since(count: int) -> list[tuple[tuple[str, int, str, str], str]]:
    """The entries made since the memo held `count` (all of them when it was cleared meanwhile)."""
    if count > len(_FEED_ENTRIES):
        count = 0
    return list(itertools.islice(_FEED_ENTRIES.items(), count, None))


def packed_feed(sheets: set[tuple[str, int, str]]) -> Packed:
    """The entries known here of the sheets with these (id, evaluation year, file hash) keys, in
    the form the build cache keeps."""
    return packed(_FEED_CACHED, _FEED_ENTRIES, sheets)


def _encoded_entries(sheets: Sequence[Sheet], base: str) -> list[bytes]:
    """Each sheet's _feed_entry as UTF-8: after an edit all but a few are the build cache's, taken
    at once (10,000 at 10,000 sheets), not one call each. A sheet without a hash (made in code)
    has none there, as in _feed_entry."""
    cached = _FEED_CACHED.get((base,))
    if not cached:
        return [_feed_entry(s, base, True) for s in sheets]
    blobs = list(map(cached.get, [(s.id, s.evaluation_year, d) if (d := s.source.digest) else None
                                  for s in sheets]))
    if None in blobs:
        blobs = [_feed_entry(s, base, True) if b is None else b for s, b in zip(sheets, blobs, strict=True)]
    return blobs


def _feed_entry(s: Sheet, base: str, encoded: bool) -> Any:
    """One sheet's <entry> (as UTF-8 with `encoded`), kept by its file's hash (serve writes the
    whole feed on every save)."""
    digest = s.source.digest
    key = (s.id, s.evaluation_year, digest, base)
    entry = None
    if digest:  # no hash (a Sheet made in code): no reuse
        cached = _FEED_CACHED.get((base,))
        blob = cached.get(key[:3]) if cached is not None else None
        if blob is not None:  # the build cache's, as UTF-8
            return blob if encoded else blob.decode()
        entry = _FEED_ENTRIES.get(key)
    if entry is None:
        if len(_FEED_ENTRIES) > 100_000:
            _FEED_ENTRIES.clear()
        url = base + href(s.url)
        year = wareki(s.evaluation_year)
        direction = s.direction
        summary = " ".join(p for p in (s.purpose, direction and f"事業の方針: {direction}") if p)
        # The elements whose names and attributes are the same in every entry are written out here
        # (what _empty and _element write; a date has nothing to escape).
        entry = _FEED_ENTRIES[key] = "".join([
            "  <entry>\n", _element("id", url, "    "), _element("title", f"{s.title}（{year}評価）", "    "),
            f'    <link rel="alternate" type="text/html" href="{_attr(url)}" />\n',
            f"    <updated>{_entry_date(s.evaluation_year)}</updated>\n",
            f'    <category term="{_attr(str(s.evaluation_year))}" label="{_attr(f"{year}評価")}" />\n',
            _element("summary", summary or s.title, "    "), "  </entry>\n"])
    return entry.encode() if encoded else entry


def sitemap(paths: Iterable[str], base: str) -> str:
    """sitemaps.org 0.9: every HTML page but 404.html, as absolute URLs (no lastmod: no timestamps)."""
    locs = sorted(p for p in paths if p.endswith(".html") and p != "404.html")
    if not locs:
        return f'{XML_DECLARATION}<urlset xmlns="{SITEMAP_NS}" />\n'
    urls = "".join(f"  <url>\n    <loc>{_text(base + href(page_url(p)))}</loc>\n  </url>\n" for p in locs)
    return f'{XML_DECLARATION}<urlset xmlns="{SITEMAP_NS}">\n{urls}</urlset>\n'


def robots_txt(base: str | None) -> str:
    """Crawlers may read everything; the sitemap's address when the site's address is known."""
    lines = ["User-agent: *", "Disallow:"]
    if base:
        lines += ["", f"Sitemap: {base}sitemap.xml"]
    else:
        lines += ["", "# base_url（site_config.yaml）がないため、sitemap.xml は作っていません。"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# pages


@dataclass(frozen=True)
class Download:
    """A file listed on the /data/ page."""

    path: str
    title: str
    description: str
    rows: int | None
    size: str
    table: Table | None = None


def _size(n: int) -> str:
    """A file's size in bytes as the /data/ page shows it."""
    return f"{n:,}バイト" if n < 1024 else f"{n / 1024:,.1f}KB"


@dataclass(frozen=True)
class DataFiles:
    """The downloads as output files, and what the /data/ page says about them."""

    pages: list[Page]
    downloads: list[Download]


@dataclass(frozen=True)
class SheetData:
    """One sheet's share of the downloads: its sheet.json and its lines of the three CSV files."""

    json: str
    csv: tuple[str, ...]
    rows: tuple[int, ...]  # rows in each CSV file

    # Made when first asked for (a frozen dataclass takes a cached_property: it is kept in the
    # instance's __dict__): a build asks for neither.
    @cached_property
    def item(self) -> str:
        """The JSON as an element of sheets.json (a build takes its bytes from share_bytes instead)."""
        return json_item(self.json)

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        """UTF-8 bytes of each CSV part and of `item` (for the /data/ page that data_files makes)."""
        return tuple(_utf8_len(t) for t in (*self.csv, self.item))


class DataCache:
    """SheetData by sheet and source digest (for serve: an edit encodes only the edited sheet again)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, int, str], SheetData] = {}
        self.config: str = ""


def sheet_data(sheet: Sheet, site_tables: Sequence[Table], base: str | None,
               json: str | None = None) -> SheetData:
    """The CSV lines of one sheet (and its JSON, unless already encoded)."""
    runs = _run_writer()
    key = runs([[sheet.id, sheet.evaluation_year, sheet.title]])[0]  # how indicators.csv and costs.csv lines start
    indicators, costs = indicator_lines(sheet, runs, key), cost_lines(sheet, runs, key)
    lines = (sheet_line(site_tables[0], sheet, base, runs), "".join(indicators), "".join(costs))
    return SheetData(sheet_json(sheet) if json is None else json, lines, (1, len(indicators), len(costs)))


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def data_files(site: Site, *, cache: DataCache | None = None, json_of: Callable[[Sheet], str] | None = None,
               sheet_files: bool = True, deferred: list[Callable[[], list[Page]]] | None = None) -> DataFiles:
    """data/*.csv, data/sheets.json, data/sheet.schema.json and (with `sheet_files`) each sheet.json.

    `json_of` gives a sheet's sheet.json when it was already made (by the build's workers);
    `cache` keeps each sheet's share between calls. With `deferred`, the combined downloads (the
    CSV files and sheets.json: tens of MB for a large site) are not made: a function making them
    is appended to it instead (serve makes them when someone downloads one).
    """
    cfg = site.config
    base = site_url(cfg)
    site_tables = tables(cfg)
    ordered = _ordered(site.sheets)
    if cache is not None and cache.config != repr(cfg):
        cache.entries.clear()
        cache.config = repr(cfg)
    parts: list[SheetData] = []
    for s in ordered:
        key = (s.id, s.evaluation_year, s.source.digest)
        part = cache.entries.get(key) if cache is not None else None
        if part is None:
            part = sheet_data(s, site_tables, base, json_of(s) if json_of is not None else None)
            if cache is not None:
                cache.entries[key] = part
        parts.append(part)
    if cache is not None and len(cache.entries) > len(parts):
        live = {(s.id, s.evaluation_year, s.source.digest) for s in ordered}
        for stale in [k for k in cache.entries if k not in live]:
            del cache.entries[stale]
    def combined_pages() -> list[Page]:
        out = [Page(DATA_DIR + t.name, BOM + csv_lines(t, None) + "".join(p.csv[i] for p in parts))
               for i, t in enumerate(site_tables)]
        return [*out, Page(f"{DATA_DIR}sheets.json", json_array_of_items([p.item for p in parts]))]

    pages: list[Page] = []
    if deferred is None:
        pages += combined_pages()
    else:
        deferred.append(combined_pages)
    sizes: list[int] = []
    for i, table in enumerate(site_tables):
        sizes.append(_utf8_len(BOM + csv_lines(table, None)) + sum(p.sizes[i] for p in parts))
    # "[\n" + items joined by ",\n" + "\n]\n" (or "[]\n")
    sizes.append(sum(p.sizes[-1] for p in parts) + 2 * max(len(parts) - 1, 0) + 5 if parts else 3)
    schema_json = json_text(published_schema(cfg))
    pages.append(Page(f"{DATA_DIR}sheet.schema.json", schema_json))
    sizes.append(_utf8_len(schema_json))
    rows = [sum(p.rows[i] for p in parts) for i in range(len(site_tables))]
    downloads = _downloads(site_tables, sizes, rows, len(parts))
    if sheet_files:
        pages += [Page(f"{s.url}{SHEET_JSON}", p.json) for s, p in zip(ordered, parts, strict=True)]
    return DataFiles(pages, downloads)


def _downloads(site_tables: Sequence[Table], sizes: Sequence[int], rows: Sequence[int], records: int) -> list[Download]:
    """What the /data/ page lists: the CSV files, sheets.json and the schema, with sizes in bytes."""
    return [
        *(Download(DATA_DIR + t.name, f"{t.title}（CSV）", t.description, n, _size(size), t)
          for t, n, size in zip(site_tables, rows, sizes, strict=False)),
        Download(f"{DATA_DIR}sheets.json", "全シート（JSON）",
                 "全シートの配列です。各要素はシートのファイルの項目（キー）と同じで、本文（body）を加えています。",
                 records, _size(sizes[len(site_tables)])),
        Download(f"{DATA_DIR}sheet.schema.json", "JSON Schema",
                 "sheets.json の各要素と、各シートの sheet.json の形式（JSON Schema draft-07）です。", None,
                 _size(sizes[len(site_tables) + 1])),
    ]


# The build writes the combined downloads from each sheet's encoded share, which it may take
# from the previous build's files (byte ranges recorded in the build cache) when unchanged.
ShareBytes = tuple[tuple[bytes | memoryview, ...], tuple[int, ...]]  # (CSV parts + JSON item, CSV rows)


def share_bytes(part: SheetData, json_bytes: bytes | None = None) -> ShareBytes:
    """A sheet's share as UTF-8 bytes: its lines of the three CSV files and its sheets.json item
    (from `json_bytes`, its JSON encoded already, when given).

    The item is json_item done on the bytes: a line break is one byte in UTF-8 and no other
    character's bytes contain it.
    """
    raw = part.json.encode("utf-8") if json_bytes is None else json_bytes
    item = b"  " + raw.rstrip(b"\n").replace(b"\n", b"\n  ")
    return (*(t.encode("utf-8") for t in part.csv), item), part.rows


def combined_paths(config: SiteConfig) -> list[str]:
    """The downloads made of every sheet's share: the CSV files, then sheets.json."""
    return [DATA_DIR + t.name for t in tables(config)] + [f"{DATA_DIR}sheets.json"]


ShareKey = tuple[str, int, str]  # a sheet's (id, evaluation year, file hash): pipeline.share_key


class ShareIndex:
    """Where each sheet's share lies in the combined downloads, for the next build (the build
    cache keeps it): the sheets' keys in the files' order, for each file the start and end of each
    share (arrays: 10,000 sheets × 4 files), and each sheet's CSV row counts and their totals."""

    def __init__(self, keys: list[ShareKey], starts: list[array], ends: list[array],
                 rows: list[tuple[int, ...]], totals: list[int]) -> None:
        self.keys, self.starts, self.ends, self.rows = keys, starts, ends, rows
        self.totals = totals  # the rows of each CSV file: the sums of `rows`
        self._position: dict[ShareKey, int] | None = None
        self._place: dict[tuple[str, int], int] | None = None

    def position(self, key: ShareKey) -> int | None:
        """Where the sheet with this key is in the files' order (None: not in them)."""
        return self.positions().get(key)

    def positions(self) -> dict[ShareKey, int]:
        """Each key's place in the files' order."""
        if self._position is None:
            self._position = {k: j for j, k in enumerate(self.keys)}
        return self._position

    def places(self) -> dict[tuple[str, int], int]:
        """Each (program id, evaluation year)'s place in the files' order."""
        if self._place is None:
            self._place = {k[:2]: j for j, k in enumerate(self.keys)}
        return self._place

    def ranges(self, j: int) -> tuple[tuple[int, int], ...]:
        """The byte ranges of the share at position `j`, one per file."""
        return tuple((starts[j], ends[j]) for starts, ends in zip(self.starts, self.ends, strict=True))

    def __getstate__(self) -> tuple[Any, ...]:
        return self.keys, self.starts, self.ends, self.rows, self.totals

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.keys, self.starts, self.ends, self.rows, self.totals = state
        self._position = self._place = None


def share_keys(site: Site) -> list[ShareKey]:
    """The sheets' keys in the combined downloads' order."""
    return [(s.id, s.evaluation_year, s.source.digest) for s in _ordered(site.sheets)]


def combined_files(site: Site, shares: dict[ShareKey, ShareBytes]
                   ) -> tuple[list[tuple[str, list[Any]]], ShareIndex, list[Download]]:
    """The combined downloads as lists of byte chunks (written one after the other: 100 MB at
    10,000 sheets, not joined), where each sheet's share lies in them (for the next build), and
    the /data/ page's list. The bytes equal `data_files`' texts encoded."""
    cfg = site.config
    site_tables = tables(cfg)
    keys = share_keys(site)
    ordered = [shares[k] for k in keys]
    all_starts: list[array] = []
    all_ends: list[array] = []
    files: list[tuple[str, list[Any]]] = []
    sizes: list[int] = []
    for i, path in enumerate(combined_paths(cfg)):
        is_json = i == len(site_tables)
        if is_json:
            head, sep, tail = (b"[\n", b",\n", b"\n]\n") if ordered else (b"[]\n", b"", b"")
        else:
            head, sep, tail = (BOM + csv_lines(site_tables[i], None)).encode("utf-8"), b"", b""
        pieces = [share[0][i] for share in ordered]
        lengths = list(map(len, pieces))
        step = len(sep)
        # Each piece starts after the head and every piece (and separator) before it.
        starts = array("q", itertools.accumulate([n + step for n in lengths[:-1]], initial=len(head))
                       if pieces else ())
        all_starts.append(starts)
        all_ends.append(array("q", map(operator.add, starts, lengths)))
        if sep and pieces:
            chunks = [head, *itertools.chain.from_iterable(zip(pieces, itertools.repeat(sep)))]
            chunks[-1] = tail  # no separator after the last
        else:
            chunks = [head, *pieces, tail]
        files.append((path, chunks))
        sizes.append((starts[-1] + lengths[-1] if pieces else len(head)) + len(tail))
    files.append(_schema_file(cfg))
    sizes.append(len(files[-1][1][0]))
    rows = [share[1] for share in ordered]
    index = ShareIndex(keys, all_starts, all_ends, rows, _row_totals(rows, len(site_tables)))
    return files, index, _downloads(site_tables, sizes, index.totals, len(ordered))


def spliced_files(site: Site, last: ShareIndex, old: Sequence[Any], shares: dict[ShareKey, ShareBytes]
                  ) -> tuple[list[tuple[str, list[Any]]], ShareIndex, list[Download]] | None:
    """combined_files after an edit, from the last build's files (`old`, as `last` describes
    them): when the sheets are the same (id, evaluation year) ones (so in the same order), and only
    those in `shares` have new shares (each in the place of its last version), each file is the old
    bytes with those pieces put in (chunks of the old files and the new pieces: nothing is cut per
    sheet). None when that is not so. Same bytes and index as combined_files."""
    if len(site.sheets) != len(last.keys) or len(old) != len(last.starts):
        return None
    # The sheets' keys in the files' order: the last ones, with those of the sheets whose file
    # changed put in their places (the order is by id and year, which every sheet kept), without
    # sorting 10,000 sheets again.
    place = last.places()
    if len(place) != len(last.keys):
        return None
    keys = list(last.keys)
    changed = []
    taken = bytearray(len(keys))
    for sheet in site.sheets:
        j = place.get((sheet.id, sheet.evaluation_year))
        if j is None or taken[j]:
            return None
        taken[j] = 1
        if keys[j][2] != sheet.source.digest:
            keys[j] = (sheet.id, sheet.evaluation_year, sheet.source.digest)
            changed.append(j)
    for k in shares:  # a share made again with the same key (its sheet.json was rewritten)
        j = last.position(k)
        if j is not None:
            changed.append(j)
    changed = sorted(set(changed))
    if any(keys[j] not in shares for j in changed):
        return None
    if len(changed) != len(shares):
        return None  # a share that has no place in the old files
    cfg = site.config
    site_tables = tables(cfg)
    files: list[tuple[str, list[Any]]] = []
    sizes: list[int] = []
    all_starts: list[array] = []
    all_ends: list[array] = []
    for i, path in enumerate(combined_paths(cfg)):
        data = memoryview(old[i])
        old_starts, old_ends = last.starts[i], last.ends[i]
        chunks: list[Any] = []
        starts = array("q")
        ends = array("q")
        at = 0  # in the old file: what is written so far
        shift = 0  # how much later the new file has what the old one has from `at` on
        done = 0  # positions whose bounds are made
        for j in changed:
            a, b = old_starts[j], old_ends[j]
            piece = shares[keys[j]][0][i]
            starts.extend(map(shift.__add__, old_starts[done:j]) if shift else old_starts[done:j])
            ends.extend(map(shift.__add__, old_ends[done:j]) if shift else old_ends[done:j])
            chunks += [data[at:a], piece]
            starts.append(a + shift)
            ends.append(a + shift + len(piece))
            shift += len(piece) - (b - a)
            at, done = b, j + 1
        starts.extend(map(shift.__add__, old_starts[done:]) if shift else old_starts[done:])
        ends.extend(map(shift.__add__, old_ends[done:]) if shift else old_ends[done:])
        chunks.append(data[at:])
        files.append((path, [c for c in chunks if len(c)]))
        sizes.append(len(data) + shift)
        all_starts.append(starts)
        all_ends.append(ends)
    files.append(_schema_file(cfg))
    sizes.append(len(files[-1][1][0]))
    rows = list(last.rows)
    totals = list(last.totals)
    for j in changed:
        new = shares[keys[j]][1]
        totals = [t - was + now for t, was, now in zip(totals, rows[j], new, strict=True)]
        rows[j] = new
    index = ShareIndex(keys, all_starts, all_ends, rows, totals)
    return files, index, _downloads(site_tables, sizes, totals, len(keys))


def _schema_file(cfg: SiteConfig) -> tuple[str, list[Any]]:
    return f"{DATA_DIR}sheet.schema.json", [json_text(published_schema(cfg)).encode("utf-8")]


def _row_totals(rows: Sequence[tuple[int, ...]], tables_count: int) -> list[int]:
    return [sum(r[i] for r in rows) for i in range(tables_count)]


def web_paths(site: Site) -> list[str]:
    """The files web_files makes."""
    return (["feed.xml", "sitemap.xml"] if site_url(site.config) else []) + ["robots.txt"]


def data_paths(site: Site) -> list[str]:
    """The files data_files makes besides each sheet.json, and the /data/ page."""
    return [DATA_DIR + t.name for t in tables(site.config)] + [
        f"{DATA_DIR}sheets.json", f"{DATA_DIR}sheet.schema.json", DATA_PAGE]


def data_page_job(site: Site, files: DataFiles) -> PageJob:
    """The /data/ page; it shows every file's size, so any change renders it again (deps None)."""
    example = min(site.sheets, key=lambda s: (s.id, s.evaluation_year)) if site.sheets else None
    return PageJob(DATA_PAGE, "pages/data.html", {"downloads": files.downloads, "example": example,
                                                  "sheet_json": SHEET_JSON,
                                                  "has_feed": site_url(site.config) is not None})


def web_files(site: Site, paths: Iterable[str], *, with_sitemap: bool = True, encoded: bool = False) -> list[Page]:
    """robots.txt, and with base_url the Atom feed and the sitemap of every HTML page in `paths`
    (not with `with_sitemap` False: the build has it already). With `encoded`, the feed's text is
    its UTF-8 bytes (what the build writes)."""
    base = site_url(site.config)
    out = []
    if base:
        out.append(Page("feed.xml", atom_feed(site, base, encoded=encoded)))
        if with_sitemap:
            out.append(Page("sitemap.xml", sitemap(paths, base)))
    out.append(Page("robots.txt", robots_txt(base)))
    return out


# ---------------------------------------------------------------------------------------------
# reading the CSV files back (python build.py import-csv)


@dataclass(frozen=True)
class CsvSheet:
    """One sheet read from the CSV files: front-matter data in the schema's order, and its body."""

    data: dict[str, Any]
    body: str
    line: int  # its row in sheets.csv


@dataclass
class _Reader:
    """Collects problems while reading one CSV file."""

    rel: str
    problems: list[Problem]

    def problem(self, line: int, column: Column | None, message: str, hint: str | None = None) -> None:
        key, label = (column.name, column.label) if column else ("", "CSV")
        self.problems.append(Problem(self.rel, line, key, label, message, hint))


def _read_rows(path: Path, rel: str, table: Table, problems: list[Problem]
               ) -> list[tuple[int, dict[str, str]]]:
    """(first line, cells by column name) for each record; missing or unknown columns are problems."""
    reader = _Reader(rel, problems)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reader.problem(0, None, f"ファイルを読めません（{exc.strerror}）",
                       f"{table.name} を python build.py で作られた data/ フォルダからコピーしてください。")
        return []
    try:
        text = raw.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as exc:
        reader.problem(raw[: exc.start].count(b"\n") + 1, None, "ファイルが UTF-8 ではありません",
                       "Excel では「CSV UTF-8（コンマ区切り）」の形式で保存してください。")
        return []
    rows: list[tuple[int, dict[str, str]]] = []
    csv_reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    by_name = {c.name: c for c in table.columns}
    line = 1
    try:
        for record in csv_reader:
            start, line = line, csv_reader.line_num + 1
            if header is None:
                header = [h.strip() for h in record]
                for name in header:
                    if name not in by_name:
                        reader.problem(start, None, f"知らない列です: {name}",
                                       f"{table.name} の列は /data/ ページの一覧のとおりです。")
                for c in table.columns:
                    if not c.derived and c.name not in header:
                        reader.problem(start, c, "列がありません", f"1行目に「{c.name}」の列を加えてください。")
                if len(set(header)) != len(header):
                    reader.problem(start, None, "同じ名前の列が2つ以上あります")
                continue
            if not any(v.strip() for v in record):
                continue  # blank lines that spreadsheets leave at the end
            if len(record) != len(header):
                reader.problem(start, None, f"列の数が1行目と違います（{len(record)}列、1行目は{len(header)}列）",
                               "セルの中の「,」や改行は、セル全体を \"...\" で囲みます。")
                continue
            rows.append((start, dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        reader.problem(line, None, f"CSV として読めません（{exc}）", "\" の対応を確かめてください。")
    if header is None:
        reader.problem(1, None, "ファイルが空です（1行目に列名が必要です）")
    return rows


def _parse(reader: _Reader, line: int, column: Column, text: str) -> Any:
    """One cell as the schema type its column declares; problems for anything else."""
    f = column.field
    kind = column.kind
    if text == "":
        return f.default if f is not None and f.kind == "bool" else None
    if kind in ("str", "text", "slug", "choice", "markdown"):
        return text
    if kind == "flag":
        if text in ("0", "1"):
            return text == "1"
        reader.problem(line, column, f"1 か 0 ではありません: \"{text}\"", "関連するなら 1、しないなら 0 です。")
        return None
    if kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        reader.problem(line, column, f"true か false ではありません: \"{text}\"")
        return None
    if kind in ("int", "year"):
        if _INT_RE.match(text):
            value = int(text)
            if kind == "year" and not YEAR_MIN <= value <= YEAR_MAX:
                reader.problem(line, column, f"西暦の年度として正しくありません: {value}")
                return None
            return value
        year = parse_wareki_year(text) if kind == "year" else None
        hint = f"西暦の整数で書いてください（{text} → {year}）。" if year else "整数で書いてください。"
        reader.problem(line, column, f"整数ではありません: \"{text}\"", hint)
        return None
    if kind == "number":
        if _INT_RE.match(text):
            return int(text)
        if _FLOAT_RE.match(text) and math.isfinite(float(text)):
            return float(text)
        norm = unicodedata.normalize("NFKC", text).replace(",", "")
        hint = (f"数値はカンマ・全角数字・単位なしで書きます（例: {norm}）。" if _FLOAT_RE.match(norm)
                else "数値だけを書いてください。空欄はデータなしです（0 ではありません）。")
        reader.problem(line, column, f"数値ではありません: \"{text}\"", hint)
        return None
    raise AssertionError(kind)  # pragma: no cover


def _values(reader: _Reader, line: int, table: Table, cells: dict[str, str]) -> dict[str, Any]:
    """Every non-derived column of one record, parsed."""
    return {c.name: _parse(reader, line, c, cells.get(c.name, "")) for c in table.columns if not c.derived}


def _skeleton(f: Field) -> dict[str, Any]:
    """Every key of an object field, nested objects included, as None: the full form of a content file."""
    return {sub.key: _skeleton(sub) if sub.kind == "object" else None for sub in f.fields}


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


def read_csv_folder(folder: Path, config: SiteConfig, rel: Callable[[Path], str] = str
                    ) -> list[CsvSheet]:
    """sheets.csv, indicators.csv and costs.csv → sheets; raise ProblemsFound with every problem at once."""
    sheets_t, indicators_t, costs_t = tables(config)
    problems: list[Problem] = []
    readers = {t.name: _Reader(rel(folder / t.name), problems) for t in (sheets_t, indicators_t, costs_t)}
    sheet_records = _read_rows(folder / sheets_t.name, readers[sheets_t.name].rel, sheets_t, problems)
    ind_records = _read_rows(folder / indicators_t.name, readers[indicators_t.name].rel, indicators_t, problems)
    cost_records = _read_rows(folder / costs_t.name, readers[costs_t.name].rel, costs_t, problems)
    if problems:
        raise ProblemsFound(problems)

    found: dict[tuple[Any, Any], tuple[dict[str, Any], str, int]] = {}
    r = readers[sheets_t.name]
    key_cols = {c.name: c for c in sheets_t.columns}
    for line, cells in sheet_records:
        values = _values(r, line, sheets_t, cells)
        data = _skeleton(SHEET)
        for c in sheets_t.columns:
            if c.derived or c.kind == "flag" or c.name == "body":
                continue
            _set(data, c.name, values[c.name])
        flags = [(int(c.name.split(".")[1]), values[c.name]) for c in sheets_t.columns if c.kind == "flag"]
        # All 17 cells empty: the sheet states no SDGs (null); 0 everywhere: it states none ([]).
        data["sdgs"] = None if all(v is None for _n, v in flags) else [n for n, v in flags if v]
        data["indicators"], data["costs"] = [], {}
        key = (data["id"], data["evaluation_year"])
        if None in key:
            if cells.get("id", "") == "" or cells.get("evaluation_year", "") == "":
                r.problem(line, key_cols["id"], "事業ID（id）と評価年度（evaluation_year）が必要です")
            continue  # an unreadable id or year was reported by _parse
        if key in found:
            r.problem(line, key_cols["id"], f"事業ID「{key[0]}」・評価年度 {key[1]} の行が {found[key][2]}行目にもあります",
                      "1つのシートは1行です。")
            continue
        found[key] = (data, values["body"] or "", line)

    _attach_indicators(readers[indicators_t.name], indicators_t, ind_records, found)
    _attach_costs(readers[costs_t.name], costs_t, cost_records, found)
    if problems:
        raise ProblemsFound(problems)
    return [CsvSheet(data, body, line) for data, body, line in found.values()]


def _sheet_for(reader: _Reader, table: Table, line: int, values: dict[str, Any],
               found: dict[tuple[Any, Any], tuple[dict[str, Any], str, int]]) -> dict[str, Any] | None:
    key = (values["id"], values["evaluation_year"])
    if key in found:
        return found[key][0]
    if None not in key:
        reader.problem(line, table.columns[0], f"sheets.csv にないシートです: {key[0]}（評価年度 {key[1]}）",
                       "id と evaluation_year は sheets.csv の行と同じにします。")
    else:
        reader.problem(line, table.columns[0], "id と evaluation_year が必要です")
    return None


def _attach_indicators(reader: _Reader, table: Table, records: list[tuple[int, dict[str, str]]],
                       found: dict[tuple[Any, Any], tuple[dict[str, Any], str, int]]) -> None:
    """Group indicator rows by sheet and indicator_no; an indicator's own cells must agree across rows."""
    cols = {c.name: c for c in table.columns}
    meta_keys = ("kind", "name", "description", "unit", "lower_is_better")
    seen: dict[tuple[int, int], tuple[dict[str, Any], int]] = {}  # (id(sheet), no) → indicator, line
    per_sheet: dict[int, dict[int, dict[str, Any]]] = {}
    for line, cells in records:
        values = _values(reader, line, table, cells)
        data = _sheet_for(reader, table, line, values, found)
        no = values["indicator_no"]
        if data is None or no is None:
            if no is None and data is not None:
                reader.problem(line, cols["indicator_no"], "指標の番号がありません")
            continue
        ind_key = (id(data), no)
        if ind_key not in seen:
            indicator = {k: values[k] for k in meta_keys}
            indicator["values"] = {}
            seen[ind_key] = (indicator, line)
            per_sheet.setdefault(id(data), {})[no] = indicator
            data["indicators"] = [per_sheet[id(data)][n] for n in sorted(per_sheet[id(data)])]
        indicator, first = seen[ind_key]
        for k in meta_keys:
            if values[k] != indicator[k]:
                reader.problem(line, cols[k], f"指標の番号 {no} の {first}行目と値が違います",
                               "同じ指標の年度ごとの行では、指標の種類・名前・説明・単位・向きを同じにします。")
        year = values["fiscal_year"]
        if year is None:
            if values["target"] is not None or values["actual"] is not None:
                reader.problem(line, cols["fiscal_year"], "目標・実績があるのに年度が空欄です")
            continue
        if year in indicator["values"]:
            reader.problem(line, cols["fiscal_year"], f"指標の番号 {no} の {year}年度の行が2つ以上あります")
            continue
        indicator["values"][year] = {"target": values["target"], "actual": values["actual"]}
        indicator["values"] = dict(sorted(indicator["values"].items()))


def _attach_costs(reader: _Reader, table: Table, records: list[tuple[int, dict[str, str]]],
                  found: dict[tuple[Any, Any], tuple[dict[str, Any], str, int]]) -> None:
    """One row per sheet × fiscal year."""
    cols = {c.name: c for c in table.columns}
    cost_f = SHEET.child("costs")
    assert cost_f is not None
    for line, cells in records:
        values = _values(reader, line, table, cells)
        data = _sheet_for(reader, table, line, values, found)
        year = values["fiscal_year"]
        if data is None:
            continue
        if year is None:
            reader.problem(line, cols["fiscal_year"], "年度がありません")
            continue
        if year in data["costs"]:
            reader.problem(line, cols["fiscal_year"], f"{year}年度の行が2つ以上あります")
            continue
        data["costs"][year] = {sub.key: values[sub.key] for sub in cost_f.fields}
        data["costs"] = dict(sorted(data["costs"].items()))


def content_path(out: Path, data: dict[str, Any]) -> Path:
    """content/<evaluation year>/<id>.md."""
    return out / str(data["evaluation_year"]) / f"{data['id']}.md"


def write_content(sheets: Sequence[CsvSheet], out: Path, *, overwrite: bool,
                  rel: Callable[[Path], str] = str) -> list[Path]:
    """Write every sheet with dump_sheet; refuse (writing nothing) when a file exists and not `overwrite`."""
    from .dump import dump_sheet  # (PyYAML: not imported for a build)
    targets = [(content_path(out, s.data), s) for s in sheets]
    existing = [Problem(rel(path), 0, "", "ファイル", "既にあるため書き出しません",
                        "上書きするには --overwrite を付けてください。")
                for path, _s in targets if path.exists() and not overwrite]
    if existing:
        raise ProblemsFound(existing)
    for path, s in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_sheet(s.data, s.body), encoding="utf-8", newline="\n")
    return [path for path, _s in targets]
