"""Pure chart geometry: Indicator / CostYear / rows → immutable chart specs with Japanese summaries.

No Jinja and no I/O: hyoka/htmlparts.py (indicator and cost charts) and
templates/components/bar_chart.html draw these specs as inline SVG. The specs are named tuples:
immutable like frozen dataclasses and several times cheaper to build (a sheet page needs dozens).
Coordinates are SVG user units in a viewBox whose width is chosen so that text stays legible when
the SVG is scaled to a 320 px phone (about 0.85 px per unit there); CSS makes the SVG as wide as
its container. Missing values (None) are never drawn as zero (they get a text mark).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from .era import wareki  # cached: charts write a handful of years thousands of times
from .model import Achievement, CostYear, Indicator, IndicatorValue, Number
from .render import fmt_man_yen, fmt_number

ACHIEVEMENT_TEXT: dict[str, str] = {
    "achieved": "達成", "not_achieved": "未達成", "no_actual": "実績なし", "no_target": "目標なし",
}
MISSING_TEXT = "データなし"
TAG_TEXT = "評価対象"
# How each cost kind is drawn, besides its text label under the bar (WCAG 1.4.1: not colour alone).
KIND_STYLES: dict[str, str] = {"決算": "settled", "予算": "budget", "予定": "plan"}
KIND_STYLE_TEXT: dict[str, str] = {
    "settled": "塗りつぶし", "budget": "斜線", "plan": "点と点線の枠", "other": "枠のみ",
}

# Type sizes in user units (the templates set them as font-size attributes).
FONT = 12
FONT_SMALL = 11
BAR_LABEL_FONT = 13             # the row labels of a horizontal bar chart
# Narrowest viewBox: about the content width of a 390 px phone, so text is ~12 px there.
MIN_WIDTH = 340
# A slot must hold 「令和10年度」 at FONT with a little air.
MIN_SLOT = 66


class _SvgNumber(dict):  # type: ignore[type-arg]
    """Coordinates as SVG text (174, 131.33), memoised: writing a float is slow (a decimal
    conversion), and coordinates repeat across charts (shared axes and widths). Use svg_number[x].

    Keys are ints and non-integral floats only: _r never returns an integral float, so 174 and
    174.0, equal as dictionary keys, never meet (tests/test_render_parts.py checks the specs).
    """

    def __missing__(self, x: Number) -> str:
        text = str(x)
        if len(self) < 200_000:  # bounded; one corpus's distinct coordinates fit many times
            self[x] = text
        return text


svg_number = _SvgNumber()


def _year_font(slot_width: float) -> float:
    """Year labels at FONT, a step smaller when five or more years share a narrow chart."""
    return FONT if slot_width >= 72 else FONT_SMALL


def _r(x: float) -> Number:
    """Round a coordinate for compact, deterministic SVG output (174 rather than 174.0).

    The same number as _tidy(round(x, 2)), without round(x, 2)'s slow decimal conversion: x·100
    rounded to an integer k gives the double nearest k/100, which is what round(x, 2) returns,
    unless x·100 is within float error of a half (then the exact rounding decides).
    """
    y = x * 100.0
    if -1e11 < y < 1e11:
        k = round(y)
        if -0.4999 < y - k < 0.4999:
            return k // 100 if k % 100 == 0 else k / 100
    return _tidy(round(x, 2))


def text_width(text: str, size: float) -> float:
    """Estimated advance width of `text` at `size`: CJK 1em, digits and Latin ~0.6em, punctuation 0.3em."""
    width = 0.0
    for ch in text:
        if ch in ",.:;'!| ":
            width += 0.3
        elif ord(ch) < 0x2E80:
            width += 0.62
        else:
            width += 1.0
    return width * size


def fmt_value(value: Number | None, unit: str | None = None) -> str:
    """「1,640千円」, or 「データなし」 for a missing value."""
    if value is None:
        return MISSING_TEXT
    return fmt_number(value) + (unit or "")


# -- axis ----------------------------------------------------------------------------------------

class Axis(NamedTuple):
    """A linear value axis from 0 to `top` in steps of `step` (1, 2, 2.5 or 5 × 10^n)."""

    top: Number
    step: Number
    ticks: tuple[Number, ...]


def _tidy(x: float) -> Number:
    """Drop float noise (0.30000000000000004 → 0.3) and integral floats (250000.0 → 250000)."""
    x = float(f"{x:.12g}")
    return int(x) if x.is_integer() else x


def nice_step(raw: float, integer: bool = False) -> Number:
    """The smallest 1, 2, 2.5 or 5 × 10^n that is ≥ raw (≥ 1 and whole when `integer`)."""
    if raw <= 0 or not math.isfinite(raw) or (integer and raw <= 1):
        return 1
    exp = math.floor(math.log10(raw))
    for e in (exp, exp + 1):
        for m in (1, 2, 2.5, 5):
            step = _tidy(m * 10.0**e)
            if step < raw * (1 - 1e-9):
                continue
            if integer and (step < 1 or not float(step).is_integer()):
                continue
            return step
    return _tidy(10.0 ** (exp + 1))  # pragma: no cover - the loop always finds one


def nice_axis(max_value: float, integer: bool = False, intervals: int = 5) -> Axis:
    """An axis from 0 covering `max_value` with at most `intervals` nice steps; never zero-height."""
    if max_value <= 0 or not math.isfinite(max_value):
        return Axis(1, 1, (0, 1))
    step = nice_step(max_value / intervals, integer)
    count = max(1, math.ceil(max_value / step - 1e-9))
    top = _tidy(count * step)
    return Axis(top, step, tuple(_tidy(i * step) for i in range(count + 1)))


# -- indicator chart -----------------------------------------------------------------------------

class Tick(NamedTuple):
    """A value gridline: its y and its label."""

    value: Number
    y: float
    label: str
    label_y: float                  # baseline of the label, centred on the line


class IndicatorSlot(NamedTuple):
    """One fiscal year of an indicator chart: actual bar, target marker, labels."""

    year: int
    year_label: str                 # 令和6年度
    x: float                        # left edge of the slot
    cx: float                       # centre of the slot
    width: float
    target: Number | None
    actual: Number | None
    target_text: str                # 「3回」 or 「データなし」
    actual_text: str
    missing_target: bool
    missing_actual: bool
    bar_x: float
    bar_width: float
    bar_y: float | None             # None when the actual is missing (nothing is drawn)
    bar_height: float | None        # 0 for an actual of 0 (or below the axis)
    value_label: str                # the actual above the bar, without unit; "" when missing
    value_y: float                  # baseline of the value label, or of the 「データなし」 mark
    value_inside: bool              # the value label sits inside the bar's top (light on dark)
    target_y: float | None          # None when the target is missing
    target_x1: float
    target_x2: float
    target_path: str                # the open diamond on the target line ("" when missing)
    achievement: Achievement
    achievement_text: str           # 達成 / 未達成 / 実績なし / 目標なし
    is_results_year: bool
    tag_x: float                    # left of the 評価対象 box (drawn for the results year only)


class IndicatorChart(NamedTuple):
    """Geometry and text of one indicator's target-vs-actual chart."""

    width: float
    height: float
    view_box: str
    plot_left: float
    plot_right: float
    plot_top: float
    baseline: float
    tick_x: float                   # right end of the tick labels
    highlight_y: float              # the band behind the results year
    highlight_height: float
    axis: Axis
    ticks: tuple[Tick, ...]
    slots: tuple[IndicatorSlot, ...]
    unit: str | None
    unit_label: str                 # 「単位: 回」 or ""
    lower_is_better: bool
    focus_year: int | None          # the year the summary speaks about
    year_y: float                   # text baselines below the plot
    achievement_y: float
    tag_y: float
    year_font_size: float           # FONT, or FONT_SMALL when slots are narrow (5+ years)
    tag_text: str                   # 評価対象, boxed under the results year
    tag_width: float
    title: str
    desc: str
    summary: str
    font_size: float = FONT
    small_font_size: float = FONT_SMALL


def _focus_year(years: Collection[int], results_year: int) -> int | None:
    """The results year if present, else the latest year before it, else the earliest year."""
    if not years:
        return None
    if results_year in years:
        return results_year
    earlier = [y for y in years if y < results_year]
    return max(earlier) if earlier else min(years)


def indicator_summary(ind: Indicator, results_year: int) -> str:
    """One sentence about the focus year: target, actual and whether the target was met."""
    year = _focus_year([v.year for v in ind.values], results_year)
    if year is None:
        return _summary(ind, results_year, None, None, "no_actual")
    v = ind.value(year)
    assert v is not None
    return _summary(ind, results_year, year, v, ind.achievement(year))


def _summary(ind: Indicator, results_year: int, year: int | None, v: IndicatorValue | None,
             state: Achievement) -> str:
    """indicator_summary for the focus year `year` (None: no values), its entry and its state."""
    if year is None or v is None:
        return "この指標には年度ごとの目標・実績の記載がありません。"
    label = wareki(year)
    if state == "no_actual":
        # A year before the results year is over: its actual was simply not written down.
        return f"{label}の実績{'の記載は' if year < results_year else 'はまだ'}ありません。"
    actual = fmt_value(v.actual, ind.unit)
    if state == "no_target":
        return f"{label}の実績は{actual}でした（目標の設定はありません）。"
    target = fmt_value(v.target, ind.unit) + ("以下" if ind.lower_is_better else "")
    verdict = "目標を達成しました" if state == "achieved" else "目標を達成できませんでした"
    return f"{label}は目標{target}に対し実績{actual}で、{verdict}。"


# The opening sentence of an indicator chart's <desc>, by lower_is_better.
DESC_HEAD: dict[bool, str] = {
    False: "縦棒が実績、ひし形の付いた横線が目標。多いほど良い指標（実績が目標以上で達成）。",
    True: "縦棒が実績、ひし形の付いた横線が目標。少ないほど良い指標（実績が目標以下で達成）。",
}
# What a <desc> row says after the actual, by state (only a met or missed target is a verdict).
DESC_VERDICT: dict[str, str] = {state: f"、{text}" if state in ("achieved", "not_achieved") else ""
                                for state, text in ACHIEVEMENT_TEXT.items()}


def _desc(ind: Indicator, rows: Sequence[tuple[str, str, str, Achievement]]) -> str:
    """The chart's numbers in words, for the SVG <desc>: per value its (year label, target text,
    actual text, state)."""
    parts = [DESC_HEAD[bool(ind.lower_is_better)]]
    for year_label, target, actual, state in rows:
        parts.append(f"{year_label}: 目標{target}、実績{actual}{DESC_VERDICT[state]}。")
    if not rows:
        parts.append("年度ごとの目標・実績の記載はありません。")
    return "".join(parts)


@functools.lru_cache(maxsize=1 << 14)
def _label_width(label: str) -> float:
    """text_width of a value label at FONT (labels like 「1,234」 recur across charts)."""
    return text_width(label, FONT)


def _value_position(label: str, bar_y: float, bar_h: float, bar_w: float,
                    target_y: float | None) -> tuple[float, bool]:
    """Baseline of the actual's label and whether it is inside the bar, clear of the target marker."""
    if _label_width(label) <= bar_w - 4:
        y = bar_y + 16
        if target_y is not None and bar_y - 2 <= target_y <= bar_y + 24:
            y = target_y + 19
        if y <= bar_y + bar_h - 4:
            return y, True
    y = bar_y - 5
    if target_y is not None and bar_y - 20 < target_y <= bar_y + 6:
        y = target_y - 11
    return y, False


# Vertical layout of the indicator chart (user units).
_IND_PLOT_TOP, _IND_PLOT_H, _IND_PAD_RIGHT, _DIAMOND_R = 34, 140, 8, 5
_IND_BASELINE = _IND_PLOT_TOP + _IND_PLOT_H
# The same for every indicator chart (IndicatorChart's fields of these names).
IND_BASELINE = _IND_BASELINE
IND_HIGHLIGHT_Y = _IND_PLOT_TOP - 18
IND_YEAR_Y, IND_ACHIEVEMENT_Y, IND_TAG_Y = IND_BASELINE + 19, IND_BASELINE + 36, IND_BASELINE + 55


class SlotFrame(NamedTuple):
    """The horizontal geometry of slot i of an indicator chart (the same for every chart with the
    same axis and number of years)."""

    x: Number
    cx: Number
    width: Number
    bar_x: Number
    target_x1: Number
    target_x2: Number
    tag_x: Number
    diamond_x: tuple[str, str, str]     # the diamond's centre, right and left x as SVG text


class IndicatorFrame(NamedTuple):
    """Everything of an indicator chart that depends only on its axis and its number of years."""

    axis: Axis
    top: float                          # float(axis.top)
    plot_left: int
    width: Number
    height: Number
    view_box: str
    plot_right: Number
    highlight_height: Number
    ticks: tuple[Tick, ...]
    bar_w: Number
    tag_w: Number
    year_font_size: float
    slots: tuple[SlotFrame, ...]


@functools.lru_cache(maxsize=1 << 14)
def _nice_axis_cached(max_value: Number, integer: bool) -> Axis:
    return nice_axis(max_value, integer=integer)


@functools.lru_cache(maxsize=1 << 15)
def _y_of(value: Number, top: float) -> Number:
    """The y of `value` on an indicator chart whose axis ends at `top` (clamped to the plot).
    Cached: a target recurs in every year and in the program's other sheets (5 and 5.0 meeting as
    one key give the same y)."""
    return _r(_IND_BASELINE - max(0.0, min(float(value), top)) / top * _IND_PLOT_H)


@functools.lru_cache(maxsize=4096)
def _indicator_frame(axis: Axis, n: int) -> IndicatorFrame:
    """The frame of an indicator chart with `axis` and `n` slots (n ≥ 1); cached: charts share them."""
    tick_labels = [fmt_number(t) for t in axis.ticks]
    plot_left = math.ceil(max(text_width(t, FONT_SMALL) for t in tick_labels) + 10)
    slot_w = max(MIN_SLOT, (MIN_WIDTH - plot_left - _IND_PAD_RIGHT) / n)
    width = _r(plot_left + n * slot_w + _IND_PAD_RIGHT)
    top = float(axis.top)
    ticks = tuple(Tick(t, _y_of(t, top), label, _r(_y_of(t, top) + 4))
                  for t, label in zip(axis.ticks, tick_labels, strict=True))
    bar_w = _r(min(36.0, slot_w * 0.45))
    marker_half = _r(min(slot_w * 0.4, bar_w / 2 + 12))
    tag_w = _r(text_width(TAG_TEXT, FONT_SMALL) + 8)
    slots = []
    for i in range(n):
        x = plot_left + i * slot_w
        cx = x + slot_w / 2
        slots.append(SlotFrame(
            x=_r(x), cx=_r(cx), width=_r(slot_w), bar_x=_r(cx - bar_w / 2),
            target_x1=_r(cx - marker_half), target_x2=_r(cx + marker_half), tag_x=_r(cx - tag_w / 2),
            diamond_x=(fmt_svg(cx), fmt_svg(cx + _DIAMOND_R), fmt_svg(cx - _DIAMOND_R))))
    height = _r(_IND_BASELINE + 66)
    return IndicatorFrame(
        axis=axis, top=top, plot_left=plot_left, width=width, height=height, view_box=f"0 0 {fmt_svg(width)} {fmt_svg(height)}",
        plot_right=_r(width - _IND_PAD_RIGHT),
        highlight_height=_r(_IND_BASELINE + 63 - (_IND_PLOT_TOP - 18)), ticks=ticks, bar_w=bar_w,
        tag_w=tag_w, year_font_size=_year_font(slot_w), slots=tuple(slots))


@functools.lru_cache(maxsize=1 << 15)
def _diamond(xs: tuple[str, str, str], cy: Number) -> str:
    """SVG path of the target's diamond (◇) of half-diagonal _DIAMOND_R centred on (x, cy), given
    the centre, right and left x already as SVG text. Cached: targets recur (see _y_of)."""
    # cy is a rounded coordinate (_r): fmt_svg(cy) is str(cy), and fmt_svg(cy ± r) is str(_r(cy ± r)).
    x, right, left = xs
    y = svg_number[cy]
    return f"M{x} {svg_number[_r(cy - _DIAMOND_R)]} L{right} {y} L{x} {svg_number[_r(cy + _DIAMOND_R)]} L{left} {y} Z"


def _state(v: IndicatorValue, lower_is_better: bool) -> Achievement:
    """Indicator.achievement for the entry `v` itself."""
    if v.actual is None:
        return "no_actual"
    if v.target is None:
        return "no_target"
    met = v.actual <= v.target if lower_is_better else v.actual >= v.target
    return "achieved" if met else "not_achieved"


# (the Indicator, its achievements) of the last call of achievements.
_last_achievements: list[Any] = [None, {}]


def achievements(ind: Indicator) -> dict[int, Achievement]:
    """Indicator.achievement of every year the indicator has, at once (it looks each year up).

    The indicator chart and table of a sheet page ask for the same indicator one after the other:
    the last answer is kept for the very same Indicator (frozen, so its states cannot change).
    Callers must not change the dict.
    """
    last, states = _last_achievements
    if last is ind:
        return states
    # Indicator.value(year) is the first entry of that year.
    first: dict[int, IndicatorValue] = {}
    for v in ind.values:
        first.setdefault(v.year, v)
    lower_is_better = ind.lower_is_better
    states = {year: _state(v, lower_is_better) for year, v in first.items()}
    _last_achievements[:] = (ind, states)
    return states


def indicator_frame(values: Sequence[IndicatorValue]) -> IndicatorFrame:
    """The frame of an indicator chart of `values`: an axis from 0 over the largest target or
    actual (in whole steps when every value is whole), and a slot per value (one when none)."""
    # max([0, *numbers]) and all(float(x).is_integer() for x in numbers) in one pass.
    highest: Number = 0
    integer = True
    for v in values:
        for x in (v.target, v.actual):
            if x is not None:
                if x > highest:
                    highest = x
                if integer and not float(x).is_integer():
                    integer = False
    return _indicator_frame(_nice_axis_cached(highest, integer), max(1, len(values)))


class SlotMarks(NamedTuple):
    """The value-dependent geometry of one slot of an indicator chart."""

    target_y: Number | None             # None when the target is missing
    target_path: str                    # the diamond ("" when the target is missing)
    bar_y: Number | None                # None when the actual is missing
    bar_height: Number | None
    value_label: str                    # the actual without unit ("" when missing)
    value_y: Number                     # baseline of the value label or of the 「データなし」 mark
    value_inside: bool


def slot_marks(f: SlotFrame, target: Number | None, actual: Number | None, top: float,
               bar_w: Number) -> SlotMarks:
    """Target marker, actual bar and value label of the slot `f` on an axis ending at `top`."""
    if target is None:
        target_y = None
        target_path = ""
    else:
        target_y = _y_of(target, top)
        target_path = _diamond(f.diamond_x, target_y)
    if actual is not None:
        return SlotMarks(target_y, target_path, *_actual_marks(actual, top, bar_w, target_y))
    return SlotMarks(target_y, target_path, None, None, "", _missing_y(target_y), False)


def _missing_y(target_y: Number | None) -> Number:
    """The baseline of a slot's 「データなし」 mark (no actual), clear of the target marker."""
    value_y = _IND_BASELINE - 12
    if target_y is not None and target_y > _IND_BASELINE - 24:
        value_y = target_y - 12
    return _r(value_y)


# typed: True and 1 are equal keys, but their labels differ (fmt_number writes True as "True").
@functools.lru_cache(maxsize=1 << 15, typed=True)
def _actual_marks(actual: Number, top: float, bar_w: Number,
                  target_y: Number | None) -> tuple[Number, Number, str, Number, bool]:
    """The bar of `actual` and its label: SlotMarks' bar_y, bar_height, value_label, value_y and
    value_inside. Cached: an actual recurs in the program's other sheets."""
    bar_y = _y_of(actual, top)
    bar_h = _r(_IND_BASELINE - bar_y)
    value_label = fmt_number(actual)
    value_y, inside = _value_position(value_label, bar_y, bar_h, bar_w, target_y)
    return bar_y, bar_h, value_label, _r(value_y), inside


# slot_marks' parts, for htmlparts.indicator_chart_html (which writes slot_marks out).
y_of, diamond, actual_marks, missing_y = _y_of, _diamond, _actual_marks, _missing_y


def summary_of(ind: Indicator, results_year: int, states: dict[int, Achievement]) -> str:
    """indicator_summary, given `achievements(ind)`."""
    focus = _focus_year(states.keys(), results_year)
    if focus is None:
        return _summary(ind, results_year, None, None, "no_actual")
    v = next(v for v in ind.values if v.year == focus)  # ind.value(focus): the first of its year
    return _summary(ind, results_year, focus, v, states[focus])


def indicator_chart(ind: Indicator, results_year: int) -> IndicatorChart:
    """Target (marker line) vs actual (bar) per fiscal year of one indicator.

    hyoka.htmlparts.indicator_chart_html draws the same chart straight from `indicator_frame`
    and `slot_marks` (tests/test_render_parts.py checks both give the same markup).
    """
    values = ind.values
    unit = ind.unit
    suffix = unit or ""
    frame = indicator_frame(values)
    top = frame.top
    baseline = _IND_BASELINE
    bar_w = frame.bar_w
    states = achievements(ind)
    slots = []
    desc_rows = []
    for f, v in zip(frame.slots, values, strict=False):  # one slot more than values when there are none
        target, actual, year = v.target, v.actual, v.year
        m = slot_marks(f, target, actual, top, bar_w)
        target_text = MISSING_TEXT if target is None else fmt_number(target) + suffix
        actual_text = MISSING_TEXT if actual is None else m.value_label + suffix
        state = states[year]
        year_label = wareki(year)
        desc_rows.append((year_label, target_text, actual_text, state))
        # Positional, in IndicatorSlot's field order (a chart has a few; keywords cost more).
        slots.append(IndicatorSlot(
            year, year_label, f.x, f.cx, f.width, target, actual, target_text, actual_text,
            target is None, actual is None, f.bar_x, bar_w, m.bar_y, m.bar_height,
            m.value_label, m.value_y, m.value_inside, m.target_y, f.target_x1, f.target_x2, m.target_path,
            state, ACHIEVEMENT_TEXT[state], year == results_year, f.tag_x,
        ))
    plot_top = _IND_PLOT_TOP
    return IndicatorChart(
        width=frame.width, height=frame.height, view_box=frame.view_box,
        plot_left=frame.plot_left, plot_right=frame.plot_right, plot_top=plot_top, baseline=baseline,
        tick_x=frame.plot_left - 6,
        highlight_y=IND_HIGHLIGHT_Y, highlight_height=frame.highlight_height,
        axis=frame.axis, ticks=frame.ticks, slots=tuple(slots), unit=unit,
        unit_label=f"単位: {unit}" if unit else "", lower_is_better=ind.lower_is_better,
        focus_year=_focus_year(list(states), results_year),
        year_y=IND_YEAR_Y, achievement_y=IND_ACHIEVEMENT_Y, tag_y=IND_TAG_Y,
        year_font_size=frame.year_font_size, tag_text=TAG_TEXT, tag_width=frame.tag_w,
        title=f"{ind.kind_label}「{ind.name}」の目標と実績のグラフ", desc=_desc(ind, desc_rows),
        summary=summary_of(ind, results_year, states),
    )


def fmt_svg(x: float) -> str:
    """A coordinate as SVG text: 340 rather than 340.0 (the number as Python writes it, no commas)."""
    return str(_tidy(x))


# -- cost chart ----------------------------------------------------------------------------------

class CostSegment(NamedTuple):
    """One stacked part of a cost bar; y/height are exact, rect_* leave a gap at the joint."""

    key: str                        # operating / personnel / total (when there is no breakdown)
    label: str                      # 事業経費 / 概算人件費 / 総事業費
    value: Number
    y: float
    height: float
    rect_y: float
    rect_height: float


class CostBar(NamedTuple):
    """One fiscal year of the cost chart."""

    year: int
    year_label: str                 # 令和6年度
    kind: str                       # 決算 / 予算 / 予定 (as written on the sheet)
    style: str                      # settled / budget / plan / other: the fill pattern
    x: float
    cx: float
    width: float
    bar_x: float
    bar_width: float
    total: Number | None
    total_label: str                # 「2,281」 above the bar, or 「データなし」
    total_y: float
    segments: tuple[CostSegment, ...]   # bottom to top
    staff: Number | None
    staff_label: str                # 「0.20人」 or 「—」
    missing: bool                   # no amount written at all (a total of 0 is not missing)
    is_results_year: bool


class CostChart(NamedTuple):
    """Geometry and text of a sheet's stacked cost chart."""

    width: float
    height: float
    view_box: str
    plot_top: float
    baseline: float
    highlight_y: float              # the band behind the results year
    highlight_height: float
    axis_max: Number
    bars: tuple[CostBar, ...]
    kinds: tuple[tuple[str, str, str], ...]  # (kind, style, style in words), first appearance order
    segment_keys: tuple[str, ...]           # which segment kinds occur (for patterns and legend)
    unit_label: str
    focus_year: int | None
    year_y: float
    kind_y: float
    staff_y: float
    year_font_size: float
    title: str
    desc: str
    summary: str
    font_size: float = FONT
    small_font_size: float = FONT_SMALL


SEGMENT_LABELS: dict[str, str] = {"operating": "事業経費", "personnel": "概算人件費", "total": "総事業費"}
SEGMENT_GAP = 2.0


def _cost_parts(c: CostYear) -> list[tuple[str, Number]]:
    """The stack, bottom to top: 事業経費 then 概算人件費; the total alone when neither is given.

    Zero-height parts (0, negative, NaN) draw nothing; leaving them out keeps the joint gap only
    between real parts.
    """
    operating, personnel = c.operating, c.personnel
    if operating is None and personnel is None:
        total = c.total
        return [("total", total)] if total is not None and total > 0 else []
    parts = []
    if operating is not None and operating > 0:
        parts.append(("operating", operating))
    if personnel is not None and personnel > 0:
        parts.append(("personnel", personnel))
    return parts


def _focus_cost_year(costs: Sequence[CostYear], results_year: int) -> int | None:
    """The results year if present, else the latest 決算 before it, else the latest year before it."""
    years = [c.year for c in costs]
    if not years:
        return None
    if results_year in years:
        return results_year
    settled = [c.year for c in costs if c.year < results_year and c.kind == "決算"]
    if settled:
        return max(settled)
    return _focus_year(years, results_year)


def cost_summary(costs: Sequence[CostYear], results_year: int) -> str:
    """One sentence: the focus year's 総事業費 in 千円 and 万円, and its two parts."""
    year = _focus_cost_year(costs, results_year)
    if year is None:
        return "事業費の記載はありません。"
    c = next(c for c in costs if c.year == year)
    head = f"{wareki(year)}（{c.kind}）の総事業費は"
    if c.total is None:
        return head + "記載がありません。"
    parts = [f"{SEGMENT_LABELS[k]}{fmt_value(v, '千円')}"
             for k, v in (("operating", c.operating), ("personnel", c.personnel)) if v is not None]
    amount = f"{fmt_value(c.total, '千円')}（{fmt_man_yen(c.total)}）"
    if parts:
        return f"{head}{amount}で、うち{'、'.join(parts)}です。"
    return f"{head}{amount}です。"


@functools.lru_cache(maxsize=4096, typed=True)  # a few staff numbers recur (typed: True is not 1)
def _staff_label(value: Number | None) -> str:
    """「0.20人」 (FTE, two decimals as on the sheet), 「—」 when missing."""
    return "—" if value is None else f"{fmt_number(value, 2)}人"


COST_DESC_HEAD = "年度ごとの総事業費の積み上げ縦棒グラフ（単位: 千円）。下の段が事業経費、上の段が概算人件費。"
COST_DESC_EMPTY = "事業費の記載はありません。"


def cost_desc_head(kinds: Sequence[tuple[str, str, str]]) -> str:
    """The opening of the cost chart's <desc>: what it shows, and how each kind is drawn."""
    if not kinds:
        return COST_DESC_HEAD
    return COST_DESC_HEAD + "、".join(f"{kind}は{text}" for kind, _, text in kinds) + "で示す。"


def cost_desc(costs: Sequence[CostYear], kinds: Sequence[tuple[str, str, str]]) -> str:
    """The chart's numbers in words, for the SVG <desc> (hyoka.htmlparts.cost_chart_html writes
    the same rows in its one pass)."""
    parts = [cost_desc_head(kinds)]
    for c in costs:
        staff = MISSING_TEXT if c.staff_regular is None else _staff_label(c.staff_regular)
        parts.append(f"{wareki(c.year)}（{c.kind}）: 総事業費{fmt_value(c.total, '千円')}"
                     f"（事業経費{fmt_value(c.operating, '千円')}、概算人件費{fmt_value(c.personnel, '千円')}）、"
                     f"従事常勤職員数{staff}。")
    if not costs:
        parts.append(COST_DESC_EMPTY)
    return "".join(parts)


# Vertical layout of the cost chart (user units).
_COST_PLOT_TOP, _COST_PLOT_H = 42, 140
_COST_BASELINE = _COST_PLOT_TOP + _COST_PLOT_H
COST_HEIGHT = _r(_COST_BASELINE + 62)


class CostFrame(NamedTuple):
    """Everything of a cost chart that depends only on its number of years."""

    slot_w: float
    width: Number
    view_box: str
    bar_w: Number
    slots: tuple[tuple[Number, Number, Number, Number], ...]  # per bar: x, cx, width, bar_x


@functools.lru_cache(maxsize=64)
def cost_frame(n: int) -> CostFrame:
    """The horizontal geometry of a cost chart of `n` bars (n ≥ 1); cached: charts share it."""
    pad = 8
    slot_w = max(MIN_SLOT, (MIN_WIDTH - 2 * pad) / n)
    bar_w = _r(min(40.0, slot_w * 0.55))
    slots = []
    for i in range(n):
        x = pad + i * slot_w
        cx = x + slot_w / 2
        slots.append((_r(x), _r(cx), _r(slot_w), _r(cx - bar_w / 2)))
    width = _r(2 * pad + n * slot_w)
    return CostFrame(slot_w, width, f"0 0 {fmt_svg(width)} {fmt_svg(COST_HEIGHT)}", bar_w, tuple(slots))


def cost_stacks(costs: Sequence[CostYear]) -> tuple[list[list[tuple[str, Number]]], Number, float]:
    """Each year's stack (`_cost_parts`), the value at the top of the plot (the highest stack or
    total) and the scale in user units per 千円."""
    stacks = [_cost_parts(c) for c in costs]
    # max(0.0, each stack's sum, each total), all as floats: the order does not matter (a NaN
    # total is never greater, so never kept).
    highest = 0.0
    for c, stack in zip(costs, stacks, strict=True):
        height: Number = 0
        for _, v in stack:
            height += v  # as sum(): from int 0, left to right
        if float(height) > highest:
            highest = float(height)
        if c.total is not None and float(c.total) > highest:
            highest = float(c.total)
    axis_max = _tidy(highest) if highest > 0 else 1
    return stacks, axis_max, _COST_PLOT_H / float(axis_max)


def stack_segments(stack: Sequence[tuple[str, Number]],
                   scale: float) -> tuple[list[tuple[str, Number, float, float, float, float]], float]:
    """The parts of one stacked bar, bottom to top, as (key, value, y, height, rect y, rect height)
    (unrounded), and the y of the stack's top.

    A gap of SEGMENT_GAP at each joint keeps the parts apart in black and white and in forced
    colours (WCAG 1.4.1, 1.4.11): the rect leaves it out; the exact y/height stay for the arithmetic.
    """
    segments = []
    bottom = float(_COST_BASELINE)
    last = len(stack) - 1
    half_gap = SEGMENT_GAP / 2
    for j, (key, value) in enumerate(stack):
        h = float(value) * scale
        top = bottom - h
        inset_bottom = half_gap if j > 0 else 0.0
        inset_top = half_gap if j < last else 0.0
        segments.append((key, value, top, h, top + inset_top, max(0.0, h - inset_bottom - inset_top)))
        bottom = top
    return segments, bottom


def total_y(missing: bool, stack_top: float) -> Number:
    """Baseline of the 総事業費 label: above the bar, or of 「データなし」 when nothing was written."""
    return _r((_COST_BASELINE - 12) if missing else stack_top - 6)


def cost_kinds(costs: Sequence[CostYear]) -> tuple[tuple[str, str, str], ...]:
    """(kind, style, style in words) of each kind once, in order of first appearance."""
    first_of_kind: dict[str, tuple[str, str, str]] = {}
    for c in costs:
        kind = c.kind
        if kind not in first_of_kind:
            style = KIND_STYLES.get(kind, "other")
            first_of_kind[kind] = (kind, style, KIND_STYLE_TEXT[style])
    return tuple(first_of_kind.values())


# The same for every cost chart (CostChart's fields of these names).
COST_BASELINE = _COST_BASELINE
COST_HIGHLIGHT_Y = _COST_PLOT_TOP - 20
COST_HIGHLIGHT_HEIGHT = _r(_COST_BASELINE + 61 - (_COST_PLOT_TOP - 20))
COST_YEAR_Y, COST_KIND_Y, COST_STAFF_Y = _COST_BASELINE + 19, _COST_BASELINE + 36, _COST_BASELINE + 53
COST_TITLE = "年度ごとの事業費（事業経費と概算人件費）のグラフ"
COST_UNIT_LABEL = "単位: 千円"


def cost_chart(costs: Sequence[CostYear], results_year: int) -> CostChart:
    """Stacked bars of 事業経費 + 概算人件費 per fiscal year, with kind, total and staff labels.

    hyoka.htmlparts.cost_chart_html draws the same chart straight from `cost_frame`,
    `cost_stacks` and `stack_segments` (tests/test_render_parts.py checks both give the same markup).
    """
    frame = cost_frame(max(1, len(costs)))
    stacks, axis_max, scale = cost_stacks(costs)
    bar_w = frame.bar_w
    bars = []
    keys_seen: set[str] = set()
    for (x, cx, slot_width, bar_x), c, stack in zip(frame.slots, costs, stacks, strict=False):
        parts, stack_top = stack_segments(stack, scale)
        segments = tuple(CostSegment(key, SEGMENT_LABELS[key], value, _r(y), _r(h), _r(rect_y), _r(rect_h))
                         for key, value, y, h, rect_y, rect_h in parts)
        keys_seen.update(key for key, _ in stack)
        # Missing means nothing was written; a total of 0 is drawn as 「0」 on the baseline.
        missing = c.total is None and c.operating is None and c.personnel is None
        # Positional, in CostBar's field order (keywords cost more): year, year_label, kind, style,
        # x, cx, width, bar_x, bar_width, total, total_label, total_y, segments, staff,
        # staff_label, missing, is_results_year.
        bars.append(CostBar(
            c.year, wareki(c.year), c.kind, KIND_STYLES.get(c.kind, "other"), x, cx, slot_width,
            bar_x, bar_w, c.total, MISSING_TEXT if c.total is None else fmt_number(c.total),
            total_y(missing, stack_top),
            segments, c.staff_regular, _staff_label(c.staff_regular), missing, c.year == results_year,
        ))
    kinds = cost_kinds(costs)
    keys = tuple(k for k in SEGMENT_LABELS if k in keys_seen)
    return CostChart(
        width=frame.width, height=COST_HEIGHT, view_box=frame.view_box,
        plot_top=_COST_PLOT_TOP, baseline=_COST_BASELINE,
        highlight_y=COST_HIGHLIGHT_Y, highlight_height=COST_HIGHLIGHT_HEIGHT,
        axis_max=axis_max, bars=tuple(bars), kinds=kinds, segment_keys=keys,
        unit_label=COST_UNIT_LABEL, focus_year=_focus_cost_year(costs, results_year),
        year_y=COST_YEAR_Y, kind_y=COST_KIND_Y, staff_y=COST_STAFF_Y,
        year_font_size=_year_font(frame.slot_w),
        title=COST_TITLE, desc=cost_desc(costs, kinds),
        summary=cost_summary(costs, results_year),
    )


# -- horizontal bar chart (top page) -------------------------------------------------------------

class BarRow(NamedTuple):
    """One labelled horizontal bar: label lines above the bar, the value after its end."""

    label: str
    label_lines: tuple[str, ...]
    label_y: float                  # baseline of the first label line
    value: Number | None
    value_text: str                 # 「64,901千円」 or 「データなし」
    bar_y: float
    bar_width: float                # 0 for a value of 0 or a missing value
    bar_height: float
    axis_y1: float                  # the short zero line at the bar's start
    axis_y2: float
    value_x: float
    value_y: float
    missing: bool


class BarChart(NamedTuple):
    """Geometry and text of a horizontal bar chart."""

    width: float
    height: float
    view_box: str
    rows: tuple[BarRow, ...]
    axis_max: Number
    unit: str
    line_height: float
    title: str
    desc: str
    font_size: float = FONT
    label_font_size: float = BAR_LABEL_FONT


def wrap_text(text: str, max_width: float, size: float) -> tuple[str, ...]:
    """Break `text` into lines no wider than `max_width` (closing punctuation stays on its line)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and text_width(line + ch, size) > max_width and ch not in "、。，．）」』】・":
            lines.append(line)
            line = ""
        line += ch
    if line or not lines:
        lines.append(line)
    return tuple(lines)


def bar_chart(rows: Sequence[tuple[str, Number | None]], unit: str, title: str) -> BarChart:
    """Horizontal bars, one per (label, value) row, scaled to the largest value."""
    width = MIN_WIDTH
    size, line_h, bar_h, gap = BAR_LABEL_FONT, 18, 16, 14
    texts = [fmt_value(v, unit) for _, v in rows]
    value_room = max([0.0, *(text_width(t, FONT) for t in texts)]) + 8
    bar_max = width - value_room
    highest = max([0.0, *(float(v) for _, v in rows if v is not None)])
    axis_max = _tidy(highest) if highest > 0 else 1
    out = []
    y: float = 4
    for (label, value), text in zip(rows, texts, strict=True):
        lines = wrap_text(label, width, size)
        label_y = y + size
        bar_y = y + len(lines) * line_h + 4
        w = 0.0 if value is None else max(0.0, float(value)) / float(axis_max) * bar_max
        out.append(BarRow(label, lines, _r(label_y), value, text, _r(bar_y), _r(w), bar_h,
                          _r(bar_y - 2), _r(bar_y + bar_h + 2),
                          _r(w + 6), _r(bar_y + bar_h / 2 + FONT * 0.35), value is None))
        y = bar_y + bar_h + gap
    height = _r(max(y, 24))
    desc = "、".join(f"{label}: {text}" for (label, _), text in zip(rows, texts, strict=True))
    return BarChart(
        width=width, height=height, view_box=f"0 0 {fmt_svg(width)} {fmt_svg(height)}",
        rows=tuple(out), axis_max=axis_max, unit=unit, line_height=line_h, title=title,
        desc=f"横棒グラフ。{desc}。" if rows else "横棒グラフ。データがありません。",
    )
