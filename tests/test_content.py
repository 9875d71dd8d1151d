"""The committed content: it validates, and every value of every sheet reaches its page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hyoka.era import fiscal_year_label
from hyoka.load import find_content, load_source
from hyoka.pipeline import load_and_validate, run
from hyoka.render import fmt_number
from hyoka.schema import INDICATOR_KINDS, SHEET

from .conftest import ROOT
from .htmltext import PageText

FILES = find_content(ROOT / "content")
COST_ROWS = {f.key: f.label for f in SHEET.child("costs").fields if f.key != "kind"}  # type: ignore[union-attr]
EMPTY = "—データなし"  # the dash is aria-hidden; the words are for screen readers


def test_committed_content_validates_without_problems(config) -> None:
    sheets, problems = load_and_validate(config)
    assert [p.format() for p in problems] == []
    assert len(sheets) == len(FILES) >= 12


@pytest.fixture(scope="module")
def built(tmp_path_factory, config):
    """The bundled site, built once into a temp folder."""
    from dataclasses import replace
    out = tmp_path_factory.mktemp("site") / "_site"
    run(replace(config, output_dir=out), search=False)
    return out


def _cell(value, unit: str | None = None, digits: int | None = None) -> str:
    if value is None:
        return EMPTY
    return fmt_number(value, digits) + (unit or "")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _body_lines(body: str) -> list[str]:
    """Text of each Markdown line, without list markers and heading hashes."""
    out = []
    for line in body.splitlines():
        text = re.sub(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+\.\s+)", "", line).strip()
        if text:
            out.append(text)
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_value_reaches_the_page(path: Path, built: Path) -> None:
    src, problems = load_source(path, path.name)
    assert src is not None and problems == []
    data = src.data
    page_path = built / "sheets" / data["id"] / str(data["evaluation_year"]) / "index.html"
    page = PageText(page_path.read_text(encoding="utf-8"))
    text = page.text

    # Every non-empty string of the front matter (but the id, which is the URL, and the
    # indicator kind, shown by its 和名) appears verbatim.
    skip = {data["id"], *INDICATOR_KINDS}
    for s in _strings({k: v for k, v in data.items() if k != "id"}):
        if s not in skip:
            assert re.sub(r"\s+", " ", s).strip() in text, s
    for line in _body_lines(src.body):
        assert line in text, line
    assert fiscal_year_label(data["evaluation_year"]) in text
    assert fiscal_year_label(data["results_year"]) in text
    for goal in data.get("sdgs") or []:
        assert f"ゴール{goal}" in text

    # Indicators: each year's target and actual in that indicator's table, achievement stated.
    for ind in data.get("indicators") or []:
        assert f"{INDICATOR_KINDS[ind['kind']]}: {ind['name']}" in text
        assert ("少ないほど良い" if ind.get("lower_is_better") else "多いほど良い") in text
        table = page.table(f"「{ind['name']}」")
        for year, v in (ind.get("values") or {}).items():
            row = table.row(fiscal_year_label(year))
            assert row[1] == _cell(v.get("target"), ind.get("unit")), (ind["name"], year)
            assert row[2] == _cell(v.get("actual"), ind.get("unit")), (ind["name"], year)
            assert row[3] in ("達成", "未達成", "実績なし", "目標なし")

    # Costs: every cell of the cost table, by row label and year column.
    costs = data.get("costs") or {}
    if costs:
        table = page.table("事業費")
        header = table.rows[0]
        years = list(costs)
        for i, year in enumerate(years, start=1):
            assert header[i][1] == f"{fiscal_year_label(year)} {costs[year]['kind']}"
        for key, label in COST_ROWS.items():
            row = table.row(label)
            digits = 2 if key.startswith("staff") else None
            assert row[1:] == [_cell(costs[y].get(key), digits=digits) for y in years], key

    # Evaluation grid: rating and comment per item.
    grid = page.table("事業についての評価")
    for f in SHEET.child("evaluation").fields:  # type: ignore[union-attr]
        item = (data.get("evaluation") or {}).get(f.key) or {}
        row = next(r for r in grid.rows if len(r) > 1 and r[1][1] == f.label)
        assert row[2][1] == (item.get("rating") or EMPTY), f.key
        assert row[3][1] == (item.get("comment") or EMPTY), f.key
