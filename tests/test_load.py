"""Loading: front matter split, YAML line marks, encodings, duplicate keys."""

from pathlib import Path

from hyoka.load import MarkedDict, decode, load_source, parse_yaml, split_front_matter


def test_line_marks_and_duplicates() -> None:
    data, problems = parse_yaml("a: 1\nb:\n  c: 2\n  c: 3\nd: [1,\n  2]\n", "x.md", 2)
    assert isinstance(data, MarkedDict)
    assert data.line_of("b") == 1 and data["b"].line_of("c") == 3
    assert data["d"].line_of(1) == 5
    assert [(p.line, p.key) for p in problems] == [(5, "c")]


def test_split_front_matter_lines() -> None:
    fm, body, fm_line, body_line, problems = split_front_matter("---\na: 1\n---\n本文\n", "x.md")
    assert (fm, body, fm_line, body_line, problems) == ("a: 1", "本文\n", 2, 4, [])


def test_bom_and_crlf_accepted() -> None:
    text, problems = decode("\ufeff---\r\na: 1\r\n---\r\n".encode(), "x.md")
    assert text == "---\na: 1\n---\n" and problems == []


def test_nul_byte_rejected() -> None:
    text, problems = decode(b"---\na: \x00\n", "x.md")
    assert text is None and problems[0].line == 2 and "NUL" in problems[0].message


def test_front_matter_must_be_mapping(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("---\n- a\n- b\n---\n", encoding="utf-8")
    src, problems = load_source(path, "x.md")
    assert src is None
    assert problems[0].format() == "x.md:2: front matter が「キー: 値」の並び（YAML の辞書）になっていません"


def test_empty_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("---\n---\n本文\n", encoding="utf-8")
    src, problems = load_source(path, "x.md")
    assert src is None and "空" in problems[0].message
