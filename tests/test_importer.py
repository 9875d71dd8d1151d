"""Tests for the sheet-text importer (hyoka.importer) and the content writer (hyoka.dump)."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from hyoka.dump import dump_sheet
from hyoka.importer import (
    ImportedSheet,
    ImportResult,
    cell_to_markdown,
    default_id,
    ids_from_content,
    import_text,
    load_id_map,
    make_id_for,
    write_sheets,
)

ROOT = Path(__file__).resolve().parents[1]
SEED_NAME = "shimotsuma-dx-r7-sheets.txt"
# A copy of ../shared/seeds/ kept in the repository so a fresh clone tests the real input.
SEED_PATH = ROOT / "tests" / "fixtures" / SEED_NAME
SEED_IDS = ROOT / "tests" / "fixtures" / "seed_ids.yaml"
CHOICES: dict[str, Any] = yaml.safe_load((ROOT / "site_config.yaml").read_text(encoding="utf-8"))[
    "choices"
]
ID_MAP = load_id_map(SEED_IDS)
TITLES = list(ID_MAP)


@cache
def seed_text() -> str:
    """The 12-sheet seed text."""
    return SEED_PATH.read_text(encoding="utf-8")


@cache
def seed_result() -> ImportResult:
    return import_text(seed_text(), source_name=SEED_NAME, choices=CHOICES,
                       id_for=make_id_for(ID_MAP))


def sheet(title: str) -> ImportedSheet:
    return next(s for s in seed_result().sheets if s.data["title"] == title)


def run(text: str) -> ImportResult:
    return import_text(text, source_name="test.txt", choices=CHOICES, id_for=default_id)


def front_matter(text: str) -> Any:
    """The YAML between the first two `---` lines of a content file."""
    lines = text.split("\n")
    assert lines[0] == "---"
    end = lines.index("---", 1)
    return yaml.safe_load("\n".join(lines[1:end]))


# -- the 12 seeds ------------------------------------------------------------------------------


def test_all_seed_sheets_import_without_warnings() -> None:
    result = seed_result()
    assert [str(w) for w in result.warnings] == []
    assert [s.data["title"] for s in result.sheets] == TITLES
    assert [s.data["id"] for s in result.sheets] == list(ID_MAP.values())
    for s in result.sheets:
        assert list(s.data) == [
            "id", "evaluation_year", "results_year", "title", "organization", "plan", "sdgs",
            "purpose", "description", "category", "implementer", "beneficiaries", "indicators",
            "budget_account", "costs", "evaluation",
        ]
        assert (s.data["evaluation_year"], s.data["results_year"]) == (2025, 2024)
        assert s.data["organization"]["bureau"] == "市長公室"
        assert s.data["organization"]["division"] == "DX推進課"
        assert s.data["organization"]["section"] in ("DX推進係", "情報管理係")
        assert s.data["budget_account"] == {
            "fund": "一般会計", "kan": "2 総務費", "kou": "1 総務管理費", "moku": "6 情報管理費"}
        assert all(v is not None for v in s.data["plan"].values())
        assert s.data["category"] in CHOICES["category"]
        assert set(s.data["evaluation"]) == set(CHOICES["evaluation"])
        for key, item in s.data["evaluation"].items():
            assert item["rating"] is None or item["rating"] in CHOICES["evaluation"][key]
        assert s.body.startswith("## 現状の課題\n\n")
        assert "## 今後の取組み\n\n" in s.body
    assert [s.source_line for s in result.sheets][:2] == [3, 56]


# Numbers on the sheet that become something other than a number or text:
# - heading lines (`## 令和7年度 事務事業評価シート(令和6年度実績)` → evaluation_year/results_year
#   as 西暦, checked above; `### 1.` `#### (1)` are section numbers with no data);
# - header cells that are whole era labels (令和5年度, R5決算額): they become the year keys,
#   checked by the spot tests below.
# Everything else stays: 総合計画 "6.市民協働" and 予算科目 "2 総務費" are kept verbatim as text,
# SDGs goal numbers become `sdgs` (their names hold no digits), and numbers inside free text
# (65歳, 令和7年11月10日, windows10, 2021-2025) stay inside the strings and the body.
_NUM_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_ERA_CELL_RE = re.compile(r"^(?:令和|平成|R|H)(?:\d+|元)(?:年度)?(?:決算|予算|予定)?額?$")


def _numbers_in_text(text: str) -> Counter[Decimal]:
    return Counter(Decimal(t.replace(",", "")) for t in _NUM_RE.findall(text))


def _source_numbers(lines: list[str]) -> Counter[Decimal]:
    found: Counter[Decimal] = Counter()
    for line in lines:
        if line.lstrip().startswith("#"):
            continue
        for cell in line.split("\t"):
            if not _ERA_CELL_RE.match(cell.strip()):
                found += _numbers_in_text(cell)
    return found


def _data_numbers(value: Any, values: Counter[Decimal], texts: Counter[Decimal]) -> None:
    """Numeric values and numbers inside strings, walking values only (keys are years)."""
    if isinstance(value, dict):
        for v in value.values():
            _data_numbers(v, values, texts)
    elif isinstance(value, list):
        for v in value:
            _data_numbers(v, values, texts)
    elif isinstance(value, str):
        texts.update(_numbers_in_text(value))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        values[Decimal(repr(value))] += 1


@pytest.mark.parametrize("title", TITLES)
def test_no_number_lost(title: str) -> None:
    sheets = seed_result().sheets
    index = [s.data["title"] for s in sheets].index(title)
    lines = seed_text().split("\n")
    end = sheets[index + 1].source_line - 1 if index + 1 < len(sheets) else len(lines)
    source = _source_numbers(lines[sheets[index].source_line - 1:end])
    assert sum(source.values()) > 20  # the section really was found
    data = {k: v for k, v in sheets[index].data.items()
            if k not in ("id", "evaluation_year", "results_year")}
    values: Counter[Decimal] = Counter()
    texts: Counter[Decimal] = Counter()
    _data_numbers(data, values, texts)
    imported = values + texts + _numbers_in_text(sheets[index].body)
    assert source - imported == Counter(), "numbers on the sheet missing from the import"
    # And the other way: no number invented (a blank read as 0 would show up here).
    assert values - source == Counter(), "numbers in the import that are not on the sheet"


def test_smartphone_subsidy_matches_the_documented_example() -> None:
    s = sheet("スマートフォン購入補助事務")
    d = s.data
    assert d["id"] == "smartphone-subsidy"
    assert d["organization"] == {"bureau": "市長公室", "division": "DX推進課", "section": "DX推進係"}
    assert d["plan"] == {"goal": "6.市民協働、行財政運営", "basic": "2.広域連携、行財政運営",
                         "field": "2.情報化"}
    assert d["sdgs"] == [9, 11, 12]
    assert d["purpose"] == "デジタルデバイドの解消及びマイナンバーカードの普及促進を図る。"
    assert d["category"] == "自治事務(任意)"
    assert (d["implementer"], d["beneficiaries"]) == ("直営", "市民")
    activity = d["indicators"][0]
    assert activity == {
        "kind": "activity", "name": "広報回数", "description": "広報誌やホームページ等で広報した回数",
        "unit": "回", "lower_is_better": False,
        # The docs example shows 2025 actual as null; the seed sheet has 2 in the 令和7年度 column.
        "values": {2023: {"target": 3, "actual": 3}, 2024: {"target": 3, "actual": 2},
                   2025: {"target": 3, "actual": 2}},
    }
    assert d["indicators"][1]["kind"] == "outcome"
    assert d["costs"][2023] == {"kind": "決算", "total": 3552, "operating": 1912,
                                "specific_revenue": 0, "staff_regular": 0.2,
                                "staff_nonregular": None, "personnel": 1640}
    assert d["costs"][2024]["total"] == 2281
    assert d["costs"][2025] == {"kind": "予算", "total": 2140, "operating": 500,
                                "specific_revenue": 0, "staff_regular": 0.2,
                                "staff_nonregular": None, "personnel": 1640}
    assert [(y, c["kind"]) for y, c in d["costs"].items()] == [
        (2023, "決算"), (2024, "決算"), (2025, "予算"), (2026, "予定"), (2027, "予定")]
    assert d["evaluation"] == {
        "need": {"rating": "一定程度見込まれる", "comment": "行政手続きのオンライン化にはスマホが必須"},
        "target_fit": {"rating": "改善の余地あり", "comment": "65歳以上に限定しており、対象者が特定されている"},
        "actor_fit": {"rating": "市が推進すべき", "comment": "他にスマホ購入に対する補助制度は見当たらない"},
        "indicator_result": {"rating": "達成できなかった", "comment": "ニーズが低下した可能性あり"},
        "cost_reduction": {"rating": "削減の余地あり", "comment": "所期の目的を達成した場合は削減の余地あり"},
        "cost_effectiveness": {"rating": "効果あり", "comment": None},
        "means": {"rating": "見直しの余地あり", "comment": None},
        "direction": {"rating": "継続", "comment": None},
    }
    assert s.body.startswith("## 現状の課題\n\n- 補助対象者を65歳以上の高齢者としているため、")
    assert "## 今後の取組み\n\n利用者のニーズを踏まえ、翌年度以降の事業継続を検討する。" in s.body
    text = dump_sheet(d, s.body)
    assert ("  2023: {kind: 決算, total: 3552, operating: 1912, specific_revenue: 0, "
            "staff_regular: 0.20, staff_nonregular: null, personnel: 1640}") in text.split("\n")
    assert "plan: {goal: 6.市民協働、行財政運営, basic: 2.広域連携、行財政運営, field: 2.情報化}" in text
    assert "budget_account: {fund: 一般会計, kan: 2 総務費, kou: 1 総務管理費, moku: 6 情報管理費}" in text


def test_online_procedures_slash_is_missing_and_four_cost_years() -> None:
    d = sheet("行政手続きオンライン化事務").data
    assert d["plan"]["goal"] == "6. 市民協働、行財政運営"  # the space is kept as written
    activity, outcome = d["indicators"]
    assert activity["values"][2025] == {"target": 100, "actual": None}
    assert outcome["values"] == {2023: {"target": 6000, "actual": 6636},
                                 2024: {"target": 10000, "actual": 27753},
                                 2025: {"target": 30000, "actual": None}}
    assert list(d["costs"]) == [2023, 2024, 2025, 2026]
    assert d["costs"][2026] == {"kind": "予定", "total": 10520, "operating": 3140,
                                "specific_revenue": 0, "staff_regular": 0.9,
                                "staff_nonregular": 0.0, "personnel": 7380}
    assert d["evaluation"]["direction"] == {"rating": "継続", "comment": None}


def test_indicator_without_actual_row() -> None:
    for title in ("ICT人材育成事務", "インターネット系接続システム運用維持管理事業"):
        outcome = sheet(title).data["indicators"][1]
        assert outcome["kind"] == "outcome"
        assert [v["actual"] for v in outcome["values"].values()] == [None, None, None]
        assert all(v["target"] is not None for v in outcome["values"].values())
    assert sheet("ICT人材育成事務").data["indicators"][1]["values"][2025]["target"] == 200


def test_my_number_has_no_indicators_and_partial_evaluation() -> None:
    d = sheet("マイナンバー制度関連事務").data
    assert d["indicators"] == []
    assert d["category"] == "自治事務(義務あり)"
    ev = d["evaluation"]
    assert ev["actor_fit"] == {"rating": "市が推進すべき", "comment": "保護責任者自らが安全管理を行うべき"}
    assert ev["need"] == {"rating": None, "comment": None}
    assert ev["means"] == {"rating": "妥当", "comment": "国の研修資材の活用により最適な研修を実施"}
    assert ev["direction"] == {"rating": None, "comment": None}


def test_digital_divide_unit_on_actual_row() -> None:
    d = sheet("デジタルデバイド対策事務").data
    activity, outcome = d["indicators"]
    assert (activity["unit"], outcome["unit"]) == ("回", "人")
    assert activity["values"] == {2023: {"target": 8, "actual": 8},
                                  2024: {"target": None, "actual": None},
                                  2025: {"target": None, "actual": None}}
    assert d["budget_account"]["fund"] == "一般会計"  # 「区分 一般会計」 in one cell
    assert d["evaluation"]["actor_fit"]["rating"] == "アウトソーシング済(一部)"
    assert d["evaluation"]["direction"] == {"rating": "完了・達成", "comment": "公民館事業として継続"}
    assert d["costs"][2025]["total"] == 0  # a written 0 stays 0


def test_html_list_becomes_markdown_list() -> None:
    body = sheet("ICT人材育成事務").body
    assert body.endswith(
        "## 今後の取組み\n\n"
        "- 参加者が少数にとどまった研修メニューについては、習熟度が十分に図られたとみなし、開催頻度を減らす。\n"
        "- 幅広い職員を対象とした研修会を開催するため、研修メニューの見直しを行う。\n")
    assert "<" not in body


def test_bullets_become_markdown_list() -> None:
    body = sheet("内部情報系システム運用・維持管理事務").body
    assert ("## 今後の取組み\n\n- 業務効率化に繋がるアプリの導入に向けた検討を進めていく。\n"
            "- 第5次LGWANの移行(8月19日)の事前準備を実施している。\n"
            "- windows11へのOSのアップデートが必要か検討を実施予定。\n") in body


def test_first_sheet_plan_without_label() -> None:
    d = sheet("行政改革の推進に関する事務").data
    assert d["plan"] == {"goal": "6.市民協働、行財政運営", "basic": "2.広域連携、行財政運営",
                         "field": "3.行財政改革"}
    assert d["sdgs"] == [8, 9, 11]
    assert d["costs"][2023]["staff_regular"] == 0.4
    assert d["costs"][2023]["total"] == 3337
    assert d["evaluation"]["cost_effectiveness"] == {
        "rating": "効果あり", "comment": "推進事項の7割以上が目標を達成できた"}


def test_lower_is_better() -> None:
    outcome = sheet("住民情報系システム運用・維持管理事業").data["indicators"][1]
    assert outcome["name"] == "システム障害発生回数"
    assert outcome["lower_is_better"] is True
    assert outcome["unit"] == "回/年"
    security = sheet("情報セキュリティ対策事業").data["indicators"]
    assert [i["lower_is_better"] for i in security] == [True, True]
    assert sheet("ホームページ運用・維持管理事業").data["indicators"][1]["lower_is_better"] is False


def test_sheet_without_plans_row() -> None:
    lines = seed_text().rstrip("\n").split("\n")
    assert lines[-1].startswith("今後の取組み\t")
    result = run("\n".join(lines[:-1]))
    assert result.warnings == []
    last = result.sheets[-1]
    assert last.body.startswith("## 現状の課題\n\n")
    assert "今後の取組み" not in last.body


# -- malformed input ---------------------------------------------------------------------------

MALFORMED = """\
前書きの行
## 令和7年度 事務事業評価シート(令和6年度実績)
市長公室
DX推進課
DX推進係
事務事業名\tテスト事務
謎の行\tなにか
SDGs目標\t9\t産業と技術革新の基盤をつくろう\tX
活動指標\t指標名\t説明\t年度\t令和5年度\t令和6年度\t令和7年度\t単位
\t件数\t説明文\t目標\t10\t十\t/\t件
\t\t\t実績\t12\t\t\t
予算科目\t区分\t一般会計\t款\t2 総務費\t余り
事業費(千円)\tR5決算額\tR6決算額
総事業費\t1,000\t千円
概算人件費\t1,000\t\t2,000
事業経費\t5\t6\t7
個別評価\t必要性\t今後の必要性\tとても必要\t国の事業
総合評価\t費用対効果\t効果あり\t理由
### 4. おまけ
現状の課題\t課題
現状の課題\t二度目
"""


def test_malformed_input_warnings_have_line_numbers() -> None:
    result = run(MALFORMED)
    got = [(w.line, w.message) for w in result.warnings]
    lines = [line for line, _m in got]
    assert lines == sorted(lines)

    def at(line: int, *words: str) -> None:
        assert any(n == line and all(w in m for w in words) for n, m in got), (line, words, got)

    at(1, "見出しより前")
    at(7, "謎の行", "知らない行")
    at(8, "SDGs", "X")
    at(10, "十", "数値ではありません")
    at(12, "余り")
    at(14, "千円", "数値ではありません")
    at(15, "概算人件費", "列の位置")  # every other cell: read in order, with a warning
    at(16, "事業経費", "「7」")  # one value too many for the header
    at(17, "とても必要", "選択肢")
    at(19, "おまけ")
    at(21, "現状の課題", "20行目")
    assert len(got) == 11, got

    d = result.sheets[0].data
    assert d["id"] == default_id("テスト事務")
    assert d["sdgs"] == [9]
    assert d["indicators"][0]["values"] == {2023: {"target": 10, "actual": 12},
                                            2024: {"target": None, "actual": None},
                                            2025: {"target": None, "actual": None}}
    assert d["budget_account"] == {"fund": "一般会計", "kan": "2 総務費", "kou": None, "moku": None}
    assert d["costs"][2023]["total"] == 1000
    assert d["costs"][2024]["total"] is None
    assert [c["personnel"] for c in d["costs"].values()] == [1000, 2000]
    assert [c["operating"] for c in d["costs"].values()] == [5, 6]
    assert d["costs"][2023]["specific_revenue"] is None
    assert d["evaluation"]["need"] == {"rating": "とても必要", "comment": "国の事業"}
    assert d["evaluation"]["cost_effectiveness"] == {"rating": "効果あり", "comment": "理由"}
    assert result.sheets[0].body == "## 現状の課題\n\n課題\n"


def test_shifted_data_row_is_read_in_order_with_a_warning() -> None:
    text = ("## 令和7年度 事務事業評価シート(令和6年度実績)\n市長公室\nDX推進課\n"
            "事務事業名\tずれ\n事業費(千円)\tR5決算額\tR6決算額\tR7予算額\n"
            "総事業費\t1\t\t2\t\t3\n")
    result = run(text)
    assert [w.line for w in result.warnings] == [6]
    assert [c["total"] for c in result.sheets[0].data["costs"].values()] == [1, 2, 3]
    assert result.sheets[0].data["organization"]["section"] is None


def test_no_sheet_found() -> None:
    assert [w.line for w in run("").warnings] == [1]
    assert run("").sheets == []


def test_duplicate_ids_are_reported() -> None:
    one = "## 令和7年度 事務事業評価シート(令和6年度実績)\n市長公室\nDX推進課\n事務事業名\t同じ\n"
    result = run(one + one)
    assert [(w.line, "同じ" in w.message or "id" in w.message) for w in result.warnings] == [(5, True)]


def test_odd_indicator_and_evaluation_rows() -> None:
    text = ("## 令和7年度 事務事業評価シート(令和6年度実績)\n市長公室\nDX推進課\n"
            "事務事業名\t\n"
            "成果指標\t指標名\t説明\t年度\t令和5年度\t令和6年度\t単位\n"
            "\t\t\t実績\t5\t6\t件\n"
            "\t対象の適切性\t限定的\n"
            "\t事業の方針\t\t継続\n")
    result = run(text)
    got = [(w.line, w.message) for w in result.warnings]
    assert [n for n, _m in got] == [4, 6, 6, 7], got
    assert "事務事業名が空です" in got[0][1]
    assert "目標の行がない" in got[1][1] and "指標名が空です" in got[2][1]
    assert "コメントとして" in got[3][1]
    d = result.sheets[0].data
    assert d["title"] is None and d["id"] == default_id("test.txt:1")
    assert d["indicators"] == [{
        "kind": "outcome", "name": None, "description": None, "unit": "件",
        "lower_is_better": False,
        "values": {2023: {"target": None, "actual": 5}, 2024: {"target": None, "actual": 6}}}]
    assert d["evaluation"]["target_fit"] == {"rating": None, "comment": "限定的"}
    assert d["evaluation"]["direction"] == {"rating": "継続", "comment": None}
    assert str(result.warnings[0]) == "4行目: 事務事業名が空です"


def test_crlf_and_full_width_heading_read_the_same() -> None:
    text = seed_text()
    crlf = text.replace("\n", "\r\n").replace("(令和6年度実績)", "（令和6年度実績）")
    result = import_text(crlf, source_name=SEED_NAME, choices=CHOICES, id_for=make_id_for(ID_MAP))
    assert result.warnings == []
    assert [(s.data, s.body) for s in result.sheets] == [
        (s.data, s.body) for s in seed_result().sheets]


@pytest.mark.parametrize(("cell", "markdown"), [
    ("・A。 ・B。", "- A。\n- B。"),
    ("・一つだけ", "- 一つだけ"),
    ("AI・RPAの活用", "AI・RPAの活用"),
    ('<ul style="x"> <li>・A</li> <li>B &amp; C</li> </ul>', "- A\n- B & C"),
    ("1. 番号で始まる文", "1\\. 番号で始まる文"),
    ("# 見出しではない", "\\# 見出しではない"),
])
def test_cell_to_markdown(cell: str, markdown: str) -> None:
    assert cell_to_markdown(cell) == markdown


# -- dump --------------------------------------------------------------------------------------


@pytest.mark.parametrize("title", TITLES)
def test_dump_round_trip(title: str) -> None:
    s = sheet(title)
    text = dump_sheet(s.data, s.body)
    lines = text.split("\n")
    assert lines[:2] == ["---", "# yaml-language-server: $schema=../../schema/sheet.schema.json"]
    loaded = front_matter(text)
    assert loaded == s.data
    assert list(loaded) == list(s.data)
    end = lines.index("---", 1)
    assert lines[end + 1] == ""
    assert "\n".join(lines[end + 2:]) == s.body
    assert dump_sheet(loaded, s.body) == text  # stable


def test_dump_round_trips_the_documented_example() -> None:
    doc = (ROOT / "docs" / "content-format.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = front_matter(block)
    text = dump_sheet(data, "## 現状の課題\n\n本文\n")
    assert front_matter(text) == data
    assert text.endswith("---\n\n## 現状の課題\n\n本文\n")


def test_dump_quotes_only_when_needed() -> None:
    tricky = ["a: b", "# x", "x #y", "null", "2024", "0.40", "yes", "~", "- x", "", " lead",
              "trail ", "a, b", "{x}", "[x]", "'q'", '"q"', "two\nlines", "tab\there", "@at",
              "*star", "&amp", "!bang", "%pct", "`tick", "ends:", "?q", "|pipe", ">fold",
              "2 総務費", "6. 市民協働、行財政運営", "100%", "回/年", "\u2028", "\x07bell"]
    data: dict[str, Any] = {"id": "t", "title": "x", "strings": list(tricky),
                            "flow": {str(i): t for i, t in enumerate(tricky)},
                            "block": [{"s": t} for t in tricky],
                            "floats": {"staff_regular": 0.4, "staff_nonregular": 0.125,
                                       "a": 1e-05, "b": 1.0, "c": float("inf")},
                            "empty": {}, "none": None, "flag": True, "items": []}
    for t in tricky:
        data[t or "blank"] = t
    text = dump_sheet(data, "")
    assert front_matter(text) == data
    assert text.endswith("---\n")
    assert "title: x\n" in text
    assert "staff_regular: 0.40" in text and "staff_nonregular: 0.125" in text
    assert "2 総務費: 2 総務費\n" in text  # plain, not quoted
    assert '"null": "null"\n' in text
    assert "strings: [" in text and "block:\n  - s: " in text


# -- ids and writing ---------------------------------------------------------------------------


def test_seed_ids_are_slugs() -> None:
    assert len(ID_MAP) == 12 == len(set(ID_MAP.values()))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v) for v in ID_MAP.values())


def test_default_id() -> None:
    assert re.fullmatch(r"jigyo-[0-9a-f]{8}", default_id("スマートフォン購入補助事務"))
    assert default_id("a") == default_id("a") != default_id("b")


def test_load_id_map_rejects_bad_ids(tmp_path: Path) -> None:
    bad = tmp_path / "ids.yaml"
    bad.write_text("事務: Not A Slug\n", encoding="utf-8")
    with pytest.raises(ValueError, match="事務"):
        load_id_map(bad)
    bad.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_id_map(bad)
    bad.write_text("", encoding="utf-8")
    assert load_id_map(bad) == {}


def test_write_sheets_and_ids_from_content(tmp_path: Path) -> None:
    content = tmp_path / "content"
    out = content / "2025"
    written, skipped = write_sheets(seed_result(), out)
    assert [p.name for p in written] == [f"{i}.md" for i in ID_MAP.values()]
    assert skipped == []
    first = written[0].read_text(encoding="utf-8")
    assert front_matter(first)["id"] == "administrative-reform"

    written[0].write_text("edited by hand", encoding="utf-8")
    again = write_sheets(seed_result(), out)
    assert again.written == [] and len(again.skipped) == 12
    assert written[0].read_text(encoding="utf-8") == "edited by hand"
    forced = write_sheets(seed_result(), out, overwrite=True)
    assert len(forced.written) == 12
    assert written[0].read_text(encoding="utf-8") == first

    # A later year keeps the id found in earlier content, whatever the seed map says.
    (content / "2024").mkdir()
    (content / "2024" / "broken.md").write_text("---\n: [\n---\n", encoding="utf-8")
    assert ids_from_content(content) == ID_MAP
    id_for = make_id_for(ids_from_content(content))
    result = import_text(seed_text(), source_name=SEED_NAME, choices=CHOICES, id_for=id_for)
    assert [s.id for s in result.sheets] == list(ID_MAP.values())
    assert make_id_for({})("新規事業") == default_id("新規事業")
