"""`new` and `new --from`: what they write validates; --from shifts years and blanks the evaluation."""

from __future__ import annotations

import re

import pytest

from hyoka.cli import main
from hyoka.load import load_source
from hyoka.scaffold import NewSheet, scaffold
from hyoka.validate import validate_source

from .conftest import ROOT


def validate_text(tmp_path, config, rel: str, text: str):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    src, problems = load_source(path, rel)
    assert src is not None, problems
    sheet, more = validate_source(src, config)
    return sheet, problems + more


def test_scaffold_validates_and_names_every_key(tmp_path, config) -> None:
    text = scaffold(NewSheet("new-program", 2026, "新しい事業", "市長公室", "DX推進課"), config)
    sheet, problems = validate_text(tmp_path, config, "content/2026/new-program.md", text)
    assert problems == [] and sheet is not None
    assert sheet.results_year == 2025 and [c.year for c in sheet.costs] == [2024, 2025, 2026, 2027, 2028]
    assert all(c.total is None for c in sheet.costs), "blank is null, never 0"
    assert "# yaml-language-server: $schema=../../schema/sheet.schema.json" in text
    for label in ("事務事業名", "総合計画の体系", "SDGs目標", "対象・受益者", "予算科目", "事業の方針", "費用対効果"):
        assert label in text
    assert "選択肢: 拡充 / 継続 / 見直し" in text


def test_scaffold_indicator_example_validates_when_uncommented(tmp_path, config) -> None:
    text = scaffold(NewSheet("new-program", 2026, "新しい事業", "市長公室", "DX推進課"), config)
    lines = text.split("\n")
    start = lines.index("indicators: []")
    example = []
    for line in lines[start + 2:]:
        if not line.startswith(("# indicators:", "#  ")):
            break
        example.append(line[2:])
    filled = "\n".join(lines[:start] + example + lines[start + 2 + len(example):])
    filled = filled.replace("name: null", "name: 講習会開催回数", 1)
    sheet, problems = validate_text(tmp_path, config, "content/2026/new-program.md", filled)
    assert problems == [] and sheet is not None
    assert [i.kind for i in sheet.indicators] == ["activity"]
    assert [v.year for v in sheet.indicators[0].values] == [2024, 2025, 2026]


def test_new_from_last_year(project, monkeypatch, capsys) -> None:
    source = (ROOT / "content/2025/smartphone-subsidy.md").read_text(encoding="utf-8")
    config = project({"content/2025/smartphone-subsidy.md": source})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["new", "--from", "smartphone-subsidy"]) == 0
    path = config.content_dir / "2026" / "smartphone-subsidy.md"
    sheet, problems = validate_text(config.root, config, "content/2026/smartphone-subsidy.md",
                                    path.read_text(encoding="utf-8"))
    assert problems == [] and sheet is not None
    assert (sheet.evaluation_year, sheet.results_year) == (2026, 2025)
    assert [c.year for c in sheet.costs] == [2024, 2025, 2026, 2027, 2028]
    assert [c.kind for c in sheet.costs] == ["決算", "決算", "予算", "予定", "予定"]
    assert sheet.cost(2024).total == 2281, "figures carried from last year's sheet"
    assert sheet.cost(2028).total is None
    outcome = sheet.indicators[1]
    assert [(v.year, v.target, v.actual) for v in outcome.values] == [(2024, 50, 33), (2025, 25, 25), (2026, None, None)]
    assert all(e.rating is None and e.comment is None for e in sheet.evaluation)
    assert re.findall(r"^## .*$", sheet.body, re.M) == ["## 現状の課題", "## 今後の取組み"]
    # Again: from the newest sheet (2026) to 2027; an existing file is never overwritten.
    assert main(["new", "--from", "smartphone-subsidy"]) == 0
    assert (config.content_dir / "2027" / "smartphone-subsidy.md").is_file()
    before = path.read_bytes()
    assert main(["new", "--year", "2026", "--division", "DX推進課", "--title", "x", "--id", "smartphone-subsidy"]) == 1
    assert "既にあります" in capsys.readouterr().err and path.read_bytes() == before


@pytest.mark.parametrize(("argv", "message"), [
    (["new", "--year", "2026", "--division", "DX推進課"], "--title を指定してください"),
    (["new", "--from", "no-such-program"], "id「no-such-program」のシートが content/ にありません"),
    (["new", "--year", "2026", "--division", "未知課", "--title", "x"], "課「未知課」の部局がわかりません"),
])
def test_new_explains_what_is_missing(project, monkeypatch, capsys, argv, message) -> None:
    source = (ROOT / "content/2025/smartphone-subsidy.md").read_text(encoding="utf-8")
    config = project({"content/2025/smartphone-subsidy.md": source})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_new_infers_bureau_and_writes_a_valid_sheet(project, monkeypatch, capsys) -> None:
    source = (ROOT / "content/2025/smartphone-subsidy.md").read_text(encoding="utf-8")
    config = project({"content/2025/smartphone-subsidy.md": source})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["new", "--year", "2025", "--division", "DX推進課", "--title", "テスト事業"]) == 0
    out = capsys.readouterr().out
    written = list((config.content_dir / "2025").glob("jigyo-*.md"))
    assert len(written) == 1 and "仮の名前" in out
    assert "bureau: 市長公室" in written[0].read_text(encoding="utf-8")
    assert main(["check"]) == 0
