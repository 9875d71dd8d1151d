"""`check`: validation plus the rendered site's internal links; `--format github` annotations."""

from __future__ import annotations

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
