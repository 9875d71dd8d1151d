"""HTML components built in Python: the charts and tables of the sheet page, and `value`.

A sheet page holds five or so charts and their tables: hundreds of numbers and coordinates.
Written as Jinja templates, each `{{ }}` is a function call plus an escape, which made these
components most of the build's time. Here each component is one f-string pass that returns
one `Markup`, with the same bytes the former templates produced (tests/test_render_parts.py keeps
those macros as the reference; tests/golden/ holds whole pages).

Escaping rule: every text that can come from a sheet or the configuration (names, units, kinds,
comments, ids) goes through `escape` (or `_esc`, the same for a str) exactly once. Numbers,
coordinates, year labels and the fixed Japanese words of hyoka/charts.py are formatted by Python
and cannot contain markup characters, so they are written as they are.

The templates call these as filters and globals registered in hyoka.render.make_env:
`{{ v | value }}`, `{{ v | value(unit) }}`, `{{ indicator_chart(ind, chart_id, results_year) }}`,
`{{ indicator_table(ind, table_id, results_year) }}`, `{{ cost_chart(sheet, chart_id) }}`,
`{{ cost_table(sheet, table_id) }}`, `{{ eval_grid(sheet, table_id) }}`. To change their markup,
edit this file (and the reference in tests/test_render_parts.py); the CSS classes are those of
assets/css/charts.css and site.css.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from numbers import Number as _AnyNumber
from typing import Any, NamedTuple

from jinja2 import Environment, pass_environment
from markupsafe import Markup, escape

from . import charts
from .cache import Packed, packed
from .era import wareki
from .model import EvaluationItem, Indicator, Number, Sheet
from .render import escape_text, fmt_number, href, int_text, markup
from .schema import EVALUATION_GROUPS

# The empty cell: a dash for the eye, 「データなし」 for screen readers.
EMPTY = ('<span class="hy-empty"><span aria-hidden="true">—</span>'
         '<span class="hy-visually-hidden">データなし</span></span>')
_EMPTY_MARKUP = Markup(EMPTY)

def _esc(text: Any) -> str:
    """`str(escape(text))`, without making a Markup for a plain str (most texts): escaped in C,
    4 times quicker than looking for the five characters with a regex first."""
    if type(text) is str:
        return escape_text(text)
    return str(escape(text))


def value_html(v: Any, unit: Any = None) -> Markup:
    """A text value (escaped), a number with thousands separators and its unit, or the empty mark.

    Empty means None or a string of only white space; 0 is a number, not empty.
    """
    t = type(v)
    if t is str:  # a sheet's text (the most common value), without the slow Number ABC check
        return escape(v) if v.strip() else _EMPTY_MARKUP
    if t is not int and t is not float:  # the common numbers first: an ABC check is slow
        if v is None or (isinstance(v, str) and not v.strip()):
            return _EMPTY_MARKUP
        if not isinstance(v, _AnyNumber):
            return escape(v)
    if unit:
        return markup(f'{fmt_number(v)}<span class="hy-unit">{escape(unit)}</span>')
    return markup(fmt_number(v))


def _value_text(v: Any, unit_html: str = "") -> str:
    """value_html as a str for the table cells, with the unit already written as markup
    (`_unit_html(unit)`): the unit is escaped once per table, not once per cell."""
    t = type(v)
    if t is int:  # most cells: fmt_number's first case, without the call
        return int_text[v] + unit_html
    if t is str:  # ratings and comments, without the slow Number ABC check
        return _esc(v) if v.strip() else EMPTY
    if t is not float:
        if v is None or (isinstance(v, str) and not v.strip()):
            return EMPTY
        if not isinstance(v, _AnyNumber):
            return _esc(v)
    return fmt_number(v) + unit_html


def _unit_html(unit: Any) -> str:
    """The unit after a number, as value_html writes it ("" for no unit)."""
    return f'<span class="hy-unit">{_esc(unit)}</span>' if unit else ""


# Fiscal years as escaped table headings, per `fy` filter and year (a page heads ~20 rows and
# columns with a handful of years). `fy` is a pure function of the year (the site's year format).
_FY_HTML: dict[tuple[Callable[[int], str], int], str] = {}


def _fy_html(fy: Callable[[int], str], year: int) -> str:
    """_esc(fy(year)), remembered."""
    key = (fy, year)
    text = _FY_HTML.get(key)
    if text is None:
        if len(_FY_HTML) > 4096:
            _FY_HTML.clear()
        text = _FY_HTML[key] = _esc(fy(year))
    return text


# -- indicator chart -------------------------------------------------------------------------------

# Achievement state → its CSS modifier (not_achieved → not-achieved).
_STATE_CLASS: dict[str, str] = {k: k.replace("_", "-") for k in charts.ACHIEVEMENT_TEXT}

_INDICATOR_LEGEND = (
    '  <ul class="hy-chart__legend">\n'
    '    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true">'
    '<rect class="hy-chart__actual" x="8" y="3" width="12" height="15"/></svg>実績（縦棒）</li>\n'
    '    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true">'
    '<line class="hy-chart__target-halo" x1="1" y1="9" x2="27" y2="9"/>'
    '<line class="hy-chart__target-line" x1="1" y1="9" x2="27" y2="9"/>'
    '<path class="hy-chart__target-mark" d="M14 4 L19 9 L14 14 L9 9 Z"/></svg>目標（◇の付いた横線）</li>\n'
    '  </ul>\n'
)


_T = charts.svg_number  # coordinates as SVG text, memoised


def _tick_lines(ticks: tuple[charts.Tick, ...], plot_left: Number, plot_right: Number, tick_x: Number,
                font_size: Number) -> str:
    """The value axis: a gridline (above zero) and a label per tick."""
    out = []
    for i, t in enumerate(ticks):
        if i:
            out.append(f'      <line class="hy-chart__grid" x1="{plot_left}" y1="{t.y}" x2="{plot_right}" y2="{t.y}"/>\n')
        out.append(f'      <text class="hy-chart__tick" x="{tick_x}" y="{t.label_y}" text-anchor="end" '
                   f'font-size="{font_size}">{t.label}</text>\n')
    return "".join(out)


class _SlotHtml(NamedTuple):
    """The markup of one slot of an indicator chart that depends only on its frame."""

    highlight: str                  # the band behind the results year
    bar: str                        # the actual's rect, up to its y
    target_line: str                # a target line's x1="…" y1=", before its y
    target_x2: str                  # " x2="…" y2=", between its two ys
    missing: str                    # the 「データなし」 text, up to its y
    value: tuple[str, str]          # the value label, up to its y: outside, inside the bar
    year: tuple[str, str]           # the year text, up to its label: other years, the results year
    achievement: dict[str, str]     # the whole 達成/未達成/… text, per state
    tag: str                        # the 評価対象 box and its text


class _FrameHtml(NamedTuple):
    """The markup of an indicator chart that depends only on its frame (charts.IndicatorFrame)."""

    frame: charts.IndicatorFrame
    svg_open: str                   # '  <svg … viewBox="…" role="img" aria-labelledby="', before the ids
    axis: str                       # tick lines and labels
    baseline: str                   # the zero line
    bar_tail: str                   # '" width="…" height="', between a bar's y and height
    slots: tuple[_SlotHtml, ...]


def _frame_html(frame: charts.IndicatorFrame) -> _FrameHtml:
    """_FrameHtml of `frame`, made once per frame (charts share frames: hyoka.charts caches them)."""
    T = _T
    small = charts.FONT_SMALL
    baseline = charts.IND_BASELINE
    plot_left = frame.plot_left
    highlight = (f'" y="{charts.IND_HIGHLIGHT_Y}" width="{T[frame.slots[0].width]}" '
                 f'height="{T[frame.highlight_height]}"/>\n')
    year_tail = f'" y="{charts.IND_YEAR_Y}" text-anchor="middle" font-size="{frame.year_font_size}">'
    achievement_tail = f'" y="{charts.IND_ACHIEVEMENT_Y}" text-anchor="middle" font-size="{small}">'
    tag_y = charts.IND_TAG_Y
    slots = []
    for f in frame.slots:
        cx = T[f.cx]
        slots.append(_SlotHtml(
            highlight=f'      <rect class="hy-chart__highlight" x="{T[f.x]}{highlight}',
            bar=f'      <rect class="hy-chart__actual" x="{T[f.bar_x]}" y="',
            target_line=f'x1="{T[f.target_x1]}" y1="',
            target_x2=f'" x2="{T[f.target_x2]}" y2="',
            missing=f'      <text class="hy-chart__missing" x="{cx}" y="',
            value=(f'      <text class="hy-chart__value" x="{cx}" y="',
                   f'      <text class="hy-chart__value hy-chart__value--inside" x="{cx}" y="'),
            year=(f'      <text class="hy-chart__year" x="{cx}{year_tail}',
                  f'      <text class="hy-chart__year hy-chart__year--current" x="{cx}{year_tail}'),
            achievement={
                state: f'      <text class="hy-chart__achievement hy-chart__achievement--{css}" '
                       f'x="{cx}{achievement_tail}{charts.ACHIEVEMENT_TEXT[state]}</text>\n'
                for state, css in _STATE_CLASS.items()},
            tag=(f'      <rect class="hy-chart__tag" x="{T[f.tag_x]}" y="{tag_y - 12}" width="{T[frame.tag_w]}" '
                 f'height="16" rx="2"/>\n'
                 f'      <text class="hy-chart__tag-text" x="{cx}" y="{tag_y}" text-anchor="middle" '
                 f'font-size="{small}">{charts.TAG_TEXT}</text>\n'),
        ))
    return _FrameHtml(
        frame=frame,
        svg_open=f'  <svg class="hy-chart__svg" viewBox="{frame.view_box}" role="img" aria-labelledby="',
        axis=_tick_lines(frame.ticks, plot_left, T[frame.plot_right], plot_left - 6, small),
        baseline=(f'      <line class="hy-chart__baseline" x1="{plot_left}" y1="{baseline}" '
                  f'x2="{T[frame.plot_right]}" y2="{baseline}"/>\n'),
        bar_tail=f'" width="{T[frame.bar_w]}" height="',
        slots=tuple(slots),
    )


# _FrameHtml by id of its frame (a frame is a deep tuple: slow to hash). The entry holds its frame,
# so that id is not reused while it is here; checked with `is` all the same.
_FRAME_HTML: dict[int, _FrameHtml] = {}


def indicator_chart_html(ind: Indicator, chart_id: str, results_year: int) -> Markup:
    """One Indicator's target vs actual per fiscal year as a figure with an inline SVG.

    Actual = solid bar, target = horizontal line with an open diamond (shape, not colour, tells
    them apart: WCAG 1.4.1); a missing value is the words 「データなし」, never a bar of 0; the
    results year is boxed as 「評価対象」 and 達成・未達成 is written under each year. The summary
    sentence is the visible figure caption; the svg is role="img" named by its <title> and <desc>
    (the same numbers as indicator_table, which stays beside it). `chart_id` must be unique on
    the page: it prefixes every id inside.

    Geometry: hyoka.charts (`indicator_frame`, `slot_marks`), written in one pass without the
    chart spec `charts.indicator_chart` (the markup is the same as drawing that spec:
    tests/test_render_parts.py).
    """
    values = ind.values
    states = charts.achievements(ind)
    head = (f'<figure class="hy-chart hy-chart--indicator">\n'
            f'  <figcaption class="hy-chart__summary">{_esc(charts.summary_of(ind, results_year, states))}'
            f'</figcaption>\n')
    if not values:
        return markup(head + '</figure>')
    frame = charts.indicator_frame(values)
    fh = _FRAME_HTML.get(id(frame))
    if fh is None or fh.frame is not frame:
        if len(_FRAME_HTML) > 4096:
            _FRAME_HTML.clear()
        fh = _FRAME_HTML[id(frame)] = _frame_html(frame)
    T = _T
    unit = ind.unit
    suffix = _esc(unit) if unit else ""  # escaped once for the <desc> and the unit label
    top, bar_w, bar_tail = frame.top, frame.bar_w, fh.bar_tail
    # charts.slot_marks written out (a call and a NamedTuple per year: a fifth of a chart).
    y_of, diamond, actual_marks, missing_y = charts.y_of, charts.diamond, charts.actual_marks, charts.missing_y
    wareki_, fmt = wareki, fmt_number
    missing_text, verdicts = charts.MISSING_TEXT, charts.DESC_VERDICT
    highlights: list[str] = []
    bars: list[str] = []
    marks: list[str] = []
    desc = [charts.DESC_HEAD[bool(ind.lower_is_better)]]
    for f, sh, v in zip(frame.slots, fh.slots, values, strict=True):
        target, actual, year = v.target, v.actual, v.year
        target_y = None if target is None else y_of(target, top)
        if actual is None:
            bar_height, value_y = None, missing_y(target_y)
        else:
            bar_y, bar_height, value_label, value_y, inside = actual_marks(actual, top, bar_w, target_y)
        state = states[year]
        year_label = wareki_(year)
        current = year == results_year
        if current:
            highlights.append(sh.highlight)
        if bar_height:
            bars.append(f'{sh.bar}{T[bar_y]}{bar_tail}{T[bar_height]}"/>\n')
        if target_y is None:
            target_text = missing_text
        else:
            target_text = fmt(target) + suffix
            y = T[target_y]
            line = f'{sh.target_line}{y}{sh.target_x2}{y}"/>\n'
            marks.append(f'      <line class="hy-chart__target-halo" {line}'
                         f'      <line class="hy-chart__target-line" {line}'
                         f'      <path class="hy-chart__target-mark" d="{diamond(f.diamond_x, target_y)}"/>\n')
        if actual is None:
            actual_text = missing_text
            marks.append(f'{sh.missing}{T[value_y]}" text-anchor="middle" '
                         f'font-size="{charts.FONT_SMALL}">{missing_text}</text>\n')
        else:
            actual_text = value_label + suffix
            marks.append(f'{sh.value[inside]}{T[value_y]}" text-anchor="middle">{value_label}</text>\n')
        marks.append(f'{sh.year[current]}{year_label}</text>\n')
        marks.append(sh.achievement[state])
        if current:
            marks.append(sh.tag)
        desc.append(f"{year_label}: 目標{target_text}、実績{actual_text}{verdicts[state]}。")
    cid = _esc(chart_id)
    unit_label = (f'      <text class="hy-chart__unit" x="0" y="12" font-size="{charts.FONT_SMALL}">'
                  f'単位: {suffix}</text>\n') if unit else ""
    return markup(
        f'{head}{_INDICATOR_LEGEND}{fh.svg_open}{cid}-title {cid}-desc" font-size="{charts.FONT}">\n'
        f'    <title id="{cid}-title">{_esc(ind.kind_label)}「{_esc(ind.name)}」の目標と実績のグラフ</title>\n'
        f'    <desc id="{cid}-desc">{"".join(desc)}</desc>\n'
        '    <g aria-hidden="true">\n'
        f'{"".join(highlights)}{unit_label}{fh.axis}{"".join(bars)}{fh.baseline}{"".join(marks)}'
        '    </g>\n  </svg>\n</figure>')


# -- indicator table -------------------------------------------------------------------------------

_INDICATOR_TABLE_HEAD = (
    '  <thead>\n'
    '    <tr>\n'
    '      <th scope="col">年度</th>\n'
    '      <th scope="col">目標</th>\n'
    '      <th scope="col">実績</th>\n'
    '      <th scope="col">達成状況</th>\n'
    '    </tr>\n'
    '  </thead>\n'
    '  <tbody>\n'
)
_ROW = '    <tr>\n'
_ROW_CURRENT = '    <tr class="hy-table__row--current">\n'
_CURRENT_TAG = '<span class="hy-tag">評価対象</span>'
# The achievement cell and the end of its row, per state.
_ACHIEVEMENT_CELL: dict[str, str] = {
    state: f'      <td class="hy-achievement hy-achievement--{css}">{charts.ACHIEVEMENT_TEXT[state]}</td>\n    </tr>\n'
    for state, css in _STATE_CLASS.items()}


def indicator_table_html(ind: Indicator, table_id: str, results_year: int,
                         fy: Callable[[int], str]) -> Markup:
    """Target, actual and achievement per fiscal year of one Indicator, as a table with caption
    and th scope (WCAG 1.3.1). `fy` writes a fiscal year (the template filter `fy`)."""
    tid = _esc(table_id)
    unit = ind.unit
    caption_unit = f"（単位: {_esc(unit)}）" if unit else ""
    unit_html = _unit_html(unit)
    states = charts.achievements(ind)
    out = [f'<div class="hy-table-wrap" role="region" aria-labelledby="{tid}" tabindex="0">\n'
           f'<table class="hy-table hy-table--numeric">\n'
           f'  <caption id="{tid}">{_esc(ind.kind_label)}「{_esc(ind.name)}」の目標と実績{caption_unit}</caption>\n',
           _INDICATOR_TABLE_HEAD]
    for v in ind.values:
        state = states[v.year]
        current = v.year == results_year
        out.append(
            f'{_ROW_CURRENT if current else _ROW}'
            f'      <th scope="row">{_fy_html(fy, v.year)}{_CURRENT_TAG if current else ""}</th>\n'
            f'      <td>{_value_text(v.target, unit_html)}</td>\n'
            f'      <td>{_value_text(v.actual, unit_html)}</td>\n'
            f'{_ACHIEVEMENT_CELL[state]}')
    out.append('  </tbody>\n</table>\n</div>')
    return markup("".join(out))


# -- cost chart ------------------------------------------------------------------------------------

_COST_LEGEND = (
    '  <ul class="hy-chart__legend">\n'
    '    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true">'
    '<rect class="hy-chart__seg hy-chart__seg--operating hy-chart__seg--settled" x="8" y="3" width="12" height="15"/>'
    '</svg>事業経費（棒の下の段）</li>\n'
    '    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" aria-hidden="true">'
    '<rect class="hy-chart__seg hy-chart__seg--personnel hy-chart__seg--settled" x="8" y="3" width="12" height="15"/>'
    '</svg>概算人件費（棒の上の段）</li>\n'
)
_COST_NOTE = '  <p class="hy-chart__note">棒の上の数字は総事業費（千円）、棒の下は年度・区分・従事常勤職員数（人）です。</p>\n'


def _segment(cid: str, key: str, style: str, x: Any, y: Any, w: Any, h: Any) -> str:
    """One part of a cost bar (or of a legend swatch); hatched or dotted fills for 予算・予定."""
    fill = f' fill="url(#{cid}-{key}-{style})"' if style in ("budget", "plan") else ""
    return (f'<rect class="hy-chart__seg hy-chart__seg--{key} hy-chart__seg--{style}" '
            f'x="{x}" y="{y}" width="{w}" height="{h}"{fill}/>')


def _patterns(cid: str, keys: tuple[str, ...], styles: set[str]) -> str:
    """The <defs> fills of the bars of 予算 (hatched) and 予定 (dotted), per segment key."""
    out = []
    for key in keys:
        if "budget" in styles:
            out.append(
                f'      <pattern id="{cid}-{key}-budget" width="5" height="5" patternUnits="userSpaceOnUse" '
                f'patternTransform="rotate(45)">\n'
                f'        <rect class="hy-chart__pattern-bg" width="5" height="5"/>\n'
                f'        <line class="hy-chart__hatch hy-chart__hatch--{key}" x1="2.5" y1="0" x2="2.5" y2="5"/>\n'
                f'      </pattern>\n')
        if "plan" in styles:
            out.append(
                f'      <pattern id="{cid}-{key}-plan" width="4.5" height="4.5" patternUnits="userSpaceOnUse">\n'
                f'        <rect class="hy-chart__pattern-bg" width="4.5" height="4.5"/>\n'
                f'        <circle class="hy-chart__dot hy-chart__dot--{key}" cx="2.25" cy="2.25" r="1.3"/>\n'
                f'      </pattern>\n')
    return "".join(out)


class _CostSlotHtml(NamedTuple):
    """The markup of one bar of a cost chart that depends only on its frame."""

    highlight: str                  # the band behind the results year
    segment: str                    # '" x="…" y="', between a segment's classes and its y
    value: str                      # the 総事業費 text, up to its y
    missing: str                    # the 「データなし」 text, up to its y
    year: tuple[str, str]           # the year text, up to its label: other years, the results year
    kind: str                       # the kind text, up to the kind
    staff: str                      # the staff text, up to its label


class _CostFrameHtml(NamedTuple):
    """The markup of a cost chart that depends only on its frame (charts.CostFrame)."""

    frame: charts.CostFrame
    svg_open: str                   # '  <svg … viewBox="…" role="img" aria-labelledby="', before the ids
    segment_tail: str               # '" width="…" height="', between a segment's y and height
    baseline: str                   # the zero line and the end of the drawing
    slots: tuple[_CostSlotHtml, ...]


def _cost_frame_html(frame: charts.CostFrame) -> _CostFrameHtml:
    """_CostFrameHtml of `frame`, made once per number of years."""
    T = _T
    small = charts.FONT_SMALL
    highlight = (f'" y="{charts.COST_HIGHLIGHT_Y}" width="{T[frame.slots[0][2]]}" '
                 f'height="{T[charts.COST_HIGHLIGHT_HEIGHT]}"/>\n')
    year_tail = f'" y="{charts.COST_YEAR_Y}" text-anchor="middle" font-size="{charts._year_font(frame.slot_w)}">'
    slots = []
    for x, cx, _, bar_x in frame.slots:
        cx_ = T[cx]
        slots.append(_CostSlotHtml(
            highlight=f'      <rect class="hy-chart__highlight" x="{T[x]}{highlight}',
            segment=f'" x="{T[bar_x]}" y="',
            value=f'      <text class="hy-chart__value" x="{cx_}" y="',
            missing=f'      <text class="hy-chart__missing" x="{cx_}" y="',
            year=(f'      <text class="hy-chart__year" x="{cx_}{year_tail}',
                  f'      <text class="hy-chart__year hy-chart__year--current" x="{cx_}{year_tail}'),
            kind=f'      <text class="hy-chart__kind" x="{cx_}" y="{charts.COST_KIND_Y}" text-anchor="middle" '
                 f'font-size="{small}">',
            staff=f'      <text class="hy-chart__staff" x="{cx_}" y="{charts.COST_STAFF_Y}" text-anchor="middle" '
                  f'font-size="{small}">',
        ))
    baseline = charts.COST_BASELINE
    return _CostFrameHtml(
        frame=frame,
        svg_open=f'  <svg class="hy-chart__svg" viewBox="{frame.view_box}" role="img" aria-labelledby="',
        segment_tail=f'" width="{T[frame.bar_w]}" height="',
        baseline=(f'      <line class="hy-chart__baseline" x1="0" y1="{baseline}" x2="{T[frame.width]}" '
                  f'y2="{baseline}"/>\n    </g>\n  </svg>\n'),
        slots=tuple(slots),
    )


# _CostFrameHtml by number of years (checked against the frame all the same).
_COST_FRAME_HTML: dict[int, _CostFrameHtml] = {}
# The start of a segment's rect, per (key, style): its classes.
_SEGMENT_CLASS: dict[tuple[str, str], str] = {}


def cost_chart_html(sheet: Sheet, chart_id: str) -> Markup:
    """The sheet's costs as a figure with an inline SVG of stacked bars per fiscal year.

    事業経費 (lower part) + 概算人件費 (upper part), kept apart by a visible gap and shade; the
    kind (決算・予算・予定) written under each bar AND drawn as a fill pattern (solid, hatched,
    dotted with a dashed outline), so black-and-white prints and forced colours keep the meaning
    (WCAG 1.4.1); 総事業費 in 千円 above each bar, 従事常勤職員数 under it. The summary sentence is
    the visible figure caption; the svg is role="img" named by its <title> and <desc>; cost_table
    keeps the same numbers beside it. `chart_id` must be unique on the page: it prefixes every id
    inside (patterns too).

    Geometry: hyoka.charts (`cost_frame`, `cost_stacks`, `stack_segments`), written in one pass
    without the chart spec `charts.cost_chart` (the markup is the same as drawing that spec:
    tests/test_render_parts.py).
    """
    costs = sheet.costs
    results_year = sheet.results_year
    n = max(1, len(costs))
    frame = charts.cost_frame(n)
    fh = _COST_FRAME_HTML.get(n)
    if fh is None or fh.frame is not frame:
        fh = _COST_FRAME_HTML[n] = _cost_frame_html(frame)
    stacks, _, scale = charts.cost_stacks(costs)
    cid = _esc(chart_id)
    T, r, stack_segments, total_y = _T, charts._r, charts.stack_segments, charts.total_y
    kind_styles, segment_tail = charts.KIND_STYLES, fh.segment_tail
    fmt, staff_label_of, missing_text = fmt_number, charts._staff_label, charts.MISSING_TEXT
    small = charts.FONT_SMALL
    highlights: list[str] = []
    marks: list[str] = []
    desc: list[str] = []
    has_total = False  # a year drawn as its total alone: the "total" fills are needed too
    for sh, c, stack in zip(fh.slots, costs, stacks, strict=False):
        year, total, operating, personnel, staff = c.year, c.total, c.operating, c.personnel, c.staff_regular
        current = year == results_year
        if current:
            highlights.append(sh.highlight)
        style = kind_styles.get(c.kind, "other")
        fill = style in ("budget", "plan")
        segments, stack_top = stack_segments(stack, scale)
        for key, _, _, _, rect_y, rect_h in segments:
            rect_height = r(rect_h)
            if rect_height > 0:
                cls = _SEGMENT_CLASS.get((key, style))
                if cls is None:
                    cls = _SEGMENT_CLASS[(key, style)] = (
                        f'      <rect class="hy-chart__seg hy-chart__seg--{key} hy-chart__seg--{style}')
                end = f'" fill="url(#{cid}-{key}-{style})"/>\n' if fill else '"/>\n'
                marks.append(f'{cls}{sh.segment}{T[r(rect_y)]}{segment_tail}{T[rect_height]}{end}')
            if key == "total":
                has_total = True
        if total is None:
            total_text = missing_text
            missing = operating is None and personnel is None
            marks.append(f'{sh.missing}{T[total_y(missing, stack_top)]}" text-anchor="middle" '
                         f'font-size="{small}">{missing_text}</text>\n')
        else:
            total_label = fmt(total)
            total_text = total_label + "千円"
            marks.append(f'{sh.value}{T[total_y(False, stack_top)]}" text-anchor="middle">{total_label}</text>\n')
        year_label = wareki(year)
        kind = _esc(c.kind)
        staff_label = staff_label_of(staff)
        marks.append(f'{sh.year[current]}{year_label}</text>\n'
                     f'{sh.kind}{kind}</text>\n'
                     f'{sh.staff}{staff_label}</text>\n')
        # A row of charts.cost_desc.
        desc.append(f"{year_label}（{kind}）: 総事業費{total_text}"
                    f"（事業経費{missing_text if operating is None else fmt(operating) + '千円'}、"
                    f"概算人件費{missing_text if personnel is None else fmt(personnel) + '千円'}）、"
                    f"従事常勤職員数{missing_text if staff is None else staff_label}。")
    kinds = charts.cost_kinds(costs)
    out = [f'<figure class="hy-chart hy-chart--cost">\n'
           f'  <figcaption class="hy-chart__summary">{_esc(charts.cost_summary(costs, results_year))}'
           f'</figcaption>\n',
           _COST_LEGEND]
    for kind, style, style_text in kinds:
        out.append(f'    <li class="hy-chart__legend-item"><svg class="hy-chart__swatch" viewBox="0 0 28 18" '
                   f'aria-hidden="true">{_segment(cid, "personnel", style, 8, 1, 12, 6)}'
                   f'{_segment(cid, "operating", style, 8, 9, 12, 8)}</svg>{_esc(kind)}（{style_text}）</li>\n')
    # The legend always shows the two parts; "total" is the bar of a year without a breakdown.
    pattern_keys = ("operating", "personnel", "total") if has_total else ("operating", "personnel")
    out.append(
        f'  </ul>\n'
        f'{fh.svg_open}{cid}-title {cid}-desc" font-size="{charts.FONT}">\n'
        f'    <title id="{cid}-title">{charts.COST_TITLE}</title>\n'
        f'    <desc id="{cid}-desc">{_esc(charts.cost_desc_head(kinds))}{"".join(desc) if costs else charts.COST_DESC_EMPTY}'
        f'</desc>\n'
        f'    <defs>\n{_patterns(cid, pattern_keys, {style for _, style, _ in kinds})}    </defs>\n'
        '    <g aria-hidden="true">\n')
    out += highlights
    out.append(f'      <text class="hy-chart__unit" x="0" y="12" font-size="{small}">{charts.COST_UNIT_LABEL}</text>\n')
    out += marks
    out.append(fh.baseline)
    out.append(_COST_NOTE)
    out.append('</figure>')
    return markup("".join(out))


# -- cost table ------------------------------------------------------------------------------------

# (CostYear field, row label, unit): the rows as on the paper sheet.
COST_ROWS: tuple[tuple[str, str, str], ...] = (
    ("total", "総事業費", "千円"), ("operating", "事業経費", "千円"), ("specific_revenue", "特定財源", "千円"),
    ("staff_regular", "従事常勤職員数", "人"), ("staff_nonregular", "従事非常勤職員数", "人"),
    ("personnel", "概算人件費", "千円"))


def cost_table_html(sheet: Sheet, table_id: str, fy: Callable[[int], str]) -> Markup:
    """The cost table (事業費) of a Sheet: one column per fiscal year with its kind (決算・予算・予定),
    rows as on the paper sheet; amounts in 千円, staff in 人 with two decimals. `table_id`: unique id
    for the caption; `fy` writes a fiscal year (the template filter `fy`)."""
    tid = _esc(table_id)
    costs = sheet.costs
    out = [f'<div class="hy-table-wrap" role="region" aria-labelledby="{tid}" tabindex="0">\n'
           '<table class="hy-table hy-table--numeric">\n'
           f'  <caption id="{tid}">事業費と職員数（金額の単位: 千円、職員数の単位: 人）</caption>\n'
           '  <thead>\n    <tr>\n      <th scope="col">項目</th>\n']
    for c in costs:
        out.append(f'      <th scope="col">{_fy_html(fy, c.year)}<br><span class="hy-cost-kind">{_esc(c.kind)}</span></th>\n')
    out.append('    </tr>\n  </thead>\n  <tbody>\n')
    for key, label, unit in COST_ROWS:
        out.append(f'    <tr>\n      <th scope="row">{label}</th>\n')
        for c in costs:
            v = getattr(c, key)
            out.append(f'      <td>{fmt_number(v, 2) if v is not None and unit == "人" else _value_text(v)}</td>\n')
        out.append('    </tr>\n')
    out.append('  </tbody>\n</table>\n</div>')
    return markup("".join(out))


# -- evaluation grid -------------------------------------------------------------------------------

_EVAL_HEAD = (
    '  <thead>\n'
    '    <tr>\n'
    '      <th scope="col">観点</th>\n'
    '      <th scope="col">項目</th>\n'
    '      <th scope="col">評価</th>\n'
    '      <th scope="col">説明</th>\n'
    '    </tr>\n'
    '  </thead>\n'
    '  <tbody>\n'
)


def eval_grid_html(sheet: Sheet, table_id: str) -> Markup:
    """The evaluation grid (必要性・有効性・効率性・総合評価) of a Sheet: one row per item with its
    group, the city's rating and the free comment. `table_id`: unique id for the caption."""
    tid = _esc(table_id)
    items: dict[str, EvaluationItem] = {}
    for e in sheet.evaluation:  # the first item of a key, as Sheet.rating
        items.setdefault(e.key, e)
    out = [f'<div class="hy-table-wrap" role="region" aria-labelledby="{tid}" tabindex="0">\n'
           '<table class="hy-table hy-table--eval">\n'
           f'  <caption id="{tid}">事業についての評価</caption>\n',
           _EVAL_HEAD]
    for group, keys in EVALUATION_GROUPS:
        g = _esc(group)
        for key in keys:
            item = items.get(key) or sheet.rating(key)
            out.append(f'    <tr>\n'
                       f'      <td>{g}</td>\n'
                       f'      <th scope="row">{_esc(item.label)}</th>\n'
                       f'      <td class="hy-rating">{_value_text(item.rating)}</td>\n'
                       f'      <td>{_value_text(item.comment)}</td>\n'
                       '    </tr>\n')
    out.append('  </tbody>\n</table>\n</div>')
    return markup("".join(out))


# -- for the templates -----------------------------------------------------------------------------

@pass_environment
def _indicator_table(env: Environment, ind: Indicator, table_id: str, results_year: int) -> Markup:
    return indicator_table_html(ind, table_id, results_year, env.filters["fy"])


@pass_environment
def _cost_table(env: Environment, sheet: Sheet, table_id: str) -> Markup:
    return cost_table_html(sheet, table_id, env.filters["fy"])


# Registered by hyoka.render.make_env for the templates.
# -- the list of sheets on the navigation pages ------------------------------------------------------

RowKey = tuple[str, int, str, str, bool]  # sheet id, evaluation year, file hash, root, show_year
_ROWS: dict[RowKey, str] = {}  # made in this process (or sent by its workers)
_CACHED: Packed = {}  # the build cache's (cache.Packed: by root and show_year), decoded when shown


def list_rows_count() -> int:
    return len(_ROWS)


def list_rows_since(count: int) -> list[tuple[RowKey, str]]:
    """The rows made since the memo held `count` (a worker sends them to the build, for its cache)."""
    if count == len(_ROWS):  # most spans: sheet pages, no list
        return []
    if count > len(_ROWS):  # cleared meanwhile
        count = 0
    return list(itertools.islice(_ROWS.items(), count, None))


def keep_list_rows(rows: dict[RowKey, str] | list[tuple[RowKey, str]]) -> None:
    """Rows made elsewhere (by a worker), kept for this process."""
    _ROWS.update(rows)


def keep_packed_rows(rows: Packed) -> None:
    """The rows of the last build (hyoka/cache.py), kept for this process instead of those of
    the one before."""
    _CACHED.clear()
    _CACHED.update(rows)


def packed_rows(sheets: set[tuple[str, int, str]]) -> Packed:
    """Every row known here of the sheets with these (id, evaluation year, file hash) keys, in the
    form the build cache keeps."""
    return packed(_CACHED, _ROWS, sheets)


def sheet_list_rows(sheets: Any, root: str, show_year: bool = False) -> Markup:
    """The rows of components/sheet_list.html's table, one <tr> per sheet (a 課 or year page lists
    thousands of sheets: a row is one f-string, kept by the sheet's file hash for the preview)."""
    cached = _CACHED.get((root, show_year))
    if cached:
        if not isinstance(sheets, (tuple, list)):
            sheets = list(sheets)  # read twice here
        # After an edit most rows are the build cache's: joined as they are (UTF-8) and decoded
        # once, not one by one (a 年度 page lists thousands). A sheet without a hash (made in
        # code) has none there, as in _sheet_row.
        blobs = list(map(cached.get, [(s.id, s.evaluation_year, d) if (d := s.source.digest) else None
                                      for s in sheets]))
        if None in blobs:
            blobs = [_sheet_row(s, root, show_year).encode() if b is None else b
                     for s, b in zip(sheets, blobs, strict=True)]
        return markup(b"\n".join(blobs).decode())
    return markup("\n".join(_sheet_row(s, root, show_year) for s in sheets))


def _sheet_row(s: Sheet, root: str, show_year: bool) -> str:
    digest = s.source.digest
    key = (s.id, s.evaluation_year, digest, root, show_year)
    if digest:  # no hash (a Sheet made in code): no reuse
        cached = _CACHED.get((root, show_year))
        if cached is not None:
            blob = cached.get((s.id, s.evaluation_year, digest))
            if blob is not None:
                return blob.decode()
        row = _ROWS.get(key)
        if row is not None:
            return row
    if len(_ROWS) > 200_000:
        _ROWS.clear()
    # A sheet's row is the same on each of its lists (its year, 課, 分野, SDGs and 方針 pages) but
    # for the path to the site's root: the rest is made once.
    part_key = (s.id, s.evaluation_year, digest, show_year)
    rest = _ROW_RESTS.get(part_key) if digest else None
    if rest is None:
        rest = _row_rest(s, show_year)
        if digest:  # no hash (a Sheet made in code): not kept
            if len(_ROW_RESTS) > 100_000:
                _ROW_RESTS.clear()
            _ROW_RESTS[part_key] = rest
    row = _ROWS[key] = f'{_ROW_HEAD}{_esc(root)}{rest}'
    return row


_ROW_HEAD = '    <tr>\n      <th scope="row">\n        <a href="'
_ROW_RESTS: dict[tuple[str, int, str, bool], str] = {}  # a row after its root, by sheet and show_year


def _row_rest(s: Sheet, show_year: bool) -> str:
    """What follows the root's path in a sheet's list row."""
    org = s.organization
    cost = s.cost(s.results_year)
    achieved, judged = s.achievement_counts(s.results_year)
    meta = _esc(org.division) + (" " + _esc(org.section) if org.section else "")
    if show_year:
        meta += _esc(f"・{wareki(s.evaluation_year)}評価")
    return (
        f'{_esc(href(s.url))}">{_esc(s.title)}</a>\n'
        f'        <span class="hy-list__meta">{meta}</span>\n      </th>\n'
        f'      <td data-label="事業の方針">{value_html(s.direction)}</td>\n'
        f'      <td class="hy-num" data-label="総事業費（千円）">{value_html(cost.total if cost else None)}</td>\n'
        f'      <td data-label="指標の達成">{f"{judged}指標中{achieved}達成" if judged else EMPTY}</td>\n'
        "    </tr>")


FILTERS: dict[str, Callable[..., Any]] = {"value": value_html}
GLOBALS: dict[str, Callable[..., Any]] = {
    "indicator_chart": indicator_chart_html,
    "indicator_table": _indicator_table,
    "cost_chart": cost_chart_html,
    "cost_table": _cost_table,
    "eval_grid": eval_grid_html,
    "sheet_list_rows": sheet_list_rows,
}
