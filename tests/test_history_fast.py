"""hyoka.history.changes looks years up in dicts: the same changes as looking each one up in turn."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka.era import wareki
from hyoka.history import Change, _num, changes
from hyoka.model import CostYear, Indicator, IndicatorValue


class _Sheet:
    """The attributes of model.Sheet that changes() reads."""

    def __init__(self, direction, costs, indicators) -> None:  # type: ignore[no-untyped-def]
        self.direction, self.costs, self.indicators = direction, costs, indicators

    def cost(self, year: int) -> CostYear | None:  # as model.Sheet.cost
        return next((c for c in self.costs if c.year == year), None)


def _reference(prev, cur) -> list[Change]:  # type: ignore[no-untyped-def]
    """changes() as first written: Sheet.cost and Indicator.value for every year."""
    out: list[Change] = []
    if prev.direction != cur.direction:
        out.append(Change("事業の方針", prev.direction or "データなし", cur.direction or "データなし"))
    for c in cur.costs:
        p = prev.cost(c.year)
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
        for v in ind.values:
            ov = old.value(v.year)
            if ov is not None and ov.target != v.target:
                out.append(Change(f"{ind.kind_label}「{ind.name}」の{wareki(v.year)}の目標",
                                  _num(ov.target, ind.unit or ""), _num(v.target, ind.unit or "")))
    for key, ind in prev_ind.items():
        if key not in cur_ind:
            out.append(Change(f"{ind.kind_label}「{ind.name}」", "設定あり", "廃止"))
    return out


amounts = st.one_of(st.none(), st.sampled_from([0, 1, 5, 5.0, 2.5, 1000]))
years = st.lists(st.integers(2021, 2025), max_size=5)  # unsorted, a year may be written twice


@st.composite
def sheets(draw) -> _Sheet:
    costs = tuple(CostYear(y, draw(st.sampled_from(["決算", "予算"])), draw(amounts), None, None, None, None, None)
                  for y in draw(years))
    indicators = tuple(
        Indicator(draw(st.sampled_from(["activity", "outcome"])), draw(st.sampled_from(["件数", "回数"])), None,
                  draw(st.sampled_from([None, "件"])), False,
                  tuple(IndicatorValue(y, draw(amounts), draw(amounts)) for y in draw(years)))
        for _ in range(draw(st.integers(0, 3))))
    return _Sheet(draw(st.sampled_from([None, "継続", "見直し"])), costs, indicators)


@settings(max_examples=500, deadline=None)
@given(prev=sheets(), cur=sheets())
def test_changes_as_looking_each_year_up(prev, cur) -> None:  # type: ignore[no-untyped-def]
    assert changes(prev, cur) == _reference(prev, cur)  # type: ignore[arg-type]
