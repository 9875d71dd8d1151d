"""Group validated sheets into the Site the templates read."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .model import Sheet, SiteConfig


@dataclass(frozen=True)
class Site:
    """All sheets with the indexes the pages need."""

    config: SiteConfig
    sheets: tuple[Sheet, ...]  # newest evaluation year first, then 課, then title
    years: tuple[int, ...]  # evaluation years, newest first

    def sheets_in(self, year: int) -> tuple[Sheet, ...]:
        """Sheets of one evaluation year."""
        return tuple(s for s in self.sheets if s.evaluation_year == year)

    def by_division(self, year: int) -> list[tuple[str, tuple[Sheet, ...]]]:
        """(部局 課, sheets) for one evaluation year, in a stable order."""
        groups: dict[str, list[Sheet]] = defaultdict(list)
        for s in self.sheets_in(year):
            groups[f"{s.organization.bureau} {s.organization.division}"].append(s)
        return [(k, tuple(v)) for k, v in sorted(groups.items())]


def collect(sheets: list[Sheet], config: SiteConfig) -> Site:
    """Sort sheets and derive the indexes."""
    ordered = sorted(sheets, key=lambda s: (-s.evaluation_year, s.organization.bureau,
                                            s.organization.division, s.organization.section or "",
                                            s.title, s.id))
    years = tuple(sorted({s.evaluation_year for s in sheets}, reverse=True))
    return Site(config=config, sheets=tuple(ordered), years=years)
