"""Loading: front matter split, YAML line marks, encodings, duplicate keys."""

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka import load
from hyoka.load import MAX_FILE_BYTES, MarkedDict, decode, load_source, parse_yaml, split_front_matter

from .test_properties import SETTINGS


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


@pytest.mark.parametrize("told", [0, 10, 500, 10**9])
def test_whole_file_read_whatever_fstat_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              told: int) -> None:
    """load_source reads as much as the file's size says, then on if the file grew meanwhile."""
    path = tmp_path / "2025" / "x.md"
    path.parent.mkdir()
    path.write_text("---\nid: x\n---\n" + "本文\n" * 300, encoding="utf-8")
    expected = load_source(path, "x.md")
    real = os.fstat
    monkeypatch.setattr(load.os, "fstat", lambda fd: os.stat_result((*real(fd)[:6], told, *real(fd)[7:])))
    src, problems = load_source(path, "x.md")
    assert src == expected[0] and problems == expected[1] == []
    if told > MAX_FILE_BYTES:  # the bytes decide, as before: no "too large" for a small file
        assert src is not None and src.body.count("本文") == 300


# split_front_matter's search, as it was written before it looked for "\n" first.
_OLD_CLOSING_FENCE = re.compile(r"^(?:---[ \t]*|\.\.\.)\r*$", re.MULTILINE)


def old_split(text: str) -> tuple[str, str, int] | None:
    lines = text.split("\n", 1)
    start = len(lines[0]) + 1
    end = _OLD_CLOSING_FENCE.search(text, start) if start <= len(text) else None
    if end is None:
        return None
    fm = text[start:end.start() - 1] if end.start() > start else ""
    return fm, text[end.end() + 1:], text.count("\n", 0, end.start()) + 2


@settings(max_examples=2000, **SETTINGS)
@given(st.lists(st.sampled_from(["---", "...", "-- -", "----", " ---", "\r", "\t", " ", "\n", "a", ".",
                                 "-", ": "]), max_size=30))
def test_closing_fence_as_before(pieces: list[str]) -> None:
    text = "---\n" + "".join(pieces)
    fm, body, fm_line, body_line, problems = split_front_matter(text, "x.md")
    before = old_split(text)
    if before is None:
        assert problems and problems[0].message == "front matter が --- で閉じられていません"
    else:
        assert (fm, body, body_line) == before and fm_line == 2 and problems == []
