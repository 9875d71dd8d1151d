"""The fast paths of loading and validation give exactly what the general paths give.

hyoka/load.py builds YAML values with one walk over libyaml's nodes (_load_fast) instead of
PyYAML's constructors (_load_slow, still used for explicitly tagged documents); hyoka/validate.py
converts a sheet with one closure per schema field and leaves every sheet with a problem to the
Checker. Each fast path is compared here with the general one: on the bundled content, the
invalid corpus, hand-picked YAML corner cases, and generated (derandomized) input.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka import load, validate
from hyoka.load import MarkedDict, MarkedList, find_content, is_hidden, load_source, split_front_matter
from hyoka.schema import SHEET

from .conftest import FIXTURES, ROOT
from .test_properties import SETTINGS

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="the fast path needs libyaml")


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types, with equal line marks (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, MarkedDict):
        return (a.line == b.line and a.key_lines == b.key_lines and list(a) == list(b)
                and all(same(k1, k2) for k1, k2 in zip(a, b, strict=True))
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, MarkedList):
        return (a.line == b.line and a.item_lines == b.item_lines and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def outcome(loader: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", loader(text)
    except yaml.YAMLError as exc:
        return "error", (type(exc), str(exc))
    except RecursionError:
        return "recursion", None


def assert_fast_is_slow(text: str) -> bool:
    """True when the fast path read `text` itself (False: it handed an explicit tag on)."""
    if "*" in text and load._alias_lines(text):
        return True  # parse_yaml refuses aliases before either path sees them (alias bombs)
    try:
        fast = outcome(load._load_fast, text)
    except load._ExplicitTag:
        return False
    slow = outcome(load._load_slow, text)
    if slow[0] == "recursion":  # PyYAML's constructors recurse thrice as deep per level
        return True
    assert fast[0] == slow[0], (text, fast, slow)
    if fast[0] == "ok":
        (data, dups, bad), (data2, dups2, bad2) = fast[1], slow[1]
        assert same(data, data2) and same(dups, dups2) and bad == bad2, (text, fast, slow)
    else:
        assert fast == slow, text
    return True


def front_matters() -> list[str]:
    texts = []
    for path in [*find_content(ROOT / "content"), *sorted((FIXTURES / "invalid").rglob("*.md"))]:
        text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
        fm, *_ = split_front_matter(text, "x.md")
        texts.append(fm or text)
    return texts


def test_fast_walk_reads_every_bundled_and_corpus_file_as_pyyaml_does() -> None:
    texts = front_matters()
    assert len(texts) > 80
    read = [assert_fast_is_slow(text) for text in texts]
    assert sum(read) >= len(texts) - 3  # only the tag cases go to PyYAML's constructors


CORNERS = [
    "", "# only a comment", "a", "- a\n- b", "a: 1\nb:\n  c: 2\n  c: 3\nd: [1,\n  2]\n",
    "a: true\nb: True\nc: FALSE\nd: yes\ne: no\nf: on\ng: y\nh: ~\ni: null\nj: Null\nk: NULL\nl:\nm: ''",
    "a: 010\nb: 019\nc: +5\nd: -0\ne: 0o7\nf: 0x1F\ng: 1_000\nh: 1:30\ni: 2024-04-01\nj: 1e3",
    "a: 0.20\nb: -1.5e+3\nc: .5\nd: 1.\ne: 1_0.5_\nf: .inf\ng: -.Inf\nh: +.INF\ni: .nan\nj: .NaN\nk: -.nan",
    "a: " + "9" * 301, "a: " + "9" * 300, "? [a, b]\n: 1\nc: 2", "? {a: 1}\n: {x: [1]}\n? [1]\n: 2\n",
    "1: a\ntrue: b\n1.0: c\nnull: d\n~: e\n'1': f", ".nan: 1\n.nan: 2", "a: {b: 1, b: 2}\na: [x]",
    "<<: {a: 1}\nb: 2", "a: &x 1\nb: 2", "a: !!str 1", "a: ! 1", "a: !!int x", "a: !foo x",
    "!!map {a: 1}", "a: !!binary aGVsbG8=", "!!merge <<: {a: 1}", "a: !!str\n  - 1",
    "a: 'x'\nb: \"y\\n\"\nc: |\n  lit\n  eral\nd: >\n  fol\n  ded\ne: \"true\"\nf: '1'",
    "a:\n- 1\n- [2, {b: c}]\n- - d\n  - e", "[1, 2]", "x: [a, b", "x: {a: 1", "a: 1\n  b: 2",
    "a: b: c", "\ta: 1", "a: @x", "a: `x`", "a: *x", "--- a\n--- b", "a: 1\n---\nb: 2",
    "%YAML 1.1\n---\na: 1", "a: \"\\q\"", "a: [1, 2]: 3", "- a: 1\n  b: 2\n- c",
    "a:\n  - name: x\n    values:\n      2023: {target: 1, actual: null}\n      2024: {target: 2.5, actual: 3}",
]


@pytest.mark.parametrize("text", CORNERS)
def test_fast_walk_corner_cases(text: str) -> None:
    assert_fast_is_slow(text)


def test_explicit_tags_go_to_pyyaml_and_deep_nesting_still_reads() -> None:
    assert not assert_fast_is_slow("a: !!int x")
    data, problems = load.parse_yaml("a: !!binary aGVsbG8=", "x.md", 2)
    assert data is None and "タグ" in problems[0].message
    assert load.parse_yaml("a: " + "[" * 250 + "1" + "]" * 250, "x.md", 2)[0] is not None


yamlish = st.lists(st.one_of(
    st.sampled_from(["a: 1", "b:", "  c: x", "  - d", "- e: 2", "  f: [1, 2.5, y]", "g: {h: ~, i: no}",
                     "? j", ": k", "'l': \"m\"", "n: |", "  text", "o: 1:30", "p: .nan", "2024: null",
                     "q: !!str 5", "r: &s 1", "t: *s", "u: true", "v: 010", "w: -.inf", "x: 1e5",
                     "  - [a, {b: c}]", "y: \"\\t\"", "#", "z: 0.2  # c", "x: x", "1: 1", "  ", "- ",
                     "a: {a: 1, a: 2}", "[1]: 2", "{a: b}: c", "true: 1", "~: 2", "0.5: h"]),
    st.text(alphabet=" -:?[]{},#&*!|>'\"%@`\n\tabc019.+eE_~", max_size=12),
), max_size=10).map("\n".join)


@settings(max_examples=400, **SETTINGS)
@given(text=yamlish)
def test_fast_walk_on_generated_yaml(text: str) -> None:
    assert_fast_is_slow(text)


# -- split_front_matter ----------------------------------------------------------------------------

def split_reference(text: str) -> tuple[str, str, int, int] | None:
    """The loop split_front_matter had: the first later line that is --- or ... closes."""
    lines = text.split("\n")
    for i in range(1, len(lines)):
        line = lines[i].rstrip("\r")
        if re.match(r"^---[ \t]*$", line) or line == "...":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), 2, i + 2
    return None


@settings(max_examples=400, **SETTINGS)
@given(text=st.lists(st.sampled_from(["---", "--- ", "---\t\r", "---\r\r", "...", "...\r", "....", "-- -",
                                      "a: 1", "", "\r", " ---", "---x", "本文", "--- \r x"]),
                     min_size=1, max_size=8).map(lambda lines: "---\n" + "\n".join(lines)))
def test_split_front_matter_finds_the_same_fence(text: str) -> None:
    fm, body, fm_line, body_line, problems = split_front_matter(text, "x.md")
    expected = split_reference(text)
    if expected is None:
        assert problems and problems[0].message.startswith("front matter が --- で閉じられていません")
    else:
        assert (fm, body, fm_line, body_line, problems) == (*expected, [])


# -- validation ------------------------------------------------------------------------------------

def checker_result(data: Any, year_range: tuple[int, int] | None, choices: Any) -> tuple[Any, list]:
    checker = validate.Checker("x.md", 2, choices, year_range)
    return checker.object(SHEET, data, "", "", 0), checker.problems


def fast_result(data: Any, year_range: tuple[int, int] | None, choices: Any) -> Any:
    try:
        return validate._SHEET_CONVERTER(data, validate._Context(choices, year_range))
    except validate._Invalid:
        return validate._Invalid


def test_fast_conversion_of_every_bundled_sheet(config) -> None:
    choices = validate._CHOICE_LISTS.lookup(config)
    for path in find_content(ROOT / "content"):
        src, _ = load_source(path, path.name)
        assert src is not None
        fast = fast_result(src.data, (2020, 2030), choices)
        assert fast is not validate._Invalid, path  # the fast path is the one that runs
        clean, problems = checker_result(src.data, (2020, 2030), choices)
        assert problems == [] and same(fast, clean)


VALUES = [None, "", "  ", "\u3000", "text", "テキスト\u3000全角空白", "a\nb\tc\r", "x\u200by", "\u202eabc",
          "\ue000", "a" * 201, "javascript:x", "https://example.jp/", 0, 1, -1, 17, 18, 2.5, -0.5, True,
          False, 1e16, float("nan"), float("inf"), 2024, 1899, 2201, "2024", "決算", "活動", "activity",
          "継続", "smartphone-subsidy", "Bad_ID", "a--b", [], [1, 2], [None], ["  "], [9, 9], {}, {"x": 1}]


def mutations() -> st.SearchStrategy[tuple[list[tuple[tuple, Any]], tuple[int, int] | None]]:
    from .test_properties import ANY_PATHS
    paths = [*ANY_PATHS, ("unknown",), ("costs", 2031), ("costs", "2024"), ("costs", True),
             ("indicators", 0, "values", 1999), ("organization",), ("evaluation", "need"), ("sdgs",)]
    return st.tuples(st.lists(st.tuples(st.sampled_from(paths), st.sampled_from(VALUES)), max_size=3),
                     st.sampled_from([None, (2020, 2030), (2024, 2026)]))


def apply(base: Any, changes: list[tuple[tuple, Any]]) -> Any:
    data = _copy(base)
    for path, value in changes:
        node = data
        for part in path[:-1]:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        else:
            if isinstance(node, dict):
                node[path[-1]] = _copy(value)
            elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
                node[path[-1]] = _copy(value)
    return data


def _copy(value: Any) -> Any:
    if isinstance(value, MarkedDict):
        out = MarkedDict((k, _copy(v)) for k, v in value.items())
        out.line, out.key_lines = value.line, dict(value.key_lines)
        return out
    if isinstance(value, MarkedList):
        seq = MarkedList(_copy(v) for v in value)
        seq.line, seq.item_lines = value.line, list(value.item_lines)
        return seq
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_GOOD = load_source(ROOT / "content/2025/smartphone-subsidy.md", "x.md")[0]


@settings(max_examples=500, **SETTINGS)
@given(case=mutations())
def test_fast_conversion_equals_the_checker(case, config) -> None:
    """Where the fast walk converts, the Checker finds no problem and the same values; where it
    stops, the Checker finds a problem (or the fast walk was only cautious: never the reverse)."""
    changes, year_range = case
    assert _GOOD is not None
    data = apply(_GOOD.data, changes)
    choices = validate._CHOICE_LISTS.lookup(config)
    fast = fast_result(data, year_range, choices)
    clean, problems = checker_result(data, year_range, choices)
    if fast is validate._Invalid:
        assert problems or clean is None
    else:
        assert problems == [] and same(fast, clean), (changes, problems)


# -- hidden characters -----------------------------------------------------------------------------

hidden_text = st.text(alphabet=st.one_of(
    st.sampled_from("a あ\u3000\xa0\u2000\u200a\u200b\u202f\u205f\u1680\t\n\r\x0b\x85\u2028\u2029\u202e"
                    "\u061c\ufeff\ue000\U000e0001\ufffe"),
    st.characters(blacklist_categories=("Cs",))), max_size=20)


@settings(max_examples=500, **SETTINGS)
@given(text=hidden_text)
def test_hidden_character_shortcuts(text: str) -> None:
    in_value = any(is_hidden(ch, allowed="\t\n\r") for ch in text)
    fast_value = not (text.isprintable() or validate._NOT_HIDDEN_IN_VALUES.sub("", text).isprintable())
    assert fast_value or not in_value  # the shortcut never skips a hidden character
    in_body = any(is_hidden(ch) for ch in text)
    fast_body = not (text.isprintable() or validate._NOT_HIDDEN_IN_BODY.sub("", text).isprintable())
    assert fast_body or not in_body


def test_spaces_removed_by_the_shortcuts_are_spaces() -> None:
    removed = [chr(c) for c in range(0x3001) if validate._NOT_HIDDEN_IN_VALUES.fullmatch(chr(c))]
    assert {unicodedata.category(ch) for ch in removed if ch not in "\t\n\r"} == {"Zs"}
    assert not any(is_hidden(ch, allowed="\t\n\r") for ch in removed)


def test_rel_paths_is_rel_path(tmp_path: Path) -> None:
    paths = [*find_content(ROOT / "content"), tmp_path / "outside.md", ROOT]
    assert load.rel_paths(paths, ROOT) == [load.rel_path(p, ROOT) for p in paths]


def test_content_listing_is_find_content_and_rel_paths(tmp_path: Path) -> None:
    """content_listing gives find_content's files (as strings) and rel_paths' paths, links and
    skipped names included."""
    content = tmp_path / "content"
    (content / "2024" / "sub").mkdir(parents=True)
    (content / "_drafts").mkdir()
    (content / "2025.md").mkdir()  # a folder named *.md is listed (and reported later)
    for rel in ("2024/b.md", "2024/a.md", "2024/sub/c.md", "_drafts/d.md", "2024/.e.md", "2024/_f.md",
                "2024/notes.txt", "z.md"):
        (content / rel).write_text("x", encoding="utf-8")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "linked.md").write_text("x", encoding="utf-8")
    (content / "2024" / "linked.md").symlink_to(outside / "linked.md")
    (content / "2024" / "broken.md").symlink_to(tmp_path / "missing.md")
    (content / "loop").symlink_to(content)  # a link back up the tree is not walked again
    files, rels = load.content_listing(content, tmp_path)
    expected = _walked(content)
    assert find_content(content) == expected
    assert files == [str(p) for p in expected]
    assert rels == load.rel_paths(expected, tmp_path)
    assert "elsewhere/linked.md" in rels and "content/2024/a.md" in rels
    assert not any("_drafts" in r or "/." in r or "_f.md" in r for r in rels)
    assert load.content_listing(tmp_path / "none", tmp_path) == ([], [])


def _walked(content_dir: Path) -> list[Path]:
    """find_content as it was written with os.walk (the reference of the scandir walk)."""
    found: list[tuple[str, ...]] = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(content_dir, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel = os.path.relpath(dirpath, content_dir)
        parts = () if rel == "." else tuple(rel.split(os.sep))
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        found += [(*parts, name) for name in (*filenames, *dirnames)
                  if name.endswith(".md") and not name.startswith((".", "_"))]
    found.sort()
    return [content_dir.joinpath(*parts) for parts in found]
