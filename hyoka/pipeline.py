"""The build as one straight line: load → validate → collect → render → write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .collect import Site, collect
from .linkcheck import check_links
from .load import find_content, load_source, rel_path
from .model import Sheet, SiteConfig
from .problems import Problem, ProblemsFound, sort_problems
from .progress import QUIET, Progress
from .render import Page, render_site
from .search import index_site, pagefind_executable
from .validate import check_duplicates, validate_source
from .write import check_output_dir, kill_point, write_site


@dataclass(frozen=True)
class BuildResult:
    """What a build produced and the warnings it passed with."""

    site: Site
    pages: int
    warnings: list[Problem]


def load_sheet(path: Path, config: SiteConfig, rel: str | None = None) -> tuple[Sheet | None, list[Problem]]:
    """Read and validate one content file: its Sheet (None on errors) and every problem."""
    src, problems = load_source(path, rel or rel_path(path, config.root))
    if src is None:
        return None, problems
    sheet, more = validate_source(src, config)
    return sheet, problems + more


def load_and_validate(config: SiteConfig) -> tuple[list[Sheet], list[Problem]]:
    """Read and check every content file; nothing is written."""
    files = find_content(config.content_dir)
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(rel_path(config.content_dir, config.root), 0, "", "内容フォルダ",
                                "シート（.md ファイル）が1つもありません",
                                "content/<評価年度>/<id>.md を作るか、python build.py import で取り込んでください。"))
    for path in files:
        sheet, file_problems = load_sheet(path, config)
        problems += file_problems
        if sheet is not None:
            sheets.append(sheet)
    problems += check_duplicates(sheets)
    return sheets, sort_problems(problems)


def check(config: SiteConfig, *, strict: bool = False) -> tuple[list[Sheet], list[Problem]]:
    """Validate everything; raise ProblemsFound on errors (or on warnings when strict)."""
    sheets, problems = load_and_validate(config)
    if any(p.is_error or strict for p in problems):
        raise ProblemsFound(problems)
    return sheets, problems


def check_site(config: SiteConfig, *, strict: bool = False) -> tuple[list[Sheet], list[Problem]]:
    """`check`: validation, consistency warnings, and the internal links of the rendered site
    (rendered in memory only: nothing is written)."""
    sheets, warnings = check(config, strict=strict)
    pages = render_site(collect(sheets, config), config.root / "templates")
    links = check_links(pages, config.root / "assets", rel_path(config.output_dir, config.root))
    problems = sort_problems(warnings + links)
    if links or (strict and problems):
        raise ProblemsFound(problems)
    return sheets, problems


def run(config: SiteConfig, *, strict: bool = False, search: bool = True,
        progress: Progress | None = None) -> BuildResult:
    """Build the site; the previous output stays untouched unless every stage succeeds.

    With `search`, Pagefind indexes the complete temp folder before it replaces the output.
    """
    progress = progress or Progress(level=QUIET)
    with progress.stage("検査") as tick:
        sheets, warnings = check(config, strict=strict)
        tick(len(sheets))
    kill_point("load")  # test hook (HYOKA_TEST_KILL_AT); the other stages' are in write.py
    check_output_dir(config.output_dir, config.root, config.content_dir)
    site = collect(sheets, config)
    with progress.stage("ページ生成", unit="ページ") as tick:
        pages: list[Page] = render_site(site, config.root / "templates", on_page=tick)
    kill_point("render")
    index = None
    if search:
        exe = pagefind_executable()  # fail before writing anything when the extended build is missing

        def index(folder: Path) -> None:
            with progress.stage("検索索引", unit="ページ") as tick:
                stats = index_site(folder, exe)
                tick(stats.pages)
            progress.log(f"  検索索引の大きさ: {stats.bundle_bytes / 1_000_000:.2f} MB", verbose=True)

    with progress.stage("書き出しと入れ替え", len(pages), "ファイル") as tick:
        count = write_site(pages, config.root / "assets", config.output_dir, finalize=index, on_page=tick)
    return BuildResult(site, count, warnings)
