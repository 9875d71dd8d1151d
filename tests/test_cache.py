"""The build cache (hyoka/cache.py): a second build renders only what changed, and its output is
byte-identical to a clean build of the same input."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from hyoka import cache as cache_mod
from hyoka import search
from hyoka.cli import main
from hyoka.parallel import can_fork, job_count
from hyoka.pipeline import run

from .conftest import FIXTURES, make_project


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path):
    """The two-year fixture site as a project of its own, built once (the cache is written)."""
    files = {p.relative_to(FIXTURES / "site").as_posix(): p.read_bytes()
             for p in sorted((FIXTURES / "site" / "content").rglob("*.md"))}
    config = make_project(tmp_path, files, config_file=FIXTURES / "site" / "site_config.yaml")
    first = run(config, search=False)
    assert first.rendered > 0
    assert cache_mod.cache_path(config.root).is_file()
    return config


# The first build after the fixture's, with no site kept, makes one of links to the published
# files to update (write.mirror: in another process, so only where one can be forked).
_MIRRORED = int(can_fork() and job_count(None) > 1)


def _clean(config, tmp_path: Path) -> dict[str, bytes]:
    """A clean build of the same input (no cache) into another folder, as in a new process: no list
    row or feed entry of the builds before in this one."""
    from hyoka import htmlparts, opendata
    out = tmp_path / "clean"
    shutil.rmtree(out, ignore_errors=True)
    htmlparts._ROWS.clear()
    htmlparts._ROW_RESTS.clear()
    opendata._FEED_ENTRIES.clear()
    run(replace(config, output_dir=out), search=False, cache=False)
    return _tree(out)


def _sheet_file(config, name: str) -> Path:
    return next(p for p in sorted(config.content_dir.rglob("*.md")) if p.name == name)


def test_nothing_changed_renders_nothing(site, tmp_path) -> None:
    before = _tree(site.output_dir)
    result = run(site, search=False)
    assert result.rendered == 0
    assert _tree(site.output_dir) == before == _clean(site, tmp_path)


def _inodes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("*") if p.is_file()}


def test_one_sheet_edited_renders_only_its_pages(site, tmp_path) -> None:
    """Reused files are hard links to the last build's: a new inode means the file was rendered."""
    before = _inodes(site.output_dir)
    path = sorted(site.content_dir.rglob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n追記しました。\n", encoding="utf-8")
    result = run(site, search=False)
    after = _inodes(site.output_dir)
    rendered = {p for p, ino in after.items() if before.get(p) != ino}
    edited = next(s for s in result.site.sheets if s.source.path == path.relative_to(site.root).as_posix())
    assert f"{edited.url}index.html" in rendered and f"{edited.url}sheet.json" in rendered
    others = [s for s in result.site.sheets if s.id != edited.id]
    assert others
    for other in others:  # other programs' pages are not rendered again
        assert f"{other.url}index.html" not in rendered and f"{other.url}sheet.json" not in rendered
        assert f"sheets/{other.id}/index.html" not in rendered
    # Written anew besides: the 4 combined downloads and the schema, the /data/ page, the feed and
    # robots.txt; the sitemap is kept (the same pages).
    assert "sitemap.xml" not in rendered and "feed.xml" in rendered
    assert result.rendered == len(rendered - {p for p in rendered if p.startswith("assets/")}) - 8
    assert _tree(site.output_dir) == _clean(site, tmp_path)


@pytest.mark.parametrize("change", ["title", "delete", "add", "swap", "sheet.json"])
def test_sheet_changes_give_a_clean_build(site, tmp_path, change: str) -> None:
    """swap: one sheet removed and another added (as many sheets, not in the same places: the
    downloads are made again, not spliced); sheet.json: one edited by hand in the output (its share
    made again with the same key, spliced in its place)."""
    files = sorted(site.content_dir.rglob("*.md"))
    if change == "title":
        text = files[0].read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.startswith("title:"))
        files[0].write_text(text.replace(title, "title: 名前を変えた事業", 1), encoding="utf-8")
    elif change == "delete":
        files[-1].unlink()
    elif change == "sheet.json":
        json_file = sorted(site.output_dir.glob("sheets/*/*/sheet.json"))[1]
        json_file.write_text(json_file.read_text(encoding="utf-8").replace("{", "{ ", 1), encoding="utf-8")
    else:
        if change == "swap":
            files[-1].unlink()
        text = files[0].read_text(encoding="utf-8")
        sheet_id = next(line for line in text.splitlines() if line.startswith("id:")).split(":", 1)[1].strip()
        (files[0].parent / "copy.md").write_text(text.replace(f"id: {sheet_id}", "id: copied-sheet", 1),
                                                 encoding="utf-8")
    run(site, search=False)
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_template_edit_renders_every_page(site, tmp_path) -> None:
    templates = site.root / "templates"
    real = templates.resolve()
    templates.unlink()  # the project links the real templates: edit a copy
    shutil.copytree(real, templates)
    footer = templates / "base.html"
    footer.write_text(footer.read_text(encoding="utf-8").replace("</body>", "<!-- edited -->\n</body>"),
                      encoding="utf-8")
    before = _inodes(site.output_dir)
    result = run(site, search=False)
    after = _inodes(site.output_dir)
    html = [p for p in after if p.endswith(".html")]
    assert all(before.get(p) != after[p] for p in html)  # every page rendered again
    assert all(before[p] == after[p] for p in after if p.endswith("sheet.json"))  # not templated
    assert result.rendered == len(html) - 1  # all but the /data/ page, which every build writes
    assert "<!-- edited -->" in (site.output_dir / "index.html").read_text(encoding="utf-8")
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_config_change_renders_every_page(site, tmp_path) -> None:
    changed = replace(site, site_title="別の市の事務事業評価")
    result = run(changed, search=False)
    assert result.rendered == run(changed, search=False, cache=False).rendered
    assert _tree(changed.output_dir) == _clean(changed, tmp_path)


def test_a_page_edited_in_the_output_is_rendered_again(site, tmp_path) -> None:
    page = site.output_dir / "index.html"
    page.write_text("手で書き換えた", encoding="utf-8")
    result = run(site, search=False)
    assert result.rendered == 1
    assert _tree(site.output_dir) == _clean(site, tmp_path)


@pytest.mark.parametrize("jobs", [1, 2])  # 2: the content file is written by another process
def test_the_content_file_is_named_by_the_cache_and_old_ones_are_removed(site, tmp_path, jobs: int) -> None:
    """The spans, rows and feed entries are in a file of their own (cache.save_content), named by
    build.pickle; load_cache puts the two together; two such files at most are left."""
    import pickle

    folder = site.root / cache_mod.CACHE_DIR
    files = sorted(site.content_dir.rglob("*.md"))
    full = run(site, search=False, cache=False, jobs=jobs).rendered
    with open(cache_mod.cache_path(site.root), "rb") as f:
        first = pickle.load(f)
    assert first.content.startswith(cache_mod.CONTENT_PREFIX) and first.spans == []
    for n in range(3):
        _append(files[n], f"追記{n}。")
        result = run(site, search=False, jobs=jobs)
        assert result.rendered > 0
    with open(cache_mod.cache_path(site.root), "rb") as f:
        raw = pickle.load(f)
    # The edits' spans are in build.pickle; the content file is the clean build's, kept.
    assert raw.content == first.content and raw.spans
    assert {rel for span in raw.spans for rel, _ in span.files} <= {
        f.relative_to(site.root).as_posix() for f in files}
    assert (folder / raw.content).is_file()
    assert [p.name for p in folder.glob(f"{cache_mod.CONTENT_PREFIX}*")] == [raw.content]
    assert not list(folder.glob(f".{cache_mod.CONTENT_PREFIX}*"))  # no temp file left
    loaded = cache_mod.load_cache(site.root)
    assert loaded is not None and loaded.spans and loaded.rows and loaded.feed
    assert sorted(rel for span in loaded.spans for rel, _ in span.files) == sorted(
        f.relative_to(site.root).as_posix() for f in files)  # each file once
    current = {(s.id, s.evaluation_year, s.source.digest) for s in result.site.sheets}
    assert current <= {k[:3] for k in cache_mod.unpacked(loaded.rows)} and current <= {k[:3] for k in cache_mod.unpacked(loaded.feed)}
    assert run(site, search=False, jobs=jobs).rendered == 0
    with open(cache_mod.cache_path(site.root), "rb") as f:
        named = pickle.load(f).content
    (folder / named).unlink()  # its content file gone: a clean build, still right
    assert run(site, search=False, jobs=jobs).rendered == full
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_the_content_file_is_written_anew_when_the_changes_since_are_many(site, tmp_path, monkeypatch) -> None:
    """pipeline.CONTENT_FILES: with more files loaded since the content file than that, a build
    writes the file anew (and build.pickle holds no spans); the site is right either way."""
    import pickle
    monkeypatch.setattr("hyoka.pipeline.CONTENT_FILES", 0)
    files = sorted(site.content_dir.rglob("*.md"))
    names = set()
    for n in range(2):
        _append(files[n], f"追記{n}。")
        run(site, search=False, jobs=2)
        raw = pickle.loads(cache_mod.cache_path(site.root).read_bytes())
        assert raw.spans == [] and raw.content not in names
        names.add(raw.content)
        assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)


def test_a_content_file_that_cannot_be_written_leaves_all_in_build_pickle(site, monkeypatch) -> None:
    from hyoka import pipeline

    def fails(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "save_content", fails)
    monkeypatch.setattr(pipeline, "CONTENT_FILES", 0)  # the file is written anew
    _append(sorted(site.content_dir.rglob("*.md"))[0], "追記。")
    run(site, search=False, jobs=2)
    loaded = cache_mod.load_cache(site.root)
    assert loaded is not None and loaded.content == "" and loaded.spans and loaded.rows
    assert run(site, search=False).rendered == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_build_leaves_the_cache_usable(site, jobs: int) -> None:
    """A build stopped by a sheet error, or by a template error after its content file was begun:
    the cache still names the last good build's file, no temp file is left, and the next build
    after the fix is right."""
    from hyoka.problems import ProblemsFound

    from .conftest import ROOT

    folder = site.root / cache_mod.CACHE_DIR
    path = sorted(site.content_dir.rglob("*.md"))[0]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title:", "title: [壊れた", 1), encoding="utf-8")
    with pytest.raises(ProblemsFound):
        run(site, search=False, jobs=jobs)
    path.write_text(text, encoding="utf-8")
    assert run(site, search=False, jobs=jobs).rendered == 0
    templates = site.root / "templates"
    templates.unlink()
    shutil.copytree(ROOT / "templates", templates)
    page = templates / "pages" / "404.html"
    good = page.read_text(encoding="utf-8")
    page.write_text("{% if %}", encoding="utf-8")
    _append(path, "追記。")
    with pytest.raises(ProblemsFound):
        run(site, search=False, jobs=jobs)
    loaded = cache_mod.load_cache(site.root)
    assert loaded is not None and loaded.spans and (folder / loaded.content).is_file()
    assert not list(folder.glob(f".{cache_mod.CONTENT_PREFIX}*"))
    page.write_text(good, encoding="utf-8")
    assert run(site, search=False, jobs=jobs).rendered > 0
    assert _tree(site.output_dir) == _clean(site, site.root.parent / "clean-after-fix")


def test_other_code_or_a_broken_cache_means_a_clean_build(site, tmp_path, monkeypatch) -> None:
    total = run(site, search=False, cache=False).rendered  # --no-cache: all rendered, cache rewritten
    assert run(site, search=False).rendered == 0
    cache_mod.cache_path(site.root).write_bytes(b"not a pickle")
    assert run(site, search=False).rendered == total
    monkeypatch.setattr(cache_mod, "code_stamp", lambda: "other code")
    monkeypatch.setattr("hyoka.pipeline.code_stamp", lambda: "other code")
    assert run(site, search=False).rendered == total
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_another_output_folder_renders_everything(site, tmp_path) -> None:
    other = replace(site, output_dir=tmp_path / "elsewhere")
    total = run(site, search=False, cache=False).rendered
    assert run(other, search=False).rendered == total


def test_no_cache_option(site, monkeypatch, capsys) -> None:
    monkeypatch.setattr("hyoka.cli.ROOT", site.root)
    assert main(["build", "--no-search"]) == 0
    assert "そのまま使いました" in capsys.readouterr().out
    assert main(["build", "--no-search", "--no-cache"]) == 0
    assert "そのまま使いました" not in capsys.readouterr().out


def test_cache_digest_is_the_loaders(site) -> None:
    """The cache compares files by the same hash the loader gives them (SourceFile.digest)."""
    from hyoka.load import load_source
    from hyoka.pipeline import _file_digest
    path = sorted(site.content_dir.rglob("*.md"))[0]
    src, _ = load_source(path, path.name)
    assert src is not None and src.digest == _file_digest(path)


def test_unchanged_files_are_not_parsed_again(site, tmp_path, monkeypatch) -> None:
    import hyoka.pipeline as pipeline
    calls = []
    real = pipeline.load_sheet
    monkeypatch.setattr(pipeline, "load_sheet", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    run(site, search=False, jobs=1)
    assert calls == []
    path = sorted(site.content_dir.rglob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    run(site, search=False, jobs=1)
    assert calls == [path]  # not the other files of its span (up to 100 files are cached together)
    calls.clear()
    run(site, search=False, jobs=1)  # the span's other files were kept in a span of their own
    assert calls == []
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def _indexed_shards(monkeypatch) -> list[str]:
    """The names of the shards Pagefind indexes from now on (a reused shard is not indexed)."""
    indexed: list[str] = []
    index_shard = search._index_shard

    def spy(service, shard, *args):
        indexed.append(shard.name)
        return index_shard(service, shard, *args)

    monkeypatch.setattr(search, "_index_shard", spy)
    return indexed


def test_a_build_with_search_after_an_edit_indexes_every_page_as_a_clean_build(site, tmp_path, monkeypatch) -> None:
    """Reused pages reach Pagefind too (linked into its input as they are), and a shard whose pages
    are all unchanged is taken from the last bundle: the pages the index records are those of a
    clean build."""
    from .test_search import _fragments

    indexed = _indexed_shards(monkeypatch)
    run(site, search=True)
    assert sorted(indexed) == ["2024", "2025"]
    indexed.clear()
    assert run(site, search=True).rendered == 0 and indexed == []  # nothing changed: nothing indexed
    path = next(p for p in sorted(site.content_dir.rglob("*.md")) if p.parent.name == "2025")
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n追記しました。\n", encoding="utf-8")
    result = run(site, search=True)
    assert indexed == ["2025"]  # the 2024 shard's pages did not change
    clean = tmp_path / "clean-search"
    assert 0 < result.rendered < run(replace(site, output_dir=clean), search=True, cache=False).rendered
    built, expected = _fragments(site.output_dir / "pagefind"), _fragments(clean / "pagefind")
    assert len(built) == len(result.site.sheets) and built == expected
    assert any("追記しました" in page["content"].replace("\u200b", "") for page in built.values())
    for name in ("shards.json", "sorts.json"):
        assert (site.output_dir / "pagefind" / name).read_bytes() == (clean / "pagefind" / name).read_bytes()
    # Pagefind names its files by content hashes that differ from run to run: compare the layout.
    def layout(bundle: Path) -> list[tuple[str, int]]:
        return sorted((p.parent.name, len(list(p.parent.glob(f"*{p.suffix}")))) for p in bundle.rglob("*") if p.is_file())

    assert layout(site.output_dir / "pagefind") == layout(clean / "pagefind")


def test_a_changed_bundle_file_is_indexed_again(site, monkeypatch) -> None:
    run(site, search=True)
    meta = next((site.output_dir / "pagefind" / "2024").glob("*.pf_meta"))
    meta.write_bytes(meta.read_bytes() + b"x")  # edited by hand: not the file the last build wrote
    indexed = _indexed_shards(monkeypatch)
    run(site, search=True)
    assert indexed == ["2024"]


def test_a_shard_whose_pages_were_rendered_again_to_the_same_bytes_is_reused(site, monkeypatch) -> None:
    """An edit of one year's sheet renders the program's other years again (their pages link it);
    when such a page comes out byte for byte as before, its shard is still taken from the last bundle."""
    run(site, search=True)
    other_year = site.output_dir / "sheets/smartphone-subsidy/2024/index.html"
    before = other_year.read_bytes(), other_year.stat().st_ino
    indexed = _indexed_shards(monkeypatch)
    path = site.content_dir / "2025" / "smartphone-subsidy.md"
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n追記しました。\n", encoding="utf-8")
    run(site, search=True)
    assert other_year.stat().st_ino != before[1]  # rendered again ...
    assert other_year.read_bytes() == before[0]  # ... to the same bytes
    assert indexed == ["2025"]


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + f"\n\n{text}\n", encoding="utf-8")


class _Calls(list):
    listings: list


def _spy_prune(monkeypatch) -> _Calls:
    """The folders write.prune (or write.prune_kept, from a listing told against the records) is
    given: a kept site being updated."""
    from hyoka import pipeline
    calls: _Calls = _Calls()

    def spy(folder, paths, listing=None):
        calls.append(Path(folder))
        listings.append(listing)
        return prune(folder, paths, listing)

    def spy_kept(folder, paths, records, listing):
        calls.append(Path(folder))
        listings.append(listing)
        return prune_kept(folder, paths, records, listing)

    prune, prune_kept = pipeline.prune, pipeline.prune_kept
    monkeypatch.setattr(pipeline, "prune", spy)
    monkeypatch.setattr(pipeline, "prune_kept", spy_kept)
    calls.listings = listings = []  # type: ignore[attr-defined]  # what each was given: the listing or None
    return calls


def test_the_replaced_site_is_kept_and_updated_into_the_next(site, tmp_path, monkeypatch) -> None:
    """The site a build replaces is kept in .hyoka-cache/site; the next build updates that folder
    (not an empty one) and swaps it in. Files there may be hard links to the published ones: none
    is written in place, so the site that was published stays byte for byte what it was. A build
    that replaced none (the fixture's first) leaves none: the next one makes one of links to the
    published files (pipeline._mirrored, in another process where one can be forked)."""
    pruned = _spy_prune(monkeypatch)
    kept = site.root / cache_mod.CACHE_DIR / cache_mod.SPARE_DIR
    first, first_inodes = _tree(site.output_dir), _inodes(site.output_dir)
    mirrored = bool(_MIRRORED)
    assert not kept.exists()  # the fixture's build replaced no site
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "一度目の追記。")
    run(site, search=False)
    assert kept.is_dir() and _tree(kept) == first  # the first site, kept as it was
    assert _inodes(kept) == first_inodes
    assert cache_mod.load_cache(site.root).spare is not None
    second, second_inodes = _tree(site.output_dir), _inodes(site.output_dir)
    assert [p.name.endswith("-kept") for p in pruned] == ([True] if mirrored else [])
    pruned.clear()
    _append(files[-1], "二度目の追記。")
    result = run(site, search=False)
    assert len(pruned) == 1 and pruned[0].name.endswith("-kept")
    assert _tree(kept) == second  # the second site was never written into
    assert _tree(site.output_dir) == _clean(site, tmp_path)
    after = _inodes(site.output_dir)
    rendered = {p for p, ino in after.items() if second_inodes.get(p) != ino and not p.startswith("assets/")}
    assert result.rendered == len(rendered) - 8  # a new inode is a file written anew (the sitemap is kept)
    assert 0 < result.rendered < len(after) / 2


def _clean_keeping_cache(config, tmp_path: Path) -> dict[str, bytes]:
    """_clean, without the clean build's cache (which describes its own folder) and the site it
    keeps (links to its own files: write.mirror) replacing this one's."""
    folder = config.root / cache_mod.CACHE_DIR
    saved = {p: p.read_bytes() for p in folder.glob("*.pickle")}
    kept, aside = folder / cache_mod.SPARE_DIR, tmp_path / "kept-aside"
    if kept.exists():
        kept.rename(aside)  # the same folder (device and inode) when put back
    try:
        return _clean(config, tmp_path)
    finally:
        for path in folder.glob("*.pickle"):
            path.unlink()
        for path, data in saved.items():
            path.write_bytes(data)
        shutil.rmtree(kept, ignore_errors=True)
        if aside.exists():
            aside.rename(kept)


@pytest.mark.parametrize("jobs", [1, 2])  # 2: the kept site is listed by another process (parallel.Background)
def test_a_kept_site_edited_by_hand_is_put_right(site, tmp_path, monkeypatch, jobs: int) -> None:
    """What was added to or changed in the published site by hand is gone once that site, kept,
    is updated into a later one (two builds on)."""
    pruned = _spy_prune(monkeypatch)
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "一度目の追記。")
    run(site, search=False, jobs=jobs)
    (site.output_dir / "手で足した.html").write_text("x", encoding="utf-8")
    (site.output_dir / "sheets" / "手で足した").mkdir()
    (site.output_dir / "index.html").write_text("手で書き換えた", encoding="utf-8")
    page = next(site.output_dir.glob("sheets/*/*/index.html"))
    page.unlink()
    page.mkdir()  # a folder where a page goes
    (site.output_dir / "assets" / "old.css").write_text("x", encoding="utf-8")
    run(site, search=False, jobs=jobs)  # renders index.html and the page again; the published site is then clean
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    _append(files[-1], "二度目の追記。")
    run(site, search=False, jobs=jobs)  # from the kept site edited by hand
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    assert run(site, search=False, jobs=jobs).rendered == 0  # and again from the other kept site
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    assert len(pruned) == 3 + (jobs > 1 and can_fork())  # the first: the site of links the first edit made
    assert all((listing is not None) == (jobs > 1) for listing in pruned.listings)  # listed beforehand
    # …and told against the kept site's records by the process that walked it (write.KeptListing)
    from hyoka.kept import KeptListing
    assert sum(isinstance(listing, KeptListing) for listing in pruned.listings) == (4 if jobs > 1 and can_fork() else 0)


def test_prune_from_a_listing_made_beforehand_equals_prune_walking(tmp_path) -> None:
    """write.prune given list_tree's listing of the folder removes and keeps what it removes and
    keeps walking the folder itself: strays, a folder where a file goes, links, whole folders."""
    import os

    from hyoka.write import list_tree, prune

    def make(root: Path) -> None:
        for rel in ("index.html", "a/index.html", "a/b/index.html", "a/stray.html", "gone/x/y.html",
                    "c/index.html"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(rel, encoding="utf-8")
        (root / "d" / "index.html").mkdir(parents=True)  # a folder where a page goes
        os.symlink(root / "a", root / "link")
        os.symlink(root / "index.html", root / "c" / "page.html")  # a link where a page goes

    wanted = ["index.html", "a/index.html", "a/b/index.html", "c/index.html", "c/page.html", "d/index.html"]
    walked, listed = tmp_path / "walked", tmp_path / "listed"
    make(walked)
    make(listed)
    listing = list_tree(listed)
    left = prune(listed, wanted, listing)
    assert left.keys() == prune(walked, wanted).keys() == {"index.html", "a/index.html", "a/b/index.html",
                                                            "c/index.html"}
    assert _tree(listed) == _tree(walked)
    assert sorted(p.relative_to(listed).as_posix() for p in listed.rglob("*")) == [
        "a", "a/b", "a/b/index.html", "a/index.html", "c", "c/index.html", "d", "index.html"]
    stale = tmp_path / "stale"
    make(stale)
    listing = list_tree(stale)
    shutil.rmtree(stale / "gone")  # gone since it was listed
    prune(stale, wanted, listing)
    assert _tree(stale) == _tree(walked)


def test_a_kept_site_replaced_by_hand_still_gives_the_right_site(site, tmp_path) -> None:
    """A file of the kept site is left as it is only when its size, mtime and inode are those the
    cache recorded, and what the new site does not have is removed: whether or not the folder is
    taken for the kept one (a new folder may get the inode number of the one removed), the site
    comes out right."""
    kept = site.root / cache_mod.CACHE_DIR / cache_mod.SPARE_DIR
    _append(sorted(site.content_dir.rglob("*.md"))[0], "追記。")
    run(site, search=False)
    shutil.rmtree(kept)
    shutil.copytree(site.output_dir, kept)
    (kept / "紛れ込んだ.html").write_text("x", encoding="utf-8")
    assert run(site, search=False).rendered == 0  # nothing changed: the published files are linked
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    shutil.rmtree(kept)  # deleting it is safe too
    _append(sorted(site.content_dir.rglob("*.md"))[-1], "追記。")
    run(site, search=False)
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_workers_send_their_list_rows_back(tmp_path, monkeypatch) -> None:
    """In a build over worker processes the list pages are rendered by the workers: their rows
    come back for the cache, the same rows this process makes."""
    import sys

    from hyoka import htmlparts, parallel, pipeline
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from generate import generate
    generate(60, tmp_path, seed=3)
    from hyoka.config import load_config
    config = load_config(tmp_path)
    htmlparts._ROWS.clear()
    spans = []
    monkeypatch.setattr(pipeline, "map_spans", lambda fn, items, jobs, span, **options: spans.append(jobs) or
                        parallel.map_spans(fn, items, jobs=jobs, span=span, **options))
    result = run(config, search=False, jobs=2)
    assert spans[-1] == 2  # pages rendered by the workers (this process renders no list)
    rows = cache_mod.unpacked(cache_mod.load_cache(config.root).rows)
    assert {k[:3] for k in rows} == {(s.id, s.evaluation_year, s.source.digest) for s in result.site.sheets}
    sheets = {(s.id, s.evaluation_year): s for s in result.site.sheets}
    for (sheet_id, year, _, root, show_year), row in rows.items():
        assert htmlparts._sheet_row(sheets[sheet_id, year], root, show_year) == row


def _age(paths, seconds: int = 3600) -> None:
    """Set the files' mtime back (as if written an hour before the build)."""
    import os
    import time
    for path in paths:
        old = time.time_ns() - seconds * 1_000_000_000
        os.utime(path, ns=(old, old))


def test_files_with_the_recorded_stat_are_not_read_again(site, monkeypatch) -> None:
    """A content file whose size, mtime and inode are those recorded, older than the last build,
    is not read and hashed again; a touched file is hashed (same bytes: nothing rendered), and so
    is one written just before the last build began (its mtime could hide a change)."""
    from hyoka import pipeline
    files = sorted(site.content_dir.rglob("*.md"))
    _age(files)
    run(site, search=False)  # records the aged stats
    hashed: list[Path] = []
    real = pipeline._file_digest
    monkeypatch.setattr(pipeline, "_file_digest", lambda p: hashed.append(Path(p)) or real(p))
    assert run(site, search=False).rendered == 0 and hashed == []
    files[0].touch()  # same bytes, a new mtime
    assert run(site, search=False).rendered == 0 and hashed == [files[0]]
    hashed.clear()
    # files[0] was stat'ed (by the last build) right after its touch: within RACY_NS of that
    # build's start, so it is hashed again, whatever its stat says.
    assert run(site, search=False).rendered == 0 and hashed == [files[0]]


def test_a_file_changed_with_its_stat_kept_is_still_seen_when_recent(site, tmp_path) -> None:
    """Content rewritten in place with the same size and mtime (a tool restoring the mtime) within
    the racy window of the last build: hashed, so the change is built."""
    import os
    path = sorted(site.content_dir.rglob("*.md"))[0]
    run(site, search=False)
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    new = text.replace(title, title[:-1] + ("あ" if not title.endswith("あ") else "い"), 1)
    assert len(new.encode()) == len(text.encode())
    with open(path, "r+b") as f:  # in place: the same inode
        f.write(new.encode())
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_ino == st.st_ino and path.stat().st_size == st.st_size
    run(site, search=False)
    assert _tree(site.output_dir) == _clean(site, tmp_path)


@pytest.mark.parametrize("field", ["rows", "feed"])
def test_rows_and_feed_entries_are_kept_for_the_next_build(site, tmp_path, field: str) -> None:
    """The list pages' rows (htmlparts.sheet_list_rows) and the feed's entries go into the cache:
    after an edit only the edited sheet's are made again (a list page shows thousands of sheets at
    scale, the feed every sheet)."""
    from hyoka import htmlparts, opendata
    memo = htmlparts._ROWS if field == "rows" else opendata._FEED_ENTRIES

    def kept_now() -> dict:
        return cache_mod.unpacked(getattr(cache_mod.load_cache(site.root), field))

    kept = kept_now()
    current = {(s.id, s.evaluation_year, s.source.digest) for s in run(site, search=False).site.sheets}
    assert kept and {k[:3] for k in kept} == current
    path = sorted(site.content_dir.rglob("*.md"))[0]
    _append(path, "追記しました。")
    memo.clear()  # as in a new process
    result = run(site, search=False)
    made = set(memo) - set(kept)
    edited = next(s for s in result.site.sheets if s.source.path == path.relative_to(site.root).as_posix())
    assert {k[:3] for k in made} == {(edited.id, edited.evaluation_year, edited.source.digest)}
    now = {(s.id, s.evaluation_year, s.source.digest) for s in result.site.sheets}
    # (The content file kept from the first build may still hold the edited sheet's old ones.)
    kept = kept_now()
    assert {k for k in kept if k[:3] in now} == {k for k in {**kept, **memo} if k[:3] in now}
    assert {k[:3] for k in kept} >= now
    # Every row or entry kept is the one the sheet has.
    sheets = {(s.id, s.evaluation_year, s.source.digest): s for s in result.site.sheets}
    for key, text in kept.items():
        if key[:3] in now:
            sheet = sheets[key[:3]]
            assert text == (htmlparts._sheet_row(sheet, key[3], key[4]) if field == "rows"
                            else opendata._feed_entry(sheet, key[3], False))
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_assets_are_copied_afresh_into_a_kept_site(site, tmp_path, monkeypatch) -> None:
    """copy2 keeps a file's mode: a read-only asset copied over in a kept site could not be written
    again. The kept site's assets are removed and copied afresh (here a copy onto an existing file
    fails, as it would for a read-only one)."""
    import os

    from hyoka import write
    _append(sorted(site.content_dir.rglob("*.md"))[0], "一度目。")
    run(site, search=False)  # a site is kept from now on
    real = shutil.copytree

    def copy(s, d):
        if os.path.lexists(d):
            raise PermissionError(13, "read-only", d)
        return shutil.copy2(s, d)

    def copytree(src, dst, *args, **kwargs):
        if args:  # copytree's own call for a subfolder: the copy function is passed on
            return real(src, dst, *args, **kwargs)
        return real(src, dst, copy_function=copy, **kwargs)

    monkeypatch.setattr(write.shutil, "copytree", copytree)
    for text in ("二度目。", "三度目。"):
        _append(sorted(site.content_dir.rglob("*.md"))[-1], text)
        run(site, search=False)
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_a_site_already_kept_is_moved_aside_before_it_is_removed(tmp_path) -> None:
    """Replacing the kept site renames it to a temp name of this build first, so a build claiming
    it at that moment gets a whole folder or none; nothing is left behind."""
    from hyoka.write import _keep_or_remove
    output = tmp_path / "_site"
    output.mkdir()
    old, keep = tmp_path / "old", tmp_path / "cache" / "site"
    (old / "a").mkdir(parents=True)
    (old / "a" / "new.html").write_text("new", encoding="utf-8")
    (keep / "b").mkdir(parents=True)
    (keep / "b" / "old.html").write_text("old", encoding="utf-8")
    (keep / "b" / "old.html").chmod(0o444)
    (keep / "b").chmod(0o555)  # read-only, as copied assets can be
    _keep_or_remove(old, keep, output)
    assert sorted(p.relative_to(keep).as_posix() for p in keep.rglob("*")) == ["a", "a/new.html"]
    assert not old.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["_site", "cache"]


@pytest.mark.parametrize("edit", ["body", "title"])
def test_unchanged_spans_give_lazy_sheets_and_a_clean_build(tmp_path, monkeypatch, edit: str) -> None:
    """Spans of 100 files all unchanged give model.LazySheet: after one edit, only the sheets a
    re-rendered page shows whole are unpickled, and the site is a clean build's."""
    import sys

    from hyoka import model, pipeline
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from generate import generate
    generate(250, tmp_path / "p", seed=5)
    from hyoka.config import load_config
    config = load_config(tmp_path / "p")
    run(config, search=False, jobs=2)
    path = sorted(config.content_dir.rglob("*.md"))[-1]
    text = path.read_text(encoding="utf-8")
    if edit == "title":
        title = next(line for line in text.splitlines() if line.startswith("title:"))
        text = text.replace(title, "title: 名前を変えた事業", 1)
    path.write_text(text.rstrip("\n") + "\n\n追記しました。\n", encoding="utf-8")
    whole = []
    real = pipeline._WholeSheets.sheet
    monkeypatch.setattr(pipeline._WholeSheets, "sheet", lambda self, k: whole.append(k) or real(self, k))
    result = run(config, search=False, jobs=1)
    lazy = [s for s in result.site.sheets if type(s) is model.LazySheet]
    assert len(lazy) >= 200  # two spans unchanged
    assert 0 < len(whole) <= 5  # the edited program's other years (its pages show them whole)
    assert _tree(config.output_dir) == _clean(config, tmp_path)
    run(config, search=False)  # the cache is this configuration's again (_clean wrote another's)
    # A template edit: every page again, over worker processes, from lazy sheets.
    templates = config.root / "templates"
    linked = templates.resolve()
    templates.unlink()  # the generated project links the real templates: edit a copy
    shutil.copytree(linked, templates)
    template = templates / "pages" / "sheet.html"
    template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    again = run(config, search=False, jobs=2)
    assert sum(type(s) is model.LazySheet for s in again.site.sheets) == len(again.site.sheets)
    assert again.rendered > 250
    assert _tree(config.output_dir) == _clean(config, tmp_path)


def test_the_last_downloads_are_read_where_they_cannot_be_mapped(site, tmp_path, monkeypatch) -> None:
    """Some file systems (network disks) cannot map a file: the last build's combined downloads
    are then read instead, and the build is the same."""
    from hyoka import pipeline

    def cannot_map(*args, **kwargs):
        raise OSError(19, "No such device")

    monkeypatch.setattr(pipeline.mmap, "mmap", cannot_map)
    path = sorted(site.content_dir.rglob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n追記しました。\n", encoding="utf-8")
    run(site, search=False)
    assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_scan_content_lists_and_stats_every_file(site) -> None:
    """pipeline.scan_content (run by another process while the cache is read) gives the listing
    load.content_listing gives and each file's stat_key."""
    from hyoka import parallel, pipeline
    from hyoka.load import content_listing

    files, rels, stats = parallel.Background(lambda: pipeline.scan_content(site)).result()
    assert (files, rels) == content_listing(site.content_dir, site.root)
    assert stats == [cache_mod.file_stat(f) for f in files] and all(stats)


def test_a_listing_of_a_kept_site_moved_meanwhile_is_not_used(site, tmp_path, monkeypatch) -> None:
    """The kept site listed by another process, then moved away and back (by other builds: the same
    folder, its files maybe changed): its ctime is no longer the one taken with the listing, so
    prune walks it again."""
    from hyoka import pipeline
    pruned = _spy_prune(monkeypatch)
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "一度目の追記。")
    run(site, search=False, jobs=2)  # a site is kept
    real = pipeline._listed

    def listed_then_moved(folder, cache_file=None):
        out = real(folder, cache_file)
        assert cache_file is None or isinstance(out[1], pipeline.KeptListing)
        aside = folder.with_name("aside")
        folder.rename(aside)
        (aside / "手で足した.html").write_text("x", encoding="utf-8")  # what the listing does not have
        aside.rename(folder)
        return out

    monkeypatch.setattr(pipeline, "_listed", listed_then_moved)
    _append(files[-1], "二度目の追記。")
    run(site, search=False, jobs=2)
    assert pruned.listings[_MIRRORED:] == [None]
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)


def test_temp_files_of_a_killed_build_are_removed_from_the_cache(site) -> None:
    import os
    folder = site.root / cache_mod.CACHE_DIR
    import subprocess
    import sys
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # a process id no longer in use
    stale = [folder / f".{cache_mod.CONTENT_PREFIX}abandoned", folder / f".{cache_mod.CACHE_FILE}.abandoned",
             folder / f".{cache_mod.SNAPSHOT_PREFIX}abandoned", folder / f".{cache_mod.SPARE_DIR}-{gone}-abcd"]
    for path in stale[:3]:
        path.write_bytes(b"half")
        os.utime(path, (1_000_000_000, 1_000_000_000))
    stale[3].mkdir()  # a site of links a build killed meanwhile was making (kept.mirror_folder)
    (stale[3] / "index.html").write_bytes(b"x")
    running = folder / f".{cache_mod.CONTENT_PREFIX}being-written"
    running.write_bytes(b"half")
    os.utime(running, (4_000_000_000, 4_000_000_000))  # written to after this build began
    # One a running build is making: old, but its process is alive (here, this one).
    live = folder / f".{cache_mod.SPARE_DIR}-{os.getpid()}-abcd"
    live.mkdir()
    os.utime(live, (1_000_000_000, 1_000_000_000))
    run(site, search=False)
    assert not any(path.exists() for path in stale) and running.exists() and live.exists()


def _cache_file(config):
    """build.pickle as it was written (load_cache merges the content file into it)."""
    import pickle
    return pickle.loads(cache_mod.cache_path(config.root).read_bytes())


def test_the_site_snapshot_is_taken_until_a_sheet_moves(site, tmp_path, monkeypatch) -> None:
    """A build goes on from the site its predecessor collected (cache.SiteSnapshot) while the
    sheets changed since stay in their places: the snapshot is then kept as it is, and the site is
    what a clean build gives. An edit that moves a sheet (a new title sorts it elsewhere) makes
    the build collect anew and write a snapshot of its own."""
    collected = _spy_collect(monkeypatch)

    def build() -> bool:
        """Run a build; True when it collected the site anew."""
        before = len(collected)
        run(site, search=False)
        return len(collected) > before

    first = _cache_file(site).snapshot
    assert first and (site.root / cache_mod.CACHE_DIR / first).is_file()
    files = sorted(site.content_dir.rglob("*.md"))
    for n, path in enumerate(files[:2]):
        _append(path, f"{n + 1}度目の追記。")
        assert not build()
        assert _cache_file(site).snapshot == first
        assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    text = files[0].read_text(encoding="utf-8")
    files[0].write_text(text.replace("\ntitle: ", "\ntitle: あ", 1), encoding="utf-8")
    assert build()
    second = _cache_file(site).snapshot
    assert second and second != first and not (site.root / cache_mod.CACHE_DIR / first).exists()
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    monkeypatch.setattr("hyoka.pipeline.SNAPSHOT_EDITS", 0)  # more changes than a snapshot is kept for
    _append(files[1], "また追記。")
    assert not build()
    third = _cache_file(site).snapshot
    assert third not in ("", second)
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    (site.root / cache_mod.CACHE_DIR / third).unlink()  # gone: collected anew, from whole sheets
    _append(files[2], "さらに追記。")
    assert build()
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)


def _spy_collect(monkeypatch) -> list[int]:
    """One item for each time a build collects its site anew (collect.collect)."""
    from hyoka import pipeline
    collected: list[int] = []
    real = pipeline.collect
    monkeypatch.setattr(pipeline, "collect", lambda *a: collected.append(1) or real(*a))
    return collected


def test_a_file_added_or_removed_collects_anew(site, tmp_path, monkeypatch) -> None:
    collected = _spy_collect(monkeypatch)
    path = sorted(site.content_dir.rglob("*.md"))[0]
    copy = path.with_name("copy-of-" + path.name)
    copy.write_text(path.read_text(encoding="utf-8").replace("\nid: ", "\nid: copy-", 1), encoding="utf-8")
    run(site, search=False)
    assert collected == [1] and _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    copy.unlink()
    collected.clear()
    run(site, search=False)
    assert collected == [1] and _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_clean_build_keeps_each_list_row_once(site, jobs: int) -> None:
    """The rows and feed entries are in the content file alone when it was written at the end of
    the build (a clean one): build.pickle does not hold them again (15 MB at 10,000 sheets)."""
    run(site, search=False, cache=False, jobs=jobs)
    written = _cache_file(site)
    assert written.content and written.rows == {} and written.feed == {}
    loaded = cache_mod.load_cache(site.root)
    assert loaded.rows and loaded.feed


def test_a_failure_while_the_downloads_are_written_leaves_no_process_nor_folder(site, monkeypatch) -> None:
    """An edit build whose page fails to render while another process writes the combined
    downloads: the build fails, that process is stopped and reaped, the temp folder is removed,
    the published site is untouched, and the next build is right."""
    import os

    from hyoka import pipeline
    from hyoka.problems import Problem, ProblemsFound

    from .test_build import leftovers
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[1], "先の追記。")
    run(site, search=False, jobs=2)  # a site is kept: the failing build lists it too
    before = _tree(site.output_dir)
    real = pipeline.render_job

    def fails(env, site_, templates, job):
        if job.path.endswith("index.html"):  # the first page rendered (the edited sheet's, or a list)
            raise ProblemsFound([Problem("templates/pages/sheet.html", 1, "", "テンプレート", "壊れた")])
        return real(env, site_, templates, job)

    started: list[int] = []

    class Recorded(pipeline.Background):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self._pid)

    threads: list = []

    class RecordedBeside(pipeline.Beside):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            threads.append(self._thread)

    monkeypatch.setattr(pipeline, "render_job", fails)
    monkeypatch.setattr(pipeline, "Background", Recorded)
    monkeypatch.setattr(pipeline, "Beside", RecordedBeside)
    monkeypatch.setattr(pipeline, "CONTENT_FILES", 0)  # the content file is written anew, by one more
    prerendered = pipeline._prerendered
    # Rendered in produce (not before the kept site is claimed: that fails before anything is
    # written, below).
    monkeypatch.setattr(pipeline, "_prerendered", lambda *args: (None, {}))
    _append(files[0], "追記。")
    with pytest.raises(ProblemsFound):
        run(site, search=False, jobs=2)
    assert len(started) == 3 and all(started)  # scan, listing, content file
    for pid in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # each one reaped, none left running
    assert len(threads) == 1 and not threads[0].is_alive()  # the downloads: finished before the build failed
    assert _tree(site.output_dir) == before and leftovers(site) == []
    # The pages rendered before the kept site is claimed (pipeline._prerendered): the failure
    # comes before any file is written, and leaves nothing either.
    monkeypatch.setattr(pipeline, "_prerendered", prerendered)
    started.clear()
    threads.clear()
    with pytest.raises(ProblemsFound):
        run(site, search=False, jobs=2)
    assert threads == [] and len(started) == 3  # scan, listing, content file: no downloads
    for pid in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert _tree(site.output_dir) == before and leftovers(site) == []
    monkeypatch.setattr(pipeline, "render_job", real)
    assert run(site, search=False, jobs=2).rendered > 0


def test_mirror_makes_a_site_of_links(tmp_path) -> None:
    """write.mirror: a new folder of hard links to the published files, and its listing as
    list_tree gives it (each folder before what it holds)."""
    from hyoka.write import list_tree, mirror
    source = tmp_path / "out"
    (source / "a" / "b").mkdir(parents=True)
    (source / "a" / "b" / "index.html").write_text("b", encoding="utf-8")
    (source / "a" / "index.html").write_text("a", encoding="utf-8")
    (source / "index.html").write_text("i", encoding="utf-8")
    folder = tmp_path / "kept"
    listing = mirror(source, ["a/b/index.html", "index.html", "a/index.html"], folder)
    assert _inodes(folder) == _inodes(source)
    assert sorted(listing) == sorted(list_tree(folder))
    assert [rel for rel, kind, _ in listing if kind == "d"] == ["a", "a/b"]
    with pytest.raises(OSError):
        mirror(source, ["missing.html"], tmp_path / "other")


def test_a_site_of_links_that_cannot_be_made_leaves_nothing(tmp_path) -> None:
    import os

    from hyoka import pipeline
    source = tmp_path / "out"
    source.mkdir()
    (source / "index.html").write_text("i", encoding="utf-8")
    keep_at = tmp_path / "cache" / "site"
    keep_at.parent.mkdir()
    with pytest.raises(OSError):
        pipeline._mirrored(source, ["index.html", "missing.html"], pipeline.mirror_folder(keep_at))
    assert list(keep_at.parent.iterdir()) == []
    at = pipeline.mirror_folder(keep_at)
    assert at.parent == keep_at.parent and at.name.startswith(f".{keep_at.name}-{os.getpid()}-")
    folder, listing = pipeline._mirrored(source, ["index.html"], at)
    assert folder == at and [rel for rel, _, _ in listing] == ["index.html"]
    # Told against the last build's records of those files: only what is not as recorded.
    from hyoka.cache import folder_token, stat_key
    st = stat_key(os.lstat(source / "index.html"))
    records = {"index.html": ("key", *st), "gone.html": ("key", 1, 2, 3)}
    shutil.rmtree(at)
    folder, told = pipeline._mirrored(source, ["index.html"], at, records, 42)
    assert isinstance(told, pipeline.KeptListing)
    assert told.stamp == ("pages", 42, folder_token(at))
    assert told.not_intact == {"gone.html"} and told.odd == () and told.dirs == ()


def test_paths_are_checked_again_only_when_one_is_new(site, monkeypatch) -> None:
    """A build whose files were all the last build's (which checked them) does not check them
    again (22,700 at 10,000 sheets); one with a new path checks them all."""
    from hyoka import pipeline
    checked: list[int] = []
    real = pipeline.check_paths
    monkeypatch.setattr(pipeline, "check_paths", lambda paths: checked.append(1) or real(paths))
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "追記。")
    run(site, search=False)
    assert checked == []
    copy = files[0].with_name("copy-of-" + files[0].name)
    copy.write_text(files[0].read_text(encoding="utf-8").replace("\nid: ", "\nid: copy-", 1), encoding="utf-8")
    run(site, search=False)
    assert checked == [1]


def test_a_failed_build_leaves_no_site_of_links(site) -> None:
    """The first build after the fixture's makes a site of links to update (pipeline._mirrored):
    when it fails, that folder is removed with it."""
    from hyoka.problems import ProblemsFound
    path = sorted(site.content_dir.rglob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("\nid: ", "\nid: [", 1), encoding="utf-8")
    with pytest.raises(ProblemsFound):
        run(site, search=False, jobs=2)
    folder = site.root / cache_mod.CACHE_DIR
    assert not list(folder.glob(f".{cache_mod.SPARE_DIR}-*"))


def test_rows_made_after_a_content_file_was_written_are_kept(site, monkeypatch) -> None:
    """An edit build that writes the content file anew (many changes) keeps the rows and entries
    it makes later in build.pickle; the next build, keeping that file, keeps them too."""
    import pickle
    files = sorted(site.content_dir.rglob("*.md"))
    monkeypatch.setattr("hyoka.pipeline.CONTENT_FILES", 0)
    _append(files[0], "追記。")
    result = run(site, search=False, jobs=2)
    monkeypatch.setattr("hyoka.pipeline.CONTENT_FILES", 800)
    _append(files[1], "また追記。")
    result = run(site, search=False, jobs=2)
    raw = pickle.loads(cache_mod.cache_path(site.root).read_bytes())
    assert raw.content_spans is not None  # the file was kept
    current = {(s.id, s.evaluation_year, s.source.digest) for s in result.site.sheets}
    loaded = cache_mod.load_cache(site.root)
    assert current <= {k[:3] for k in cache_mod.unpacked(loaded.rows)} and current <= {k[:3] for k in cache_mod.unpacked(loaded.feed)}


def test_library_versions_are_read_from_dist_info_and_egg_info(tmp_path, monkeypatch) -> None:
    """cache.code_stamp's versions: every dist-info or egg-info folder of the library's name."""
    import sys
    (tmp_path / "fakelib").mkdir()
    (tmp_path / "fakelib" / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fakelib", None)
    assert cache_mod._installed("fakelib", "fakelib") == "?"
    (tmp_path / "FakeLib-1.2.egg-info").mkdir()
    assert cache_mod._installed("fakelib", "fakelib") == "1.2"
    (tmp_path / "fakelib-1.3.dist-info").mkdir()
    assert cache_mod._installed("fakelib", "fakelib") == "1.2,1.3"
    (tmp_path / "FakeLib-1.2.egg-info").rename(tmp_path / "FakeLib-1.4-py3.11.egg-info")
    assert cache_mod._installed("fakelib", "fakelib") == "1.4-py3.11,1.3"  # in the order of the names


def test_the_top_page_is_made_again_only_for_an_edit_of_the_newest_year(site, tmp_path) -> None:
    """The top page shows the newest year's sheets: after an edit of an older year's sheet it is
    the same file (not rendered again), after an edit of a newest one it is rendered again; the
    site is a clean build's either way."""
    import os
    files = sorted(site.content_dir.rglob("*.md"))
    years = sorted({p.parent.name for p in files})
    older = next(p for p in files if p.parent.name == years[0])
    newest = next(p for p in files if p.parent.name == years[-1])
    top = site.output_dir / "index.html"
    for path, again in ((older, False), (newest, True)):
        before = os.stat(top).st_ino
        _append(path, "追記しました。")
        run(site, search=False)
        assert (os.stat(top).st_ino != before) is again
        assert _tree(site.output_dir) == _clean(site, tmp_path)


def test_the_command_line_walks_the_kept_site_before_the_build_starts(site, tmp_path, monkeypatch) -> None:
    """`python build.py build` starts the walk of the kept site (kept.start_listing) before the rest
    of hyoka is imported; the build takes it over: told against the records, used to prune, and no
    process is left. With --no-cache, or a build that fails before it starts, none is left either."""
    import os

    from hyoka import kept as kept_mod
    from hyoka import pipeline
    from hyoka.parallel import can_fork
    pruned = _spy_prune(monkeypatch)
    started: list = []
    real = kept_mod.start_listing

    pids: list[int] = []

    def start(root, jobs=None):
        started.append(work := real(root, jobs))
        # (the first: a site of links being made, the fixture's build having kept none)
        pids.append(0 if work is None else work.work._pid if isinstance(work, kept_mod.EarlyMirror) else work._pid)
        return work

    monkeypatch.setattr(kept_mod, "start_listing", start)
    monkeypatch.setattr("hyoka.cli.ROOT", site.root)
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "一度目の追記。")
    assert main(["-q", "build", "--no-search"]) == 0  # a site is kept from now on
    # No site kept after the fixture's build: the command line started making one of links.
    assert len(started) == 1 and isinstance(started[0], kept_mod.EarlyMirror) == can_fork()
    _append(files[-1], "二度目の追記。")
    pruned.clear()
    pruned.listings.clear()
    assert main(["-q", "build", "--no-search", "-j", "2"]) == 0
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    if can_fork():
        walk = started[-1]
        assert walk is not None and walk._done and not walk._pid  # taken over and reaped
        assert len(pruned.listings) == 1 and isinstance(pruned.listings[0], pipeline.KeptListing)
    # A build that fails before it starts (a broken configuration) stops the walk.
    config_file = site.root / "site_config.yaml"
    good = config_file.read_bytes()
    config_file.write_text("city: [\n", encoding="utf-8")
    assert main(["-q", "build", "--no-search", "-j", "2"]) == 1
    if can_fork():
        walk = started[-1]
        assert walk is not None and walk._done and not walk._pid and pids[-1]
        with pytest.raises(ChildProcessError):
            os.waitpid(pids[-1], os.WNOHANG)  # reaped: not left running
    config_file.write_bytes(good)
    assert main(["-q", "build", "--no-search", "--no-cache"]) == 0
    assert len(started) == 3  # none for a build without the cache


def test_pages_due_anyway_are_rendered_while_the_kept_site_is_walked(site, tmp_path, monkeypatch) -> None:
    """After an edit, the pages whose fingerprint is neither the kept site's file's nor the
    published one's are rendered before the walk of the kept site is waited for
    (pipeline._prerendered), and written by produce as they are: the same site as a clean build."""
    from hyoka import pipeline
    made: list[dict] = []
    real = pipeline._prerendered

    def spy(*args):
        env, texts = real(*args)
        made.append(dict(texts))
        return env, texts

    monkeypatch.setattr(pipeline, "_prerendered", spy)
    files = sorted(site.content_dir.rglob("*.md"))
    for n, path in enumerate(files[:2]):
        _append(path, f"{n}度目の追記。")
        result = run(site, search=False, jobs=2)
        assert made[-1] and result.rendered >= len(made[-1])
        edited = next(s for s in result.site.sheets if s.source.path == path.relative_to(site.root).as_posix())
        assert f"{edited.url}index.html" in made[-1]
        for page, text in made[-1].items():
            assert (site.output_dir / page).read_text(encoding="utf-8") == text
        assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)


def test_the_downloads_thread_splices_a_copy_of_the_shares_and_renders_no_page(site, tmp_path, monkeypatch) -> None:
    """The combined downloads are written by a thread (parallel.Beside) while the pages are
    rendered: it is given the shares as they were (a sheet.json that cannot be kept is written
    again with the pages, adding its share meanwhile), and the /data/ page is rendered by the
    build's own thread (the Jinja environment's cache holds a lock a forked worker would inherit)."""
    import threading

    from hyoka import opendata, pipeline
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "一度目の追記。")
    run(site, search=False, jobs=2)  # a site is kept from now on
    seen: list = []
    real_splice = opendata.spliced_files

    def splice(site_, last, old, shares):
        seen.append((shares, len(shares)))
        return real_splice(site_, last, old, shares)

    renders: list = []
    real_render = pipeline.render_job

    def render(env, site_, templates, job):
        renders.append((job.path, threading.current_thread() is threading.main_thread()))
        return real_render(env, site_, templates, job)

    monkeypatch.setattr(opendata, "spliced_files", splice)
    monkeypatch.setattr(pipeline, "render_job", render)
    # A published sheet.json changed in place (the kept site's link to it with it): written anew.
    import re
    edited = re.search(r"^id: *(\S+)", files[-1].read_text(encoding="utf-8"), re.MULTILINE)[1]
    changed = next(p for p in sorted(site.output_dir.glob("sheets/*/*/sheet.json")) if p.parent.parent.name != edited)
    data = changed.read_bytes()
    with open(changed, "r+b") as f:
        f.write(data[:1] + b" " + data[2:] if data[1:2] != b" " else data[:1] + b"\n" + data[2:])
    _append(files[-1], "二度目の追記。")
    run(site, search=False, jobs=2)
    assert seen and all(len(shares) == n for shares, n in seen)
    assert ("data/index.html", True) in renders and all(main for _, main in renders)
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    assert changed.read_bytes() == data  # written again, as it was


def test_a_walk_told_against_other_records_is_not_used() -> None:
    """pipeline._kept_listing takes a KeptListing only when its stamp is of the very records the
    build has for the site it claims: build.pickle's kept site, or the last build's own pages."""
    from types import SimpleNamespace

    from hyoka import pipeline
    from hyoka.cache import Spare
    pages = {"index.html": ("k", 1, 2, 3)}
    spare = Spare((1, 2), {"index.html": ("k", 1, 2, 3)})
    previous = SimpleNamespace(started_ns=7, spare=spare, pages=pages)

    def told(stamp):
        return pipeline.KeptListing(stamp, frozenset(), (), ())

    assert pipeline._kept_listing(told(("spare", 7, (1, 2))), previous, spare) is not None
    assert pipeline._kept_listing(told(("spare", 8, (1, 2))), previous, spare) is None  # another cache
    assert pipeline._kept_listing(told(("spare", 7, (1, 3))), previous, spare) is None  # another folder
    assert pipeline._kept_listing(told(("pages", 7, (1, 2))), previous, spare) is None  # other records
    links = Spare((4, 5), pages)  # a site of links made of the last build's pages
    assert pipeline._kept_listing(told(("pages", 7, (4, 5))), previous, links) is not None
    assert pipeline._kept_listing(told(("spare", 7, (4, 5))), previous, links) is None
    assert pipeline._kept_listing(told(("pages", 7, (4, 5))), None, links) is None
    assert pipeline._kept_listing(told(("spare", 7, (1, 2))), previous, Spare((1, 2), {})) is None  # not the cache's
    listing = [("index.html", "f", (1, 2, 3))]
    assert pipeline._kept_listing(listing, previous, spare) is listing  # a plain listing: walked, not told


def test_a_build_without_the_cache_leaves_no_site_of_links(site) -> None:
    """`--no-cache` (cache=False), like every build that makes all its pages, leaves no site of links
    for a next build: repeated, such builds would each write their site into the last one's links
    (unlinking every file first). The next build with the cache makes one (pipeline._mirrored) and
    keeps the site it replaces."""
    from hyoka.parallel import can_fork
    kept = site.root / cache_mod.CACHE_DIR / cache_mod.SPARE_DIR
    shutil.rmtree(kept, ignore_errors=True)
    run(site, search=False, cache=False, jobs=2)
    assert not kept.exists()
    run(site, search=False, cache=False, jobs=2)
    assert not kept.exists()
    run(site, search=False, jobs=2)  # with the cache: the site it replaces is kept again
    assert kept.is_dir() == can_fork()


def test_the_command_line_makes_the_first_edits_site_of_links_before_the_build_starts(site, tmp_path,
                                                                                       monkeypatch) -> None:
    """No site kept (after a build with --no-cache): `python build.py build` starts making one of
    links to the published files before the rest of hyoka is imported (kept.EarlyMirror); the
    build updates it. A build that does not take it (a broken configuration, --no-cache) removes it."""
    import os

    from hyoka import kept as kept_mod
    from hyoka import pipeline
    from hyoka.parallel import can_fork
    if not can_fork():
        pytest.skip("the site of links is made by another process")
    pruned = _spy_prune(monkeypatch)
    started: list = []
    real = kept_mod.start_listing

    def start(root, jobs=None):
        started.append(real(root, jobs))
        return started[-1]

    monkeypatch.setattr(kept_mod, "start_listing", start)
    monkeypatch.setattr("hyoka.cli.ROOT", site.root)
    kept = site.root / cache_mod.CACHE_DIR / cache_mod.SPARE_DIR
    assert main(["-q", "build", "--no-search", "--no-cache"]) == 0
    assert not kept.exists() and started == []  # none started for a build without the cache

    def leftover_links() -> list[str]:
        return [p.name for p in kept.parent.iterdir() if p.name.startswith(f".{kept.name}-")]

    # A build that fails before it starts stops it, and removes what it made.
    config_file = site.root / "site_config.yaml"
    good = config_file.read_bytes()
    config_file.write_text("city: [\n", encoding="utf-8")
    assert main(["-q", "build", "--no-search", "-j", "2"]) == 1
    early = started[-1]
    assert isinstance(early, kept_mod.EarlyMirror) and early.work._done and not early.work._pid
    assert leftover_links() == [] and not kept.exists()
    config_file.write_bytes(good)
    # The first edit: the site of links made by the command line's process is updated.
    _append(sorted(site.content_dir.rglob("*.md"))[0], "追記。")
    pruned.clear()
    pruned.listings.clear()
    assert main(["-q", "build", "--no-search", "-j", "2"]) == 0
    early = started[-1]
    assert isinstance(early, kept_mod.EarlyMirror)
    assert early.work._value is not None and early.work._value[0] == early.folder  # taken by the build
    assert len(pruned.listings) == 1 and isinstance(pruned.listings[0], pipeline.KeptListing)
    assert pruned.listings[0].stamp[0] == "pages"
    assert _tree(site.output_dir) == _clean_keeping_cache(site, tmp_path)
    assert leftover_links() == [] and kept.is_dir()  # the site it replaced, kept for the next
    assert os.path.isdir(site.output_dir)


def _spy_shares(monkeypatch) -> list[str]:
    """The share files (pipeline.SharesFile) the build takes from its workers."""
    from hyoka import pipeline
    taken: list[str] = []
    real = pipeline.SharesFile.take

    def take(self):
        taken.append(self.path)
        return real(self)

    monkeypatch.setattr(pipeline.SharesFile, "take", take)
    return taken


def _shares_by_workers(monkeypatch) -> None:
    """The fixture's few sheets' JSON made by a worker: none made by the build's own process first
    (pipeline.FEW_ITEMS), spans of one item, the sheets' JSON given out last (the workers take
    the spans from the back)."""
    from hyoka import pipeline
    monkeypatch.setattr(pipeline, "FEW_ITEMS", 0)
    monkeypatch.setattr(pipeline, "SPAN_ITEMS", 1)
    in_turn = pipeline._in_turn
    monkeypatch.setattr(pipeline, "_in_turn", lambda items: in_turn(items)[::-1])


def _shares_folders(*folders: Path) -> list[Path]:
    from hyoka.pipeline import SHARES_DIR
    return [p for folder in folders if folder.exists() for p in folder.rglob(SHARES_DIR)]


def test_an_edit_over_workers_takes_their_shares_from_files_and_equals_a_clean_build(site, tmp_path,
                                                                                      monkeypatch) -> None:
    """With more sheets to write than the build makes in its own process (pipeline.FEW_ITEMS: none
    here), the workers put their shares of the combined downloads in files (pipeline.SharesFile),
    also when the build updates a kept site: the site is a clean build's, and no such file is left
    in it or in the kept site."""
    from hyoka.parallel import can_fork
    _shares_by_workers(monkeypatch)
    taken = _spy_shares(monkeypatch)
    files = sorted(site.content_dir.rglob("*.md"))
    _append(files[0], "一度目の追記。")
    run(site, search=False, jobs=2)  # the site of links made meanwhile, updated
    _append(files[-1], "二度目の追記。")
    taken.clear()
    run(site, search=False, jobs=2)  # the kept site updated
    assert bool(taken) == can_fork()
    assert _tree(site.output_dir) == _clean(site, tmp_path)
    kept = site.root / cache_mod.CACHE_DIR / cache_mod.SPARE_DIR
    assert _shares_folders(site.output_dir, kept) == []


def test_a_build_failing_after_shares_were_written_leaves_nothing(site, monkeypatch) -> None:
    """A page failing in the build's own process after it took a worker's shares from their file
    (the worker going on meanwhile): the build fails, the workers are stopped, the published
    site is as it was, and no temp folder, share file or site snapshot that no build names is left."""
    import os
    import time

    from hyoka import pipeline
    from hyoka.parallel import can_fork
    from hyoka.problems import BuildError
    if not can_fork():
        pytest.skip("the shares are put in files by workers")
    _shares_by_workers(monkeypatch)
    taken = _spy_shares(monkeypatch)
    before = _tree(site.output_dir)
    cache_folder = site.root / cache_mod.CACHE_DIR
    snapshots = sorted(cache_folder.glob("snapshot-*.pickle"))
    real = pipeline.render_job
    parent = os.getpid()

    def render_job(env, s, templates, job):
        if os.getpid() == parent:
            if taken:
                raise BuildError("ページを作れません", "")
            time.sleep(0.05)  # the worker makes the sheets' JSON meanwhile
        return real(env, s, templates, job)

    monkeypatch.setattr(pipeline, "render_job", render_job)
    for path in sorted(site.content_dir.rglob("*.md")):
        _append(path, "追記。")
    with pytest.raises(BuildError):
        run(site, search=False, jobs=2, cache=False)
    assert taken
    assert _tree(site.output_dir) == before
    assert sorted(site.output_dir.parent.glob(f".{site.output_dir.name}.*")) == []
    assert _shares_folders(site.output_dir, cache_folder) == []
    assert sorted(cache_folder.glob("snapshot-*.pickle")) == snapshots


def test_a_worker_failing_after_shares_were_written_leaves_nothing(site, monkeypatch) -> None:
    """A page failing in a worker, after it put sheets' shares in files: the build fails, the
    published site is as it was, and no temp folder, share file or site snapshot that no build
    names is left."""
    import os
    import time

    from hyoka import pipeline
    from hyoka.parallel import can_fork
    from hyoka.problems import BuildError
    if not can_fork():
        pytest.skip("the shares are put in files by workers")
    _shares_by_workers(monkeypatch)
    before = _tree(site.output_dir)
    cache_folder = site.root / cache_mod.CACHE_DIR
    snapshots = sorted(cache_folder.glob("snapshot-*.pickle"))
    real = pipeline.render_job
    parent = os.getpid()
    shares: list = []
    put = pipeline.SharesFile.put

    def spy(cls, folder, items, made):
        shares.append(folder)  # (in the worker: its own list)
        return put(folder, items, made)

    def render_job(env, s, templates, job):
        if os.getpid() != parent and shares:  # a page after the worker's shares were written
            raise BuildError("ページを作れません", "")
        if os.getpid() == parent:
            time.sleep(0.02)  # the worker gets as far as the pages meanwhile
        return real(env, s, templates, job)

    monkeypatch.setattr(pipeline.SharesFile, "put", classmethod(spy))
    monkeypatch.setattr(pipeline, "render_job", render_job)
    for path in sorted(site.content_dir.rglob("*.md")):
        _append(path, "追記。")
    with pytest.raises(BuildError):
        run(site, search=False, jobs=2, cache=False)
    assert _tree(site.output_dir) == before
    assert sorted(site.output_dir.parent.glob(f".{site.output_dir.name}.*")) == []
    assert _shares_folders(site.output_dir, cache_folder) == []
    assert sorted(cache_folder.glob("snapshot-*.pickle")) == snapshots
