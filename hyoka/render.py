"""Jinja environment (autoescape, StrictUndefined) and one context per page type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .collect import Site
from .era import fiscal_year_label, short_wareki, wareki
from .markdown import render_markdown
from .model import Sheet
from .schema import BODY_SECTIONS, EVALUATION_GROUPS, INDICATOR_KINDS, SHEET


@dataclass(frozen=True)
class Page:
    """One output file: its site-relative path and its text."""

    path: str
    text: str


def fmt_number(value: Any, digits: int | None = None) -> str:
    """Thousands separators; floats keep their meaningful decimals (or `digits`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if digits is not None:
        return f"{value:,.{digits}f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,}"
    return f"{int(value):,}"


def fmt_man_yen(value: Any) -> str:
    """千円 → a readable 「約6,490万円」 (or 「約1.2億円」)."""
    if value is None:
        return ""
    yen = value * 1000
    if yen >= 100_000_000:
        return f"約{yen / 100_000_000:,.1f}億円".replace(".0億", "億")
    if yen >= 10_000:
        return f"約{round(yen / 10_000):,}万円"
    return f"{int(yen):,}円"


def make_env(templates: Path) -> Environment:
    """The one Jinja environment: HTML autoescaped, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=fmt_number,
        man_yen=fmt_man_yen,
        fy=fiscal_year_label,
        wareki=wareki,
        short_wareki=short_wareki,
        markdown=lambda text: Markup(render_markdown(text or "")),
    )
    env.globals.update(
        INDICATOR_KINDS=INDICATOR_KINDS,
        EVALUATION_GROUPS=EVALUATION_GROUPS,
        BODY_SECTIONS=BODY_SECTIONS,
        label_of={path: f.label for path, f in _labels()},
    )
    return env


def _labels() -> list[tuple[str, Any]]:
    from .schema import walk
    return walk(SHEET)


def _root(path: str) -> str:
    """Relative path from a page to the site root, so the site works under any base path."""
    depth = path.count("/")
    return "../" * depth if depth else "./"


def render_site(site: Site, templates: Path) -> list[Page]:
    """Every page of the site, in a stable order."""
    env = make_env(templates)
    cfg = site.config
    common = {"site": site, "config": cfg}
    pages: list[Page] = []

    def page(path: str, template: str, root: str | None = None, **ctx: Any) -> None:
        tpl = env.get_template(template)
        pages.append(Page(path, tpl.render(**common, **ctx, root=root or _root(path),
                                           page_path=path)))

    page("index.html", "pages/index.html")
    for sheet in site.sheets:
        page(f"{sheet.url}index.html", "pages/sheet.html", sheet=sheet, years=_sheet_years(sheet))
    # A host serves 404.html at any missing path, so its links must be absolute.
    page("404.html", "pages/404.html", root=urlsplit(cfg.base_url or "/").path or "/")
    return pages


def _sheet_years(sheet: Sheet) -> list[int]:
    """Every fiscal year any indicator mentions, in order (the indicator table's columns)."""
    return sorted({v.year for i in sheet.indicators for v in i.values})
