"""Pure chart geometry: Indicator / CostYear / rows → frozen chart specs with Japanese summaries.

No Jinja and no I/O: the components in templates/components/*_chart.html draw these specs as
inline SVG. Coordinates are SVG user units in a viewBox whose width is chosen so that text stays
legible when the SVG is scaled to a 320 px phone (about 0.85 px per unit there); CSS makes the SVG
as wide as its container. Missing values (None) are never drawn as zero (they get a text mark).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .era import wareki
from .model import Achievement, CostYear, Indicator, Number
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
# Narrowest viewBox: about the content width of a 390 px phone, so text is ~12 px there.
MIN_WIDTH = 340
# A slot must hold 「令和10年度」 at FONT with a little air.
MIN_SLOT = 66


def _year_font(slot_width: float) -> float:
    """Year labels at FONT, a step smaller when five or more years share a narrow chart."""
    return FONT if slot_width >= 72 else FONT_SMALL


def _r(x: float) -> Number:
    """Round a coordinate for compact, deterministic SVG output (174 rather than 174.0)."""
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

@dataclass(frozen=True)
class Axis:
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

@dataclass(frozen=True)
class Tick:
    """A value gridline: its y and its label."""

    value: Number
    y: float
    label: str
    label_y: float                  # baseline of the label, centred on the line


@dataclass(frozen=True)
class IndicatorSlot:
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


@dataclass(frozen=True)
class IndicatorChart:
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


def _focus_year(years: Sequence[int], results_year: int) -> int | None:
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
        return "この指標には年度ごとの目標・実績の記載がありません。"
    v = ind.value(year)
    assert v is not None
    state = ind.achievement(year)
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


def _indicator_desc(ind: Indicator) -> str:
    """The chart's numbers in words, for the SVG <desc>."""
    parts = ["縦棒が実績、ひし形の付いた横線が目標。"
             + ("少ないほど良い指標（実績が目標以下で達成）。" if ind.lower_is_better
                else "多いほど良い指標（実績が目標以上で達成）。")]
    for v in ind.values:
        state = ind.achievement(v.year)
        verdict = f"、{ACHIEVEMENT_TEXT[state]}" if state in ("achieved", "not_achieved") else ""
        parts.append(f"{wareki(v.year)}: 目標{fmt_value(v.target, ind.unit)}、"
                     f"実績{fmt_value(v.actual, ind.unit)}{verdict}。")
    if not ind.values:
        parts.append("年度ごとの目標・実績の記載はありません。")
    return "".join(parts)


def _value_position(label: str, bar_y: float, bar_h: float, bar_w: float,
                    target_y: float | None) -> tuple[float, bool]:
    """Baseline of the actual's label and whether it is inside the bar, clear of the target marker."""
    if text_width(label, FONT) <= bar_w - 4:
        y = bar_y + 16
        if target_y is not None and bar_y - 2 <= target_y <= bar_y + 24:
            y = target_y + 19
        if y <= bar_y + bar_h - 4:
            return y, True
    y = bar_y - 5
    if target_y is not None and bar_y - 20 < target_y <= bar_y + 6:
        y = target_y - 11
    return y, False


def _diamond(cx: float, cy: float, r: float) -> str:
    """SVG path of a diamond (◇) of half-diagonal r centred on (cx, cy)."""
    pts = [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    return "M" + " L".join(f"{fmt_svg(x)} {fmt_svg(y)}" for x, y in pts) + " Z"


def indicator_chart(ind: Indicator, results_year: int) -> IndicatorChart:
    """Target (marker line) vs actual (bar) per fiscal year of one indicator."""
    values = ind.values
    numbers = [x for v in values for x in (v.target, v.actual) if x is not None]
    integer = all(float(x).is_integer() for x in numbers)
    axis = nice_axis(max([0, *numbers]), integer=integer)
    tick_labels = [fmt_number(t) for t in axis.ticks]
    plot_left = math.ceil(max(text_width(t, FONT_SMALL) for t in tick_labels) + 10)
    pad_right = 8
    n = max(1, len(values))
    slot_w = max(MIN_SLOT, (MIN_WIDTH - plot_left - pad_right) / n)
    width = _r(plot_left + n * slot_w + pad_right)
    plot_top, plot_h = 34, 140
    baseline = plot_top + plot_h

    def y_of(value: Number) -> float:
        return _r(baseline - max(0.0, min(float(value), float(axis.top))) / float(axis.top) * plot_h)

    ticks = tuple(Tick(t, y_of(t), label, _r(y_of(t) + 4))
                  for t, label in zip(axis.ticks, tick_labels, strict=True))
    bar_w = _r(min(36.0, slot_w * 0.45))
    marker_half = _r(min(slot_w * 0.4, bar_w / 2 + 12))
    tag_w = _r(text_width(TAG_TEXT, FONT_SMALL) + 8)
    slots = []
    for i, v in enumerate(values):
        x = plot_left + i * slot_w
        cx = x + slot_w / 2
        bar_y = bar_h = None
        target_y = None if v.target is None else y_of(v.target)
        if v.actual is not None:
            bar_y = y_of(v.actual)
            bar_h = _r(baseline - bar_y)
            value_y, inside = _value_position(fmt_number(v.actual), bar_y, bar_h, bar_w, target_y)
        else:
            inside = False
            value_y = baseline - 12
            if target_y is not None and target_y > baseline - 24:
                value_y = target_y - 12
        state = ind.achievement(v.year)
        slots.append(IndicatorSlot(
            year=v.year, year_label=wareki(v.year), x=_r(x), cx=_r(cx), width=_r(slot_w),
            target=v.target, actual=v.actual,
            target_text=fmt_value(v.target, ind.unit), actual_text=fmt_value(v.actual, ind.unit),
            missing_target=v.target is None, missing_actual=v.actual is None,
            bar_x=_r(cx - bar_w / 2), bar_width=bar_w, bar_y=bar_y, bar_height=bar_h,
            value_label="" if v.actual is None else fmt_number(v.actual), value_y=_r(value_y),
            value_inside=inside,
            target_y=target_y, target_x1=_r(cx - marker_half), target_x2=_r(cx + marker_half),
            target_path="" if target_y is None else _diamond(cx, target_y, 5),
            achievement=state, achievement_text=ACHIEVEMENT_TEXT[state],
            is_results_year=v.year == results_year, tag_x=_r(cx - tag_w / 2),
        ))
    height = _r(baseline + 66)
    title = f"{ind.kind_label}「{ind.name}」の目標と実績のグラフ"
    return IndicatorChart(
        width=width, height=height, view_box=f"0 0 {fmt_svg(width)} {fmt_svg(height)}",
        plot_left=plot_left, plot_right=_r(width - pad_right), plot_top=plot_top, baseline=baseline,
        tick_x=plot_left - 6,
        highlight_y=plot_top - 18, highlight_height=_r(baseline + 63 - (plot_top - 18)),
        axis=axis, ticks=ticks, slots=tuple(slots), unit=ind.unit,
        unit_label=f"単位: {ind.unit}" if ind.unit else "", lower_is_better=ind.lower_is_better,
        focus_year=_focus_year([v.year for v in values], results_year),
        year_y=baseline + 19, achievement_y=baseline + 36, tag_y=baseline + 55,
        year_font_size=_year_font(slot_w), tag_text=TAG_TEXT, tag_width=tag_w,
        title=title, desc=_indicator_desc(ind), summary=indicator_summary(ind, results_year),
    )


def fmt_svg(x: float) -> str:
    """A coordinate as SVG text: 340 rather than 340.0."""
    return fmt_number(_tidy(x)).replace(",", "")


# -- cost chart ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CostSegment:
    """One stacked part of a cost bar; y/height are exact, rect_* leave a gap at the joint."""

    key: str                        # operating / personnel / total (when there is no breakdown)
    label: str                      # 事業経費 / 概算人件費 / 総事業費
    value: Number
    y: float
    height: float
    rect_y: float
    rect_height: float


@dataclass(frozen=True)
class CostBar:
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


@dataclass(frozen=True)
class CostChart:
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
    """The stack, bottom to top: 事業経費 then 概算人件費; the total alone when neither is given."""
    parts = [(k, v) for k, v in (("operating", c.operating), ("personnel", c.personnel)) if v is not None]
    if not parts and c.total is not None:
        parts = [("total", c.total)]
    # Zero-height parts draw nothing; leaving them out keeps the joint gap only between real parts.
    return [(k, v) for k, v in parts if v > 0]


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


def _staff_label(value: Number | None) -> str:
    """「0.20人」 (FTE, two decimals as on the sheet), 「—」 when missing."""
    return "—" if value is None else f"{fmt_number(value, 2)}人"


def _cost_desc(costs: Sequence[CostYear], kinds: Sequence[tuple[str, str, str]]) -> str:
    """The chart's numbers in words, for the SVG <desc>."""
    parts = ["年度ごとの総事業費の積み上げ縦棒グラフ（単位: 千円）。下の段が事業経費、上の段が概算人件費。"]
    if kinds:
        parts.append("、".join(f"{kind}は{text}" for kind, _, text in kinds) + "で示す。")
    for c in costs:
        breakdown = "、".join(f"{SEGMENT_LABELS[k]}{fmt_value(v, '千円')}"
                             for k, v in (("operating", c.operating), ("personnel", c.personnel)))
        parts.append(f"{wareki(c.year)}（{c.kind}）: 総事業費{fmt_value(c.total, '千円')}"
                     f"（{breakdown}）、従事常勤職員数{_staff_label(c.staff_regular).replace('—', MISSING_TEXT)}。")
    if not costs:
        parts.append("事業費の記載はありません。")
    return "".join(parts)


def cost_chart(costs: Sequence[CostYear], results_year: int) -> CostChart:
    """Stacked bars of 事業経費 + 概算人件費 per fiscal year, with kind, total and staff labels."""
    n = max(1, len(costs))
    pad = 8
    slot_w = max(MIN_SLOT, (MIN_WIDTH - 2 * pad) / n)
    width = _r(2 * pad + n * slot_w)
    plot_top, plot_h = 42, 140
    baseline = plot_top + plot_h
    stacks = [_cost_parts(c) for c in costs]
    highest = max([0.0, *(float(sum(v for _, v in s)) for s in stacks),
                   *(float(c.total) for c in costs if c.total is not None)])
    axis_max = _tidy(highest) if highest > 0 else 1
    scale = plot_h / float(axis_max)
    bar_w = _r(min(40.0, slot_w * 0.55))
    bars = []
    for i, (c, stack) in enumerate(zip(costs, stacks, strict=True)):
        x = pad + i * slot_w
        cx = x + slot_w / 2
        segments = []
        bottom = baseline
        for j, (key, value) in enumerate(stack):
            h = float(value) * scale
            top = bottom - h
            # A gap of SEGMENT_GAP at each joint keeps the parts apart in black and white and in
            # forced colours (WCAG 1.4.1, 1.4.11); the exact y/height stay for the arithmetic.
            inset_bottom = SEGMENT_GAP / 2 if j > 0 else 0.0
            inset_top = SEGMENT_GAP / 2 if j < len(stack) - 1 else 0.0
            rect_h = max(0.0, h - inset_bottom - inset_top)
            segments.append(CostSegment(key, SEGMENT_LABELS[key], value, _r(top), _r(h),
                                        _r(top + inset_top), _r(rect_h)))
            bottom = top
        # Missing means nothing was written; a total of 0 is drawn as 「0」 on the baseline.
        missing = c.total is None and c.operating is None and c.personnel is None
        bars.append(CostBar(
            year=c.year, year_label=wareki(c.year), kind=c.kind,
            style=KIND_STYLES.get(c.kind, "other"), x=_r(x), cx=_r(cx), width=_r(slot_w),
            bar_x=_r(cx - bar_w / 2), bar_width=bar_w, total=c.total,
            total_label=MISSING_TEXT if c.total is None else fmt_number(c.total),
            total_y=_r((baseline - 12) if missing else bottom - 6),
            segments=tuple(segments), staff=c.staff_regular, staff_label=_staff_label(c.staff_regular),
            missing=missing, is_results_year=c.year == results_year,
        ))
    kinds: list[tuple[str, str, str]] = []
    for b in bars:
        if b.kind not in [k for k, _, _ in kinds]:
            kinds.append((b.kind, b.style, KIND_STYLE_TEXT[b.style]))
    keys = tuple(k for k in SEGMENT_LABELS if any(s.key == k for b in bars for s in b.segments))
    height = _r(baseline + 62)
    return CostChart(
        width=width, height=height, view_box=f"0 0 {fmt_svg(width)} {fmt_svg(height)}",
        plot_top=plot_top, baseline=baseline,
        highlight_y=plot_top - 20, highlight_height=_r(baseline + 61 - (plot_top - 20)),
        axis_max=axis_max, bars=tuple(bars), kinds=tuple(kinds), segment_keys=keys,
        unit_label="単位: 千円", focus_year=_focus_cost_year(costs, results_year),
        year_y=baseline + 19, kind_y=baseline + 36, staff_y=baseline + 53,
        year_font_size=_year_font(slot_w),
        title="年度ごとの事業費（事業経費と概算人件費）のグラフ", desc=_cost_desc(costs, kinds),
        summary=cost_summary(costs, results_year),
    )


# -- horizontal bar chart (top page) -------------------------------------------------------------

@dataclass(frozen=True)
class BarRow:
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


@dataclass(frozen=True)
class BarChart:
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
    label_font_size: float = 13


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
    size, line_h, bar_h, gap = BarChart.label_font_size, 18, 16, 14
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
