"""The Python-built components of the sheet page (hyoka/htmlparts.py) and their number formatting.

The charts and tables of the sheet page were Jinja macros; hyoka/htmlparts.py writes the same
bytes in Python. `REFERENCE` below is those former macros, unchanged: for random indicators and
costs (hostile text included) both must give the same text. When the markup is changed on
purpose, change htmlparts.py and REFERENCE together (and regenerate tests/golden/).
"""

from __future__ import annotations

import html
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from hyoka import charts, htmlparts, markdown
from hyoka.era import fiscal_year_label
from hyoka.model import CostYear, EvaluationItem, Indicator, IndicatorValue
from hyoka.render import fmt_number, make_env
from hyoka.schema import EVALUATION_GROUPS

from .conftest import ROOT

# The former templates/components/{value,indicator_chart,indicator_table,cost_chart,cost_table,
# eval_grid}.html macros (documentation comments left out), drawing the same chart specs.
REFERENCE = """\
{% macro value(v, unit=None) -%}
{% if v is none or (v is string and not v.strip()) -%}
<span class="hy-empty"><span aria-hidden="true">—</span><span class="hy-visually-hidden">データなし</span></span>
{%- elif v is number -%}
{{ v | num }}{% if unit %}<span class="hy-unit">{{ unit }}</span>{% endif %}
{%- else -%}
{{ v }}
{%- endif %}
{%- endmacro %}
{% macro indicator_chart(ind, chart_id, results_year) -%}
{% set c = indicator_chart_spec(ind, results_year) %}
<figure class="hy-chart hy-chart--indicator">
  <figcaption class="hy-chart__summary">{{ c.summary }}</figcaption>
  {% if c.slots %}
  <ul class="hy-chart__legend">
    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true"><rect class="hy-chart__actual" x="8" y="3" width="12" height="15"/></svg>実績（縦棒）</li>
    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true"><line class="hy-chart__target-halo" x1="1" y1="9" x2="27" y2="9"/><line class="hy-chart__target-line" x1="1" y1="9" x2="27" y2="9"/><path class="hy-chart__target-mark" d="M14 4 L19 9 L14 14 L9 9 Z"/></svg>目標（◇の付いた横線）</li>
  </ul>
  <svg class="hy-chart__svg" viewBox="{{ c.view_box }}" role="img" aria-labelledby="{{ chart_id }}-title {{ chart_id }}-desc" font-size="{{ c.font_size }}">
    <title id="{{ chart_id }}-title">{{ c.title }}</title>
    <desc id="{{ chart_id }}-desc">{{ c.desc }}</desc>
    <g aria-hidden="true">
      {% for s in c.slots if s.is_results_year %}
      <rect class="hy-chart__highlight" x="{{ s.x }}" y="{{ c.highlight_y }}" width="{{ s.width }}" height="{{ c.highlight_height }}"/>
      {% endfor %}
      {% if c.unit_label %}
      <text class="hy-chart__unit" x="0" y="12" font-size="{{ c.small_font_size }}">{{ c.unit_label }}</text>
      {% endif %}
      {% for t in c.ticks %}
      {% if not loop.first %}
      <line class="hy-chart__grid" x1="{{ c.plot_left }}" y1="{{ t.y }}" x2="{{ c.plot_right }}" y2="{{ t.y }}"/>
      {% endif %}
      <text class="hy-chart__tick" x="{{ c.tick_x }}" y="{{ t.label_y }}" text-anchor="end" font-size="{{ c.small_font_size }}">{{ t.label }}</text>
      {% endfor %}
      {% for s in c.slots %}
      {% if s.bar_height %}
      <rect class="hy-chart__actual" x="{{ s.bar_x }}" y="{{ s.bar_y }}" width="{{ s.bar_width }}" height="{{ s.bar_height }}"/>
      {% endif %}
      {% endfor %}
      <line class="hy-chart__baseline" x1="{{ c.plot_left }}" y1="{{ c.baseline }}" x2="{{ c.plot_right }}" y2="{{ c.baseline }}"/>
      {% for s in c.slots %}
      {% if s.target_y is not none %}
      <line class="hy-chart__target-halo" x1="{{ s.target_x1 }}" y1="{{ s.target_y }}" x2="{{ s.target_x2 }}" y2="{{ s.target_y }}"/>
      <line class="hy-chart__target-line" x1="{{ s.target_x1 }}" y1="{{ s.target_y }}" x2="{{ s.target_x2 }}" y2="{{ s.target_y }}"/>
      <path class="hy-chart__target-mark" d="{{ s.target_path }}"/>
      {% endif %}
      {% if s.missing_actual %}
      <text class="hy-chart__missing" x="{{ s.cx }}" y="{{ s.value_y }}" text-anchor="middle" font-size="{{ c.small_font_size }}">{{ s.actual_text }}</text>
      {% else %}
      <text class="hy-chart__value{% if s.value_inside %} hy-chart__value--inside{% endif %}" x="{{ s.cx }}" y="{{ s.value_y }}" text-anchor="middle">{{ s.value_label }}</text>
      {% endif %}
      <text class="hy-chart__year{% if s.is_results_year %} hy-chart__year--current{% endif %}" x="{{ s.cx }}" y="{{ c.year_y }}" text-anchor="middle" font-size="{{ c.year_font_size }}">{{ s.year_label }}</text>
      <text class="hy-chart__achievement hy-chart__achievement--{{ s.achievement | replace('_', '-') }}" x="{{ s.cx }}" y="{{ c.achievement_y }}" text-anchor="middle" font-size="{{ c.small_font_size }}">{{ s.achievement_text }}</text>
      {% if s.is_results_year %}
      <rect class="hy-chart__tag" x="{{ s.tag_x }}" y="{{ c.tag_y - 12 }}" width="{{ c.tag_width }}" height="16" rx="2"/>
      <text class="hy-chart__tag-text" x="{{ s.cx }}" y="{{ c.tag_y }}" text-anchor="middle" font-size="{{ c.small_font_size }}">{{ c.tag_text }}</text>
      {% endif %}
      {% endfor %}
    </g>
  </svg>
  {% endif %}
</figure>
{%- endmacro %}
{% macro indicator_table(ind, table_id, results_year) -%}
{% set achievement_text = {"achieved": "達成", "not_achieved": "未達成", "no_actual": "実績なし", "no_target": "目標なし"} %}
<div class="hy-table-wrap" role="region" aria-labelledby="{{ table_id }}" tabindex="0">
<table class="hy-table hy-table--numeric">
  <caption id="{{ table_id }}">{{ ind.kind_label }}「{{ ind.name }}」の目標と実績{% if ind.unit %}（単位: {{ ind.unit }}）{% endif %}</caption>
  <thead>
    <tr>
      <th scope="col">年度</th>
      <th scope="col">目標</th>
      <th scope="col">実績</th>
      <th scope="col">達成状況</th>
    </tr>
  </thead>
  <tbody>
  {% for v in ind.values %}
    {% set state = ind.achievement(v.year) %}
    <tr{% if v.year == results_year %} class="hy-table__row--current"{% endif %}>
      <th scope="row">{{ v.year | fy }}{% if v.year == results_year %}<span class="hy-tag">評価対象</span>{% endif %}</th>
      <td>{{ value(v.target, ind.unit) }}</td>
      <td>{{ value(v.actual, ind.unit) }}</td>
      <td class="hy-achievement hy-achievement--{{ state | replace('_', '-') }}">{{ achievement_text[state] }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
</div>
{%- endmacro %}
{% macro _segment(chart_id, key, style, x, y, w, h) -%}
<rect class="hy-chart__seg hy-chart__seg--{{ key }} hy-chart__seg--{{ style }}" x="{{ x }}" y="{{ y }}" width="{{ w }}" height="{{ h }}"{% if style in ("budget", "plan") %} fill="url(#{{ chart_id }}-{{ key }}-{{ style }})"{% endif %}/>
{%- endmacro %}
{% macro cost_chart(sheet, chart_id) -%}
{% set c = cost_chart_spec(sheet.costs, sheet.results_year) %}
{% set styles = c.kinds | map(attribute=1) | list %}
<figure class="hy-chart hy-chart--cost">
  <figcaption class="hy-chart__summary">{{ c.summary }}</figcaption>
  <ul class="hy-chart__legend">
    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true"><rect class="hy-chart__seg hy-chart__seg--operating hy-chart__seg--settled" x="8" y="3" width="12" height="15"/></svg>事業経費（棒の下の段）</li>
    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true"><rect class="hy-chart__seg hy-chart__seg--personnel hy-chart__seg--settled" x="8" y="3" width="12" height="15"/></svg>概算人件費（棒の上の段）</li>
    {% for kind, style, style_text in c.kinds %}
    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true">{{ _segment(chart_id, "personnel", style, 8, 1, 12, 6) }}{{ _segment(chart_id, "operating", style, 8, 9, 12, 8) }}</svg>{{ kind }}（{{ style_text }}）</li>
    {% endfor %}
  </ul>
  <svg class="hy-chart__svg" viewBox="{{ c.view_box }}" role="img" aria-labelledby="{{ chart_id }}-title {{ chart_id }}-desc" font-size="{{ c.font_size }}">
    <title id="{{ chart_id }}-title">{{ c.title }}</title>
    <desc id="{{ chart_id }}-desc">{{ c.desc }}</desc>
    <defs>
      {% for key in ("operating", "personnel", "total") if key != "total" or key in c.segment_keys %}
      {% if "budget" in styles %}
      <pattern id="{{ chart_id }}-{{ key }}-budget" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect class="hy-chart__pattern-bg" width="5" height="5"/>
        <line class="hy-chart__hatch hy-chart__hatch--{{ key }}" x1="2.5" y1="0" x2="2.5" y2="5"/>
      </pattern>
      {% endif %}
      {% if "plan" in styles %}
      <pattern id="{{ chart_id }}-{{ key }}-plan" width="4.5" height="4.5" patternUnits="userSpaceOnUse">
        <rect class="hy-chart__pattern-bg" width="4.5" height="4.5"/>
        <circle class="hy-chart__dot hy-chart__dot--{{ key }}" cx="2.25" cy="2.25" r="1.3"/>
      </pattern>
      {% endif %}
      {% endfor %}
    </defs>
    <g aria-hidden="true">
      {% for b in c.bars if b.is_results_year %}
      <rect class="hy-chart__highlight" x="{{ b.x }}" y="{{ c.highlight_y }}" width="{{ b.width }}" height="{{ c.highlight_height }}"/>
      {% endfor %}
      <text class="hy-chart__unit" x="0" y="12" font-size="{{ c.small_font_size }}">{{ c.unit_label }}</text>
      {% for b in c.bars %}
      {% for s in b.segments if s.rect_height > 0 %}
      {{ _segment(chart_id, s.key, b.style, b.bar_x, s.rect_y, b.bar_width, s.rect_height) }}
      {% endfor %}
      <text class="{% if b.total is none %}hy-chart__missing{% else %}hy-chart__value{% endif %}" x="{{ b.cx }}" y="{{ b.total_y }}" text-anchor="middle"{% if b.total is none %} font-size="{{ c.small_font_size }}"{% endif %}>{{ b.total_label }}</text>
      <text class="hy-chart__year{% if b.is_results_year %} hy-chart__year--current{% endif %}" x="{{ b.cx }}" y="{{ c.year_y }}" text-anchor="middle" font-size="{{ c.year_font_size }}">{{ b.year_label }}</text>
      <text class="hy-chart__kind" x="{{ b.cx }}" y="{{ c.kind_y }}" text-anchor="middle" font-size="{{ c.small_font_size }}">{{ b.kind }}</text>
      <text class="hy-chart__staff" x="{{ b.cx }}" y="{{ c.staff_y }}" text-anchor="middle" font-size="{{ c.small_font_size }}">{{ b.staff_label }}</text>
      {% endfor %}
      <line class="hy-chart__baseline" x1="0" y1="{{ c.baseline }}" x2="{{ c.width }}" y2="{{ c.baseline }}"/>
    </g>
  </svg>
  <p class="hy-chart__note">棒の上の数字は総事業費（千円）、棒の下は年度・区分・従事常勤職員数（人）です。</p>
</figure>
{%- endmacro %}
{% macro cost_table(sheet, table_id) -%}
{% set rows = [
  ("total", "総事業費", "千円"), ("operating", "事業経費", "千円"), ("specific_revenue", "特定財源", "千円"),
  ("staff_regular", "従事常勤職員数", "人"), ("staff_nonregular", "従事非常勤職員数", "人"),
  ("personnel", "概算人件費", "千円")] %}
<div class="hy-table-wrap" role="region" aria-labelledby="{{ table_id }}" tabindex="0">
<table class="hy-table hy-table--numeric">
  <caption id="{{ table_id }}">事業費と職員数（金額の単位: 千円、職員数の単位: 人）</caption>
  <thead>
    <tr>
      <th scope="col">項目</th>
      {% for c in sheet.costs %}
      <th scope="col">{{ c.year | fy }}<br><span class="hy-cost-kind">{{ c.kind }}</span></th>
      {% endfor %}
    </tr>
  </thead>
  <tbody>
  {% for key, label, unit in rows %}
    <tr>
      <th scope="row">{{ label }}</th>
      {% for c in sheet.costs %}
      {% set v = c[key] %}
      <td>{% if v is not none and unit == "人" %}{{ v | num(2) }}{% else %}{{ value(v) }}{% endif %}</td>
      {% endfor %}
    </tr>
  {% endfor %}
  </tbody>
</table>
</div>
{%- endmacro %}
{% macro eval_grid(sheet, table_id) -%}
<div class="hy-table-wrap" role="region" aria-labelledby="{{ table_id }}" tabindex="0">
<table class="hy-table hy-table--eval">
  <caption id="{{ table_id }}">事業についての評価</caption>
  <thead>
    <tr>
      <th scope="col">観点</th>
      <th scope="col">項目</th>
      <th scope="col">評価</th>
      <th scope="col">説明</th>
    </tr>
  </thead>
  <tbody>
  {% for group, keys in EVALUATION_GROUPS %}
    {% for key in keys %}
    {% set item = sheet.rating(key) %}
    <tr>
      <td>{{ group }}</td>
      <th scope="row">{{ item.label }}</th>
      <td class="hy-rating">{{ value(item.rating) }}</td>
      <td>{{ value(item.comment) }}</td>
    </tr>
    {% endfor %}
  {% endfor %}
  </tbody>
</table>
</div>
{%- endmacro %}
"""

HOSTILE = ['<script>alert("x")</script>', "a & b", "'\"><img src=x onerror=alert(1)>", "{{ 7*7 }}", "&amp;"]


@pytest.fixture(scope="module")
def reference():
    env = make_env(ROOT / "templates")
    return env.from_string(REFERENCE).module


class _Sheet:
    """The attributes of model.Sheet the components read."""

    def __init__(self, costs: tuple[CostYear, ...], results_year: int,
                 evaluation: tuple[EvaluationItem, ...] = ()) -> None:
        self.costs, self.results_year, self.evaluation = costs, results_year, evaluation

    def rating(self, key: str) -> EvaluationItem:
        return next(e for e in self.evaluation if e.key == key)


texts = st.one_of(st.sampled_from(["件", "回", "人", "％", "千円", *HOSTILE]), st.text(max_size=8))
amounts = st.one_of(st.none(), st.integers(-50, 10**8),
                    st.floats(-10, 10**6, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2)))
years = st.lists(st.integers(2018, 2031), max_size=7, unique=True).map(sorted)


@st.composite
def indicators(draw) -> Indicator:
    ys = draw(years)
    values = tuple(IndicatorValue(y, draw(amounts), draw(amounts)) for y in ys)
    return Indicator(draw(st.sampled_from(["activity", "outcome"])), draw(texts), None,
                     draw(st.one_of(st.none(), st.just(""), texts)), draw(st.booleans()), values)


@st.composite
def cost_lists(draw) -> tuple[CostYear, ...]:
    kinds = st.one_of(st.sampled_from(["決算", "予算", "予定"]), texts)
    staff = st.one_of(st.none(), st.floats(0, 20, allow_nan=False).map(lambda x: round(x, 2)))
    return tuple(CostYear(y, draw(kinds), draw(amounts), draw(amounts), draw(amounts), draw(staff), draw(staff),
                          draw(amounts)) for y in draw(years))


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ind=indicators(), results_year=st.integers(2018, 2031), chart_id=st.sampled_from(["indicator-chart-1", *HOSTILE]))
def test_indicator_chart_and_table_as_the_former_templates(reference, ind, results_year, chart_id) -> None:
    assert htmlparts.indicator_chart_html(ind, chart_id, results_year) == str(
        reference.indicator_chart(ind, chart_id, results_year))
    assert htmlparts.indicator_table_html(ind, chart_id, results_year, fiscal_year_label) == str(
        reference.indicator_table(ind, chart_id, results_year))


@SETTINGS
@given(costs=cost_lists(), results_year=st.integers(2018, 2031), chart_id=st.sampled_from(["cost-chart", *HOSTILE]))
def test_cost_chart_and_table_as_the_former_templates(reference, costs, results_year, chart_id) -> None:
    sheet = _Sheet(costs, results_year)
    assert htmlparts.cost_chart_html(sheet, chart_id) == str(reference.cost_chart(sheet, chart_id))  # type: ignore[arg-type]
    assert htmlparts.cost_table_html(sheet, chart_id, fiscal_year_label) == str(  # type: ignore[arg-type]
        reference.cost_table(sheet, chart_id))


@SETTINGS
@given(ratings=st.lists(st.one_of(st.none(), st.just("  "), texts), min_size=40, max_size=40))
def test_eval_grid_as_the_former_template(reference, ratings) -> None:
    keys = [key for _, group_keys in EVALUATION_GROUPS for key in group_keys]
    items = tuple(EvaluationItem(k, f"項目{i}<{k}>", "観点", ratings[2 * i % 40], ratings[(2 * i + 1) % 40])
                  for i, k in enumerate(keys))
    sheet = _Sheet((), 2024, items)
    assert htmlparts.eval_grid_html(sheet, "eval-grid") == str(reference.eval_grid(sheet, "eval-grid"))  # type: ignore[arg-type]


@pytest.mark.parametrize("v", [None, "", "  \n", "目的", "<b>&</b>", Markup("<b>ok</b>"), 0, 1234567, -5, 0.25,
                               1234.5, True, 3.0, float("inf")])
@pytest.mark.parametrize("unit", [None, "", "件", "<u>"])
def test_value_as_the_former_macro(reference, v, unit) -> None:
    assert htmlparts.value_html(v, unit) == str(reference.value(v, unit))


@SETTINGS
@given(v=st.one_of(st.text(max_size=8), st.text(alphabet=" \t\n\u3000\xa0<&", max_size=4), st.none(),
                   st.integers(), amounts),
       unit=st.one_of(st.none(), texts))
def test_value_and_value_text_as_the_former_macro_for_any_value(reference, v, unit) -> None:
    """The str fast paths of value_html and _value_text (white space only is empty) too."""
    expected = str(reference.value(v, unit))
    assert htmlparts.value_html(v, unit) == expected
    assert htmlparts._value_text(v, htmlparts._unit_html(unit)) == expected


# Numbers at the edges: NaN, ±0, tiny, huge and infinite values, halves of a hundredth.
extreme_amounts = st.one_of(amounts, st.sampled_from(
    [float("nan"), float("inf"), -float("inf"), 0, -0.0, 0.0, 1e-9, 0.005, 10**15, 10**18 + 1, 1e300, -1e300, -7]))


@st.composite
def extreme_indicators(draw) -> Indicator:
    """1–8 years (a year may be written twice), any amounts, hostile names and units."""
    ys = draw(st.lists(st.integers(2018, 2031), min_size=1, max_size=8).map(sorted))
    values = tuple(IndicatorValue(y, draw(extreme_amounts), draw(extreme_amounts)) for y in ys)
    return Indicator(draw(st.sampled_from(["activity", "outcome"])), draw(texts), None,
                     draw(st.one_of(st.none(), st.just(""), texts)), draw(st.booleans()), values)


@SETTINGS
@given(ind=st.one_of(indicators(), extreme_indicators()), results_year=st.integers(2018, 2031),
       chart_id=st.sampled_from(["indicator-chart-3", *HOSTILE]))
def test_indicator_chart_in_one_pass_as_drawing_the_spec(reference, ind, results_year, chart_id) -> None:
    """indicator_chart_html writes the chart straight from charts.indicator_frame / slot_marks,
    without the spec: the same bytes as the former macro drawing charts.indicator_chart, also
    the second time (from the caches of frames, y coordinates and diamonds)."""
    expected = str(reference.indicator_chart(ind, chart_id, results_year))
    assert htmlparts.indicator_chart_html(ind, chart_id, results_year) == expected
    assert htmlparts.indicator_chart_html(ind, chart_id, results_year) == expected


def test_frame_markup_is_looked_up_by_the_frame_itself(reference, monkeypatch) -> None:
    """An entry of htmlparts._FRAME_HTML left under the id of another frame is not used."""
    ind = Indicator("outcome", "件数", None, "件", False, (IndicatorValue(2023, 10, 8), IndicatorValue(2024, 10, 12)))
    frame = charts.indicator_frame(ind.values)
    other = charts.indicator_frame((IndicatorValue(2024, 1000, 3),))
    monkeypatch.setattr(htmlparts, "_FRAME_HTML", {id(frame): htmlparts._frame_html(other)})
    assert htmlparts.indicator_chart_html(ind, "c", 2024) == str(reference.indicator_chart(ind, "c", 2024))


@st.composite
def extreme_cost_lists(draw) -> tuple[CostYear, ...]:
    """1–8 years (a year may be written twice), any amounts and staff, hostile kinds."""
    kinds = st.one_of(st.sampled_from(["決算", "予算", "予定"]), texts)
    staff = st.one_of(st.none(), st.floats(0, 20, allow_nan=False).map(lambda x: round(x, 2)),
                      st.sampled_from([0, 1, True, 0.5, 1e-9]))
    ys = draw(st.lists(st.integers(2018, 2031), min_size=1, max_size=8).map(sorted))
    return tuple(CostYear(y, draw(kinds), draw(extreme_amounts), draw(extreme_amounts), draw(extreme_amounts),
                          draw(staff), draw(staff), draw(extreme_amounts)) for y in ys)


@SETTINGS
@given(costs=st.one_of(cost_lists(), extreme_cost_lists()), results_year=st.integers(2018, 2031),
       chart_id=st.sampled_from(["cost-chart", *HOSTILE]))
def test_cost_chart_in_one_pass_as_drawing_the_spec(reference, costs, results_year, chart_id) -> None:
    """cost_chart_html writes the chart straight from charts.cost_frame / cost_stacks /
    stack_segments, without the spec: the same bytes as the former macro drawing
    charts.cost_chart, also the second time (from the cached frame markup)."""
    sheet = _Sheet(costs, results_year)
    try:
        expected = str(reference.cost_chart(sheet, chart_id))
    except (OverflowError, ValueError) as exc:  # 「約…万円」 of an infinite or NaN total
        with pytest.raises(type(exc)):
            htmlparts.cost_chart_html(sheet, chart_id)  # type: ignore[arg-type]
        return
    assert htmlparts.cost_chart_html(sheet, chart_id) == expected  # type: ignore[arg-type]
    assert htmlparts.cost_chart_html(sheet, chart_id) == expected  # type: ignore[arg-type]


def test_cost_frame_markup_is_looked_up_by_the_frame_itself(reference, monkeypatch) -> None:
    """An entry of htmlparts._COST_FRAME_HTML that is not of the frame of its size is not used."""
    costs = (CostYear(2023, "決算", 3552, 1912, 0, 0.2, None, 1640), CostYear(2024, "予算", 2281, 641, 0, 0.2, None, 1640))
    other = htmlparts._cost_frame_html(charts.cost_frame(5))
    monkeypatch.setattr(htmlparts, "_COST_FRAME_HTML", {2: other})
    sheet = _Sheet(costs, 2024)
    assert htmlparts.cost_chart_html(sheet, "c") == str(reference.cost_chart(sheet, "c"))  # type: ignore[arg-type]


class _Change:
    def __init__(self, subject: str, before: str, after: str) -> None:
        self.subject, self.before, self.after = subject, before, after


def test_component_macros_are_globals_giving_what_their_import_gives() -> None:
    """make_env registers the macros of templates/components/ as globals (pages import none):
    the same text as `{% from "components/<name>.html" import <name> %}`, hostile text included."""
    env = make_env(ROOT / "templates")
    bar_rows = [("A課", 1200), (HOSTILE[0], None), ("B & C", 0)]
    calls = [
        ("breadcrumbs", ([("トップ", "./"), (HOSTILE[2], "a&b/<x>/"), (HOSTILE[0], None)],)),
        ("change_list", ([],)),
        ("change_list", ([_Change(HOSTILE[0], "継続", HOSTILE[1]), _Change("費用", "1", "2")],)),
        ("value", (None,)), ("value", (HOSTILE[0],)), ("value", (1234.5, "<u>")),
        ("sheet_list", ([], "list-1", HOSTILE[0], "../")),
        ("bar_chart", (bar_rows, "千円", HOSTILE[1], "chart-1")),
    ]
    for name, args in calls:
        imported = env.from_string(f'{{% from "components/{name}.html" import {name} as m %}}{{{{ m(*args) }}}}')
        as_global = env.from_string(f"{{{{ {name}(*args) }}}}")
        assert as_global.render(args=args) == imported.render(args=args), name
    pages = (ROOT / "templates" / "pages").glob("*.html")
    assert not [p.name for p in pages if '{% from "components/' in p.read_text(encoding="utf-8")]


def test_value_escapes_text_once() -> None:
    out = htmlparts.value_html('<script>alert("x")</script>')
    assert "<script>" not in out and html.unescape(out) == '<script>alert("x")</script>'
    assert htmlparts.value_html(12, "<i>") == '12<span class="hy-unit">&lt;i&gt;</span>'
    assert htmlparts.value_html(None) == htmlparts.value_html("   ") == Markup(htmlparts.EMPTY)
    assert htmlparts.value_html(0) == "0"  # zero is a number, not an empty cell


def test_hostile_indicator_text_is_escaped_once() -> None:
    name, unit = '<script>alert("n")</script>', "<b>件</b>"
    ind = Indicator("outcome", name, None, unit, False, (IndicatorValue(2024, 3, 2),))
    for out in (htmlparts.indicator_chart_html(ind, "c", 2024),
                htmlparts.indicator_table_html(ind, "t", 2024, fiscal_year_label)):
        assert "<script>" not in out and "<b>" not in out
        assert "&lt;script&gt;alert(&#34;n&#34;)&lt;/script&gt;" in out and "&amp;lt;" not in out


# -- number formatting --------------------------------------------------------------------------

finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@given(x=st.one_of(finite, st.integers(-10**9, 10**9), finite.map(lambda x: round(x, 3)),
                   st.integers(-10**6, 10**6).map(lambda k: k / 100 + 0.005)))
def test_r_is_round_then_tidy(x) -> None:
    """The fast _r equals its definition, and never returns an integral float (svg_number keys)."""
    r = charts._r(x)
    expected = charts._tidy(round(x, 2))
    assert r == expected and type(r) is type(expected)
    assert not (isinstance(r, float) and r.is_integer())


@given(x=st.one_of(finite, st.integers(-10**9, 10**9)))
def test_fmt_svg_and_svg_number(x) -> None:
    assert charts.fmt_svg(x) == fmt_number(charts._tidy(x)).replace(",", "")
    r = charts._r(x)
    assert charts.svg_number[r] == str(r)


@given(v=st.one_of(st.integers(-10**12, 10**12), finite))
def test_fmt_number_fast_path(v) -> None:
    expected = f"{v:,}" if isinstance(v, float) and not v.is_integer() else f"{int(v):,}"
    assert fmt_number(v) == expected


@SETTINGS
@given(ind=indicators(), costs=cost_lists(), results_year=st.integers(2018, 2031))
def test_spec_coordinates_are_ints_or_fractional_floats(ind, costs, results_year) -> None:
    """htmlparts writes spec coordinates through the memo charts.svg_number, whose keys must never
    be integral floats (174.0 would meet 174)."""
    def check(spec) -> None:
        for name, value in spec._asdict().items():
            if isinstance(value, tuple) and value and hasattr(value[0], "_asdict"):
                for item in value:
                    check(item)
            elif isinstance(value, float) and name not in ("target", "actual", "value", "total", "staff"):
                assert not value.is_integer() or math.isinf(value), (name, value)
    check(charts.indicator_chart(ind, results_year))
    check(charts.cost_chart(costs, results_year))


# -- Markdown: the lean parser for bodies without link, code, table, quote or HTML characters ------


markdown_pieces = st.sampled_from(["## ", "# ", "### ", "- ", "* ", "+ ", "1. ", "2) ", "    ", "  ", "\n", "\n\n",
                                   "---", "***", "___", "===", "*", "**", "_", "__", "!", "(", ")", "\"", "'", ":",
                                   "http://example.jp/", "www.example.jp", "--", "...", "(c)", "事業", "課題。",
                                   "a", "Z9", "・", "、", "\t", "\u00a0", "\0", "1,234"])


@settings(max_examples=1500, deadline=None)
@given(text=st.lists(markdown_pieces, max_size=40).map("".join))
def test_lean_markdown_parser_gives_the_same_html(text) -> None:
    assert markdown._LEAN_BLOCKERS.search(text) is None
    assert markdown._LEAN.render(text) == markdown._MD.render(text)
    assert markdown.render_markdown(text) == markdown._MD.render(text)


# Bodies near the plain ones of markdown._plain_html: lines that are text, items and headings,
# and the pieces of syntax that make a line something else (or make a list loose or lazy).
plain_pieces = st.sampled_from(["## ", "# ", "###### ", "####### ", "- ", "-", "1. ", "3. ", "0. ", "10. ",
                                "1234567890. ", "2) ", "+ ", "\n", "\n", "\n", "\n\n", "\n\n", "事業",
                                "課題。", "a", "2025年", "1.5", "2.", " ", "  ", "\u3000", "\u00a0", "\x1c",
                                "\"", "'", "#", "=", "---", "===", "(", ")", ":", "!", "http://example.jp/",
                                "&", "<", ">", "]", "*"])


@settings(max_examples=3000, deadline=None)
@given(text=st.lists(plain_pieces, max_size=30).map("".join))
def test_plain_bodies_written_without_the_parser_are_the_parsers_html(text) -> None:
    html = markdown._plain_html(text)
    assert html is None or html == markdown._MD.render(text)
    assert markdown.render_markdown(text) == markdown._MD.render(text)


def test_plain_bodies_are_written_without_the_parser() -> None:
    body = "\n## 現状の課題\n\n- 研修を「年2回」実施した。\n- 参加者は1.5倍\n\n## 今後の取組み\n\n段落の1行目\n2025年度に\"検討\"する。\n\n3. 三つ目\n4. 四つ目\n"
    assert markdown._plain_html(body) == markdown._MD.render(body)
    assert "<ol start=\"3\">" in markdown._plain_html(body)
    for not_plain in ("**太字**", "- a\n続き", "- a\n\n- b", "段落\n- a", "段落\n---", "　全角空白で始まる", "a  \nb",
                      "- a\n## 見出し", "## 閉じる ##", "1) 括弧"):
        assert markdown._plain_html(not_plain) is None, not_plain
        assert markdown.render_markdown(not_plain) == markdown._MD.render(not_plain)


def test_bodies_of_the_content_and_fixtures_render_as_with_the_full_parser() -> None:
    from hyoka.load import find_content, load_source
    files = [*find_content(ROOT / "content"), *find_content(ROOT / "tests" / "fixtures" / "site" / "content")]
    assert files
    lean = plain = 0
    for path in files:
        src, _ = load_source(path, path.name)
        assert src is not None
        lean += markdown._LEAN_BLOCKERS.search(src.body) is None
        plain += markdown._plain_html(src.body) is not None
        assert markdown.render_markdown(src.body) == markdown._MD.render(src.body)
    assert lean > 0  # the committed bodies take the lean parser (the last line: the full one)
    assert plain > 0  # … and most of them need no parser at all
    assert markdown.render_markdown("[x](javascript:alert(1)) <b>&amp;") == markdown._MD.render(
        "[x](javascript:alert(1)) <b>&amp;")


# The rows of components/sheet_list.html as they were written in Jinja (the loop, unchanged).
LIST_ROWS = """\
{% for s in sheets %}
    {% set cost = s.cost(s.results_year) %}
    {% set achieved, judged = s.achievement_counts(s.results_year) %}
    <tr>
      <th scope="row">
        <a href="{{ root }}{{ s.url | href }}">{{ s.title }}</a>
        <span class="hy-list__meta">{{ s.organization.division }}{% if s.organization.section %} {{ s.organization.section }}{% endif %}{% if show_year %}・{{ s.evaluation_year | wareki }}評価{% endif %}</span>
      </th>
      <td data-label="事業の方針">{{ s.direction | value }}</td>
      <td class="hy-num" data-label="総事業費（千円）">{{ (cost.total if cost else none) | value }}</td>
      <td data-label="指標の達成">{% if judged %}{{ judged }}指標中{{ achieved }}達成{% else %}{{ none | value }}{% endif %}</td>
    </tr>
{% endfor %}"""


@pytest.mark.parametrize("show_year", [False, True])
@pytest.mark.parametrize("root", ["../../", "./", "/hyoka/"])
def test_sheet_list_rows_as_the_former_loop(tmp_path, show_year: bool, root: str) -> None:
    from hyoka.collect import collect
    from hyoka.config import load_config
    from hyoka.pipeline import check
    from hyoka.render import environment

    from .xss_site import make_xss_project
    for config in (load_config(ROOT), make_xss_project(tmp_path)):
        sheets, _ = check(config)
        site = collect(sheets, config)
        env = environment(site, config.root / "templates")
        expected = env.from_string(LIST_ROWS).render(sheets=site.sheets, root=root, show_year=show_year)
        for _ in range(2):  # the second time from the rows kept by file hash
            assert htmlparts.sheet_list_rows(site.sheets, root, show_year) + "\n" == expected


# -- fast paths of the sheet page, against their straightforward versions -------------------------

ODD = [*HOSTILE, "", " ", "plain", "計画（案）", "<", ">", "&", '"', "'", "a\u0000b", Markup("<b>ok</b>"),
       Markup("&amp;"), 0, 12, -3.5, None, True]


@pytest.mark.parametrize("text", ODD)
def test_esc_is_escape(text) -> None:
    assert htmlparts._esc(text) == str(escape(text))
    assert type(htmlparts._esc(text)) in (str, Markup)


@given(text=st.text(max_size=30))
def test_esc_is_escape_for_any_text(text) -> None:
    assert htmlparts._esc(text) == str(escape(text))


@pytest.mark.parametrize("v", [*ODD, "  \n", 1234567, 0.25, 1234.5, 3.0, float("inf"), float("nan")])
@pytest.mark.parametrize("unit", [None, "", "件", "<u>", "a&b", '"'])
def test_value_text_is_value_html(v, unit) -> None:
    """The table cells' _value_text (unit markup made once per table) writes what value_html writes."""
    assert htmlparts._value_text(v, htmlparts._unit_html(unit)) == str(htmlparts.value_html(v, unit))


def test_fy_html_is_the_escaped_filter() -> None:
    def fy(year: int) -> str:
        return f"<{year}>&年度"
    for year in (2019, 2024, 2024, 1900):
        assert htmlparts._fy_html(fy, year) == str(escape(fy(year)))
        assert htmlparts._fy_html(fiscal_year_label, year) == str(escape(fiscal_year_label(year)))


@SETTINGS
@given(ind=indicators(), extra=st.lists(st.tuples(st.integers(2018, 2031), amounts, amounts), max_size=3))
def test_achievements_is_achievement_of_every_year(ind, extra) -> None:
    """charts.achievements equals Indicator.achievement per year, also with a year written twice
    (the first entry counts) and null targets or actuals."""
    ind = Indicator(ind.kind, ind.name, None, ind.unit, ind.lower_is_better,
                    ind.values + tuple(IndicatorValue(*e) for e in extra))
    states = charts.achievements(ind)
    assert list(states) == list(dict.fromkeys(v.year for v in ind.values))
    assert states == {v.year: ind.achievement(v.year) for v in ind.values}


@given(year=st.one_of(st.integers(1900, 2100), st.integers(1900, 2100).map(float)),
       style=st.sampled_from(["wareki", "seireki"]))
def test_cached_year_labels_are_the_functions(year, style) -> None:
    """era.wareki and fiscal_year_label are cached; 2024 and 2024.0 stay apart (typed)."""
    from hyoka import era
    assert era.wareki(year) == era.wareki.__wrapped__(year)
    assert era.fiscal_year_label(year, style) == era.fiscal_year_label.__wrapped__(year, style)


def test_lean_markdown_has_no_table_rule_to_align() -> None:
    """The lean parser leaves out the table rule, so it needs no align-class rule either."""
    assert "table" not in markdown._LEAN.block.ruler.get_active_rules()
    assert "hyoka_align_classes" not in markdown._LEAN.core.ruler.get_active_rules()
    assert "hyoka_shift_headings" in markdown._LEAN.core.ruler.get_active_rules()
    assert markdown.render_markdown("# a\n\n###### f") == "<h2>a</h2>\n<h6>f</h6>\n"


class _Html:
    def __html__(self) -> str:
        return "<b>as is</b>"


@given(st.one_of(st.text(), st.text().map(Markup), st.integers(), st.floats(allow_nan=False),
                 st.none(), st.booleans(), st.just(_Html())))
def test_output_escape_gives_the_text_of_escape(value) -> None:
    from hyoka.render import output_escape
    assert output_escape(value) == str(escape(value))


def test_templates_write_values_with_output_escape_and_the_same_text() -> None:
    """hyoka's code generator: `{{ }}` goes through output_escape; what is written does not change,
    with autoescape on, switched off in a block, or undefined names (still an error)."""
    from jinja2 import Environment, StrictUndefined, UndefinedError

    from hyoka.render import HyokaEnvironment
    source = ('<p title="{{ a }}">{{ a }}{{ m }}{{ n }}{{ h }}{{ none }}{{ a ~ m }}{{ a | upper }}</p>'
              '{% autoescape false %}{{ a }}{% endautoescape %}{{ "<i>" if n else m }}')
    values = {"a": "<x & 'y' \"z\">", "m": Markup("<b>ok</b>"), "n": 1_000, "h": _Html()}
    ours = HyokaEnvironment(autoescape=True, undefined=StrictUndefined)
    jinja = Environment(autoescape=True, undefined=StrictUndefined)
    assert "environment.output_escape(" in ours.compile(source, raw=True)
    assert ours.from_string(source).render(**values) == jinja.from_string(source).render(**values)
    assert "&lt;x &amp; &#39;y&#39; &#34;z&#34;&gt;" in ours.from_string(source).render(**values)
    with pytest.raises(UndefinedError):
        ours.from_string("{{ missing_name }}").render()


def test_bytecode_cache_files_are_named_after_the_code_generator(tmp_path) -> None:
    """Templates compiled by Jinja's own generator (or an older one of hyoka's) are not loaded."""
    from hyoka.collect import collect
    from hyoka.config import load_config
    from hyoka.pipeline import check
    from hyoka.render import CODEGEN_VERSION, environment
    config = load_config(ROOT)
    env = environment(collect(check(config)[0], config), ROOT / "templates", bytecode=tmp_path)
    env.get_template("pages/sheet.html")
    names = [p.name for p in tmp_path.iterdir()]
    assert names and all(n.startswith(f"__hyoka{CODEGEN_VERSION}_") for n in names)


@given(v=st.one_of(st.integers(-10**12, 10**12), finite, st.booleans()))
def test_fmt_number_memo_gives_the_same_text_each_time(v) -> None:
    """fmt_number keeps the texts of ints and fractional floats (render.int_text, float_text):
    the second answer is the first, and True is never taken for 1."""
    first = fmt_number(v)
    assert fmt_number(v) == first
    if type(v) is bool:
        assert first == str(v)
    assert htmlparts._value_text(v) == first or isinstance(v, bool)


def test_template_calls_pass_the_context_as_jinja_does() -> None:
    """hyoka's Context calls an unmarked function, method or builtin at once, and leaves the rest
    (pass_context, pass_eval_context, pass_environment, a callable object, a StopIteration) to
    Jinja's Context.call: the same text as Jinja's own environment gives."""
    from jinja2 import Environment, StrictUndefined, pass_context, pass_environment, pass_eval_context

    from hyoka.render import HyokaEnvironment

    @pass_context
    def with_context(ctx, name):
        return f"{name}={ctx.get(name)}"

    @pass_eval_context
    def with_eval(ectx, x):
        return f"{x}:{ectx.autoescape}"

    @pass_environment
    def with_env(env, x):
        return f"{x}:{type(env).__name__ == 'HyokaEnvironment' or env.autoescape}"

    class Marked:
        @pass_context
        def __call__(self, ctx, name):
            return f"obj {name}={ctx.get(name)}"

    class Thing:
        def method(self, a, b=2):
            return a * b

        @pass_context
        def marked(self, ctx, name):
            return f"m {ctx.get(name)}"

    def stop():
        raise StopIteration

    source = ("{% set local = 'L' %}{{ plain(3, k='v') }} {{ with_context('local') }} {{ with_context('g') }}"
              " {% for i in [1] %}{% set inner = i %}{{ with_context('inner') }}{% endfor %}"
              " {{ with_eval(1) }} {{ with_env(2) }} {{ marked('g') }} {{ thing.method(4) }} {{ thing.method(4, b=3) }}"
              " {{ thing.marked('g') }} {{ len([1, 2]) }} {{ stop() is undefined }}")
    values = {"plain": lambda n, k: f"{n}{k}", "with_context": with_context, "with_eval": with_eval,
              "with_env": with_env, "marked": Marked(), "thing": Thing(), "len": len, "stop": stop, "g": "G"}
    ours = HyokaEnvironment(autoescape=True, undefined=StrictUndefined)
    jinja = Environment(autoescape=True, undefined=StrictUndefined)
    text = ours.from_string(source).render(**values)
    assert text == jinja.from_string(source).render(**values)
    assert "local=L" in text and "inner=1" in text and "obj g=G" in text and "m G" in text and "True" in text

    # Marked after a first call; a marked __call__ of a function's own; a method of a callable
    # object that cannot be hashed: each still as Jinja does it.
    def later(*a):
        return "ctx" if a and hasattr(a[0], "environment") else "plain"

    def own_call():
        return "direct"

    own_call.__call__ = pass_context(lambda ctx: f"own {ctx.get('g')}")

    class Unhashable:
        __hash__ = None

        def __call__(self, this):
            return "unhashable"

    import types
    more = {"later": later, "own_call": own_call, "m": types.MethodType(Unhashable(), object()), "g": "G"}
    source = "{{ later() }} {{ own_call() }} {{ m() }}"
    assert ours.from_string(source).render(**more) == jinja.from_string(source).render(**more)
    pass_context(later)
    assert ours.from_string(source).render(**more) == jinja.from_string(source).render(**more)
    assert ours.from_string(source).render(**more).startswith("ctx own G unhashable")


def test_list_rows_share_all_but_the_root(config) -> None:
    """A sheet's list row is made once per show_year and put after each list's root
    (htmlparts._ROW_RESTS): the same text as made anew for that root."""
    from hyoka.pipeline import check
    sheet = check(config)[0][0]
    rows = {(root, year): htmlparts._sheet_row(sheet, root, year)
            for root in ("../../", "../../../", "<&>/") for year in (False, True)}
    htmlparts._ROWS.clear()
    htmlparts._ROW_RESTS.clear()
    for (root, year), row in rows.items():
        assert htmlparts._sheet_row(sheet, root, year) == row
        htmlparts._ROWS.clear()
        htmlparts._ROW_RESTS.clear()
    assert rows[("<&>/", False)].replace("&lt;&amp;&gt;/", "../../") == rows[("../../", False)]
    assert "評価" in rows[("../../", True)] and rows[("../../", True)] != rows[("../../", False)]


@pytest.mark.parametrize("show_year", [False, True])
def test_sheet_list_rows_and_feed_from_the_build_cache_as_made_anew(config, show_year: bool) -> None:
    """After an edit most list rows and feed entries are the build cache's (htmlparts._CACHED,
    opendata._FEED_CACHED), taken at once: with some of them missing (the edited sheet's), one
    without a file hash (made in code: never from the cache) and a stale one kept under another
    hash, the text is the one made anew."""
    import dataclasses

    from hyoka import opendata
    from hyoka.cache import packed
    from hyoka.collect import collect
    from hyoka.model import SourceRef
    from hyoka.pipeline import check

    sheets, _ = check(config)
    site = collect(sheets, config)
    root, base = "../../", "https://example.jp/"
    no_hash = dataclasses.replace(site.sheets[1], source=SourceRef(site.sheets[1].source.path, 0, ""))
    listed = [*site.sheets, no_hash]
    htmlparts._ROWS.clear()
    htmlparts._ROW_RESTS.clear()
    opendata._FEED_ENTRIES.clear()
    rows = "\n".join(htmlparts._sheet_row(s, root, show_year) for s in listed)
    entries = b"".join(opendata._feed_entry(s, base, True) for s in listed)
    keys = {(s.id, s.evaluation_year, s.source.digest) for s in site.sheets[2:]}  # the first two missing
    cached_rows, cached_feed = packed({}, htmlparts._ROWS, keys), packed({}, opendata._FEED_ENTRIES, keys)
    # What a sheet without a hash would wrongly be given, were it looked up.
    cached_rows[(root, show_year)][(no_hash.id, no_hash.evaluation_year, "")] = b"<tr>stale</tr>"
    cached_feed[(base,)][(no_hash.id, no_hash.evaluation_year, "")] = b"<entry>stale</entry>"
    try:
        for _ in range(2):
            htmlparts._ROWS.clear()
            htmlparts._ROW_RESTS.clear()
            opendata._FEED_ENTRIES.clear()
            htmlparts.keep_packed_rows(cached_rows)
            opendata.keep_feed_entries(cached_feed)
            assert htmlparts.sheet_list_rows(listed, root, show_year) == rows
            assert htmlparts.sheet_list_rows(iter(listed), root, show_year) == rows
            assert b"".join(opendata._encoded_entries(listed, base)) == entries
            made_rows = {k[:3] for k in htmlparts._ROWS}
            assert made_rows == {(s.id, s.evaluation_year, s.source.digest) for s in [*site.sheets[:2], no_hash]}
            assert {k[:3] for k in opendata._FEED_ENTRIES} == made_rows
    finally:
        htmlparts.keep_packed_rows({})
        opendata.keep_feed_entries({})
