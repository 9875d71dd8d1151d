"""What changed between two evaluations of one program: 事業の方針, targets, costs."""

from __future__ import annotations

from dataclasses import dataclass

from .era import wareki
from .model import CostYear, IndicatorValue, Number, Sheet


@dataclass(frozen=True)
class Change:
    """One difference between an earlier and a later sheet of the same program."""

    subject: str  # what changed, in Japanese (「事業の方針」「指標「利用者数」の令和7年度の目標」)
    before: str
    after: str


def _num(value: Number | None, unit: str = "") -> str:
    if value is None:
        return "データなし"
    text = f"{value:,}" if isinstance(value, int) or not float(value).is_integer() else f"{int(value):,}"
    return f"{text}{unit}"


def changes(prev: Sheet, cur: Sheet) -> list[Change]:
    """Differences a reader asks about, in the order of the sheet; empty when nothing changed."""
    out: list[Change] = []
    if prev.direction != cur.direction:
        out.append(Change("事業の方針", prev.direction or "データなし", cur.direction or "データなし"))
    # The same fiscal year seen in both sheets: a budget (予算) becomes a settled figure (決算).
    prev_costs: dict[int, CostYear] = {}  # prev.cost(year): the first column of each year
    for p in prev.costs:
        prev_costs.setdefault(p.year, p)
    for c in cur.costs:
        p = prev_costs.get(c.year)
        if p is not None and p.total != c.total:
            out.append(Change(f"{wareki(c.year)}の総事業費",
                                  f"{_num(p.total, '千円')}（{p.kind}）", f"{_num(c.total, '千円')}（{c.kind}）"))
    prev_ind = {(i.kind, i.name): i for i in prev.indicators}
    cur_ind = {(i.kind, i.name): i for i in cur.indicators}
    for key, ind in cur_ind.items():
        old = prev_ind.get(key)
        if old is None:
            out.append(Change(f"{ind.kind_label}「{ind.name}」", "なし", "新たに設定"))
            continue
        old_values: dict[int, IndicatorValue] = {}  # old.value(year): the first entry of each year
        for ov in old.values:
            old_values.setdefault(ov.year, ov)
        for v in ind.values:
            ov = old_values.get(v.year)
            if ov is not None and ov.target != v.target:
                out.append(Change(f"{ind.kind_label}「{ind.name}」の{wareki(v.year)}の目標",
                                  _num(ov.target, ind.unit or ""), _num(v.target, ind.unit or "")))
    for key, ind in prev_ind.items():
        if key not in cur_ind:
            out.append(Change(f"{ind.kind_label}「{ind.name}」", "設定あり", "廃止"))
    return out
