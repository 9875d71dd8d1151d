"""Indexes (課, 総合計画, SDGs, 方針, 年度), the year summary, and program history."""

from __future__ import annotations

from dataclasses import replace

import yaml

from hyoka.collect import collect, group_key, slug_segment, summarize
from hyoka.history import changes
from hyoka.pipeline import load_and_validate

from .conftest import FIXTURES, ROOT, make_project


def real_site(config):
    sheets, _ = load_and_validate(config)
    return collect(sheets, config)


def fixture_site(tmp_path):
    site_dir = FIXTURES / "site"
    files = {p.relative_to(site_dir).as_posix(): p.read_bytes() for p in (site_dir / "content").rglob("*.md")}
    config = make_project(tmp_path, files, config_file=site_dir / "site_config.yaml")
    return real_site(config)


def test_slug_segment_keeps_japanese_and_drops_url_hostile_characters() -> None:
    assert slug_segment("DX推進課") == "DX推進課"
    assert slug_segment(" a/b?c#d ") == "abcd"
    assert slug_segment("情報 管理係") == "情報-管理係"
    assert group_key("6. 市民協働") == group_key("6.市民協働") == group_key("６．市民協働")


def test_plan_groups_merge_spelling_variants(config) -> None:
    site = real_site(config)
    assert [g.name for g in site.plan] == ["6.市民協働、行財政運営"]
    fields = [(f.name, f.url, f.count) for f in site.plan[0].children[0].children]
    assert fields == [("2.情報化", "plan/6/2/2/", 10), ("3.行財政改革", "plan/6/2/3/", 1),
                      ("6.行政経営", "plan/6/2/6/", 1)]


def test_other_indexes(config) -> None:
    site = real_site(config)
    assert [(g.name, g.url, g.count) for g in site.sdgs] == [
        ("ゴール8", "sdgs/8/", 1), ("ゴール9", "sdgs/9/", 11), ("ゴール11", "sdgs/11/", 6), ("ゴール12", "sdgs/12/", 3)]
    # Order of the city's choice list; a blank 方針 gets its own group rather than vanishing.
    assert [(g.name, g.count) for g in site.directions] == [("継続", 10), ("完了・達成", 1), ("未記入", 1)]
    assert [(b.name, [(d.name, d.url) for d in b.children]) for b in site.divisions] == [
        ("市長公室", [("DX推進課", "divisions/市長公室/DX推進課/")])]
    assert site.years == (2025,) and site.by_year[0].url == "years/2025/"
    assert all(site.division_of(s).name == "DX推進課" for s in site.sheets)


def test_year_summary_matches_the_content(config) -> None:
    site = real_site(config)
    summary = summarize(site, 2025)
    expected_total = 0
    expected_staff = 0.0
    for path in sorted((ROOT / "content" / "2025").glob("*.md")):
        data = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
        cost = (data.get("costs") or {}).get(data["results_year"]) or {}
        expected_total += cost.get("total") or 0
        expected_staff += (cost.get("staff_regular") or 0) + (cost.get("staff_nonregular") or 0)
    assert summary.total == expected_total == 136749
    assert summary.staff == round(expected_staff, 2)
    assert [(g.name, n) for g, n in summary.directions] == [("継続", 10), ("完了・達成", 1), ("未記入", 1)]
    assert [(d.label, d.count, d.total) for d in summary.divisions] == [("市長公室 DX推進課", 12, 136749)]


def test_program_history(tmp_path) -> None:
    site = fixture_site(tmp_path)
    program = site.programs["smartphone-subsidy"]
    assert [s.evaluation_year for s in program.sheets] == [2024, 2025]
    old, new = program.sheets
    assert program.previous(new) is old and program.previous(old) is None
    assert [(c.subject, c.before, c.after) for c in changes(old, new)] == [
        ("事業の方針", "拡充", "継続"),
        ("令和6年度の総事業費", "3,640千円（予算）", "2,281千円（決算）"),
        ("令和7年度の総事業費", "3,640千円（予定）", "2,140千円（予算）"),
        ("令和8年度の総事業費", "3,640千円（予定）", "2,140千円（予定）"),
        ("成果指標「補助金交付件数」の令和6年度の目標", "80件", "50件"),
    ]
    assert changes(new, new) == []


def test_indicator_added_and_removed(tmp_path) -> None:
    site = fixture_site(tmp_path)
    old, new = site.programs["smartphone-subsidy"].sheets
    renamed = replace(new, indicators=(replace(new.indicators[0], name="広報件数"), new.indicators[1]))
    found = [(c.subject, c.before, c.after) for c in changes(old, renamed) if "広報" in c.subject]
    assert found == [("活動指標「広報件数」", "なし", "新たに設定"), ("活動指標「広報回数」", "設定あり", "廃止")]


def test_the_plan_page_counts_the_sheets_without_a_field(config) -> None:
    """Site.unplanned: the sheets whose 総合計画 has no 分野, in site order; the plan page says how
    many (what `site.sheets | rejectattr("plan.field")` gave in the template before)."""
    from hyoka.render import render_site

    sheets, _ = load_and_validate(config)
    first = sheets[0]
    changed = [replace(first, plan=replace(first.plan, field=None)), *sheets[1:]]
    site = collect(changed, config)
    assert site.unplanned == tuple(s for s in site.sheets if not s.plan.field) and len(site.unplanned) == 1
    pages = {p.path: p.text for p in render_site(site, ROOT / "templates")}
    assert "総合計画の分野が書かれていない事業が1件あります" in pages["plan/index.html"]
    assert collect(sheets, config).unplanned == ()
    plain = {p.path: p.text for p in render_site(collect(sheets, config), ROOT / "templates")}
    assert "分野が書かれていない" not in plain["plan/index.html"]
