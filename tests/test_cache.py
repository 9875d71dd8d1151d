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


def _clean(config, tmp_path: Path) -> dict[str, bytes]:
    """A clean build of the same input (no cache) into another folder."""
    out = tmp_path / "clean"
    shutil.rmtree(out, ignore_errors=True)
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
    assert result.rendered == len(rendered - {p for p in rendered if p.startswith("assets/")}) - 9
    assert _tree(site.output_dir) == _clean(site, tmp_path)


@pytest.mark.parametrize("change", ["title", "delete", "add"])
def test_sheet_changes_give_a_clean_build(site, tmp_path, change: str) -> None:
    files = sorted(site.content_dir.rglob("*.md"))
    if change == "title":
        text = files[0].read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.startswith("title:"))
        files[0].write_text(text.replace(title, "title: 名前を変えた事業", 1), encoding="utf-8")
    elif change == "delete":
        files[-1].unlink()
    else:
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


def test_unchanged_files_are_not_parsed_again(site, monkeypatch) -> None:
    import hyoka.pipeline as pipeline
    calls = []
    real = pipeline.load_sheet
    monkeypatch.setattr(pipeline, "load_sheet", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    run(site, search=False, jobs=1)
    assert calls == []
    path = sorted(site.content_dir.rglob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    run(site, search=False, jobs=1)
    assert path in calls  # its span of files (up to 100) is parsed again


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
