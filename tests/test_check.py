"""`check`: validation plus the rendered site's internal links; `--format github` annotations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka import linkcheck
from hyoka.cli import main
from hyoka.linkcheck import check_links
from hyoka.problems import Problem
from hyoka.render import Page

from .conftest import ROOT

SHEET = (ROOT / "content/2025/ai-rpa.md").read_text(encoding="utf-8")


def test_github_annotations(project, monkeypatch, capsys) -> None:
    bad = SHEET.replace("total: 5203,", 'total: "5,203",').replace("total: 1804,", "total: 1904,")
    config = project({"content/2025/ai-rpa.md": bad})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["check", "--format", "github"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == [
        "::warning file=content/2025/ai-rpa.md,line=36,title=costs.2023.total（事業費・令和5年度・総事業費）::"
        "総事業費 1,904 ≠ 事業経費 0 + 概算人件費 1,804（= 1,804）%0Aヒント: 値を確かめてください（自動では直しません）。",
        "::error file=content/2025/ai-rpa.md,line=37,title=costs.2024.total（事業費・令和6年度・総事業費）::"
        '数値ではありません: "5,203"%0Aヒント: 数値は引用符・カンマ・全角数字なしで書きます（例: 5203）。',
    ]
    assert lines[2] == "エラー 1件、警告 1件。"


def test_github_escaping() -> None:
    p = Problem("a,b:c.md", 3, "k", "和名", "100% of\nlines", severity="warning")
    assert p.format_github() == "::warning file=a%2Cb%3Ac.md,line=3,title=k（和名）::100%25 of%0Alines"


def test_check_strict_and_clean(project, monkeypatch, capsys) -> None:
    config = project({"content/2025/ai-rpa.md": SHEET.replace("total: 1804,", "total: 1904,")})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["check"]) == 0
    assert main(["check", "--strict"]) == 1
    (config.content_dir / "2025/ai-rpa.md").write_text(SHEET, encoding="utf-8")
    assert main(["check", "--strict"]) == 0
    assert "1件のシートを検査しました。問題はありません。" in capsys.readouterr().out


def test_link_check_finds_missing_pages_and_fragments(tmp_path) -> None:
    pages = [
        Page("index.html", '<a href="sheets/x/">x</a>\n<a href="sheets/y/">y</a>\n'
                           '<a href="sheets/x/#top">t</a>\n<a href="#here">h</a><p id="here"></p>'
                           '<a href="https://example.jp/">e</a><img src="assets/css/site.css">'),
        Page("sheets/x/index.html", '<a href="../../">home</a><a href="../../#nowhere">n</a>'),
    ]
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("")
    problems = check_links(pages, tmp_path)
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("_site/index.html", 2, "リンク先がありません: sheets/y/"),
        ("_site/index.html", 3, "ページ内の位置（#top）がありません: sheets/x/#top"),
        ("_site/sheets/x/index.html", 1, "ページ内の位置（#nowhere）がありません: ../../#nowhere"),
    ]


def test_link_check_of_the_real_site_is_clean(config) -> None:
    from hyoka.collect import collect
    from hyoka.pipeline import load_and_validate
    from hyoka.render import render_site
    sheets, _ = load_and_validate(config)
    pages = render_site(collect(sheets, config), ROOT / "templates")
    assert check_links(pages, ROOT / "assets") == []


def test_check_named_files_only(project, monkeypatch, capsys) -> None:
    other = (ROOT / "content/2025/website.md").read_text(encoding="utf-8")
    config = project({"content/2025/ai-rpa.md": SHEET, "content/2025/website.md": other.replace("total: 2969,", "total: x,")})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    # website.md is broken, but only ai-rpa.md is named (a commit that changes only it).
    assert main(["check", str(config.content_dir / "2025/ai-rpa.md")]) == 0
    assert main(["check", str(config.content_dir / "2025/website.md")]) == 1
    # A named new file whose id is already taken in the same year.
    clash = config.content_dir / "2025/copy.md"
    clash.write_text(SHEET, encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(clash)]) == 1
    assert "id「ai-rpa」は令和7年度の content/2025/ai-rpa.md でも使われています" in capsys.readouterr().err


# -- the link scanner against html.parser ---------------------------------------------------------


def _same_links(text: str) -> None:
    fast, parsed = linkcheck._Links(text), linkcheck._ParsedLinks(text)  # html.parser's reading
    assert (fast.links, fast.ids) == (parsed.links, parsed.ids)


def test_link_scanner_reads_the_real_and_hostile_sites_as_html_parser(config, tmp_path) -> None:
    from hyoka.collect import collect
    from hyoka.pipeline import load_and_validate
    from hyoka.render import render_site

    from .xss_site import make_xss_project
    xss = make_xss_project(tmp_path)
    for site_config in (config, xss):
        sheets, _ = load_and_validate(site_config)
        pages = [p for p in render_site(collect(sheets, site_config), site_config.root / "templates")
                 if p.path.endswith(".html")]
        assert len(pages) > 20
        for page in pages:
            _same_links(page.text)
        assert any(linkcheck._Links(p.text).links for p in pages)


_tags = st.sampled_from(["a", "A", "img", "form", "svg", "p", "text", "script", "style", "SCRIPT", "b"])
_names = st.sampled_from(["href", "HREF", "src", "id", "Id", "action", "class", "title", "data-href", "xhref",
                          "aria-labelledby"])
_values = st.sampled_from(["x", "sheets/a/", "#top", "a b", "a&amp;b", "&#34;q&#34;", "&lt;i&gt;", "", "a>b",
                           "&", "id=1", "href='x'", "日本語", "a\nb", "a<b", "x<y>"])
_quotes = st.sampled_from(['"', "'", ""])


@st.composite
def _attribute(draw) -> str:
    name, value, quote = draw(_names), draw(_values), draw(_quotes)
    if quote == "":  # (an unquoted value ending in "/" before ">", as in <a href=x/>, is read two ways)
        value = "".join(c for c in value if c not in " \n>'\"=&/") or "v"
    elif quote in value:
        value = value.replace(quote, "")
    if draw(st.booleans()) and draw(st.booleans()):
        return name  # no value
    return f"{name}{draw(st.sampled_from(['=', ' = ', '=']))}{quote}{value}{quote}"


@st.composite
def _piece(draw) -> str:
    kind = draw(st.integers(0, 7))
    if kind <= 2:
        attrs = draw(st.lists(_attribute(), max_size=4))
        close = draw(st.sampled_from([">", "/>", " >", ">"]))
        if attrs and close == "/>" and attrs[-1][-1] not in "\"'":
            close = " />"  # see _attribute
        return f"<{draw(_tags)}{''.join(' ' + a for a in attrs)}{close}"
    if kind == 3:
        return f"</{draw(_tags)}>"
    if kind == 4:
        return draw(st.sampled_from(["<!-- ", " -->", "<!-- <a href=\"c\"> -->", "<!DOCTYPE html>"]))
    return draw(st.sampled_from(["text", " href=\"t\" ", "id=x", "\n", "\n\n", "a < b", "&amp;", "日本"]))


@settings(max_examples=2000, deadline=None)
@given(text=st.lists(_piece(), max_size=25).map("".join))
def test_link_scanner_reads_markup_as_html_parser(text) -> None:
    _same_links(text)


@pytest.mark.parametrize("workers", [1, 2])
def test_site_links_are_those_of_the_rendered_pages(config, tmp_path, workers: int) -> None:
    """`check` finds each page's links where it renders it (linkcheck.site_links) instead of keeping
    every page: the same links, ids and files as render_site's pages, so the same problems."""
    from hyoka.collect import collect
    from hyoka.pipeline import load_and_validate
    from hyoka.render import render_site

    from .xss_site import make_xss_project
    for site_config in (config, make_xss_project(tmp_path)):
        sheets, _ = load_and_validate(site_config)
        site = collect(sheets, site_config)
        templates = site_config.root / "templates"
        pages = render_site(site, templates)
        found, files = linkcheck.site_links(site, templates, workers=workers)
        assert files == {p.path for p in pages}
        html = {p.path: linkcheck._Links(p.text) for p in pages if p.path.endswith(".html") and p.path != "404.html"}
        assert {k: (v.links, v.ids) for k, v in found.items()} == {k: (v.links, v.ids) for k, v in html.items()}
        assets = site_config.root / "assets"
        assert linkcheck.check_found(found, files, assets) == check_links(pages, assets)


def test_check_reports_a_broken_link_in_a_body(project, monkeypatch, capsys) -> None:
    body_link = SHEET.rstrip("\n") + "\n\n[前の計画](../../nothing-here/) と [概要](#no-such-part)\n"
    config = project({"content/2025/ai-rpa.md": body_link})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "_site/sheets/ai-rpa/2025/index.html" in err
    assert "リンク先がありません: ../../nothing-here/" in err
    assert "ページ内の位置（#no-such-part）がありません: #no-such-part" in err
