"""Group validated sheets into the Site the templates read: indexes by 課, 総合計画, SDGs, 方針, 年度."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .model import Sheet, SiteConfig

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\?#%\"<>|*:\[\]{}^`']+")


def slug_segment(name: str) -> str:
    """A URL path segment for a Japanese name: kept readable, only URL-hostile characters removed."""
    text = unicodedata.normalize("NFC", name).strip()
    text = _UNSAFE.sub("", re.sub(r"\s+", "-", text)).strip(".-")
    return text or "-"


@dataclass(frozen=True)
class Group:
    """A named set of sheets with its URL, possibly with sub-groups (部局 → 課, 目標 → 基本 → 分野)."""

    name: str
    url: str  # site-relative, ending in "/" ("" for groups without a page of their own)
    sheets: tuple[Sheet, ...]
    children: tuple[Group, ...] = ()
    number: int | None = None  # SDGs goal number

    @property
    def count(self) -> int:
        """Sheets in this group (all evaluation years)."""
        return len(self.sheets)

    def sections(self) -> list[str]:
        """The 係 of its sheets, each once, in order (case-insensitively, as Jinja's unique filter)."""
        seen: dict[str, str] = {}
        for s in self.sheets:
            section = s.organization.section
            if section is not None:
                seen.setdefault(section.lower(), section)
        return list(seen.values())

    def years(self) -> list[tuple[int, tuple[Sheet, ...]]]:
        """(evaluation year, sheets), newest year first."""
        by: dict[int, list[Sheet]] = defaultdict(list)
        for s in self.sheets:
            by[s.evaluation_year].append(s)
        return [(y, tuple(by[y])) for y in sorted(by, reverse=True)]


@dataclass(frozen=True)
class Program:
    """One program id across evaluation years (oldest first)."""

    id: str
    sheets: tuple[Sheet, ...]

    @property
    def latest(self) -> Sheet:
        """The newest evaluation of the program."""
        return self.sheets[-1]

    @property
    def url(self) -> str:
        """Site-relative URL of the program page."""
        return f"sheets/{self.id}/"

    def previous(self, sheet: Sheet) -> Sheet | None:
        """The evaluation just before `sheet`, if any."""
        earlier = [s for s in self.sheets if s.evaluation_year < sheet.evaluation_year]
        return earlier[-1] if earlier else None


@dataclass(frozen=True)
class Site:
    """All sheets with the indexes the pages need."""

    config: SiteConfig
    sheets: tuple[Sheet, ...]  # newest evaluation year first, then 部局・課・係, then title
    years: tuple[int, ...]  # evaluation years, newest first
    by_year: tuple[Group, ...]
    divisions: tuple[Group, ...]  # 部局 → 課 (→ sheets of all years)
    plan: tuple[Group, ...]  # 目標 → 基本 → 分野
    sdgs: tuple[Group, ...]  # goals 1–17 that have sheets
    directions: tuple[Group, ...]  # 事業の方針, in the order of the city's choice list
    programs: dict[str, Program] = field(repr=False)
    _division_of: dict[tuple[str, int], Group] = field(repr=False, default_factory=dict)
    _field_of: dict[tuple[str, int], Group] = field(repr=False, default_factory=dict)

    @functools.cached_property
    def unplanned(self) -> tuple[Sheet, ...]:
        """Sheets without a 総合計画 分野 (templates/pages/plan.html counts them: a Jinja filter
        over 10,000 sheets took 0.05 s of every build after an edit)."""
        return tuple([s for s in self.sheets if not s.plan.field])

    @property
    def latest_year(self) -> int:
        """The newest evaluation year."""
        return self.years[0]

    def sheets_in(self, year: int) -> tuple[Sheet, ...]:
        """Sheets of one evaluation year (its 年度 group's: the same sheets in the same order)."""
        name = f"{year}"
        return next((g.sheets for g in self.by_year if g.name == name), ())

    def program(self, sheet: Sheet) -> Program:
        """The program a sheet belongs to."""
        return self.programs[sheet.id]

    def division_of(self, sheet: Sheet) -> Group:
        """The 課 page a sheet is listed on."""
        return self._division_of[(sheet.id, sheet.evaluation_year)]

    def field_of(self, sheet: Sheet) -> Group | None:
        """The 総合計画 分野 page a sheet is listed on (its name in the spelling most sheets use)."""
        return self._field_of.get((sheet.id, sheet.evaluation_year))


def _order_key(s: Sheet) -> tuple[int, str, str, str, str, str]:
    org = s.organization
    return (-s.evaluation_year, org.bureau, org.division, org.section or "", s.title, s.id)


def _ordered(sheets: Iterable[Sheet]) -> tuple[Sheet, ...]:
    return tuple(sorted(sheets, key=_order_key))


def _group_by(sheets: tuple[Sheet, ...], key: Callable[[Sheet], str | None], prefix: str,
              order: Callable[[str], object] = lambda k: k,
              children: Callable[[str, tuple[Sheet, ...]], tuple[Group, ...]] | None = None,
              slug: Callable[[str], str] = slug_segment) -> tuple[Group, ...]:
    # One pass: each group's members in the order given, and how often each spelling of its name
    # occurs (the preview runs this on every save: no Counter of every spelling).
    buckets: dict[str, list[Sheet]] = {}
    spellings: dict[str, dict[str, int]] = {}
    for s in sheets:
        name = key(s)
        if name:
            k = group_key(name)
            members = buckets.get(k)
            if members is None:
                buckets[k] = [s]
                spellings[k] = {name: 1}
            else:
                members.append(s)
                counts = spellings[k]
                counts[name] = counts.get(name, 0) + 1
    groups = []
    used: set[str] = set()
    names = {k: _most_used(v) for k, v in spellings.items()}
    for k in sorted(buckets, key=lambda k: order(names[k])):
        members = tuple(buckets[k])
        name = names[k]
        segment = base = slug(k)
        n = 1
        # Two names, one segment (one number, or names differing only in 記号 or in case, which
        # Windows and macOS disks do not tell apart): keep both pages apart.
        while segment.casefold() in used:
            n += 1
            segment = f"{base}-{slug_segment(k)}" if n == 2 else f"{base}-{n}"
        used.add(segment.casefold())
        url = f"{prefix}{segment}/"
        groups.append(Group(name, url, members, children(url, members) if children else ()))
    return tuple(groups)


def _plan_slug(key: str) -> str:
    """「2.情報化」 → 「2」: the 総合計画 numbers its levels; names only where it does not."""
    m = re.match(r"^(\d+)[.．]", key)
    return m.group(1) if m else slug_segment(key)


@functools.lru_cache(maxsize=4096)
def group_key(name: str) -> str:
    """Names that differ only in width or spacing (「6. 市民協働」「6.市民協働」) are one group."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


def _most_used(counts: dict[str, int]) -> str:
    """The spelling most sheets use, from each spelling's count (ties: the first in sort order)."""
    return min(counts, key=lambda s: (-counts[s], s))


def _natural(text: str) -> tuple:
    """Order 「2.情報化」 before 「10.…」: numbers by value, as the 総合計画 numbers them."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", unicodedata.normalize("NFKC", text)))


_GOALS = range(1, 18)


def _by_goal(ordered: tuple[Sheet, ...]) -> tuple[Group, ...]:
    """SDGs goals 1–17 that have sheets, each with its sheets in site order (one pass, not 17)."""
    buckets: dict[int, list[Sheet]] = {}
    for s in ordered:
        for n in s.sdgs:
            if n in _GOALS:
                members = buckets.setdefault(n, [])
                if not members or members[-1] is not s:  # a goal listed twice: the sheet once
                    members.append(s)
    return tuple(Group(f"ゴール{n}", f"sdgs/{n}/", tuple(buckets[n]), number=n) for n in _GOALS if n in buckets)


def _direction(s: Sheet) -> str:
    return s.direction or "未記入"


def collect(sheets: list[Sheet], config: SiteConfig) -> Site:
    """Sort sheets and derive every index.

    Runs on every save in the preview (10,000 sheets: a few passes over them, no more)."""
    ordered = _ordered(sheets)
    of_year: dict[int, list[Sheet]] = {}
    for s in ordered:  # newest year first: the groups come out in that order
        members = of_year.get(s.evaluation_year)
        if members is None:
            of_year[s.evaluation_year] = [s]
        else:
            members.append(s)
    years = tuple(sorted(of_year, reverse=True))
    by_year = tuple(Group(f"{y}", f"years/{y}/", tuple(of_year[y])) for y in years)

    divisions = _group_by(
        ordered, lambda s: s.organization.bureau, "divisions/",
        children=lambda url, members: _group_by(members, lambda s: s.organization.division, url))
    # Leave the bureau level without a page of its own: its 課 pages hold the lists.
    divisions = tuple(Group(g.name, "", g.sheets, g.children) for g in divisions)

    plan = _group_by(
        ordered, lambda s: s.plan.goal, "plan/", order=_natural, slug=_plan_slug,
        children=lambda url, members: _group_by(
            members, lambda s: s.plan.basic, url, order=_natural, slug=_plan_slug,
            children=lambda url2, members2: _group_by(members2, lambda s: s.plan.field, url2,
                                                      order=_natural, slug=_plan_slug)))
    plan = tuple(Group(g.name, "", g.sheets, tuple(Group(c.name, "", c.sheets, c.children)
                                                   for c in g.children)) for g in plan)

    sdgs = _by_goal(ordered)

    listed = list(config.choice_list("evaluation.direction") or ())
    directions = _group_by(ordered, _direction, "directions/",
                           order=lambda k: (listed.index(k) if k in listed else len(listed), k))

    programs: dict[str, list[Sheet]] = defaultdict(list)
    for s in sorted(sheets, key=lambda s: s.evaluation_year):
        programs[s.id].append(s)
    division_of = {(s.id, s.evaluation_year): d for b in divisions for d in b.children for s in d.sheets}
    return Site(config=config, sheets=ordered, years=years, by_year=by_year, divisions=divisions,
                plan=plan, sdgs=sdgs, directions=directions,
                programs={k: Program(k, tuple(v)) for k, v in sorted(programs.items())},
                _division_of=division_of,
                _field_of={(s.id, s.evaluation_year): f for g in plan for b in g.children for f in b.children
                           for s in f.sheets})


def placement(s: Sheet) -> tuple[object, ...]:
    """Everything of a sheet that `collect` reads: where it is sorted and which lists it is on."""
    org, plan = s.organization, s.plan
    return (s.id, s.evaluation_year, org.bureau, org.division, org.section, s.title,
            plan.goal, plan.basic, plan.field, s.sdgs, s.direction)


def collect_again(site: Site, edits: Iterable[tuple[Sheet, Sheet]]) -> Site | None:
    """`site` with each (old, new) sheet pair swapped, as `collect` would make it: for edits that
    keep every sheet in its place (`placement` unchanged, the usual edit in the preview).

    None when an edit moves a sheet (other lists, order or names): then `collect` again. Groups
    without an edited sheet are kept as they are (the same objects).
    """
    swap: dict[int, Sheet] = {}
    for old, new in edits:
        if placement(old) != placement(new):
            return None
        swap[id(old)] = new  # `site` holds `old`: its id stays unique while this runs
    if not swap:
        return site
    edited = swap.keys()

    def swapped(sheets: tuple[Sheet, ...]) -> tuple[Sheet, ...]:
        return tuple(map(swap.get, map(id, sheets), sheets))  # each sheet, or its swap (in C)

    replaced: dict[int, tuple[Group, Group]] = {}  # id of an old group → it and its new group

    def regroup(group: Group) -> Group:
        if edited.isdisjoint(map(id, group.sheets)):  # a group's children hold only its sheets
            return group
        new = Group(group.name, group.url, swapped(group.sheets), tuple(regroup(c) for c in group.children),
                    group.number)
        replaced[id(group)] = (group, new)
        return new

    def reindex(index: dict[tuple[str, int], Group]) -> dict[tuple[str, int], Group]:
        out = dict(index)
        for old_group, new_group in replaced.values():  # the keys of a group's own sheets only
            # An index holds every sheet of a group it holds, or none: the other lists' groups
            # (thousands of sheets each: 方針, 年度) are skipped at their first sheet.
            first = old_group.sheets[0] if old_group.sheets else None
            if first is None or index.get((first.id, first.evaluation_year)) is not old_group:
                continue
            for s in old_group.sheets:
                key = (s.id, s.evaluation_year)
                if out.get(key) is old_group:
                    out[key] = new_group
        return out

    programs = dict(site.programs)
    for sheet in swap.values():
        program = programs[sheet.id]
        programs[sheet.id] = Program(program.id, swapped(program.sheets))
    divisions = tuple(regroup(g) for g in site.divisions)
    plan = tuple(regroup(g) for g in site.plan)
    return Site(config=site.config, sheets=swapped(site.sheets), years=site.years,
                by_year=tuple(regroup(g) for g in site.by_year), divisions=divisions, plan=plan,
                sdgs=tuple(regroup(g) for g in site.sdgs), directions=tuple(regroup(g) for g in site.directions),
                programs=programs, _division_of=reindex(site._division_of), _field_of=reindex(site._field_of))


@dataclass(frozen=True)
class DivisionTotal:
    """One 課's share of a year: its page, number of programs, total cost and regular staff."""

    label: str
    group: Group
    count: int
    total: float
    staff: float


@dataclass(frozen=True)
class YearSummary:
    """The top page's overview of one evaluation year (costs of each sheet's results year)."""

    year: int
    sheets: tuple[Sheet, ...]
    results_years: tuple[int, ...]
    total: float  # 千円, over sheets that state a total
    staff: float  # FTE, regular + non-regular
    directions: tuple[tuple[Group, int], ...]
    divisions: tuple[DivisionTotal, ...]

    @property
    def division_rows(self) -> list[tuple[str, float]]:
        """(課, 総事業費) pairs for the bar chart."""
        return [(d.label, d.total) for d in self.divisions]


def _sum(values: Iterable[float | None]) -> float:
    return sum(v for v in values if v is not None)


def summarize(site: Site, year: int) -> YearSummary:
    """Totals for one evaluation year: money, staff, 方針 counts and 課 totals.

    Made from the year's sheets alone (the 方針 and 課 groups hold every year's sheets: each of
    the year's sheets is found in them by its group's key, as `collect` grouped it). The preview
    does this on every save."""
    sheets = site.sheets_in(year)
    cost_of = [s.cost(s.results_year) for s in sheets]
    costs = [c for c in cost_of if c is not None]
    per_direction: dict[str, int] = {}
    per_division: dict[tuple[str, str], list[int]] = {}  # (部局, 課) keys → indexes into `sheets`
    for i, s in enumerate(sheets):
        key = group_key(_direction(s))
        per_direction[key] = per_direction.get(key, 0) + 1
        org = s.organization
        if org.bureau and org.division:
            per_division.setdefault((group_key(org.bureau), group_key(org.division)), []).append(i)
    directions = tuple((g, n) for g in site.directions if (n := per_direction.get(group_key(g.name), 0)))
    divisions = []
    for bureau in site.divisions:
        bureau_key = group_key(bureau.name)
        for d in bureau.children:
            members = per_division.get((bureau_key, group_key(d.name)))
            if members:
                cs = [c for c in (cost_of[i] for i in members) if c is not None]
                divisions.append(DivisionTotal(f"{bureau.name} {d.name}", d, len(members),
                                               _sum(c.total for c in cs), _sum(c.staff_regular for c in cs)))
    return YearSummary(
        year=year, sheets=sheets,
        results_years=tuple(sorted({s.results_year for s in sheets})),
        total=_sum(c.total for c in costs),
        staff=round(_sum(c.staff_regular for c in costs) + _sum(c.staff_nonregular for c in costs), 2),
        directions=directions, divisions=tuple(divisions),
    )
