"""The pure-Python reader of the usual front matter (load._load_usual) gives what libyaml gives.

For every input it either says _UNUSUAL (and libyaml reads the document), or its result equals
_load_fast's exactly: the same values of the same types (1, 1.0 and "1" differ; True only for
true), the same line marks, and no error, duplicate key or unhashable key that libyaml would report.
Inputs: the bundled content, the invalid corpus, the corner cases of test_load_fast, generated
corpora (bench/generate.py, when HYOKA_CORPORA names their folders), and derandomised small
mutations of real sheets.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka import load
from hyoka.load import find_content, split_front_matter

from .conftest import FIXTURES, ROOT
from .test_load_fast import CORNERS, front_matters, same, yamlish
from .test_properties import SETTINGS

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="compared with libyaml")


def usual_is_libyaml(text: str) -> bool:
    """True when _load_usual read `text` (and gave libyaml's result); False when it handed it on."""
    usual = load._load_usual(text)
    if usual is load._UNUSUAL:
        return False
    data, dups, bad = load._load_fast(text)  # raises when libyaml finds an error
    assert dups == [] and bad == [], text
    assert same(usual, data), (text, usual, data)
    return True


def sheet_front_matters(content: Path) -> list[str]:
    texts = []
    for path in find_content(content):
        fm, *_ = split_front_matter(path.read_text("utf-8").replace("\r\n", "\n"), "x.md")
        texts.append(fm)
    return texts


def test_bundled_content_is_read_by_the_usual_reader() -> None:
    texts = sheet_front_matters(ROOT / "content")
    memos = (load._FLOW_MAPS_SEEN, load._FLOW_PAIRS, load._KEY_LINES_SEEN)
    for memo in memos:
        memo.clear()  # read each line, { } and key: value once, then again from the memos
    assert texts and all(usual_is_libyaml(text) for text in texts)
    assert all(memos) and all(usual_is_libyaml(text) for text in texts)


def test_invalid_corpus_and_corner_cases() -> None:
    texts = [*front_matters(), *CORNERS]
    read = [usual_is_libyaml(text) for text in texts]
    assert 0 < sum(read) < len(texts)


def test_generated_sheets(tmp_path: Path) -> None:
    """300 sheets from bench/generate.py: every one is read by the usual reader, as libyaml reads it."""
    subprocess.run([sys.executable, str(ROOT / "bench/generate.py"), "300", str(tmp_path / "c")],
                   check=True, capture_output=True)
    texts = sheet_front_matters(tmp_path / "c/content")
    assert len(texts) == 300 and all(usual_is_libyaml(text) for text in texts)


USUAL = [
    "a: 1\nb: -2\nc: 0.50\nd: 1.\ne: .5\nf: +3\ng: 010\nh: 1_000\ni: 1e3\nj: 1.5e+3\nk: -.inf\nl: .nan",
    "a: true\nb: True\nc: FALSE\nd: yes\ne: no\nf: ~\ng: null\nh: Null\ni:\nj: ''\nk: \"\"",
    "a: 'it''s'\nb: \"%\"\nc: 'x # y'  # c\nd: \"a: b, c\" \ne: '  sp  '\nf: x  y\ng: 全角\u3000空白\u3000",
    "a: [1, 2.5, x, true, null, -3]\nb: []\nc: [ ]\nd: {}\ne: { }\nf: {a: 1, b: '2', c: \"3\"}",
    "a: {x: 1,y: 2}\nb: [1 ,2]\nc: {x:  1}\nd: [ 1, 2 ]\ne: {x: 1}  # c\nf: [a b, c  d]\ng: {k l: m n}",
    "a: http://x/y#z\nb: x:y\nc: -x\nd: a - b\ne: x]\nf: x,y\ng: it's\nh: 50%\ni: a\"b\nj: 1:30",
    "# c\n\na:\n  # c\n  b: 1\n\n  c:\n    - d: 1\n      e: 2\n    # c\n    - f: [1]\n  g: 3\nh: 4\n",
    "a:\n  - 1\n  - 'x'\n  - [1]\n  - {b: 1}\n  - b: 1\n    c:\n      d: 2\n", "a:\n- 1\n- x\nb: 2",
    "1: a\n2.5: b\ntrue: c\nnull: d\n~x: e\n-1: f", "a: 1\na: 2", "a: {b: 1, b: 2}", "a: 1\n b: 2",
    "a: b: c", "a: b:", "a: x #c\n  y", "a: x\n  y", "a: 'x\n  y'", "a: \"x\\ty\"", "a: [1,\n  2]",
    "a: [1, 2,]", "a: {b: 1,}", "a: {b}", "a: {b: }", "a: [a: b]", "a: [1}]", "a: [1{]", "a: {b: 1]}", "a: {b: [}", "a: {b: [1]}", "a: [[1]]",
    "... x: 1", "--- \na: 1", "a: 1\n...\n", "\u3000a: 1", "a: \u2028", "a: -", "a: - x", "a: ?x",
    "a: {b: 1}#c", "a: 'x'#c", "a: [1]x", "a:x", "a :1", "a : 1", "a:\n  -\n  - 1", "a:\n  -  b: 1",
    "- a: 1", "a: &x 1", "a: *x", "a: !x 1", "a: |\n  x", "a: >\n  x", "? a\n: 1", "a: @x", "a: `x`",
    "a: %x", "%a: 1", "a: {b: -}", "a: [-]", "a: [- 1]", "a: {-b: 1}", "a: {b: 'c'd}", "a: {'b': 1}",
    "x" * 1100 + ": 1", "a: {" + "x" * 1100 + ": 1}", "a: \ufeff", "\ufeffa: 1", "a: x\x85y", "a: 😀",
]


@pytest.mark.parametrize("text", USUAL)
def test_corner_cases(text: str) -> None:
    usual_is_libyaml(text)


def test_usual_corner_cases_are_read() -> None:
    assert all(usual_is_libyaml(text) for text in USUAL[:8])


@settings(max_examples=600, **SETTINGS)
@given(text=yamlish)
def test_generated_yaml(text: str) -> None:
    usual_is_libyaml(text)


_SHEETS = sheet_front_matters(ROOT / "content")
_INSERTS = [":", ": ", "#", " #", "'", "''", '"', "-", "- ", " ", "  ", "\n", "\n  ", "[", "]", "{", "}",
            ",", ", ", "&", "*", "!", "|", ">", "?", "%", "@", "`", "\\", "\t", "\u3000", "~", ".", "0",
            "1", "e", "true", "null", "---", "...", "\ufeff", "😀", "x"]


@settings(max_examples=3000, **SETTINGS)
@given(sheet=st.sampled_from(_SHEETS), seed=st.integers(0, 2**32 - 1), edits=st.integers(1, 3))
def test_mutations_of_real_sheets(sheet: str, seed: int, edits: int) -> None:
    rng = random.Random(seed)
    lines = sheet.split("\n")
    start = rng.randrange(len(lines))  # mutate a few neighbouring lines, keep the sheet small
    text = "\n".join(lines[max(0, start - 6):start + 6])
    for _ in range(edits):
        pos = rng.randrange(len(text) + 1)
        if rng.random() < 0.3 and pos < len(text):
            text = text[:pos] + text[pos + rng.randint(1, 3):]
        else:
            text = text[:pos] + rng.choice(_INSERTS) + text[pos:]
    usual_is_libyaml(text)


def mutate(rng: random.Random, text: str, edits: int, near: str = "") -> str:
    """`edits` insertions (of _INSERTS) or deletions, near `near` characters when given."""
    for _ in range(edits):
        spots = [i for i, ch in enumerate(text) if ch in near] if near else []
        pos = rng.choice(spots) + rng.randint(-2, 2) if spots else rng.randrange(len(text) + 1)
        pos = min(max(pos, 0), len(text))
        if rng.random() < 0.3 and pos < len(text):
            text = text[:pos] + text[pos + rng.randint(1, 3):]
        else:
            text = text[:pos] + rng.choice(_INSERTS) + text[pos:]
    return text


@pytest.mark.parametrize("near", ["", "{}[],:", "'\"#-\n"])
def test_many_mutations(near: str) -> None:
    """20,000 derandomised mutations of a dozen lines of a real sheet, anywhere or near the
    characters that flow collections, quotes and comments are made of."""
    rng = random.Random(near)
    read = 0
    for _ in range(20_000):
        lines = rng.choice(_SHEETS).split("\n")
        start = rng.randrange(len(lines))
        text = "\n".join(lines[max(0, start - 6):start + 6])
        read += usual_is_libyaml(mutate(rng, text, rng.randint(1, 3), near))
    assert 1000 < read < 20_000


def test_mutations_of_whole_sheets() -> None:
    """Whole sheets, one character inserted or deleted at every 7th position."""
    rng = random.Random(1)
    read = 0
    for sheet in _SHEETS[:3]:
        for pos in range(0, len(sheet), 7):
            read += usual_is_libyaml(sheet[:pos] + rng.choice(_INSERTS) + sheet[pos:])
            read += usual_is_libyaml(sheet[:pos] + sheet[pos + 1:])
    assert read > 0


def test_parse_yaml_takes_the_usual_path(monkeypatch: pytest.MonkeyPatch) -> None:
    text = sheet_front_matters(ROOT / "content")[0]
    expected = load.parse_yaml(text, "x.md", 2)
    monkeypatch.setattr(load, "_load_fast", lambda text: pytest.fail("libyaml read a usual sheet"))
    data, problems = load.parse_yaml(text, "x.md", 2)
    assert problems == [] and same(data, expected[0])


def test_problems_of_the_invalid_corpus_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = front_matters()
    with_usual = [load.parse_yaml(text, "x.md", 2) for text in texts]
    monkeypatch.setattr(load, "_load_usual", lambda text, usual_chars=False: load._UNUSUAL)
    without = [load.parse_yaml(text, "x.md", 2) for text in texts]
    for (data, problems), (data2, problems2) in zip(with_usual, without, strict=True):
        assert problems == problems2 and same(data, data2)


assert FIXTURES.is_dir()


_ODD_CHARS = st.sampled_from(["\t", "\r", "\r\n", "\x00", "\x1b", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "\xa5",
                              "\xbf", "\xd7", "\u2028", "\u2029", "\u200b", "\u202e", "\u3000", "\ufeff",
                              "\ufffe", "\uffff", "\U0001f600", "日本", "a", "\n", ": ", "- "])


@settings(max_examples=3000, **SETTINGS)
@given(parts=st.lists(st.one_of(_ODD_CHARS, st.text(max_size=3)), max_size=12), bom=st.booleans())
def test_usual_bytes_only_where_no_character_needs_the_scans(parts: list[str], bom: bool) -> None:
    """load._usual_bytes lets a content file skip the regex scans for unusual characters (in decode
    and _load_usual): only where both would find none. And decode gives the same either way."""
    text = "".join(parts)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no file holds one
        return
    raw = b"\xef\xbb\xbf" + raw if bom else raw
    got = load._decode(raw, "x.md")
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # decode reads one BOM as none
    if load._usual_bytes(body):
        read = body.decode("utf-8").replace("\r\n", "\n")
        assert load._UNUSUAL_CHARS.search(read) is None and load._CONTROLS.search(read) is None
        assert got == (read, [], True)
    else:
        assert not got[2]
    assert load.decode(raw, "x.md") == got[:2]


@settings(max_examples=2000, **SETTINGS)
@given(parts=st.lists(st.one_of(_ODD_CHARS, st.text(max_size=3)), max_size=12))
def test_decode_and_parse_without_the_scans_equal_them_with(parts: list[str]) -> None:
    """What a file gives when _usual_bytes lets it skip the scans equals what it gives scanned."""
    import unittest.mock

    raw = "".join(parts).encode("utf-8", "surrogatepass")
    fm = "id: a\ntitle: " + "".join(parts).replace("\n", " ").replace("\r", " ")
    fast = (load._decode(raw, "x.md"), load.parse_yaml(fm, "x.md", 2, load._usual_bytes(fm.encode("utf-8", "surrogatepass"))))
    with unittest.mock.patch.object(load, "_usual_bytes", lambda raw: False):
        scanned = (load._decode(raw, "x.md"), load.parse_yaml(fm, "x.md", 2))
    assert fast[0][:2] == scanned[0][:2]
    assert fast[1][1] == scanned[1][1] and (fast[1][0] == scanned[1][0]
                                           or (fast[1][0] is not None and same(fast[1][0], scanned[1][0])))


def test_usual_bytes_finds_each_unusual_character() -> None:
    for ch in ["\t", "\r", "\x00", "\x1f", "\x7f", "\x80", "\x9f", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff"]:
        assert not load._usual_bytes(f"id: a{ch}b\n".encode()), repr(ch)
    assert load._usual_bytes("id: 日本\r\ntitle: x　y\n".encode())
    assert not load._usual_bytes(b"id: a\r\r\n")


def test_sheets_of_usual_characters_are_read_without_the_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled sheets skip both scans, and read the same as with them."""
    files = find_content(ROOT / "content")
    with_scans = [load.load_source(f, f.name) for f in files]

    class NoScan:
        def search(self, text: str) -> None:
            raise AssertionError("scanned")

    monkeypatch.setattr(load, "_UNUSUAL_CHARS", NoScan())
    monkeypatch.setattr(load, "_CONTROLS", NoScan())
    assert [load.load_source(f, f.name) for f in files] == with_scans


def test_pyyaml_is_imported_only_for_a_document_not_of_the_usual_shape(tmp_path) -> None:
    """Reading the configuration and the bundled sheets (all of the usual shape) imports no PyYAML
    (hyoka/yamlparse.py: ≈ 20 ms of every build's start); a sheet with an explicit tag does, and
    reads as before."""
    import subprocess
    import sys
    script = """
import sys
from pathlib import Path
from hyoka.config import load_config
from hyoka.pipeline import check
sheets, _ = check(load_config(Path(sys.argv[1])))
assert len(sheets) == 12, len(sheets)
print("yaml" in sys.modules)
from hyoka import load
data, problems = load.parse_yaml("title: !!str 12\\nid: x\\n", "t.md", 2)
assert data == {"title": "12", "id": "x"} and problems == [], (data, problems)
data, problems = load.parse_yaml("title: [\\n", "t.md", 2)
assert data is None and problems[0].line >= 2, problems
print("yaml" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.split()
    assert out == ["False", "True"]
