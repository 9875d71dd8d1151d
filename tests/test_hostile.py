"""Bad and hostile input: clear messages, inert pages, nothing lost, a clear error when the disk fails.

The bad-sheet corpus itself is tests/fixtures/invalid/ (tests/test_invalid_corpus.py); this file
checks what a corpus file cannot: the decisions of hyoka/load.py (YAML 1.2 booleans, dates as text,
no aliases), limits that need big inputs, the XSS corpus in the built HTML, URL segments made from
names, the Content-Security-Policy, and disk failures. Kills and concurrency: tests/test_kill.py.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from hyoka.cli import main
from hyoka.load import MAX_FILE_BYTES, load_source, parse_yaml
from hyoka.markdown import render_markdown
from hyoka.pipeline import run
from hyoka.problems import BuildError, ProblemsFound
from hyoka.render import Page
from hyoka.serve import Preview
from hyoka.write import write_site

from .htmlsafety import CSP, unsafe
from .htmltext import PageText
from .test_build import GOOD, leftovers, tree_digest
from .test_invalid_corpus import CASES
from .xss_site import PAYLOADS, make_xss_project, sheet_data, strings_of

SHEET = "content/2025/good-sheet.md"


def _page(config, sheet_id: str = "good-sheet") -> str:
    return (config.output_dir / f"sheets/{sheet_id}/2025/index.html").read_text(encoding="utf-8")


def _with(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# -- every corpus case through the command line: exit 1 (0 for warnings only), never a traceback --

@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_cli_never_raises_on_the_corpus(case: Path, project, capsys, monkeypatch) -> None:
    files = ({f"content/2025/{p.name}": p.read_bytes() for p in case.iterdir()} if case.is_dir()
             else {f"content/2025/{case.name}": case.read_bytes()})
    config = project(files)
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    code = main(["check"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "予期しないエラー" not in err, err
    expected = (case.with_suffix(".expected") if case.is_file() else case.parent / f"{case.name}.expected")
    only_warnings = all(": 警告: " in line for line in expected.read_text(encoding="utf-8").splitlines()
                        if line.startswith("content/"))
    assert code == (0 if only_warnings else 1), err


# -- YAML: the decisions of hyoka/load.py ----------------------------------------------------------

@pytest.mark.parametrize("word", ["no", "No", "yes", "on", "off", "OFF", "y", "n"])
def test_yaml11_booleans_stay_text(word: str, project) -> None:
    """`implementer: no` is the text "no", shown as written (YAML 1.2, as VS Code reads it)."""
    config = project({SHEET: _with("implementer: 直営", f"implementer: {word}")})
    run(config, search=False)
    assert f"<dd>{word}</dd>" in _page(config)


@pytest.mark.parametrize(("plain", "value"), [
    ("true", True), ("false", False), ("010", 10), ("+5", 5), ("0.20", 0.2), ("1:30", "1:30"),
    ("2024-04-01", "2024-04-01"), ("019", "019"), ("1_000", "1_000"), ("~", None), ("1e3", "1e3"),
])
def test_plain_scalars_follow_yaml_1_2(plain: str, value) -> None:
    data, problems = parse_yaml(f"a: {plain}\n", "x.md", 2)
    assert problems == [] and data["a"] == value and type(data["a"]) is type(value)


def test_dates_in_text_fields_stay_as_written(project) -> None:
    config = project({SHEET: _with("comment: ニーズが低下した可能性あり", "comment: 2024-04-01")})
    run(config, search=False)
    assert "2024-04-01" in PageText(_page(config)).text


def test_alias_bomb_is_refused_fast() -> None:
    """Nine levels of nine aliases would expand to 9⁹ strings; refused before anything is built."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    start = time.perf_counter()
    data, problems = parse_yaml("\n".join(lines), "bomb.md", 2)
    assert time.perf_counter() - start < 1.0
    assert data is None and [p.line for p in problems] == list(range(3, 12))
    assert all(p.message == "別名（*名前）は使えません" for p in problems)


def test_alias_refused_in_site_config(project) -> None:
    config = project({SHEET: GOOD})
    text = (config.root / "site_config.yaml").read_text(encoding="utf-8")
    (config.root / "site_config.yaml").write_text(text + "\nextra: &x [1]\nmore: *x\n", encoding="utf-8")
    from hyoka.config import load_config
    with pytest.raises(ProblemsFound) as exc:
        load_config(config.root)
    assert "別名（*名前）は使えません" in exc.value.problems[0].message


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_bytes(GOOD.encode("utf-8") + b"x" * (MAX_FILE_BYTES + 10))
    src, problems = load_source(path, "content/2025/huge.md")
    assert src is None
    assert [p.format() for p in problems] == [
        f"content/2025/huge.md: ファイルが大きすぎます（{path.stat().st_size:,}バイト。上限は 1,000,000バイト）\n"
        "  ヒント: 1つのシートは普通 10 KB ほどです。表計算のデータや画像を貼り付けていないか、"
        "同じ内容を何度も貼っていないか確かめてください。"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_pipe_named_md_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    src, problems = load_source(tmp_path / "pipe.md", "content/2025/pipe.md")
    assert src is None and problems[0].message == "通常のファイルではありません"


def test_long_body_within_the_file_limit_builds(project) -> None:
    line = "利用者のニーズを踏まえ、翌年度以降の事業継続を検討する。"
    config = project({SHEET: GOOD + "\n" + "\n\n".join([line] * 5000) + "\n"})
    run(config, search=False)
    assert _page(config).count(line) >= 5000


def test_numbers_that_would_break_charts_are_refused(project) -> None:
    text = _with("2024: {target: 3, actual: 2}", "2024: {target: 1.0e+300, actual: 2}")
    config = project({SHEET: text})
    with pytest.raises(ProblemsFound) as exc:
        run(config, search=False)
    assert exc.value.problems[0].message == "数値が大きすぎます: 1e+300"


# -- config URLs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 " https://example.jp/", "//evil.example/", "example.jp"])
def test_config_urls_must_be_web_addresses(url: str, project) -> None:
    config = project({SHEET: GOOD})
    path = config.root / "site_config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  url: null", f"  url: {json.dumps(url)}"),
                    encoding="utf-8")
    from hyoka.config import load_config
    with pytest.raises(ProblemsFound) as exc:
        load_config(config.root)
    assert "http:// または https:// で始まる URL ではありません" in exc.value.problems[0].message


# -- names that become URL segments ------------------------------------------------------------------

def test_names_never_escape_or_collide(project) -> None:
    """Path traversal, names that slug alike, and names differing only in case or width."""
    divisions = ["../../etc", "..", "A/B課", "AB課", "A|B課", "DX課", "dx課", "ＤＸ課", "con", "a" * 100]
    files = {}
    for i, division in enumerate(divisions):
        text = _with("id: good-sheet ", f"id: s{i} ")
        text = _with("division: DX推進課", f"division: {json.dumps(division)}", text)
        files[f"content/2025/s{i}.md"] = text
    config = project(files)
    run(config, search=False)
    out = config.output_dir
    assert sorted(p.name for p in config.root.iterdir()) == [".hyoka-cache", "_site", "assets", "content",
                                                              "site_config.yaml", "templates"]
    pages = [p.relative_to(out).as_posix() for p in out.rglob("index.html")]
    assert len({p.casefold() for p in pages}) == len(pages)
    division_pages = [p for p in pages if p.startswith("divisions/") and p.count("/") == 3]
    # ＤＸ課 is DX課 written in full width: one 課 (group_key folds width), the other nine apart.
    assert len(division_pages) == len(divisions) - 1
    listed = "".join((out / p).read_text(encoding="utf-8") for p in division_pages)
    for i in range(len(divisions)):
        assert f"sheets/s{i}/" in listed


def test_write_refuses_paths_outside_the_output(tmp_path: Path) -> None:
    for bad in ("../escape.html", "/etc/passwd", "a/../../b.html", ""):
        with pytest.raises(BuildError):
            write_site([Page(bad, "x")], tmp_path / "none", tmp_path / "_site")
    assert not (tmp_path / "escape.html").exists()
    with pytest.raises(BuildError) as exc:
        write_site([Page("a/DX/index.html", "1"), Page("a/dx/index.html", "2")], tmp_path / "none",
                   tmp_path / "_site")
    assert "2つのページが同じ場所に書き出されます" in exc.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- hostile content: the XSS corpus in the built HTML ------------------------------------------------

@pytest.fixture(scope="module")
def xss_site(tmp_path_factory):
    config = make_xss_project(tmp_path_factory.mktemp("xss"))
    run(config, search=False)
    return config


def test_xss_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 25


def test_xss_pages_are_inert(xss_site) -> None:
    """No page has an element or attribute that no template writes, an on* attribute, a script
    other than the search script, a javascript:/data: URL or unbalanced tags."""
    out = xss_site.output_dir
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 4 * len(PAYLOADS)
    problems = {p.relative_to(out).as_posix(): unsafe(p.read_text(encoding="utf-8")) for p in pages}
    assert {k: v for k, v in problems.items() if v} == {}


def test_xss_payloads_are_shown_as_text(xss_site) -> None:
    """Nothing lost: every payload, in every field, is on its sheet's page as the text it is."""
    for i, payload in enumerate(PAYLOADS):
        data = sheet_data(i, payload)
        text = PageText(_page(xss_site, f"xss-{i:02d}")).text
        for value in strings_of({k: v for k, v in data.items() if k != "id"}):
            if value not in ("activity", "outcome"):
                assert re.sub(r"\s+", " ", value).strip() in text, (i, value)
        assert re.sub(r"\s+", " ", payload).strip() in text  # the body's paragraph, escaped
    assert "49" not in PAYLOADS[PAYLOADS.index("{{ 7*7 }}{% raw %}{{ config }}")]


def test_xss_feeds_and_data_stay_well_formed(xss_site) -> None:
    out = xss_site.output_dir
    for name in ("feed.xml", "sitemap.xml"):
        if (out / name).exists():
            ET.parse(out / name)  # the payloads are escaped, not markup
    sheets = json.loads((out / "data/sheets.json").read_text(encoding="utf-8"))
    titles = {s["title"] for s in (sheets["sheets"] if isinstance(sheets, dict) else sheets)}
    assert titles >= {p[:200] for p in PAYLOADS}


def test_markdown_refuses_images_and_dangerous_links() -> None:
    html = render_markdown("![x](https://evil.example/p.png) [a](data:image/png;base64,AAAA) "
                           "[b](JaVaScRiPt:alert(1)) [c](vbscript:x) <javascript:alert(1)> [ok](https://example.jp/)")
    assert "<img" not in html and "href=\"data:" not in html and "href=\"javascript:" not in html.lower()
    assert "href=\"vbscript:" not in html and html.count("<a ") == 2  # the image's URL as a link, and ok
    assert 'href="https://example.jp/"' in html
    assert unsafe(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">{html}') == []


def test_markdown_table_alignment_is_a_class() -> None:
    html = render_markdown("| a | b |\n|:-:|--:|\n| 1 | 2 |\n")
    assert 'class="hy-align-center"' in html and 'class="hy-align-right"' in html
    assert "style=" not in html


# -- Content-Security-Policy --------------------------------------------------------------------------

def test_every_page_has_the_csp_and_nothing_it_forbids(project) -> None:
    config = project({SHEET: GOOD})
    run(config, search=False)
    for path in config.output_dir.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html, path
        assert html.index("Content-Security-Policy") < html.index("<link"), path  # before any resource
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\sstyle=|<style", html), path


def test_preview_drops_the_csp_for_livereload(project) -> None:
    """`python build.py serve` injects livereload's inline script: the preview pages go without the
    CSP (only there: the built files keep it)."""
    config = project({SHEET: GOOD})
    preview = Preview(config.root, log=lambda _: None)
    preview.rebuild()
    status: list[str] = []
    body = b"".join(preview({"PATH_INFO": "/sheets/good-sheet/2025/"}, lambda s, h: status.append(s)))
    assert status == ["200 OK"]
    assert b"Content-Security-Policy" not in body and b"<meta charset" in body
    assert b"Content-Security-Policy" in preview.pages["sheets/good-sheet/2025/index.html"]


# -- a read-only or full disk: a clear error, the previous output untouched ----------------------------

@pytest.mark.parametrize(("code", "words", "where"), [
    (errno.EROFS, "読み取り専用のディスクです", "mkdtemp"), (errno.EROFS, "読み取り専用のディスクです", "rename"),
    (errno.EACCES, "書き込みの権限がありません", "rename"), (errno.ENOSPC, "ディスクの空きがありません", "rename"),
    (errno.EDQUOT, "クォータ", "mkdtemp"),
])
def test_disk_errors_are_clear_and_harmless(code: int, words: str, where: str, project, monkeypatch,
                                            capsys) -> None:
    config = project({SHEET: GOOD})
    run(config, search=False, jobs=1)
    before = tree_digest(config.output_dir)
    (config.content_dir / "2025/good-sheet.md").write_text(_with("title: スマートフォン", "title: 変更後"),
                                                           encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(args[0]) if args else None)

    monkeypatch.setattr(f"hyoka.write.{'tempfile.mkdtemp' if where == 'mkdtemp' else 'os.rename'}", fail)
    monkeypatch.setattr("hyoka.write._exchange", lambda a, b: False)  # reach os.rename
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    # One process: the build makes an empty temp folder (else another process makes it one of
    # links to the published files to update: pipeline._mirrored).
    assert main(["build", "--no-search", "-j", "1"]) == 1
    err = capsys.readouterr().err
    # The progress lines of the stages that ran come first; then one error line and its hint.
    errors = [line for line in err.splitlines() if line.startswith("エラー: ")]
    assert len(errors) == 1 and words in errors[0] and "ヒント: " in err and "Traceback" not in err, err
    assert tree_digest(config.output_dir) == before
    assert leftovers(config) == []


def test_exchange_failure_reports_and_keeps_output(project, monkeypatch) -> None:
    config = project({SHEET: GOOD})
    run(config, search=False)
    before = tree_digest(config.output_dir)

    def fail(a, b):
        raise OSError(errno.EROFS, "Read-only file system", str(b))

    monkeypatch.setattr("hyoka.write._exchange", fail)
    with pytest.raises(BuildError) as exc:
        run(config, search=False)
    assert "読み取り専用のディスクです" in exc.value.message
    assert tree_digest(config.output_dir) == before and leftovers(config) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes through permissions; the monkeypatched tests above cover it")
def test_read_only_output_folder(project, capsys, monkeypatch) -> None:
    config = project({SHEET: GOOD})
    run(config, search=False)
    before = tree_digest(config.output_dir)
    parent = config.output_dir.parent
    parent.chmod(0o555)
    try:
        monkeypatch.setattr("hyoka.cli.ROOT", config.root)
        assert main(["build", "--no-search"]) == 1
        assert "書き込みの権限がありません" in capsys.readouterr().err
    finally:
        parent.chmod(0o755)
    assert tree_digest(config.output_dir) == before


def test_output_symlink_is_replaced_not_followed(project, tmp_path: Path) -> None:
    config = project({SHEET: GOOD})
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("keep", encoding="utf-8")
    out = config.root / "published"
    out.symlink_to(target)
    run(replace(config, output_dir=out), search=False)
    assert (target / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert not out.is_symlink() and (out / "index.html").is_file()
