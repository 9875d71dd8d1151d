"""Chart geometry and summaries (hyoka.charts), and the charts' SVG markup (hyoka.htmlparts, bar_chart.html)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyoka import charts
from hyoka.load import find_content, load_source
from hyoka.model import CostYear, Indicator, IndicatorValue, Sheet
from hyoka.pipeline import run
from hyoka.render import make_env
from hyoka.validate import validate_source

from .conftest import ROOT


def ind(values: list[tuple[int, float | None, float | None]], *, unit: str | None = "件",
        lower: bool = False, name: str = "交付件数", kind: str = "outcome") -> Indicator:
    return Indicator(kind, name, None, unit, lower, tuple(IndicatorValue(*v) for v in values))


def cost(year: int, kind: str = "決算", total: float | None = 2281, operating: float | None = 641,
         personnel: float | None = 1640, staff: float | None = 0.2) -> CostYear:
    return CostYear(year, kind, total, operating, 0, staff, None, personnel)


def sheet_from(name: str, config) -> Sheet:
    """A model.Sheet from a committed content file."""
    path = ROOT / "content" / "2025" / f"{name}.md"
    src, problems = load_source(path, path.name)
    assert src is not None and problems == []
    sheet, problems = validate_source(src, config)
    assert sheet is not None, problems
    return sheet


# -- axis ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("max_value", "integer", "top", "step"), [
    (3, True, 3, 1),
    (2, True, 2, 1),            # counts never get 0.5 steps
    (1, True, 1, 1),
    (101, True, 125, 25),
    (243655, True, 250000, 50000),
    (170000, True, 200000, 50000),
    (11863, True, 12500, 2500),
    (0.35, False, 0.4, 0.1),
    (73.5, False, 80, 20),
    (0, True, 1, 1),            # all zero: the axis still has height
])
def test_nice_axis(max_value, integer, top, step) -> None:
    axis = charts.nice_axis(max_value, integer=integer)
    assert (axis.top, axis.step) == (top, step)
    assert axis.ticks[0] == 0 and axis.ticks[-1] == top
    assert all(b > a for a, b in zip(axis.ticks, axis.ticks[1:], strict=False))


def test_fractional_ticks_have_no_float_noise() -> None:
    assert charts.nice_axis(0.35).ticks == (0, 0.1, 0.2, 0.3, 0.4)


@given(st.floats(min_value=1e-6, max_value=1e12, allow_nan=False), st.booleans())
def test_nice_axis_covers_the_data_with_few_nice_steps(max_value: float, integer: bool) -> None:
    axis = charts.nice_axis(max_value, integer=integer)
    assert axis.top >= max_value * (1 - 1e-9)
    assert 2 <= len(axis.ticks) <= 6
    mantissa = axis.step / 10 ** math.floor(math.log10(axis.step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5)
    if integer:
        assert float(axis.step).is_integer()


# -- indicator chart -----------------------------------------------------------------------------

def test_indicator_geometry_is_proportional() -> None:
    c = charts.indicator_chart(ind([(2023, 170000, 243655), (2024, 170000, 231769), (2025, 170000, None)],
                                   unit="件/年"), 2024)
    assert c.axis.top == 250000
    plot_h = c.baseline - c.plot_top
    first, _, third = c.slots
    assert first.bar_height == pytest.approx(243655 / 250000 * plot_h, abs=0.01)
    assert first.bar_y + first.bar_height == pytest.approx(c.baseline)
    assert first.target_y == pytest.approx(c.baseline - 170000 / 250000 * plot_h, abs=0.01)
    assert first.value_label == "243,655" and first.actual_text == "243,655件/年"
    assert [t.label for t in c.ticks] == ["0", "50,000", "100,000", "150,000", "200,000", "250,000"]
    assert third.missing_actual and third.bar_height is None and third.bar_y is None
    assert [s.achievement_text for s in c.slots] == ["達成", "達成", "実績なし"]
    assert c.view_box == f"0 0 {charts.fmt_svg(c.width)} {charts.fmt_svg(c.height)}"
    assert c.summary == "令和6年度は目標170,000件/年に対し実績231,769件/年で、目標を達成しました。"


def test_missing_is_never_zero() -> None:
    c = charts.indicator_chart(ind([(2023, 3, None), (2024, None, 0), (2025, None, None)], unit="回"), 2024)
    missing, zero, empty = c.slots
    assert missing.bar_height is None and missing.missing_actual and missing.actual_text == "データなし"
    assert missing.target_y is not None
    assert zero.bar_height == 0 and not zero.missing_actual and zero.value_label == "0"
    assert zero.target_y is None and zero.missing_target and zero.target_text == "データなし"
    assert empty.bar_height is None and empty.target_y is None
    assert [s.achievement for s in c.slots] == ["no_actual", "no_target", "no_actual"]
    assert c.summary == "令和6年度の実績は0回でした（目標の設定はありません）。"
    assert "令和5年度: 目標3回、実績データなし。" in c.desc


def test_zero_target_lower_is_better_has_an_axis_and_is_achieved() -> None:
    i = ind([(2023, 0, 0), (2024, 0, 0), (2025, 0, None)], unit="回/年", lower=True)
    c = charts.indicator_chart(i, 2024)
    assert c.axis.top == 1 and c.axis.ticks == (0, 1)
    assert all(s.target_y == c.baseline for s in c.slots)
    assert [s.bar_height for s in c.slots] == [0, 0, None]
    # The model's rule decides achievement; the chart only words it.
    assert [s.achievement for s in c.slots] == [i.achievement(y) for y in (2023, 2024, 2025)]
    assert [s.achievement_text for s in c.slots] == ["達成", "達成", "実績なし"]
    assert c.summary == "令和6年度は目標0回/年以下に対し実績0回/年で、目標を達成しました。"
    assert "少ないほど良い指標" in c.desc


def test_lower_is_better_missed() -> None:
    c = charts.indicator_chart(ind([(2024, 0, 2)], lower=True), 2024)
    assert c.slots[0].achievement_text == "未達成"
    assert c.summary == "令和6年度は目標0件以下に対し実績2件で、目標を達成できませんでした。"


@pytest.mark.parametrize(("values", "summary"), [
    ([(2024, 2, 1)], "令和6年度は目標2件に対し実績1件で、目標を達成できませんでした。"),
    ([(2024, 2, 3)], "令和6年度は目標2件に対し実績3件で、目標を達成しました。"),
    ([(2024, None, 123)], "令和6年度の実績は123件でした（目標の設定はありません）。"),
    ([(2024, 2, None)], "令和6年度の実績はまだありません。"),
    ([(2024, None, None)], "令和6年度の実績はまだありません。"),
    ([(2024, 1000, 1234.5)], "令和6年度は目標1,000件に対し実績1,234.5件で、目標を達成しました。"),
    # Results year absent: the latest earlier year, else the earliest year.
    ([(2022, 5, 4), (2023, 5, 6), (2026, 5, None)], "令和5年度は目標5件に対し実績6件で、目標を達成しました。"),
    ([(2025, 5, None), (2026, 5, None)], "令和7年度の実績はまだありません。"),
    ([(2023, 5, None), (2025, 5, None)], "令和5年度の実績の記載はありません。"),
    ([], "この指標には年度ごとの目標・実績の記載がありません。"),
])
def test_indicator_summary(values, summary) -> None:
    assert charts.indicator_chart(ind(values), 2024).summary == summary


def test_summary_without_unit() -> None:
    c = charts.indicator_chart(ind([(2024, 2, 1)], unit=None), 2024)
    assert c.summary == "令和6年度は目標2に対し実績1で、目標を達成できませんでした。"
    assert c.unit_label == ""


def test_fractional_values() -> None:
    c = charts.indicator_chart(ind([(2023, 0.35, 0.3), (2024, 73.5, 80.25)], unit="%"), 2024)
    assert c.axis.top == 100 and c.axis.step == 20
    assert c.slots[0].value_label == "0.3" and c.slots[1].target_text == "73.5%"
    assert c.summary == "令和6年度は目標73.5%に対し実績80.25%で、目標を達成しました。"
    small = charts.indicator_chart(ind([(2024, 0.35, 0.3)], unit="%"), 2024)
    assert [t.label for t in small.ticks] == ["0", "0.1", "0.2", "0.3", "0.4"]


def test_negative_actual_is_clamped_on_the_axis_but_written() -> None:
    c = charts.indicator_chart(ind([(2023, 5, -3), (2024, 5, 6)]), 2024)
    neg = c.slots[0]
    assert c.axis.ticks[0] == 0
    assert neg.bar_height == 0 and neg.bar_y == c.baseline
    assert neg.value_label == "-3" and "実績-3件" in c.desc


def test_all_missing() -> None:
    c = charts.indicator_chart(ind([(2023, None, None), (2024, None, None)]), 2024)
    assert c.axis.top == 1
    assert all(s.bar_height is None and s.target_y is None for s in c.slots)
    assert c.summary == "令和6年度の実績はまだありません。"


def test_single_year_and_many_years_fit() -> None:
    one = charts.indicator_chart(ind([(2024, 10, 12)]), 2024)
    assert len(one.slots) == 1 and one.width >= charts.MIN_WIDTH
    assert one.slots[0].is_results_year and one.focus_year == 2024
    six = charts.indicator_chart(ind([(y, 100, 90 + y - 2020) for y in range(2020, 2026)]), 2024)
    assert six.width > charts.MIN_WIDTH
    for a, b in zip(six.slots, six.slots[1:], strict=False):
        assert a.x + a.width <= b.x + 0.01
    for s in six.slots:
        assert charts.text_width(s.year_label, six.year_font_size) < s.width
        assert s.target_x1 >= s.x and s.target_x2 <= s.x + s.width
    assert [s.is_results_year for s in six.slots] == [False] * 4 + [True, False]


def test_value_label_clears_the_target_marker() -> None:
    c = charts.indicator_chart(ind([(2023, 3, 3), (2024, 50, 33), (2025, 1000, 1010)]), 2024)
    for s in c.slots:
        assert s.bar_y is not None and s.target_y is not None
        if s.value_inside:   # below the marker and within the bar
            assert s.value_y >= s.target_y + 15 or s.target_y < s.bar_y - 6
            assert s.value_y <= s.bar_y + s.bar_height
        else:               # above the bar, and above the marker when it is near the top
            assert s.value_y < s.bar_y and (s.value_y <= s.target_y - 10 or s.target_y > s.bar_y + 6)


# -- cost chart ----------------------------------------------------------------------------------

def test_cost_chart_stacks(config) -> None:
    sheet = sheet_from("smartphone-subsidy", config)
    c = charts.cost_chart(sheet.costs, sheet.results_year)
    plot_h = c.baseline - c.plot_top
    assert c.axis_max == 3552
    for bar, col in zip(c.bars, sheet.costs, strict=True):
        op, pe = bar.segments
        assert (op.key, pe.key) == ("operating", "personnel")
        assert op.height / pe.height == pytest.approx(col.operating / col.personnel, rel=1e-3)
        stacked = (col.operating + col.personnel) / 3552 * plot_h
        assert op.height + pe.height == pytest.approx(stacked, abs=0.02)
        assert op.y + op.height == pytest.approx(c.baseline) and pe.y + pe.height == pytest.approx(op.y)
        # The drawn rectangles leave a visible gap at the joint and nothing else.
        drawn = op.rect_height + pe.rect_height + charts.SEGMENT_GAP
        assert drawn == pytest.approx(op.height + pe.height, abs=0.02)
        assert bar.total_y < pe.y
    tallest = c.bars[0]
    assert sum(s.height for s in tallest.segments) == pytest.approx(plot_h, abs=0.02)
    assert [b.style for b in c.bars] == ["settled", "settled", "budget", "plan", "plan"]
    assert [b.kind for b in c.bars] == ["決算", "決算", "予算", "予定", "予定"]
    assert c.kinds == (("決算", "settled", "塗りつぶし"), ("予算", "budget", "斜線"),
                       ("予定", "plan", "点と点線の枠"))
    assert [b.staff_label for b in c.bars] == ["0.20人"] * 5
    assert [b.total_label for b in c.bars] == ["3,552", "2,281", "2,140", "2,140", "2,140"]
    assert [b.year_label for b in c.bars] == ["令和5年度", "令和6年度", "令和7年度", "令和8年度", "令和9年度"]
    assert [b.is_results_year for b in c.bars] == [False, True, False, False, False]
    assert c.segment_keys == ("operating", "personnel")
    assert c.summary == ("令和6年度（決算）の総事業費は2,281千円（約228万円）で、"
                         "うち事業経費641千円、概算人件費1,640千円です。")
    assert "令和6年度（決算）: 総事業費2,281千円（事業経費641千円、概算人件費1,640千円）、従事常勤職員数0.20人。" in c.desc
    for a, b in zip(c.bars, c.bars[1:], strict=False):
        assert a.x + a.width <= b.x + 0.01
        assert charts.text_width(a.year_label, c.year_font_size) < a.width


def test_cost_chart_missing_zero_and_unknown_kind() -> None:
    c = charts.cost_chart([
        cost(2023, total=1230, operating=0, personnel=1230, staff=0.15),
        cost(2024, total=None, operating=None, personnel=None, staff=None),
        cost(2025, "予算", total=2000, operating=None, personnel=None),
        cost(2026, "見込", total=0, operating=0, personnel=0),
    ], 2024)
    zero_op, missing, total_only, zero = c.bars
    assert [s.key for s in zero_op.segments] == ["personnel"]          # a 0 part draws nothing
    assert zero_op.segments[0].rect_height == zero_op.segments[0].height  # and leaves no gap
    assert missing.missing and missing.segments == () and missing.total_label == "データなし"
    assert missing.staff_label == "—"
    assert [s.key for s in total_only.segments] == ["total"]
    assert not zero.missing and zero.total_label == "0" and zero.segments == ()
    assert zero.style == "other"
    assert c.summary == "令和6年度（決算）の総事業費は記載がありません。"
    assert "従事常勤職員数データなし" in c.desc


@pytest.mark.parametrize(("costs", "summary"), [
    ([cost(2023), cost(2025, "予算")], "令和5年度（決算）の総事業費は2,281千円（約228万円）で、うち事業経費641千円、概算人件費1,640千円です。"),
    ([cost(2024, operating=None, personnel=None)], "令和6年度（決算）の総事業費は2,281千円（約228万円）です。"),
    ([cost(2024, total=64901, operating=61375, personnel=None)],
     "令和6年度（決算）の総事業費は64,901千円（約6,490万円）で、うち事業経費61,375千円です。"),
    ([], "事業費の記載はありません。"),
])
def test_cost_summary(costs, summary) -> None:
    assert charts.cost_chart(costs, 2024).summary == summary


def test_cost_chart_all_zero_does_not_divide_by_zero() -> None:
    c = charts.cost_chart([cost(2024, total=0, operating=0, personnel=0, staff=0)], 2024)
    assert c.axis_max == 1 and c.bars[0].staff_label == "0.00人"


# -- bar chart -----------------------------------------------------------------------------------

def test_bar_chart() -> None:
    rows = [("DX推進課", 123456), ("総務部 総務課 とても長い名前の課で二行に折り返されるかどうかを確認する", 61728),
            ("ゼロ", 0), ("なし", None)]
    c = charts.bar_chart(rows, "千円", "担当課ごとの総事業費")
    big, half, zero, none = c.rows
    assert big.bar_width > 0 and half.bar_width == pytest.approx(big.bar_width / 2, abs=0.01)
    assert big.value_x + charts.text_width(big.value_text, c.font_size) <= c.width + 0.01
    assert big.value_text == "123,456千円" and none.value_text == "データなし" and none.missing
    assert zero.bar_width == 0 and not zero.missing and zero.value_text == "0千円"
    assert len(half.label_lines) == 2 and "".join(half.label_lines) == rows[1][0]
    assert all(charts.text_width(line, c.label_font_size) <= c.width for line in half.label_lines)
    for a, b in zip(c.rows, c.rows[1:], strict=False):
        assert a.bar_y + a.bar_height < b.label_y - c.label_font_size
    assert c.rows[-1].bar_y + c.rows[-1].bar_height <= c.height
    assert c.title == "担当課ごとの総事業費"
    assert c.desc == "横棒グラフ。DX推進課: 123,456千円、" + rows[1][0] + ": 61,728千円、ゼロ: 0千円、なし: データなし。"


def test_bar_chart_empty() -> None:
    c = charts.bar_chart([], "千円", "空")
    assert c.rows == () and c.height > 0 and c.axis_max == 1


def test_wrap_keeps_closing_punctuation() -> None:
    lines = charts.wrap_text("あいうえお、かきくけこ", 5 * 13, 13)
    assert lines == ("あいうえお、", "かきくけこ")


# -- rendered components ---------------------------------------------------------------------------

def _render(source: str, **ctx) -> str:
    env = make_env(ROOT / "templates")
    return env.from_string(source).render(**ctx)


def _ids(root: ET.Element) -> set[str]:
    return {e.get("id") for e in root.iter() if e.get("id")}


def _svg_text(el: ET.Element | None) -> str:
    assert el is not None
    return "".join(el.itertext())


def test_indicator_chart_component(config) -> None:
    sheet = sheet_from("smartphone-subsidy", config)
    # indicator_chart is built in Python (hyoka/htmlparts.py), a global of every environment.
    html = _render('{{ indicator_chart(ind, "indicator-chart-2", 2024) }}', ind=sheet.indicators[1])
    root = ET.fromstring(html)    # well-formed XML as a whole
    assert root.tag == "figure"
    summary = "令和6年度は目標50件に対し実績33件で、目標を達成できませんでした。"
    assert _svg_text(root.find("figcaption")) == summary
    svg = root.find("svg")
    assert svg is not None and svg.get("role") == "img"
    assert "width" not in svg.attrib and svg.get("viewBox", "").startswith("0 0 ")
    title_id, desc_id = svg.get("aria-labelledby", "").split()
    assert title_id in _ids(root) and desc_id in _ids(root)
    assert _svg_text(svg.find("title")) == "成果指標「補助金交付件数」の目標と実績のグラフ"
    assert svg.find("title").get("id") == title_id and svg.find("desc").get("id") == desc_id
    assert "令和6年度: 目標50件、実績33件、未達成。" in _svg_text(svg.find("desc"))
    texts = [_svg_text(t) for t in svg.iter("text")]
    assert {"令和5年度", "令和6年度", "令和7年度", "評価対象", "未達成", "33"} <= set(texts)
    assert all(i.startswith("indicator-chart-2-") for i in _ids(root))


def test_cost_chart_component(config) -> None:
    sheet = sheet_from("smartphone-subsidy", config)
    html = _render('{{ cost_chart(sheet, "cost-chart") }}', sheet=sheet)
    root = ET.fromstring(html)
    svg = root.find("svg")
    assert svg is not None and svg.get("role") == "img"
    ids = _ids(root)
    assert set(svg.get("aria-labelledby", "").split()) <= ids
    assert _svg_text(root.find("figcaption")).startswith("令和6年度（決算）の総事業費は2,281千円（約228万円）")
    # Every pattern a shape uses (in the chart or its legend) is defined, with an id of this chart.
    used = set(re.findall(r"url\(#([^)]+)\)", html))
    assert used and used <= ids and all(i.startswith("cost-chart-") for i in ids)
    texts = [_svg_text(t) for t in svg.iter("text")]
    assert texts.count("0.20人") == 5 and {"決算", "予算", "予定", "2,281", "単位: 千円"} <= set(texts)
    legend = _svg_text(root.find("ul"))
    assert "事業経費" in legend and "概算人件費" in legend and "予算（斜線）" in legend


def test_bar_chart_component() -> None:
    html = _render('{% from "components/bar_chart.html" import bar_chart %}'
                   '{{ bar_chart(rows, "千円", "担当課ごとの総事業費", "division-chart") }}',
                   rows=[("DX推進課", 64901), ("総務課", None)])
    root = ET.fromstring(html)
    svg = root.find("svg")
    assert svg is not None and svg.get("role") == "img"
    assert set(svg.get("aria-labelledby", "").split()) == {"division-chart-title", "division-chart-desc"}
    assert _svg_text(svg.find("title")) == "担当課ごとの総事業費"
    texts = [_svg_text(t) for t in svg.iter("text")]
    assert texts == ["DX推進課", "64,901千円", "総務課", "データなし"]


# -- every sheet page of the built site --------------------------------------------------------------

class _Ids(HTMLParser):
    """Every id and every aria-labelledby / url(#…) reference of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.refs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        self.refs += (a.get("aria-labelledby") or "").split()
        self.refs += re.findall(r"url\(#([^)]+)\)", a.get("fill") or "")

    handle_startendtag = handle_starttag


@pytest.fixture(scope="module")
def built(tmp_path_factory, config) -> Path:
    out = tmp_path_factory.mktemp("site") / "_site"
    run(replace(config, output_dir=out), search=False)
    return out


@pytest.mark.parametrize("path", find_content(ROOT / "content"), ids=lambda p: p.stem)
def test_sheet_page_charts(path: Path, built: Path, config) -> None:
    sheet = sheet_from(path.stem, config)
    html = (built / sheet.url / "index.html").read_text(encoding="utf-8")
    ids = _Ids(html)
    assert len(ids.ids) == len(set(ids.ids)), "ids must be unique on the page"
    assert set(ids.refs) <= set(ids.ids)
    svgs = re.findall(r'<svg class="hy-chart__svg".*?</svg>', html, flags=re.S)
    assert len(svgs) == len([i for i in sheet.indicators if i.values]) + (1 if sheet.costs else 0)
    for chunk in svgs:
        svg = ET.fromstring(chunk)
        assert svg.get("role") == "img" and svg.find("title") is not None and svg.find("desc") is not None
    for i in sheet.indicators:
        assert charts.indicator_chart(i, sheet.results_year).summary in html
    if sheet.costs:
        assert charts.cost_chart(sheet.costs, sheet.results_year).summary in html
