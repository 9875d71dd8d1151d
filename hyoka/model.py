"""Frozen dataclasses for a validated sheet and the site configuration."""

from __future__ import annotations

import copyreg
import marshal
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from .schema import EVALUATION_GROUPS, INDICATOR_KINDS, SHEET

Number = int | float
Achievement = Literal["achieved", "not_achieved", "no_actual", "no_target"]
T = TypeVar("T")


@dataclass(frozen=True)
class SourceRef:
    """Where a sheet came from, for messages and the edit link."""

    path: str
    line: int = 1
    digest: str = ""  # hash of the source file's bytes


@dataclass(frozen=True)
class IndicatorValue:
    """Target and actual for one fiscal year; None is missing, never zero."""

    year: int
    target: Number | None
    actual: Number | None


@dataclass(frozen=True)
class Indicator:
    """An activity (活動指標) or outcome (成果指標) indicator."""

    kind: str
    name: str
    description: str | None
    unit: str | None
    lower_is_better: bool
    values: tuple[IndicatorValue, ...]

    @property
    def kind_label(self) -> str:
        """活動指標 / 成果指標."""
        return INDICATOR_KINDS.get(self.kind, self.kind)

    def value(self, year: int) -> IndicatorValue | None:
        """The entry for `year`, if the sheet has one."""
        return next((v for v in self.values if v.year == year), None)

    def achievement(self, year: int) -> Achievement:
        """Whether the actual met the target, honouring lower-is-better indicators."""
        v = self.value(year)
        if v is None or v.actual is None:
            return "no_actual"
        if v.target is None:
            return "no_target"
        met = v.actual <= v.target if self.lower_is_better else v.actual >= v.target
        return "achieved" if met else "not_achieved"


@dataclass(frozen=True)
class CostYear:
    """One fiscal year's column of the cost table (amounts in 千円, staff in FTE)."""

    year: int
    kind: str
    total: Number | None
    operating: Number | None
    specific_revenue: Number | None
    staff_regular: Number | None
    staff_nonregular: Number | None
    personnel: Number | None


@dataclass(frozen=True)
class EvaluationItem:
    """One cell of the evaluation grid: a rating from the city's list and a comment."""

    key: str
    label: str
    group: str
    rating: str | None
    comment: str | None


@dataclass(frozen=True)
class Organization:
    """部局・課・係."""

    bureau: str
    division: str
    section: str | None = None


@dataclass(frozen=True)
class Plan:
    """総合計画の体系: 目標 → 基本 → 分野."""

    goal: str | None = None
    basic: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class BudgetAccount:
    """予算科目: 区分・款・項・目."""

    fund: str | None = None
    kan: str | None = None
    kou: str | None = None
    moku: str | None = None


@dataclass(frozen=True)
class Sheet:
    """One program's evaluation sheet for one evaluation year."""

    id: str
    evaluation_year: int
    results_year: int
    title: str
    organization: Organization
    plan: Plan
    sdgs: tuple[int, ...]
    purpose: str | None
    description: str | None
    category: str | None
    implementer: str | None
    beneficiaries: str | None
    indicators: tuple[Indicator, ...]
    budget_account: BudgetAccount
    costs: tuple[CostYear, ...]
    evaluation: tuple[EvaluationItem, ...]
    body: str
    source: SourceRef
    data: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def url(self) -> str:
        """Site-relative permalink: program id + evaluation year."""
        return f"sheets/{self.id}/{self.evaluation_year}/"

    def cost(self, year: int) -> CostYear | None:
        """The cost column for `year`."""
        return next((c for c in self.costs if c.year == year), None)

    def rating(self, key: str) -> EvaluationItem:
        """The evaluation item named `key` (StopIteration when there is none, as next() raises).
        A loop, not next() of a generator: `direction` asks for it for each list row, feed entry and
        stub (≈ 1 % of a clean build)."""
        for e in self.evaluation:
            if e.key == key:
                return e
        raise StopIteration(key)

    def achievement_counts(self, year: int) -> tuple[int, int]:
        """(indicators that met their target in `year`, indicators with a target and an actual)."""
        states = [i.achievement(year) for i in self.indicators]
        judged = [s for s in states if s in ("achieved", "not_achieved")]
        return sum(s == "achieved" for s in judged), len(judged)

    @property
    def direction(self) -> str | None:
        """事業の方針."""
        return self.rating("direction").rating


# What a sheet from the build cache holds before it is loaded in full (LazySheet): everything that
# places it on the site (collect.placement), its costs (the top page's totals) and its source.
# The costs as one plain tuple (_COST_NAMES' values of each year in turn), marshalled into bytes,
# made CostYears when first read: 50,000 objects at 10,000 sheets were half the time of unpickling
# the stubs, and the tuples' 400,000 numbers a third of what was left.
STUB_FIELDS = ("id", "evaluation_year", "results_year", "title", "organization", "plan", "sdgs", "source")
_COST_NAMES = tuple(f.name for f in fields(CostYear))


def stub_of(sheet: Sheet) -> dict[str, Any]:
    """What a LazySheet of `sheet` starts with (pickled apart from the whole sheet by the cache)."""
    d = sheet.__dict__
    stub = {name: d[name] for name in STUB_FIELDS}
    stub["_direction"] = sheet.direction
    stub["_costs"] = _packed_costs(d)
    return stub


def _packed_costs(d: dict[str, Any]) -> bytes:
    """A sheet's costs (its __dict__ `d`) as a stub holds them: marshalled, or a LazySheet's own
    while they were not read."""
    costs = d.get("costs")
    if costs is None:  # a LazySheet's whose costs were not read yet
        return d["_costs"]  # type: ignore[no-any-return]
    return marshal.dumps(tuple([c.__dict__[n] for c in costs for n in _COST_NAMES]))


def _cost_years(packed: bytes) -> tuple[CostYear, ...]:
    """The CostYears of stub_of's marshalled flat tuple of their values."""
    raw, width = marshal.loads(packed), len(_COST_NAMES)
    return tuple(_cost_year(raw[start:start + width]) for start in range(0, len(raw), width))


def _cost_year(values: tuple[Any, ...]) -> CostYear:
    cost = object.__new__(CostYear)
    cost.__dict__.update(zip(_COST_NAMES, values, strict=True))
    return cost


def lazy_sheet(stub: dict[str, Any], full: Callable[[], Sheet]) -> LazySheet:
    """A LazySheet from `stub_of`'s dict; full() gives the whole sheet when a field beyond it is read."""
    obj = object.__new__(LazySheet)
    obj.__dict__.update(stub)
    obj.__dict__["_full"] = full
    return obj


class LazySheet(Sheet):
    """A Sheet of the build cache, unchanged since the last build: it holds only `stub_of`'s fields
    until another one is read, and then takes the rest from full() (hyoka/pipeline.py: the cache's
    pickle of its span). After one edit of 10,000 sheets, only the few on re-rendered pages are
    unpickled whole (all of them took 0.7 s, the stubs 0.1 s).

    It is a Sheet in every way: equal to the Sheet it stands for (and hashed alike), pickled and
    copied as that Sheet (dataclasses.replace gives a LazySheet with every field: a whole one)."""

    @property
    def direction(self) -> str | None:
        d = self.__dict__
        return d["_direction"] if "_direction" in d else Sheet.direction.fget(self)  # type: ignore[attr-defined]

    def cost(self, year: int) -> CostYear | None:
        d = self.__dict__
        if "costs" in d or "_costs" not in d:
            return Sheet.cost(self, year)
        # One year's column from the stub, without making the others (the top page's totals read
        # the results year of 2,000 sheets after every edit).
        raw, width = marshal.loads(d["_costs"]), len(_COST_NAMES)
        for start in range(0, len(raw), width):
            if raw[start] == year:
                return _cost_year(raw[start:start + width])
        return None

    def __getattr__(self, name: str) -> Any:  # only for what the instance does not have yet
        d = self.__dict__
        if name == "costs" and "_costs" in d:
            costs = d["costs"] = _cost_years(d["_costs"])
            return costs
        full = d.get("_full")
        if full is None or name.startswith("__"):
            raise AttributeError(name)
        for key, value in full().__dict__.items():  # an error here is raised again at the next read
            d.setdefault(key, value)  # the stub's own objects stay (pages may hold them already)
        d.pop("_full", None)  # (another thread may have read it whole meanwhile: pipeline's Beside)
        return object.__getattribute__(self, name)

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in _COMPARED)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sheet):
            return self._fields() == tuple(getattr(other, f.name) for f in _COMPARED)
        return NotImplemented

    __hash__ = Sheet.__hash__

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _whole_sheet, ({f.name: getattr(self, f.name) for f in _FIELDS},)


def _whole_sheet(values: dict[str, Any]) -> Sheet:
    return new(Sheet, **values)


_SNAPSHOT_KEYS = (*STUB_FIELDS, "_direction", "_costs", "_full")


def _snapshot_sheet(values: tuple[Any, ...]) -> LazySheet:
    """A LazySheet of snapshot_pickler's values."""
    obj = object.__new__(LazySheet)
    obj.__dict__.update(zip(_SNAPSHOT_KEYS, values, strict=True))
    return obj


def _unattached() -> Sheet:
    raise RuntimeError("a sheet of the build cache's snapshot was read without its file's sheet")


def snapshot_pickler(file: Any) -> pickle.Pickler:
    """A pickler writing every Sheet (whole or lazy) as a LazySheet of its stub, each once (what
    holds the same sheet holds the same one when unpickled), for the build cache's site snapshot
    (cache.SiteSnapshot). Such a sheet reads only its stub until the build gives it the loader of
    its file's sheet (pipeline._reuse); one read further without it fails the build, never renders
    a page with a field missing. Equal 組織, 総合計画 and SDGs values are pickled once."""
    pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
    # Equal 組織, 総合計画 and SDGs values pickled once: found by the tuple of their fields (hashed
    # in C; a frozen dataclass's __hash__ is a Python call), each kept with the first such value.
    organizations: dict[tuple[Any, ...], Organization] = {}
    plans: dict[tuple[Any, ...], Plan] = {}
    goal_sets: dict[tuple[int, ...], tuple[int, ...]] = {}

    def as_stub(sheet: Sheet) -> tuple[Any, ...]:
        # stub_of's values in _SNAPSHOT_KEYS' order, given to _snapshot_sheet: the pickle's default
        # (a new object, then its dict set) made pickle look for __setstate__ through
        # LazySheet.__getattr__, a Python call for each of 10,000 sheets (a third of their time).
        # Written out here (no dict of the stub): every sheet of a clean build is pickled so.
        d = sheet.__dict__
        org, plan, sdgs = d["organization"], d["plan"], d["sdgs"]
        if type(org) is Organization:
            org = organizations.setdefault((org.bureau, org.division, org.section), org)
        if type(plan) is Plan:
            plan = plans.setdefault((plan.goal, plan.basic, plan.field), plan)
        if type(sdgs) is tuple:
            sdgs = goal_sets.setdefault(sdgs, sdgs)
        return _snapshot_sheet, ((
            d["id"], d["evaluation_year"], d["results_year"], d["title"], org, plan, sdgs, d["source"],
            sheet.direction, _packed_costs(d), _unattached),)

    pickler.dispatch_table = {**copyreg.dispatch_table, Sheet: as_stub, LazySheet: as_stub}
    return pickler


@dataclass(frozen=True)
class SiteConfig:
    """site_config.yaml, validated."""

    root: Path
    city: str
    site_title: str
    description: str | None
    base_url: str | None
    output_dir: Path
    content_dir: Path
    personnel_unit_cost: Number
    fiscal_year_before: int
    fiscal_year_after: int
    checks: dict[str, str]
    choices: dict[str, Any]
    contact: dict[str, str | None] = field(default_factory=dict)
    year_format: str = "wareki"
    synonyms: tuple[tuple[str, ...], ...] = ()  # search.synonyms: groups of words meaning the same

    def choice_list(self, dotted: str) -> tuple[str, ...] | None:
        """The list at `choices.<dotted>`, or None when the city defines none."""
        node: Any = self.choices
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return tuple(node) if isinstance(node, list) else None


# The evaluation grid's cells in the schema's order: (key, 和名, group).
_EVALUATION_CELLS: tuple[tuple[str, str, str], ...] = tuple(
    (f.key, f.label, next(group for group, keys in EVALUATION_GROUPS if f.key in keys))
    for f in SHEET.child("evaluation").fields  # type: ignore[union-attr]
)
_EMPTY: dict[Any, Any] = {}
# A sheet without `plan` or `budget_account` has each field None (the classes' defaults).
_NO_PLAN = {"goal": None, "basic": None, "field": None}
_NO_ACCOUNT = {"fund": None, "kan": None, "kou": None, "moku": None}


def new(cls: type[T], **values: Any) -> T:
    """cls(**values) for a frozen dataclass of this module, given every field (defaults are not
    filled in): the instance's __dict__ is set at once. A frozen dataclass's __init__ sets each field
    through object.__setattr__: a quarter of build_sheet's time (≈ 27 objects a sheet, built in
    every load). tests/test_model.py holds build_sheet with `new` equal to it with the __init__s."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


def build_sheet(clean: dict[str, Any], source: SourceRef, body: str, *,
                make: Callable[..., Any] = new) -> Sheet:
    """Assemble the frozen model from validated, cleaned front matter (each object by `make`)."""
    grid = clean.get("evaluation") or {}
    evaluation = tuple(
        make(EvaluationItem, key=key, label=label, group=group, rating=cell.get("rating"),
             comment=cell.get("comment"))
        for key, label, group in _EVALUATION_CELLS
        for cell in (grid.get(key) or _EMPTY,)
    )
    indicators = tuple(
        make(
            Indicator,
            kind=i["kind"], name=i["name"], description=i.get("description"), unit=i.get("unit"),
            lower_is_better=bool(i.get("lower_is_better")),
            values=tuple(make(IndicatorValue, year=y, target=v["target"], actual=v["actual"])
                         for y, v in sorted((i.get("values") or _EMPTY).items())),
        )
        for i in clean.get("indicators") or ()
    )
    costs = tuple(make(CostYear, year=y, **c) for y, c in sorted((clean.get("costs") or _EMPTY).items()))
    plan = clean.get("plan") or _NO_PLAN
    account = clean.get("budget_account") or _NO_ACCOUNT
    return make(
        Sheet,
        id=clean["id"], evaluation_year=clean["evaluation_year"], results_year=clean["results_year"],
        title=clean["title"], organization=make(Organization, **clean["organization"]),
        plan=make(Plan, **plan), sdgs=tuple(clean.get("sdgs") or ()),
        purpose=clean.get("purpose"), description=clean.get("description"),
        category=clean.get("category"), implementer=clean.get("implementer"),
        beneficiaries=clean.get("beneficiaries"), indicators=indicators,
        budget_account=make(BudgetAccount, **account), costs=costs,
        evaluation=evaluation, body=body, source=source, data=clean,
    )


_FIELDS = fields(Sheet)
_COMPARED = tuple(f for f in _FIELDS if f.compare)
