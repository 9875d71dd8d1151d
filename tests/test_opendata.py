"""Open data: every output parsed back (CSV, JSON against its schema, Atom, sitemap), the head meta
for sharing, and the round trip content → CSV → `python build.py import-csv` → the same content."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hyoka import opendata
from hyoka.cli import main
from hyoka.collect import collect
from hyoka.era import wareki
from hyoka.load import find_content, load_source
from hyoka.model import Indicator, IndicatorValue
from hyoka.pipeline import check, load_and_validate, run
from hyoka.render import href, render_site
from hyoka.schema import SHEET, walk

from .conftest import FIXTURES, ROOT, make_project
from .htmltext import PageText

CONTENT = find_content(ROOT / "content")
FIXTURE_CONTENT = find_content(FIXTURES / "site" / "content")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture(scope="module")
def built(tmp_path_factory, config) -> Path:
    """The bundled site, built once (through the real pipeline and writer) into a temp folder."""
    out = tmp_path_factory.mktemp("opendata") / "_site"
    run(replace(config, output_dir=out))
    return out


@pytest.fixture(scope="module")
def content() -> dict[tuple[str, int], dict[str, Any]]:
    """Front matter of every committed sheet, read straight from the files (not via the exporter)."""
    out = {}
    for path in CONTENT:
        src, problems = load_source(path, path.name)
        assert src is not None and problems == []
        out[(src.data["id"], src.data["evaluation_year"])] = {**src.data, "_body": src.body}
    return out


def read_csv(path: Path) -> tuple[str, list[dict[str, str]], list[str]]:
    """(raw text, rows as dicts, header) parsed with the csv module."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 BOM"
    text = raw.decode("utf-8")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header, *rows = list(reader)
    return text, [dict(zip(header, r, strict=True)) for r in rows], header


def number(cell: str) -> int | float | None:
    if cell == "":
        return None
    return int(cell) if re.fullmatch(r"-?\d+", cell) else float(cell)


# -- CSV --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sheets.csv", "indicators.csv", "costs.csv"])
def test_csv_has_bom_crlf_and_one_header_row(built: Path, name: str, config) -> None:
    text, rows, header = read_csv(built / "data" / name)
    table = next(t for t in opendata.tables(config) if t.name == name)
    assert header == table.header
    # Written again with CRLF record ends the text is unchanged: every record ends in CRLF, and a bare
    # LF occurs only inside a quoted cell (the Markdown body).
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([r[h] for h in header] for r in rows)
    assert "\ufeff" + buf.getvalue() == text
    assert text.endswith("\r\n") and "\r\n" in text
    assert len(rows) > 0


def test_csv_headers(built: Path) -> None:
    _t, _r, indicators = read_csv(built / "data" / "indicators.csv")
    assert indicators == ["id", "evaluation_year", "title", "indicator_no", "kind", "kind_label", "name",
                          "description", "unit", "lower_is_better", "fiscal_year", "fiscal_year_wareki",
                          "target", "actual", "achievement"]
    _t, _r, costs = read_csv(built / "data" / "costs.csv")
    assert costs == ["id", "evaluation_year", "title", "fiscal_year", "fiscal_year_wareki", "kind", "total",
                     "operating", "specific_revenue", "staff_regular", "staff_nonregular", "personnel"]
    _t, _r, sheets = read_csv(built / "data" / "sheets.csv")
    assert sheets[:5] == ["id", "evaluation_year", "evaluation_year_wareki", "results_year", "results_year_wareki"]
    assert [h for h in sheets if h.startswith("sdgs.")] == [f"sdgs.{n}" for n in range(1, 18)]
    assert sheets[-2:] == ["body", "url"]


def test_every_sheet_field_has_a_column(config) -> None:
    """Every scalar field of the schema lands in one of the files (objects and lists are spread out)."""
    names = {f"{t.name}:{c.name}" for t in opendata.tables(config) for c in t.columns}
    for path, f in walk(SHEET):
        if f.kind in ("object", "list", "year_map"):
            continue
        if path.startswith("indicators[]."):
            column = "indicators.csv:" + path.split(".")[-1]
        elif path.startswith("costs.<年度>."):
            column = "costs.csv:" + path.split(".")[-1]
        else:
            column = f"sheets.csv:{path}"
        assert column in names, path
    assert {f"sheets.csv:sdgs.{n}" for n in range(1, 18)} <= names
    assert "indicators.csv:target" in names and "indicators.csv:actual" in names
    for t in opendata.tables(config):
        for c in t.columns:
            assert c.label and c.help and c.type_text, (t.name, c.name)


def test_sheets_csv_equals_content(built: Path, content) -> None:
    _t, rows, _h = read_csv(built / "data" / "sheets.csv")
    assert len(rows) == len(content)
    for row in rows:
        data = content[(row["id"], int(row["evaluation_year"]))]
        assert int(row["results_year"]) == data["results_year"]
        assert row["evaluation_year_wareki"] == wareki(data["evaluation_year"])
        assert row["results_year_wareki"] == wareki(data["results_year"])
        for path, f in walk(SHEET):
            if f.kind in ("str", "text", "choice", "slug"):
                if path.startswith(("indicators[]", "costs.")):
                    continue
                value: Any = data
                for part in path.split("."):
                    value = (value or {}).get(part)
                assert row[path] == (value if value is not None else ""), path
        assert [n for n in range(1, 18) if row[f"sdgs.{n}"] == "1"] == sorted(data["sdgs"])
        assert all(row[f"sdgs.{n}"] in ("0", "1") for n in range(1, 18))
        assert row["body"] == data["_body"].strip("\n")
        assert row["url"] == f"https://example.jp/hyoka/sheets/{data['id']}/{data['evaluation_year']}/"


def test_indicators_csv_equals_content(built: Path, content) -> None:
    _t, rows, _h = read_csv(built / "data" / "indicators.csv")
    expected = sum(max(1, len(i.get("values") or {})) for d in content.values() for i in d["indicators"] or [])
    assert len(rows) == expected
    for row in rows:
        data = content[(row["id"], int(row["evaluation_year"]))]
        ind = data["indicators"][int(row["indicator_no"]) - 1]
        assert (row["kind"], row["name"], row["unit"], row["description"]) == (
            ind["kind"], ind["name"], ind["unit"] or "", ind["description"] or "")
        assert row["lower_is_better"] == ("true" if ind["lower_is_better"] else "false")
        year = int(row["fiscal_year"])
        v = ind["values"][year]
        assert number(row["target"]) == v["target"] and number(row["actual"]) == v["actual"], (row["name"], year)
        assert row["fiscal_year_wareki"] == wareki(year)
        model = Indicator(ind["kind"], ind["name"], None, None, ind["lower_is_better"],
                          (IndicatorValue(year, v["target"], v["actual"]),))
        assert row["achievement"] == opendata.ACHIEVEMENT_LABELS[model.achievement(year)]
    # Every value of the content is in the file.
    seen = {(r["id"], int(r["evaluation_year"]), int(r["indicator_no"]), int(r["fiscal_year"])) for r in rows}
    for (id_, ey), d in content.items():
        for no, ind in enumerate(d["indicators"] or [], 1):
            for year in ind["values"] or {}:
                assert (id_, ey, no, year) in seen


def test_costs_csv_equals_content(built: Path, content) -> None:
    _t, rows, _h = read_csv(built / "data" / "costs.csv")
    assert len(rows) == sum(len(d["costs"] or {}) for d in content.values())
    keys = [f.key for f in SHEET.child("costs").fields]  # type: ignore[union-attr]
    for row in rows:
        data = content[(row["id"], int(row["evaluation_year"]))]
        col = data["costs"][int(row["fiscal_year"])]
        assert row["kind"] == col["kind"]
        for key in keys[1:]:
            assert number(row[key]) == col[key], (row["id"], row["fiscal_year"], key)
        assert row["fiscal_year_wareki"] == wareki(int(row["fiscal_year"]))
        assert row["title"] == data["title"]


# -- JSON ---------------------------------------------------------------------------------------------

def _json_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def test_json_validates_against_the_published_schema(built: Path, content) -> None:
    schema = json.loads((built / "data" / "sheet.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    all_sheets = json.loads((built / "data" / "sheets.json").read_text(encoding="utf-8"))
    assert isinstance(all_sheets, list) and len(all_sheets) == len(content)
    for record in all_sheets:
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(record)]
        assert not errors, errors
        one = json.loads((built / "sheets" / record["id"] / str(record["evaluation_year"]) / "sheet.json")
                         .read_text(encoding="utf-8"))
        assert one == record
        data = content[(record["id"], record["evaluation_year"])]
        # The front matter's keys and values exactly (years as string keys), plus the body.
        assert {k: v for k, v in record.items() if k != "body"} == _json_keys(
            {k: v for k, v in data.items() if k != "_body"})
        assert record["body"] == data["_body"].strip("\n")


def test_schema_rejects_what_the_front_matter_rejects(built: Path) -> None:
    schema = json.loads((built / "data" / "sheet.schema.json").read_text(encoding="utf-8"))
    record = json.loads((built / "sheets/smartphone-subsidy/2025/sheet.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid(record)
    assert not validator.is_valid({**record, "costs": {"2024": {"kind": "決算", "total": "2,281"}}})
    assert not validator.is_valid({**record, "unknown": 1})
    assert not validator.is_valid({k: v for k, v in record.items() if k != "body"})
    assert schema["$id"] == "https://example.jp/hyoka/data/sheet.schema.json"


# -- feed, sitemap, robots.txt -----------------------------------------------------------------------

def test_atom_feed(built: Path, content) -> None:
    root = ET.parse(built / "feed.xml").getroot()
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{tag}") or "").strip(), tag
    assert root.findtext(f"{ATOM}author/{ATOM}name")
    assert RFC3339.match(root.findtext(f"{ATOM}updated") or "")
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == "https://example.jp/hyoka/feed.xml"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(content)
    urls = set()
    for e in entries:
        for tag in ("id", "title", "updated"):
            assert (e.findtext(f"{ATOM}{tag}") or "").strip(), tag
        assert RFC3339.match(e.findtext(f"{ATOM}updated") or "")
        link = e.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None and link.get("href") == e.findtext(f"{ATOM}id")
        urls.add(link.get("href"))
    assert urls == {f"https://example.jp/hyoka/sheets/{i}/{y}/" for i, y in content}
    # Newest evaluation year first, and no date that is not in the data.
    years = [int(e.find(f"{ATOM}category").get("term")) for e in entries]  # type: ignore[union-attr]
    assert years == sorted(years, reverse=True)
    assert root.findtext(f"{ATOM}updated") == max(e.findtext(f"{ATOM}updated") for e in entries)


def test_feed_updated_from_source_date_epoch(config, monkeypatch) -> None:
    sheets, _ = load_and_validate(config)
    site = collect(sheets, config)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1760000000")
    root = ET.fromstring(opendata.atom_feed(site, "https://example.jp/hyoka/"))
    assert root.findtext(f"{ATOM}updated") == "2025-10-09T08:53:20Z"


def test_sitemap_lists_every_page(built: Path, content) -> None:
    root = ET.parse(built / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP}urlset"
    locs = [u.findtext(f"{SITEMAP}loc") for u in root.findall(f"{SITEMAP}url")]
    assert len(locs) == len(set(locs))
    pages = sorted(p.relative_to(built).as_posix() for p in built.rglob("*.html")
                   if not p.relative_to(built).as_posix().startswith(("assets/", "pagefind/")))
    expected = {"https://example.jp/hyoka/" + href(opendata.page_url(p)) for p in pages if p != "404.html"}
    assert set(locs) == expected
    for id_, year in content:
        assert f"https://example.jp/hyoka/sheets/{id_}/{year}/" in locs
    assert "https://example.jp/hyoka/data/" in locs


def test_robots_txt_points_at_the_sitemap(built: Path) -> None:
    text = (built / "robots.txt").read_text(encoding="utf-8")
    assert "User-agent: *" in text.splitlines()
    assert "Sitemap: https://example.jp/hyoka/sitemap.xml" in text.splitlines()


# -- pages ----------------------------------------------------------------------------------------------

def _meta(html: str) -> dict[str, str]:
    out = {}
    for m in re.finditer(r'<meta (?:name|property)="([^"]+)" content="([^"]*)">', html):
        out[m.group(1)] = m.group(2)
    for m in re.finditer(r'<link rel="(canonical|alternate)"[^>]* href="([^"]*)">', html):
        out[m.group(1)] = m.group(2)
    return out


def test_sheet_page_head_and_links(built: Path, content) -> None:
    data = content[("smartphone-subsidy", 2025)]
    html = (built / "sheets/smartphone-subsidy/2025/index.html").read_text(encoding="utf-8")
    meta = _meta(html)
    url = "https://example.jp/hyoka/sheets/smartphone-subsidy/2025/"
    assert meta["canonical"] == meta["og:url"] == url
    assert meta["description"] == meta["og:description"] == data["purpose"]
    assert meta["og:title"].startswith("スマートフォン購入補助事務（令和7年度評価）")
    assert (meta["og:type"], meta["og:locale"], meta["twitter:card"]) == ("article", "ja_JP", "summary")
    assert meta["og:site_name"] == "下妻市 事務事業評価"
    assert meta["alternate"] == "../../../feed.xml"
    assert "og:image" not in meta
    assert 'href="../../../sheets/smartphone-subsidy/2025/sheet.json"' in html
    assert 'href="../../../data/"' in html


def test_every_page_links_the_data_page_and_shares_its_own_url(built: Path) -> None:
    for path in sorted(built.rglob("*.html")):
        rel = path.relative_to(built).as_posix()
        if rel.startswith(("assets/", "pagefind/")):
            continue
        html = path.read_text(encoding="utf-8")
        assert "data/\">データ（CSV・JSON）</a>" in html, rel
        meta = _meta(html)
        if rel == "404.html":
            assert "canonical" not in meta and "og:url" not in meta
        else:
            assert meta["canonical"] == "https://example.jp/hyoka/" + href(opendata.page_url(rel)), rel
            assert meta["og:type"] in ("website", "article")


def test_data_page_documents_every_column(built: Path, config) -> None:
    page = PageText((built / "data/index.html").read_text(encoding="utf-8"))
    downloads = next(t for t in page.tables if t.caption == "ダウンロードできるファイル")
    names = [r[0][1] for r in downloads.rows[1:]]
    files = ["data/sheets.csv", "data/indicators.csv", "data/costs.csv", "data/sheets.json",
             "data/sheet.schema.json"]
    assert len(names) == len(files) and all(n.endswith(f) for n, f in zip(names, files, strict=True)), names
    counts = [r[2][1] for r in downloads.rows[1:]]
    assert counts[0] == "12行" and counts[3] == "12件"
    for table in opendata.tables(config):
        t = next(t for t in page.tables if t.caption.startswith(f"{table.name} の列"))
        assert [text for _h, text in t.rows[0]] == ["列名", "和名", "説明", "型・単位"]
        rows = t.rows[1:]
        assert [r[0][1] for r in rows] == table.header
        assert all(r[0][0] for r in rows)  # the column name is the row header (th scope="row")
        for r, c in zip(rows, table.columns, strict=True):
            assert r[1][1].startswith(c.label) and r[2][1] == c.help and r[3][1] == c.type_text


# -- without base_url -----------------------------------------------------------------------------------

def test_without_base_url_no_absolute_urls(tmp_path: Path) -> None:
    files = {f"content/2025/{p.name}": p.read_text(encoding="utf-8") for p in CONTENT[:2]}
    config = make_project(tmp_path, files)
    config = replace(config, base_url=None)
    sheets, _ = load_and_validate(config)
    pages = {p.path: p.text for p in render_site(collect(sheets, config), config.root / "templates")}
    assert "feed.xml" not in pages and "sitemap.xml" not in pages
    assert "Sitemap:" not in pages["robots.txt"]
    for path, text in pages.items():
        if path.endswith(".html"):
            assert 'rel="canonical"' not in text and "og:url" not in text and "feed.xml" not in text, path
            assert 'property="og:title"' in text
    rows = list(csv.DictReader(io.StringIO(pages["data/sheets.csv"].removeprefix("\ufeff"), newline="")))
    assert rows[0]["url"] == f"sheets/{rows[0]['id']}/{rows[0]['evaluation_year']}/"
    assert "$id" not in json.loads(pages["data/sheet.schema.json"])


def test_outputs_are_deterministic(config) -> None:
    sheets, _ = load_and_validate(config)
    first = render_site(collect(sheets, config), config.root / "templates")
    second = render_site(collect(list(reversed(sheets)), config), config.root / "templates")
    assert [(p.path, p.text) for p in first] == [(p.path, p.text) for p in second]


def test_writer_keeps_crlf_and_bom(built: Path) -> None:
    raw = (built / "data" / "costs.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") == raw.count(b"\n")


# -- import-csv: the round trip -------------------------------------------------------------------------

def _round_trip(site_out: Path, config_file: Path, tmp: Path, sources: list[Path], content_root: Path,
                monkeypatch) -> None:
    out = tmp / "imported"
    monkeypatch.chdir(tmp)
    assert main(["-q", "--config", str(config_file), "import-csv", "--from", str(site_out / "data"),
                 "--out", str(out)]) == 0
    written = sorted(p.relative_to(out) for p in out.rglob("*.md"))
    assert written == sorted(p.relative_to(content_root) for p in sources)
    for path in sources:
        again = out / path.relative_to(content_root)
        before, _ = load_source(path, path.name)
        after, _ = load_source(again, again.name)
        assert before is not None and after is not None
        assert after.data == before.data and after.body == before.body, path.name
        # The content is written in the same canonical form, so the files are byte-identical too.
        assert again.read_bytes() == path.read_bytes(), path.name


def test_round_trip_of_all_committed_content(built: Path, tmp_path: Path, monkeypatch) -> None:
    _round_trip(built, ROOT / "site_config.yaml", tmp_path, CONTENT, ROOT / "content", monkeypatch)


def test_round_trip_of_the_two_year_fixture_site(tmp_path: Path, monkeypatch) -> None:
    from .golden import build_fixture_site
    (tmp_path / "build").mkdir()
    out = build_fixture_site(tmp_path / "build")
    _round_trip(out, tmp_path / "build" / "site_config.yaml", tmp_path, FIXTURE_CONTENT,
                FIXTURES / "site" / "content", monkeypatch)


TRICKY = """---
# yaml-language-server: $schema=../../schema/sheet.schema.json
id: tricky
evaluation_year: 2025
results_year: 2024
title: "カンマ, \\"引用符\\" と =SUM(A1) の事業"
organization: {bureau: 市長公室, division: DX推進課, section: null}
plan: {goal: null, basic: null, field: null}
sdgs: []
purpose: "1行目\\n2行目, 続き"
description: "null"
category: null
implementer: "2024"
beneficiaries: "true"
indicators:
  - kind: outcome
    name: 障害件数
    description: null
    unit: null
    lower_is_better: true
    values: {}
  - kind: activity
    name: 小数
    description: "- 先頭がハイフン"
    unit: "%"
    lower_is_better: false
    values:
      2023: {target: 0.1, actual: 1.0e-05}
      2024: {target: 12345678901234, actual: null}
budget_account: {fund: null, kan: null, kou: null, moku: null}
costs:
  2024: {kind: 決算, total: null, operating: 0, specific_revenue: 1.5, staff_regular: 0.25, staff_nonregular: 0.00, personnel: 2050}
evaluation:
  need: {rating: null, comment: "改行\\r\\nと\\tタブ"}
  target_fit: {rating: 適切, comment: null}
  actor_fit: {rating: null, comment: null}
  indicator_result: {rating: null, comment: null}
  cost_reduction: {rating: null, comment: null}
  cost_effectiveness: {rating: null, comment: null}
  means: {rating: null, comment: null}
  direction: {rating: null, comment: null}
---

## 現状の課題

"引用符", カンマ
"""


def test_round_trip_of_awkward_values(project, tmp_path: Path, monkeypatch) -> None:
    """Commas, quotes, newlines, YAML look-alikes, floats, empty lists and indicators without values."""
    config = project({"content/2025/tricky.md": TRICKY})
    out = config.root / "_site"
    run(replace(config, output_dir=out))
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["-q", "import-csv", "--from", str(out / "data"), "--out", str(tmp_path / "again")]) == 0
    before, _ = load_source(config.content_dir / "2025" / "tricky.md", "tricky.md")
    after, _ = load_source(tmp_path / "again" / "2025" / "tricky.md", "tricky.md")
    assert before is not None and after is not None
    assert after.data == before.data and after.body == before.body


# -- import-csv: problems ------------------------------------------------------------------------------

@pytest.fixture
def csv_folder(built: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "csv"
    folder.mkdir()
    for name in ("sheets.csv", "indicators.csv", "costs.csv"):
        (folder / name).write_bytes((built / "data" / name).read_bytes())
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode("utf-8")
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode("utf-8"))


def test_import_csv_reports_problems_and_writes_nothing(csv_folder: Path, tmp_path: Path, capsys) -> None:
    _edit(csv_folder / "costs.csv", ",決算,3552,", ",決算,\"3,552\",")
    _edit(csv_folder / "indicators.csv", "\r\nsmartphone-subsidy,2025,", "\r\nsmartphone-subsidi,2025,")
    _edit(csv_folder / "sheets.csv", "id,evaluation_year,", "id,evaluation_yaer,")
    out = tmp_path / "content"
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(r"csv/sheets\.csv:1: 知らない列です: evaluation_yaer", err), err
    assert re.search(r"csv/sheets\.csv:1: evaluation_year（評価年度）: 列がありません", err), err
    assert not out.exists()

    # With the header fixed, the value problems are found, each at its line.
    _edit(csv_folder / "sheets.csv", "id,evaluation_yaer,", "id,evaluation_year,")
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert re.search(r"csv/costs\.csv:\d+: total（総事業費）: 数値ではありません: \"3,552\"\n  ヒント: 数値はカンマ", err), err
    assert re.search(r"csv/indicators\.csv:\d+: id（事業ID）: sheets\.csv にないシートです: smartphone-subsidi", err), err
    assert "エラー" in err and not out.exists()


def test_import_csv_line_numbers_count_multiline_cells(csv_folder: Path, tmp_path: Path, capsys) -> None:
    text = (csv_folder / "sheets.csv").read_bytes().decode("utf-8")
    record_start = text[: text.index("\r\nwebsite,2025,")].count("\n") + 2  # 1-based line of that record
    _edit(csv_folder / "sheets.csv", "\r\nwebsite,2025,", "\r\nwebsite,令和7年度,")
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert f"sheets.csv:{record_start}: evaluation_year（評価年度）: 整数ではありません: \"令和7年度\"" in err
    assert "ヒント: 西暦の整数で書いてください（令和7年度 → 2025）。" in err


def test_import_csv_refuses_to_overwrite(csv_folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "content"
    assert main(["-q", "import-csv", "--from", str(csv_folder), "--out", str(out)]) == 0
    target = out / "2025" / "website.md"
    target.write_text("手で直した内容", encoding="utf-8")
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "2025/website.md: 既にあるため書き出しません" in err and "--overwrite" in err
    assert target.read_text(encoding="utf-8") == "手で直した内容"  # nothing was written
    assert main(["-q", "import-csv", "--from", str(csv_folder), "--out", str(out), "--overwrite"]) == 0
    assert target.read_text(encoding="utf-8").startswith("---\n")


def test_import_csv_validates_what_it_wrote(csv_folder: Path, tmp_path: Path, capsys) -> None:
    _edit(csv_folder / "sheets.csv", ",継続,", ",継続する,")
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert re.search(r"\d{4}/[a-z-]+\.md:\d+: evaluation\.direction\.rating（評価・事業の方針・評価）: 選択肢にない値です: \"継続する\"", err), err


def test_import_csv_explains_a_shift_jis_file(csv_folder: Path, tmp_path: Path, capsys) -> None:
    path = csv_folder / "costs.csv"
    path.write_bytes(path.read_bytes().decode("utf-8").removeprefix("\ufeff").encode("cp932"))
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "costs.csv:" in err and "ファイルが UTF-8 ではありません" in err and "CSV UTF-8" in err


def test_import_csv_missing_file(csv_folder: Path, tmp_path: Path, capsys) -> None:
    (csv_folder / "costs.csv").unlink()
    assert main(["import-csv", "--from", str(csv_folder), "--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "costs.csv: ファイルを読めません" in err and "Traceback" not in err


def test_csv_lines_write_each_value_as_cell_does() -> None:
    """csv_lines leaves None, numbers and text to the csv module: the same cells as `cell`."""
    from hyoka.opendata import Column, Table, cell, csv_lines

    values = [True, False, None, 0, -3, 10**20, 1.5, 0.1 + 0.2, -0.0, 1e300, 2.0, "", "a,b", 'say "hi"',
              "two\nlines", " lead", "=1+1", "令和7年度"]
    table = Table("t.csv", "t", "t", tuple(Column(f"c{i}", f"c{i}", "text", "") for i in range(len(values))))
    rows = [{f"c{i}": v for i, v in enumerate(values)}, {f"c{i}": v for i, v in enumerate(reversed(values))}, {}]
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([cell(row.get(c.name)) for c in table.columns] for row in rows)
    assert csv_lines(table, rows) == buf.getvalue()
    assert csv_lines(table, rows).startswith("true,false,,0,-3,100000000000000000000,1.5,0.30000000000000004,")


# -- a sheet's share, against the cell-by-cell reference ------------------------------------------
# sheet_data writes a sheet's CSV lines from runs of cells encoded once each (and its JSON with
# json_text); these are the former row builders, one dict per row and every cell looked up by its
# column's name, written by csv_lines: the definition the fast lines must equal.


def _ref_get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _ref_sheet_rows(table: opendata.Table, s, base_url: str | None) -> list[dict[str, Any]]:
    row: dict[str, Any] = {}
    for c in table.columns:
        if c.kind == "flag":
            goal = int(c.name.split(".")[1])
            row[c.name] = None if s.data.get("sdgs") is None else int(goal in s.data["sdgs"])
        elif c.name.endswith("_wareki"):
            row[c.name] = wareki(_ref_get(s.data, c.name.removesuffix("_wareki")))
        elif c.name == "body":
            row[c.name] = s.body.strip("\n")
        elif c.name == "url":
            row[c.name] = (base_url or "") + href(s.url)
        else:
            row[c.name] = _ref_get(s.data, c.name)
    return [row]


def _ref_indicator_rows(s) -> list[dict[str, Any]]:
    rows = []
    for no, (ind, raw) in enumerate(zip(s.indicators, s.data.get("indicators") or [], strict=True), 1):
        base = {"id": s.id, "evaluation_year": s.evaluation_year, "title": s.title, "indicator_no": no,
                "kind": ind.kind, "kind_label": ind.kind_label, "name": ind.name,
                "description": ind.description, "unit": ind.unit, "lower_is_better": raw.get("lower_is_better")}
        if not ind.values:
            rows.append(base)
        for v in ind.values:
            rows.append({**base, "fiscal_year": v.year, "fiscal_year_wareki": wareki(v.year),
                         "target": v.target, "actual": v.actual,
                         "achievement": opendata.ACHIEVEMENT_LABELS[ind.achievement(v.year)]})
    return rows


def _ref_cost_rows(s) -> list[dict[str, Any]]:
    return [{"id": s.id, "evaluation_year": s.evaluation_year, "title": s.title,
             "fiscal_year": year, "fiscal_year_wareki": wareki(year), **col}
            for year, col in (s.data.get("costs") or {}).items()]


def _assert_share_is_the_reference(sheet, tables, base: str | None) -> None:
    part = opendata.sheet_data(sheet, tables, base)
    rows = (_ref_sheet_rows(tables[0], sheet, base), _ref_indicator_rows(sheet), _ref_cost_rows(sheet))
    assert part.csv == tuple(opendata.csv_lines(t, r) for t, r in zip(tables, rows, strict=True))
    assert part.rows == tuple(len(r) for r in rows)
    record = {**sheet.data, "body": sheet.body.strip("\n")}
    assert part.json == json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    item = "  " + part.json.rstrip("\n").replace("\n", "\n  ")
    assert part.item == item
    assert part.sizes == tuple(len(t.encode("utf-8")) for t in (*part.csv, item))
    assert opendata.share_bytes(part) == (tuple(t.encode("utf-8") for t in (*part.csv, item)), part.rows)


def _tricky_sheets(config, seed: int) -> list:
    """The bundled sheets with cells the CSV quotes or escapes (commas, quotes, line breaks, a lone
    space, "True"), missing values, odd numbers and an indicator without yearly values."""
    import copy
    import random

    from hyoka.model import SourceRef, build_sheet

    rng = random.Random(seed)
    texts = ["a,b", 'say "hi"', "two\nlines", "cr\r\nlf", " ", "", "True", "=1+1", "令和,7年度", '"', ",",
             "末尾\n", "😀", "\t"]
    numbers = [0, -0.0, 1.5, 1e16, 1e-7, -3, 10**20, 0.1 + 0.2, 2.0]

    def mutate(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: mutate(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [mutate(v, path) for v in value]
        if path in (".id", ".evaluation_year", ".results_year") or rng.random() < 0.5:
            return value
        if ".values." in path or (".costs." in path and not path.endswith(".kind")):
            return rng.choice([*numbers, None])
        if isinstance(value, str) or value is None:
            return rng.choice([*texts, None])
        if isinstance(value, bool):
            return rng.choice([True, False, None])
        return value

    out = []
    for sheet in check(config)[0]:
        data = mutate(copy.deepcopy(sheet.data), "")
        data["title"] = rng.choice(texts[:5]) + sheet.title
        data["sdgs"] = rng.choice([None, [], [1, 17], data.get("sdgs")])
        if data.get("indicators") and rng.random() < 0.5:
            data["indicators"][0]["values"] = {}
        for ind in data.get("indicators") or []:
            ind["kind"] = ind["kind"] if rng.random() < 0.8 else rng.choice(texts)
            ind["name"] = ind["name"] or "x"
        body = rng.choice(["", "\n", sheet.body, "本文, \"引用\"\r\n"])
        out.append(build_sheet(data, SourceRef("x.md", 1, ""), body))
    return out


@pytest.mark.parametrize("base", ["https://example.jp/hyoka/", None])
def test_sheet_data_equals_the_cell_by_cell_reference(config, base) -> None:
    tables = opendata.tables(config)
    sheets = check(config)[0] + check(replace(config, content_dir=FIXTURES / "site" / "content"))[0]
    for sheet in sheets:
        _assert_share_is_the_reference(sheet, tables, base)


@pytest.mark.parametrize("seed", range(8))
def test_sheet_data_of_tricky_cells_equals_the_reference(config, seed) -> None:
    tables = opendata.tables(config)
    for sheet in _tricky_sheets(config, seed):
        _assert_share_is_the_reference(sheet, tables, "https://example.jp/h/")


def test_sheet_data_writes_every_bool_as_cell_does(config) -> None:
    """A bool where the schema has none (a Sheet made in code) is still true / false in each file."""
    import copy

    from hyoka.model import SourceRef, build_sheet

    sheet = check(config)[0][0]
    data = copy.deepcopy(sheet.data)
    data["purpose"], data["organization"]["section"] = True, False
    for col in (data.get("costs") or {}).values():
        col["total"] = True
    for ind in data.get("indicators") or []:
        ind["lower_is_better"] = None
    tricky = build_sheet(data, SourceRef("x.md", 1, ""), sheet.body)
    _assert_share_is_the_reference(tricky, opendata.tables(config), None)
    part = opendata.sheet_data(tricky, opendata.tables(config), None)
    assert ",true," in part.csv[0] and ",false," in part.csv[0] and ",True," not in "".join(part.csv)


def test_sheet_lines_follow_each_table_given(config) -> None:
    """sheets.csv's getters are worked out per Table: another Table (another config) gets its own."""
    tables = opendata.tables(config)
    sheet = check(config)[0][0]
    short = replace(tables[0], columns=tables[0].columns[:3] + tables[0].columns[-1:])
    part = opendata.sheet_data(sheet, (short, *tables[1:]), None)
    assert part.csv[0] == opendata.csv_lines(short, _ref_sheet_rows(short, sheet, None))
    assert opendata.sheet_data(sheet, tables, None).csv[0] == opendata.csv_lines(
        tables[0], _ref_sheet_rows(tables[0], sheet, None))


@pytest.mark.parametrize("value", [
    {"a": True, "b": False, "c": 1.5, "d": -0.0, "e": 1e16, "f": [True, 2.5, None, "x", 3, [], {}]},
    [{1: "int key", "1": "str key"}, {True: "bool key"}], {2024: 1, "2024": 2}, {False: 0, None: 1},
    {"k": float("nan")}, {"k": [float("-inf")]}, {"k": 2**70, "l": [-(2**70)]},
])
def test_json_text_of_keys_and_scalars_equals_json_dumps(value) -> None:
    """The written-inline scalars and the cached key texts: json.dumps' text (a bool key is not its int's)."""
    class Key(str):
        pass

    for v in (value, {Key("sub"): value}, {"again": value}):
        try:
            expected = json.dumps(v, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        except ValueError:
            with pytest.raises(ValueError):
                opendata.json_text(v)
            continue
        assert opendata.json_text(v) == expected


def _shares(site) -> dict:
    site_tables, base = opendata.tables(site.config), opendata.site_url(site.config)
    return {(s.id, s.evaluation_year, s.source.digest): opendata.share_bytes(opendata.sheet_data(s, site_tables, base))
            for s in site.sheets}


def _joined(files) -> dict[str, bytes]:
    return {path: b"".join(bytes(c) for c in chunks) for path, chunks in files}


@pytest.mark.parametrize("edited", [[0], [3, 4], [-1], [0, 5, -1], "all", []])
def test_spliced_downloads_equal_combined_ones(config, edited) -> None:
    """After an edit, the combined downloads made from the last build's files with the edited
    sheets' shares put in (opendata.spliced_files) are the bytes, index and /data/ list that
    combined_files makes of every share: shorter and longer shares, the first and the last."""
    sheets, _ = load_and_validate(config)
    site = collect(sheets, config)
    files, index, _ = opendata.combined_files(site, _shares(site))
    old = [data for path, data in _joined(files).items() if path in opendata.combined_paths(config)]
    order = opendata.share_keys(site)
    picks = range(len(order)) if edited == "all" else edited
    targets = {order[j][:2] for j in picks}
    changed = []
    for n, s in enumerate(sheets):
        if (s.id, s.evaluation_year) in targets:  # a longer or a shorter title, a new file hash
            title = s.title + "（改）" * (n % 3) if n % 2 else s.title[:-1]
            s = replace(s, title=title, source=replace(s.source, digest=f"{n:032x}"))
        changed.append(s)
    new_site = collect(changed, config)
    every = _shares(new_site)
    new = {k: v for k, v in every.items() if k[:2] in targets}
    spliced = opendata.spliced_files(new_site, index, old, new)
    assert spliced is not None
    expected = opendata.combined_files(new_site, every)
    assert _joined(spliced[0]) == _joined(expected[0])
    assert spliced[1].__getstate__() == expected[1].__getstate__()
    assert spliced[2] == expected[2]


def test_spliced_downloads_need_the_same_sheets_in_the_same_places(config) -> None:
    sheets, _ = load_and_validate(config)
    site = collect(sheets, config)
    files, index, _ = opendata.combined_files(site, _shares(site))
    old = [data for path, data in _joined(files).items() if path in opendata.combined_paths(config)]
    fewer = collect(sheets[1:], config)
    assert opendata.spliced_files(fewer, index, old, {}) is None  # a sheet removed
    edited = [replace(sheets[0], source=replace(sheets[0].source, digest="f" * 32)), *sheets[1:]]
    assert opendata.spliced_files(collect(edited, config), index, old, {}) is None  # no share for it
    assert opendata.spliced_files(site, index, old[:-1], {}) is None  # not the files it describes


def test_a_share_made_again_with_the_same_key_is_put_in_its_place(config) -> None:
    """A sheet.json rewritten (its file edited by hand in the output) makes its share again with
    the same key: spliced in where it was, same bytes."""
    sheets, _ = load_and_validate(config)
    site = collect(sheets, config)
    every = _shares(site)
    files, index, downloads = opendata.combined_files(site, every)
    old = [data for path, data in _joined(files).items() if path in opendata.combined_paths(config)]
    key = index.keys[2]
    spliced = opendata.spliced_files(site, index, old, {key: every[key]})
    assert spliced is not None and _joined(spliced[0]) == _joined(files)
    assert spliced[1].__getstate__() == index.__getstate__() and spliced[2] == downloads
