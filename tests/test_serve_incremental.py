"""`serve` rebuilds only what an edit touches, and still serves what a clean render makes.

The preview keeps the last site (collect.collect_again swaps edited sheets into it), reuses planned
pages and their fingerprints (render.plan_pages / job_keys with a memo), and keeps every page when
nothing changed. Each test edits a generated project the way staff do and compares every served
file, byte for byte, with a clean `render_site` of the edited folder.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from hyoka import serve
from hyoka.collect import Group, Site, collect, collect_again, summarize
from hyoka.config import load_config
from hyoka.load import find_content
from hyoka.model import SiteConfig
from hyoka.pipeline import check, load_sheet
from hyoka.render import plan_pages, render_site
from hyoka.serve import Preview, scan_content

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 programs' sheets over 3 evaluation years, generated once for the module."""
    folder = tmp_path_factory.mktemp("corpus")
    generate(40, folder, seed=11, years=3, link=False)
    return folder


@pytest.fixture
def proj(corpus: Path, tmp_path: Path) -> SiteConfig:
    """A fresh copy of the corpus with its own templates (so a test may edit one)."""
    root = tmp_path / "proj"
    shutil.copytree(corpus, root)
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "assets").symlink_to(ROOT / "assets")
    return load_config(root)


def _preview(config: SiteConfig) -> Preview:
    app = Preview(config.root, log=lambda _: None, search=False)
    app.rebuild()
    assert not app.failed, [p.format() for p in app.problems]
    return app


def _clean(config: SiteConfig) -> dict[str, bytes]:
    config = load_config(config.root)  # the edited configuration, when a test edits it
    sheets, problems = check(config)
    assert not any(p.is_error for p in problems), [p.format() for p in problems]
    return {p.path: p.text.encode("utf-8") for p in render_site(collect(sheets, config), config.root / "templates")}


def _assert_clean(app: Preview, config: SiteConfig) -> None:
    """Every file the preview serves is the clean render's, and nothing more or less."""
    assert not app.failed, [p.format() for p in app.problems]
    app.make_later()
    clean = _clean(config)
    assert sorted(app.pages) == sorted(clean)
    stale = [path for path in clean if app.pages[path] != clean[path]]
    assert not stale, f"stale pages: {stale[:10]}"


def _sub(path: Path, pattern: str, repl: str) -> None:
    """Replace the first match of `pattern` in a file, and make sure its signature changes."""
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1 and new != text, pattern
    path.write_text(new, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def _sheet_file(config: SiteConfig, year: int | None = None, *, years: int = 1) -> Path:
    """A content file (of `year`) whose program has sheets in `years` evaluation years or more."""
    files = sorted(find_content(config.content_dir))
    by_id: dict[str, list[Path]] = {}
    for f in files:
        by_id.setdefault(f.stem, []).append(f)
    for f in files:
        if (year is None or f.parent.name == str(year)) and len(by_id[f.stem]) >= years:
            return f
    raise AssertionError("no such sheet in the corpus")


def _latest(config: SiteConfig) -> int:
    return max(int(d.name) for d in config.content_dir.iterdir() if d.name.isdigit())


def _count_collects(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = serve.collect

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(serve, "collect", counted)
    return calls


def test_body_edit_swaps_the_sheet_and_renders_only_its_pages(proj: SiteConfig, monkeypatch) -> None:
    app = _preview(proj)
    collects = _count_collects(monkeypatch)
    sheet = _sheet_file(proj, _latest(proj))
    _sub(sheet, r"^## 今後の取組み\n", "## 今後の取組み\n\n- 追記: 一部の事業内容を見直した。\n")
    app.rebuild()
    assert collects == []  # the last site, with the edited sheet swapped in
    assert 0 < len(app.cache.rendered) < 40
    assert f"sheets/{sheet.stem}/{sheet.parent.name}/index.html" in app.cache.rendered
    assert "追記: 一部の事業内容を見直した。" in app.pages[f"sheets/{sheet.stem}/{sheet.parent.name}/index.html"].decode()
    _assert_clean(app, proj)


def test_cost_edit_updates_the_top_page_totals(proj: SiteConfig, monkeypatch) -> None:
    """A cost is not where a sheet is listed, but the top page adds it up: it must be rendered again."""
    app = _preview(proj)
    before = app.pages["index.html"]
    collects = _count_collects(monkeypatch)
    sheet = _sheet_file(proj, _latest(proj))
    results_year = _latest(proj) - 1  # the top page adds up the results year's column
    _sub(sheet, rf"^(  {results_year}: .*staff_nonregular: )[0-9.]+", r"\g<1>7.25")
    app.rebuild()
    assert collects == []
    assert "index.html" in app.cache.rendered and app.pages["index.html"] != before
    _assert_clean(app, proj)


def test_title_edit_reaches_every_list_page(proj: SiteConfig) -> None:
    app = _preview(proj)
    sheet = _sheet_file(proj, _latest(proj))
    _sub(sheet, r"^title: .*$", "title: 改題した事務事業")
    app.rebuild()
    listing = [path for path, data in app.pages.items() if "改題した事務事業" in data.decode("utf-8", "replace")]
    assert "index.html" in listing and f"years/{_latest(proj)}/index.html" in listing
    assert any(p.startswith("divisions/") for p in listing) and "feed.xml" in listing
    _assert_clean(app, proj)


@pytest.mark.parametrize("pattern, repl", [
    (r"division: [^,}]+", "division: 新設推進課"),  # another 課: a new list page, one list shorter
    (r"^sdgs: .*$", "sdgs: [1, 17]"),
    (r"direction: \{rating: [^,}]+", "direction: {rating: 休止・廃止"),
    (r"field: [^,}]+", "field: 9.新しい分野"),
], ids=["division", "sdgs", "direction", "plan-field"])
def test_edit_that_moves_a_sheet_between_lists(proj: SiteConfig, pattern: str, repl: str) -> None:
    app = _preview(proj)
    _sub(_sheet_file(proj, years=2), pattern, repl)
    app.rebuild()
    _assert_clean(app, proj)


def test_removed_and_added_sheets(proj: SiteConfig) -> None:
    app = _preview(proj)
    gone = _sheet_file(proj, years=2)
    gone.unlink()
    app.rebuild()
    assert f"sheets/{gone.stem}/{gone.parent.name}/index.html" not in app.pages
    _assert_clean(app, proj)

    model = _sheet_file(proj, _latest(proj))
    added = model.with_name("new-program.md")
    shutil.copy(model, added)
    _sub(added, r"^id: .*$", "id: new-program")
    app.rebuild()
    assert f"sheets/new-program/{_latest(proj)}/index.html" in app.pages
    _assert_clean(app, proj)


def test_two_years_of_one_program_edited_at_once(proj: SiteConfig, monkeypatch) -> None:
    app = _preview(proj)
    collects = _count_collects(monkeypatch)
    first = _sheet_file(proj, years=2)
    other = next(f for f in find_content(proj.content_dir) if f.stem == first.stem and f != first)
    for f in (first, other):
        _sub(f, r"^purpose: .*$", f"purpose: {f.parent.name}年度に目的を書き直した。")
    app.rebuild()
    assert collects == []
    _assert_clean(app, proj)


def test_broken_then_fixed_sheet(proj: SiteConfig) -> None:
    app = _preview(proj)
    sheet = _sheet_file(proj, _latest(proj))
    _sub(sheet, r"^title: (.*)$", r"title: [\1")
    app.rebuild()
    assert app.failed
    _sub(sheet, r"^title: \[(.*)$", r"title: \1（改）")
    app.rebuild()
    _assert_clean(app, proj)


def test_duplicate_id_is_reported_and_recovers(proj: SiteConfig) -> None:
    app = _preview(proj)
    sheet = _sheet_file(proj, _latest(proj))
    copy = sheet.with_name("copy.md")
    shutil.copy(sheet, copy)
    app.rebuild()
    assert app.failed and any("copy.md" in p.format() for p in app.problems)
    copy.unlink()
    app.rebuild()
    _assert_clean(app, proj)
    # An edited id that another sheet of the year has: the same problem, found again.
    other = next(f for f in sorted(sheet.parent.glob("*.md")) if f != sheet)
    _sub(other, r"^id: .*$", f"id: {sheet.stem}")
    app.rebuild()
    assert app.failed and any(other.name in p.format() or sheet.name in p.format() for p in app.problems)
    _sub(other, r"^id: .*$", f"id: {other.stem}")
    app.rebuild()
    _assert_clean(app, proj)


def test_nothing_changed_keeps_every_page(proj: SiteConfig) -> None:
    app = _preview(proj)
    pages = app.pages
    app.rebuild()
    assert app.cache.rendered == [] and app.pages is pages
    _assert_clean(app, proj)


def test_template_and_config_edits_render_everything_again(proj: SiteConfig) -> None:
    app = _preview(proj)
    template = proj.root / "templates" / "pages" / "year.html"
    _sub(template, r"^<h1>(.*)</h1>$", r"<h1>\1（一覧）</h1>")
    app.rebuild()
    assert len(app.cache.rendered) > 40
    _assert_clean(app, proj)

    _sub(proj.root / "site_config.yaml", r"^site_title: (.*)$", r"site_title: \1（試行）")
    app.rebuild()
    assert all("（試行）" in app.pages[p].decode() for p in ("index.html", "divisions/index.html"))
    _assert_clean(app, proj)


def test_many_edits_in_a_row(proj: SiteConfig) -> None:
    """Swaps on top of swaps (the preview keeps the site it made last)."""
    app = _preview(proj)
    files = sorted(find_content(proj.content_dir))
    for i, f in enumerate(files[:: max(1, len(files) // 5)]):
        _sub(f, r"^purpose: .*$", f"purpose: {i}回目の修正。")
        app.rebuild()
    _sub(files[0], r"^title: .*$", "title: 最後に改題")
    app.rebuild()
    _sub(files[1], r"^description: .*$", "description: 最後に説明を修正")
    app.rebuild()
    _assert_clean(app, proj)


def _shape(site: Site) -> tuple:
    """A Site as plain data (sheets by identity), to compare two Sites."""
    def group(g: Group) -> tuple:
        return g.name, g.url, tuple(map(id, g.sheets)), tuple(map(group, g.children)), g.number

    def index(of: dict) -> tuple:
        return tuple((k, group(g)) for k, g in of.items())

    return (tuple(map(id, site.sheets)), site.years, *(tuple(map(group, gs)) for gs in (
        site.by_year, site.divisions, site.plan, site.sdgs, site.directions)),
        tuple((k, p.id, tuple(map(id, p.sheets))) for k, p in site.programs.items()),
        index(site._division_of), index(site._field_of))


def test_collect_again_is_collect(proj: SiteConfig, tmp_path: Path) -> None:
    sheets, _ = check(proj)
    site = collect(sheets, proj)
    target = next(i for i, s in enumerate(sheets) if s.sdgs and s.organization.section)
    source = proj.root / sheets[target].source.path
    edited = tmp_path / "edited.md"

    def variant(pattern: str, repl: str):
        edited.write_text(re.sub(pattern, repl, source.read_text(encoding="utf-8"), count=1, flags=re.M),
                          encoding="utf-8")
        sheet, problems = load_sheet(edited, proj, sheets[target].source.path)
        assert sheet is not None, [p.format() for p in problems]
        return sheet

    same_place = variant(r"^purpose: .*$", "purpose: 書き直した目的。")
    again = collect_again(site, [(sheets[target], same_place)])
    swapped = [same_place if i == target else s for i, s in enumerate(sheets)]
    assert again is not None and _shape(again) == _shape(collect(swapped, proj))
    assert collect_again(site, []) is site
    for pattern, repl in [(r"^title: .*$", "title: 別の名前"), (r"section: [^,}]+", "section: 別係"),
                          (r"^sdgs: .*$", "sdgs: [3]"), (r"basic: [^,}]+", "basic: 9.別の基本")]:
        assert collect_again(site, [(sheets[target], variant(pattern, repl))]) is None, pattern


def test_scan_lists_what_find_content_lists(tmp_path: Path) -> None:
    content = tmp_path / "content"
    for rel in ("2025/a.md", "2025/b.md", "2024/c.md", "2025/_draft.md", "2025/.hidden.md", "_old/d.md",
                ".git/e.md", "2025/notes.txt", "2025/folder.md/x.md"):
        (content / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).write_text("x", encoding="utf-8")
    (content / "2025" / "loop").symlink_to(content)  # a link back up the tree
    (content / "2025" / "dangling.md").symlink_to(tmp_path / "missing.md")
    scanned = scan_content(content)
    assert sorted(Path(p) for p, _ in scanned) == sorted(find_content(content))
    signature = dict(scanned)
    assert signature[str(content / "2025" / "dangling.md")] == (-1, -1, -1)
    st = (content / "2025" / "a.md").stat()
    assert signature[str(content / "2025" / "a.md")] == (st.st_mtime_ns, st.st_size, st.st_ino)
    assert scan_content(tmp_path / "nothing") == []


def test_small_rebuild_leaves_the_collector_on_and_unfrozen(proj: SiteConfig) -> None:
    """A save neither freezes what it made (cycles would never be freed) nor leaves gc off."""
    app = _preview(proj)
    frozen = gc.get_freeze_count()
    _sub(_sheet_file(proj, _latest(proj)), r"^purpose: .*$", "purpose: 目的を修正。")
    app.rebuild()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_plan_memo_reuses_only_jobs_that_would_be_the_same(proj: SiteConfig) -> None:
    """plan_pages with a memo gives the jobs plan_pages makes afresh, also for a Site whose programs
    are the same objects but whose 課 pages are named differently (collect never makes one)."""
    sheets, _ = check(proj)
    site = collect(sheets, proj)
    memo: dict = {}
    plan_pages(site, memo)
    renamed = {id(g): Group(f"{g.name}（新）", g.url, g.sheets, g.children)
               for b in site.divisions for g in b.children}
    other = dataclasses.replace(site, _division_of={k: renamed[id(g)] for k, g in site._division_of.items()})
    # …and one whose 部局 are named differently over the very same 課 groups.
    bureaus = dataclasses.replace(site, divisions=tuple(Group(f"{b.name}（新）", b.url, b.sheets, b.children)
                                                        for b in site.divisions))

    def shape(jobs: list) -> list:
        return [(j.path, j.template, j.deps, j.root, j.context) for j in jobs]

    assert shape(plan_pages(other, memo)) == shape(plan_pages(other))
    assert shape(plan_pages(site, memo)) == shape(plan_pages(site))
    assert shape(plan_pages(bureaus, memo)) == shape(plan_pages(bureaus))
    # One 課 page made anew with the same name (what collect_again does for a group with an edited
    # sheet), and one at another address: only the programs listed there are linked anew.
    groups = [g for b in site.divisions for g in b.children]
    same, moved = groups[0], groups[-1]
    swap = {id(same): Group(same.name, same.url, same.sheets, same.children),
            id(moved): Group(moved.name, moved.url + "new/", moved.sheets, moved.children)}
    one = dataclasses.replace(site, _division_of={k: swap.get(id(g), g) for k, g in site._division_of.items()})
    plan_pages(site, memo)
    assert shape(plan_pages(one, memo)) == shape(plan_pages(one))
    assert any(f"{moved.name}:{moved.url}new/" in (j.deps or ()) for j in plan_pages(one, memo))


def test_summarize_counts_what_the_lists_hold(proj: SiteConfig) -> None:
    """summarize finds a year's sheets in the 方針 and 課 groups by key: the same as counting them there."""
    sheets, _ = check(proj)
    site = collect(sheets, proj)
    for year in site.years:
        got = summarize(site, year)
        in_year = [s for s in site.sheets if s.evaluation_year == year]
        assert got.sheets == tuple(in_year)
        assert got.directions == tuple((g, n) for g in site.directions
                                       if (n := sum(s.evaluation_year == year for s in g.sheets)))
        expected = []
        for bureau in site.divisions:
            for d in bureau.children:
                ds = [s for s in d.sheets if s.evaluation_year == year]
                if ds:
                    cs = [c for c in (s.cost(s.results_year) for s in ds) if c is not None]
                    expected.append((f"{bureau.name} {d.name}", d, len(ds), sum(c.total or 0 for c in cs),
                                     sum(c.staff_regular or 0 for c in cs)))
        assert [(d.label, d.group, d.count, d.total, d.staff) for d in got.divisions] == expected
        assert len(got.directions) > 1 and len(got.divisions) > 1


def test_site_without_base_url(proj: SiteConfig) -> None:
    """No feed and no sitemap: the reused web files follow."""
    _sub(proj.root / "site_config.yaml", r"^base_url: .*$", "base_url:")
    app = _preview(proj)
    assert "sitemap.xml" not in app.pages and "robots.txt" in app.pages
    _sub(_sheet_file(proj, _latest(proj)), r"^purpose: .*$", "purpose: 目的を修正。")
    app.rebuild()
    _assert_clean(app, proj)
    _sub(proj.root / "site_config.yaml", r"^base_url:$", "base_url: https://example.jp/other/")
    app.rebuild()
    assert "https://example.jp/other/" in app.pages["sitemap.xml"].decode()
    _assert_clean(app, proj)
