"""Search without a browser: normalisation, synonyms, the sheet page's Pagefind markup, the index stage
(its shards, what it leaves out, the extended build check).

The relevance set and the search page itself are tested in Chromium (tests/browser/test_search.py).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import shutil
import stat
import sys
from pathlib import Path

import pytest

from hyoka import pipeline, search
from hyoka.cli import main
from hyoka.config import load_config
from hyoka.pipeline import run
from hyoka.problems import BuildError, ProblemsFound

from .conftest import ROOT
from .search_relevance import load_cases
from .test_build import GOOD, leftovers, tree_digest

SHEETS = {f"content/2025/{p.name}": p.read_text(encoding="utf-8") for p in (ROOT / "content/2025").glob("*.md")}


# -- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("ＲＰＡ", "rpa"),                      # 全角英字 → 半角, lower case
    ("ｽﾏｰﾄﾌｫﾝ", "スマートフォン"),          # 半角カナ → 全角
    ("Windows１１", "windows11"),
    ("  スマホ　　補助金 ", "スマホ 補助金"),  # 全角スペース, runs of spaces
    ("行政改革", "行政改革"),
])
def test_normalize(text: str, expected: str) -> None:
    assert search.normalize(text) == expected


def test_normalize_matches_the_search_script() -> None:
    """assets/js/search.js normalises queries with the same three steps as normalize()."""
    js = (ROOT / "assets/js/search.js").read_text(encoding="utf-8")
    assert '.normalize("NFKC").toLowerCase().replace(/\\s+/gu, " ").trim()' in js


def test_synonyms_equalise_every_spelling_of_a_group() -> None:
    groups = [["スマホ", "スマートフォン", "スマートホン"], ["AI", "人工知能"]]
    terms = search.synonym_terms("スマホの講習会。スマホ相談。スマートフォンを購入", groups)
    # The group occurs 3 times: each spelling is brought up to 3 occurrences.
    assert terms.count("スマホ") == 1
    assert terms.count("スマートフォン") == 2
    assert terms.count("スマートホン") == 3
    assert "人工知能" not in terms and "ai" not in terms


def test_synonyms_match_latin_words_whole_and_normalised() -> None:
    groups = [["AI", "人工知能"], ["HP", "ホームページ"]]
    assert search.synonym_terms("メールで連絡（mail）。生成ＡＩを導入", groups) == ["人工知能"]
    assert search.synonym_terms("email と mail", groups) == []


def test_synonyms_are_capped() -> None:
    assert search.synonym_terms("漏洩" * 50, [["漏洩", "漏えい"]], most=4) == ["漏えい"] * 4


def test_sheet_synonyms_of_a_real_sheet(config) -> None:
    from hyoka.load import load_source
    from hyoka.validate import validate_source

    src, _ = load_source(ROOT / "content/2025/ai-rpa.md", "ai-rpa.md")
    assert src is not None
    sheet, problems = validate_source(src, config)
    assert sheet is not None and not [p for p in problems if p.is_error]
    text = search.sheet_synonyms(sheet, config.synonyms)
    assert "人工知能" in text.split("、")
    assert search.sheet_synonyms(sheet, ()) == ""


def test_config_reads_synonyms(config) -> None:
    assert ("スマホ", "スマートフォン", "スマートホン") in config.synonyms
    assert all(len(group) >= 2 for group in config.synonyms), "a group needs two or more words"


def test_config_rejects_a_malformed_synonym_list(tmp_path: Path) -> None:
    text = (ROOT / "site_config.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^search:.*", "search:\n  synonyms: スマホ\n", text)
    (tmp_path / "site_config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ProblemsFound) as exc:
        load_config(tmp_path)
    assert [p.key for p in exc.value.problems] == ["search.synonyms"]


def test_relevance_set_is_large_enough_and_names_real_sheets() -> None:
    cases, empty = load_cases()
    ids = {Path(name).stem for name in SHEETS}
    assert len(cases) >= 40 and len(empty) >= 5
    for case in cases:
        assert case.first and set(case.first) <= ids, case
    kinds = {c.kind for c in cases}
    assert {"title", "kanji", "katakana", "latin", "variant", "two-word"} <= kinds


# -- pages -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The bundled content built once with its search index."""
    from .conftest import make_project
    tmp = tmp_path_factory.mktemp("search-site")
    config = make_project(tmp, SHEETS)
    run(config)
    return config.output_dir


def test_only_sheet_pages_are_indexed(site: Path) -> None:
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        html = page.read_text(encoding="utf-8")
        is_sheet = re.fullmatch(r"sheets/[^/]+/\d{4}/index\.html", rel) is not None
        assert ("data-pagefind-body" in html) == is_sheet, rel


def test_sheet_page_carries_filters_meta_and_sort(site: Path) -> None:
    html = (site / "sheets/smartphone-subsidy/2025/index.html").read_text(encoding="utf-8")
    for needle in ('data-pagefind-filter="部局・課">市長公室 DX推進課<',
                   'data-pagefind-filter="総合計画の分野">2.情報化<',
                   'data-pagefind-filter="SDGs">ゴール9 産業と技術革新の基盤をつくろう<',
                   'data-pagefind-filter="事業の方針">継続<',
                   'data-pagefind-filter="評価年度">令和7年度（2025年度）<',
                   'data-pagefind-meta="division">DX推進課<',
                   'data-pagefind-meta="direction">継続<',
                   'data-pagefind-meta="total">2,281千円（約228万円）<',
                   'data-pagefind-sort="total">2281<',
                   'data-pagefind-meta="year">令和7年度（2025年度）評価'):
        assert needle in html, needle
    # The filter block is hidden and not searched as text; the synonym list is hidden, after ⁂.
    assert '<div hidden data-pagefind-ignore>' in html
    block = re.search(r"<div hidden>⁂([^<]*)</div>\s*</article>", html)
    assert block is not None, "the synonym list closes the article"
    assert block.group(1).split("、").count("スマートホン") == 4  # the sheet says it once; the group 5 times


def test_search_page_and_header_link(site: Path) -> None:
    html = (site / "search/index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="../assets/js/search.js"></script>' in html
    assert '<link rel="stylesheet" href="../assets/css/search.css">' in html
    assert 'role="status" aria-live="polite"' in html
    assert "<noscript>" in html and 'href="../divisions/"' in html and 'href="../years/"' in html
    assert "<script>" not in html  # no inline script (a later CSP forbids it)
    top = (site / "index.html").read_text(encoding="utf-8")
    assert '<a href="./search/">検索</a>' in top


def test_index_bundle_is_one_shard_per_year_without_the_unused_files(site: Path) -> None:
    bundle = site / "pagefind"
    layout = json.loads((bundle / search.SHARDS_FILE).read_text(encoding="utf-8"))
    assert layout == {"filter": search.SHARD_FILTER, "shards": [{"name": "2025", "path": "2025/", "pages": len(SHEETS)}]}
    shard = bundle / "2025"
    assert (shard / "pagefind.js").is_file() and (shard / "pagefind-entry.json").is_file()
    assert list(shard.glob("*.pf_meta")) and list(shard.glob("wasm.*.pagefind"))
    for name in search.UNUSED_FILES:
        assert not (shard / name).exists(), name
    assert len(list((shard / "fragment").iterdir())) == len(SHEETS)  # one fragment per sheet page
    # The sort values in Pagefind's order (ascending), for merging sorted shards in the browser.
    totals = json.loads((bundle / search.SORTS_FILE).read_text(encoding="utf-8"))["total"]["2025"]
    assert totals == sorted(totals) and len(totals) == len(SHEETS) and 2281 in totals


def _fragments(bundle: Path) -> dict[str, dict]:
    """Every indexed page's fragment (what a result's data() gives), by URL."""
    out = {}
    for path in bundle.glob("*/fragment/*.pf_fragment"):
        data = json.loads(gzip.decompress(path.read_bytes())[len(b"pagefind_dcd"):])
        out[data["url"]] = data
    return out


def test_every_piece_of_a_sheets_text_is_indexed(site: Path, config) -> None:
    """What staff wrote stays searchable although charts, number rows and year links are left out."""
    from hyoka.load import load_source
    from hyoka.validate import validate_source

    fragments = _fragments(site / "pagefind")
    squeeze = functools.partial(re.sub, r"[\s\u200b]+", "")
    for name in SHEETS:
        src, _ = load_source(ROOT / name, Path(name).name)
        assert src is not None
        sheet, _ = validate_source(src, config)
        assert sheet is not None
        content = squeeze(fragments[f"/sheets/{sheet.id}/{sheet.evaluation_year}/"]["content"])
        for piece in search.sheet_texts(sheet):
            assert squeeze(piece) in content, (sheet.id, piece)


def test_generated_parts_are_left_out_of_the_index(site: Path) -> None:
    html = (site / "sheets/smartphone-subsidy/2025/index.html").read_text(encoding="utf-8")
    content = _fragments(site / "pagefind")["/sheets/smartphone-subsidy/2025/"]["content"].replace("\u200b", "")
    # Each excluded class is still made by the templates or the HTML code (a renamed class would
    # silently be indexed again: the year links appear only with several years, so not here) ...
    sources = "".join(f.read_text(encoding="utf-8") for f in [*(ROOT / "templates").rglob("*.html"),
                                                              *(ROOT / "hyoka").glob("*.py")])
    for selector in search.EXCLUDE_SELECTORS:
        assert re.search(rf'class="([^"]* )?{selector.split()[0][1:]}[ "]', sources), selector
    for text in ("実績（縦棒）", "評価対象"):  # a chart legend, a number table's row
        assert text in html, text
    # ... and not in the index; the number tables' captions (indicator names in a sentence) are.
    assert "実績（縦棒）" not in content and "評価対象" not in content
    assert "成果指標「補助金交付件数」の目標と実績" in content


def test_the_build_indexes_copies_without_the_excluded_parts_into_the_same_index(site: Path, tmp_path: Path) -> None:
    """The build gives Pagefind each page's index_copy: the pages it records are the very same as
    when it reads the pages themselves (and the copies are not published)."""
    assert not (site / pipeline.INDEX_COPIES).exists()
    whole = tmp_path / "site"
    shutil.copytree(site, whole, ignore=shutil.ignore_patterns(search.BUNDLE_DIR))
    stats = search.index_site(whole)
    assert stats.pages == len(SHEETS)
    built, direct = _fragments(site / "pagefind"), _fragments(whole / "pagefind")
    assert built.keys() == direct.keys() and len(built) == len(SHEETS)
    for url in built:
        assert built[url] == direct[url], url
    page = (site / "sheets/smartphone-subsidy/2025/index.html").read_text(encoding="utf-8")
    copy = search.index_copy(page)
    assert len(copy) < len(page) / 2
    assert "<svg" not in copy and 'class="hy-year-nav' not in copy and "実績（縦棒）" not in copy
    assert "成果指標「補助金交付件数」の目標と実績" in copy  # a number table's caption stays


def test_index_copy_cuts_only_what_pagefind_excludes() -> None:
    page = ('<main data-pagefind-body><p>a &lt;/figure&gt;</p>'
            '<figure class="hy-chart hy-chart--cost"><figcaption>x</figcaption><svg></svg></figure>'
            '<figure class="hy-chartless"><p>kept</p></figure>'
            '<nav class="hy-year-nav" aria-label="y"><a href="#">2024</a></nav>'
            '<table class="hy-table hy-table--numeric"><caption>c</caption><thead><tr><th>h</th></tr></thead>'
            '<tbody><tr><td>1</td></tr></tbody></table>'
            '<table class="hy-table"><thead><tr><th>kept</th></tr></thead></table>'
            '<figure class="hy-chart">unclosed')
    assert search.index_copy(page) == (
        '<main data-pagefind-body><p>a &lt;/figure&gt;</p>'
        '<figure class="hy-chartless"><p>kept</p></figure>'
        '<table class="hy-table hy-table--numeric"><caption>c</caption></table>'
        '<table class="hy-table"><thead><tr><th>kept</th></tr></thead></table>'
        '<figure class="hy-chart">unclosed')
    assert search.index_copy("<p>nothing to cut</p>") == "<p>nothing to cut</p>"


# -- shards ----------------------------------------------------------------------------------


def _page(sort: str | None = "100", marked: bool = True) -> str:
    body = " data-pagefind-body" if marked else ""
    value = f'<span data-pagefind-sort="total">{sort}</span>' if sort is not None else ""
    return (f'<!DOCTYPE html><html lang="ja"><head><title>t</title></head><body><article{body}>'
            f"<h1>補助金</h1>{value}<p>補助金を交付する。</p></article></body></html>")


def _write(folder: Path, pages: dict[str, str]) -> None:
    for rel, text in pages.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")


def test_shards_are_years_newest_first_split_into_parts(tmp_path: Path) -> None:
    _write(tmp_path, {**{f"sheets/p{i}/2025/index.html": _page(str(10 * i)) for i in range(5)},
                      "sheets/p0/2024/index.html": _page("7"),
                      "sheets/p1/2024/index.html": _page(None),
                      "sheets/p0/index.html": _page(marked=False),  # a program page: not indexed
                      "years/2025/index.html": _page(marked=False),
                      "about/index.html": _page("1,5")})
    shards = search.plan_shards(tmp_path, shard_pages=2)
    assert [(s.name, len(s.pages)) for s in shards] == [("2025-1", 1), ("2025-2", 2), ("2025-3", 2),
                                                       ("2024", 2), ("pages", 1)]
    assert shards[1].pages == ("sheets/p1/2025/index.html", "sheets/p2/2025/index.html")
    assert shards[1].glob == "sheets/{p1,p2}/2025/index.html"
    assert shards[3].sorts == {"total": ["7"]}
    assert shards[4].glob == "{about/index.html}"
    assert search.plan_shards(tmp_path, shard_pages=5)[0].name == "2025"


def test_sharded_index_merges_every_page_and_orders_sort_values(tmp_path: Path) -> None:
    _write(tmp_path, {**{f"sheets/p{i}/2025/index.html": _page(str(i * 7 % 5)) for i in range(5)},
                      "sheets/p0/2024/index.html": _page("2.5")})
    stats = search.index_site(tmp_path, shard_pages=2, workers=2)
    assert (stats.pages, stats.shards) == (6, 4)
    bundle = tmp_path / "pagefind"
    layout = json.loads((bundle / search.SHARDS_FILE).read_text(encoding="utf-8"))
    assert [s["name"] for s in layout["shards"]] == ["2025-1", "2025-2", "2025-3", "2024"]
    # Only the first shard keeps the runtime; the others are merged into it in the browser.
    assert (bundle / "2025-1/pagefind.js").is_file()
    for name in ("2025-2", "2025-3", "2024"):
        assert not (bundle / name / "pagefind.js").exists() and (bundle / name / "pagefind-entry.json").is_file()
        assert not list((bundle / name).glob("wasm.*"))
    sorts = json.loads((bundle / search.SORTS_FILE).read_text(encoding="utf-8"))
    assert sorts == {"total": {"2025-1": [0], "2025-2": [2, 4], "2025-3": [1, 3], "2024": [2.5]}}
    assert len(_fragments(bundle)) == 6


# -- the index stage -------------------------------------------------------------------------


def test_index_site_reports_pages_and_size(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<!DOCTYPE html><html lang="ja"><head><title>t</title></head>'
                                     "<body><main data-pagefind-body><h1>補助金</h1><p>補助金を交付する。"
                                     "</p></main></body></html>", encoding="utf-8")
    (tmp_path / "pagefind" / "old").mkdir(parents=True)  # an earlier run's shard is not kept
    stats = search.index_site(tmp_path)
    assert stats.pages == 1 and stats.shards == 1 and stats.bundle_bytes > 0 and stats.seconds >= 0
    assert (tmp_path / "pagefind" / "pages" / "pagefind.js").is_file()
    assert not (tmp_path / "pagefind" / "old").exists()


# A stand-in for the Pagefind binary in service mode: answers every request like Pagefind, with
# `words` words for any page, or prints `say` and exits with `code` at the `fail_at`-th request.
_FAKE_SERVICE = """\
import base64, json, sys
words, fail_at, say, code = {words!r}, {fail_at!r}, {say!r}, {code!r}
buf, n = b"", 0
while True:
    chunk = sys.stdin.buffer.read1(65536)
    if not chunk:
        sys.exit(0)
    buf += chunk
    while b"," in buf:
        raw, buf = buf.split(b",", 1)
        n += 1
        if n == fail_at:
            print(say, flush=True)
            sys.exit(code)
        message = json.loads(base64.b64decode(raw))
        kind = message["payload"]["type"]
        payload = {{"NewIndex": {{"type": "NewIndex", "index_id": 0}},
                    "AddFile": {{"type": "IndexedFile", "page_word_count": words, "page_url": "/", "page_meta": {{}}}},
                    "AddDir": {{"type": "IndexedDir", "page_count": 1}}}}.get(kind, {{"type": kind}})
        out = json.dumps({{"message_id": message["message_id"], "payload": payload}}).encode()
        sys.stdout.buffer.write(base64.b64encode(out) + b",")
        sys.stdout.buffer.flush()
"""


def _fake_binary(tmp_path: Path, *, words: int = 5, fail_at: int = 0, say: str = "", code: int = 0) -> Path:
    exe = tmp_path / "fake-pagefind"
    exe.write_text(f"#!{sys.executable}\n" + _FAKE_SERVICE.format(words=words, fail_at=fail_at, say=say, code=code),
                   encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_missing_extended_package_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pagefind_bin_extended", None)  # import fails
    with pytest.raises(BuildError) as exc:
        search.pagefind_executable()
    assert "拡張版" in exc.value.message and "--no-search" in (exc.value.hint or "")


def test_plain_pagefind_binary_is_refused(tmp_path: Path) -> None:
    """The plain build gives 「補助金を交付する」 as one word: refused before any page is indexed."""
    site = tmp_path / "site"
    _write(site, {"sheets/p/2025/index.html": _page()})
    with pytest.raises(BuildError) as exc:
        search.index_site(site, _fake_binary(tmp_path, words=1))
    assert "拡張版（extended）が見つかりません" in exc.value.message
    assert not (site / "pagefind").exists()


def test_pagefind_failure_is_reported(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _write(site, {"sheets/p/2025/index.html": _page(), "sheets/p/2024/index.html": _page()})
    failing = _fake_binary(tmp_path, fail_at=5, say="Error: disk full", code=3)  # at its first shard
    with pytest.raises(BuildError) as exc:
        search.index_site(site, failing)
    assert "終了コード 3" in exc.value.message and "disk full" in exc.value.message
    assert not (site / "pagefind").exists()


def test_binary_that_cannot_run_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-pagefind"
    with pytest.raises(BuildError) as exc:
        search.index_site(tmp_path, missing)
    assert "Pagefind を実行できません" in exc.value.message


def test_build_without_extended_binary_fails_before_writing(project, monkeypatch, capsys) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    monkeypatch.chdir(config.root)
    assert main(["--config", str(config.root / "site_config.yaml"), "build"]) == 0
    before = tree_digest(config.output_dir)
    monkeypatch.setitem(sys.modules, "pagefind_bin_extended", None)
    assert main(["--config", str(config.root / "site_config.yaml"), "build"]) == 1
    err = capsys.readouterr().err
    assert "エラー: 検索の索引を作れません: Pagefind の拡張版（extended）が見つかりません" in err
    assert tree_digest(config.output_dir) == before
    assert leftovers(config) == []


def test_failure_while_indexing_leaves_previous_site_untouched(project, monkeypatch) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    run(config)
    before = tree_digest(config.output_dir)
    assert "pagefind/2025/pagefind.js" in before and "pagefind/shards.json" in before
    (config.content_dir / "2025" / "good-sheet.md").write_text(
        GOOD.replace("title: スマートフォン", "title: 変更後"), encoding="utf-8")
    seen: list[Path] = []

    def broken(folder: Path, exe: Path | None = None, **_: object) -> search.IndexStats:
        seen.append(folder)
        assert (folder / "sheets/good-sheet/2025/index.html").is_file()  # runs on the complete temp folder
        raise BuildError("検索の索引を作れません: テスト")

    monkeypatch.setattr("hyoka.pipeline.index_site", broken)
    with pytest.raises(BuildError):
        run(config)
    assert seen and seen[0] != config.output_dir
    assert tree_digest(config.output_dir) == before
    assert leftovers(config) == []


def test_no_search_option_skips_the_index(project, monkeypatch) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    monkeypatch.setitem(sys.modules, "pagefind_bin_extended", None)  # not even needed
    assert main(["--config", str(config.root / "site_config.yaml"), "-q", "build", "--no-search"]) == 0
    assert (config.output_dir / "search/index.html").is_file()
    assert not (config.output_dir / "pagefind").exists()
