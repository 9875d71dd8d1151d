"""Japanese era (和暦) ↔ Western (西暦) fiscal-year conversion."""

from __future__ import annotations

import functools
import re
import unicodedata

# (name, abbreviation, first Western year). A fiscal year starts in April, so the era of a
# fiscal year is the era in force on 1 April: 令和元年度 = 平成31年度 = FY2019.
ERAS: tuple[tuple[str, str, int], ...] = (
    ("令和", "R", 2019),
    ("平成", "H", 1989),
    ("昭和", "S", 1926),
)

_ERA_RE = re.compile(
    r"^\s*(?P<era>令和|平成|昭和|[RrHhSs])\s*(?P<num>元|\d{1,2})\s*(?:年度?)?\s*$"
)


def parse_wareki_year(text: str) -> int | None:
    """Return the Western year for 「令和6年度」「R6」「平成31年」「令和元年度」, else None."""
    norm = unicodedata.normalize("NFKC", text)
    m = _ERA_RE.match(norm)
    if not m:
        return None
    era = m.group("era")
    num = 1 if m.group("num") == "元" else int(m.group("num"))
    if num < 1:
        return None
    for name, abbr, start in ERAS:
        if era == name or era.upper() == abbr:
            return start + num - 1
    return None  # pragma: no cover - the regex admits only known eras


# wareki and fiscal_year_label are cached: a page writes a handful of years dozens of times (typed:
# 2024 and 2024.0 are different keys, as their labels differ).
@functools.lru_cache(maxsize=1024, typed=True)
def wareki(year: int) -> str:
    """「令和6年度」 for 2024; 令和元年度 for 2019; falls back to 「2024年度」 before 昭和."""
    for name, _abbr, start in ERAS:
        if year >= start:
            num = year - start + 1
            return f"{name}{'元' if num == 1 else num}年度"
    return f"{year}年度"


@functools.lru_cache(maxsize=1024, typed=True)
def fiscal_year_label(year: int, style: str = "wareki") -> str:
    """「令和6年度（2024年度）」: 和暦 with 西暦 beside; style "seireki" puts 西暦 first."""
    if style == "seireki":
        return f"{year}年度（{wareki(year)}）"
    return f"{wareki(year)}（{year}年度）"


def short_wareki(year: int) -> str:
    """「R6」 as used in cost-table headers."""
    for _name, abbr, start in ERAS:
        if year >= start:
            return f"{abbr}{year - start + 1}"
    return str(year)
