"""Property tests (Hypothesis): whatever a sheet file holds, the pipeline builds it or reports problems,
never raises; what it builds is inert HTML that shows every value of the sheet as text.

Derandomized (a fixed sequence of examples) and bounded, so CI runs the same cases every time in a
few seconds: max_examples below. The generated sheets start from a valid sheet and replace a few
of its values with arbitrary text (Unicode, payloads from tests/fixtures/xss_payloads.txt, YAML
look-alikes), numbers (NaN, ±∞, huge, tiny), booleans, lists or null; bodies mix Markdown,
raw HTML and arbitrary text. Whole files of arbitrary text or bytes must never make loading raise.
"""

from __future__ import annotations

import copy
import functools
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hyoka import render
from hyoka.collect import collect
from hyoka.load import decode, load_source, parse_yaml, split_front_matter
from hyoka.pipeline import load_and_validate
from hyoka.render import render_site
from hyoka.schema import INDICATOR_KINDS

from .conftest import ROOT
from .htmlsafety import unsafe
from .htmltext import PageText
from .test_build import GOOD
from .xss_site import PAYLOADS, strings_of

SETTINGS = {"derandomize": True, "database": None, "deadline": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

_fm, BASE_BODY, *_ = split_front_matter(GOOD, "x.md")
BASE: dict[str, Any] = yaml.safe_load(_fm)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return [(prefix, value)]


LEAVES = _paths(BASE)
STRING_PATHS = [p for p, v in LEAVES if isinstance(v, str) and p[-1] not in ("kind", "rating", "id", "category")]
NUMBER_PATHS = [p for p, v in LEAVES if isinstance(v, (int, float)) and not isinstance(v, bool)
                and p[0] not in ("evaluation_year", "results_year", "sdgs")]
ANY_PATHS = [p for p, _ in LEAVES]

TRICKY = ["no", "yes", "on", "null", "~", "2024-04-01", "1:30", "010", "１，２３４", "令和6年度", "8人",
          "&amp;", "&lt;b&gt;", "\\", "'", '"', "{{ x }}", "{% x %}", "<!--", "]]>", "\u3000", "\u00a0", "😀",
          "\u202e", "\u200b", "\t", "\r\n", "a\nb", "#", ": ", "- ", "*x", "&x", "!x", "|", ">", "%", "@x", "`x`"]
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(PAYLOADS),
    st.sampled_from(TRICKY),
    st.lists(st.sampled_from(TRICKY + PAYLOADS[:10]), min_size=1, max_size=4).map("".join),
)
numbers = st.one_of(
    st.integers(min_value=-10, max_value=10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from([0, 0.0, 1e-300, 5e-324, 1e15, 999_999_999_999_999, 0.1 + 0.2]),
)
anything = st.one_of(texts, numbers, st.booleans(), st.none(), st.lists(texts, max_size=3),
                     st.dictionaries(texts, texts, max_size=2))
edits = st.one_of(
    st.tuples(st.sampled_from(STRING_PATHS), texts),
    st.tuples(st.sampled_from(NUMBER_PATHS), numbers),
    st.tuples(st.sampled_from(NUMBER_PATHS), st.none()),
    st.tuples(st.sampled_from(ANY_PATHS), anything),
)
markdown_bits = st.sampled_from([
    "## 見出し", "### 小見出し", "- 項目", "1. 番号", "> 引用", "**強調**", "`code`", "---", "",
    "| a | b |\n|:--|--:|\n| 1 | 2 |", "[x](javascript:alert(1))", "[ok](https://example.jp/)",
    "![i](https://evil.example/i.png)", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "<https://evil.example/>", "```\n<b>code</b>\n```", "&#x3C;script&#x3E;", "\\<b\\>",
])
bodies = st.lists(st.one_of(markdown_bits, st.sampled_from(PAYLOADS), st.text(max_size=40)),
                  max_size=8).map("\n".join)


@pytest.fixture(scope="module", autouse=True)
def _compiled_templates_once():
    """Compile the templates once for the module (render_pages sets its per-site filters anew on
    every call); compiling them for every example would be most of the time."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render, "make_env", functools.cache(render.make_env))
        yield


def _set(data: dict, path: tuple, value: Any) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _sheet_file(changes: list[tuple[tuple, Any]], body: str) -> str:
    data = copy.deepcopy(BASE)
    for path, value in changes:
        _set(data, path, value)
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_build(config, text: str | bytes) -> bool:
    """Load, validate and (if valid) render one sheet file; assert the properties. True if it built."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "content" / "2025" / "good-sheet.md"
        path.parent.mkdir(parents=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        cfg = replace(config, root=Path(tmp), content_dir=Path(tmp) / "content",
                      output_dir=Path(tmp) / "_site")
        sheets, problems = load_and_validate(cfg)
        for p in problems:  # every problem is a whole Japanese line naming the file
            assert p.path == "content/2025/good-sheet.md" and p.line >= 0 and p.format()
        if any(p.is_error for p in problems):
            assert sheets == []
            return False
        assert len(sheets) == 1
        pages = render_site(collect(sheets, cfg), ROOT / "templates")
        src, _ = load_source(path, "x.md")
    for page in pages:
        if page.path.endswith(".html"):
            assert unsafe(page.text) == [], (page.path, unsafe(page.text))
    sheet_page = next(p for p in pages if p.path == "sheets/good-sheet/2025/index.html")
    shown = PageText(sheet_page.text).text
    assert src is not None
    for value in strings_of({k: v for k, v in src.data.items() if k != "id"}):
        if value not in INDICATOR_KINDS:
            assert _squash(value) in shown, value
    return True


@settings(max_examples=80, **SETTINGS)
@given(changes=st.lists(edits, max_size=4), body=bodies)
def test_any_sheet_builds_inert_or_is_reported(config, changes, body) -> None:
    event("built" if check_build(config, _sheet_file(changes, body)) else "reported")


@settings(max_examples=40, **SETTINGS)
@given(changes=st.lists(st.tuples(st.sampled_from(STRING_PATHS), texts), max_size=6), body=bodies)
def test_any_text_in_text_fields(config, changes, body) -> None:
    """Text fields take any text: the sheet builds unless the text breaks a rule (length, hidden
    characters), and then it is reported, never raised."""
    event("built" if check_build(config, _sheet_file(changes, body)) else "reported")


@settings(max_examples=300, **SETTINGS)
@given(text=st.one_of(st.text(max_size=300),
                      st.lists(st.sampled_from(["---", "id: x", "a: [", "b: {", "  - c", "*a", "&a x", "? x",
                                                "!!binary x", ":", "\t", "'", '"', "...", "\ufeff", "\x00",
                                                "\r", "\u2028", "---\n---"]), max_size=12).map("\n".join)))
def test_any_front_matter_text_never_raises(text: str) -> None:
    _, problems = parse_yaml(text, "x.md", 2)
    for p in problems:  # a Japanese line at a line of the file, whatever the text
        assert p.line >= 2 and p.format()
    decoded, problems = decode(text.encode("utf-8", "surrogatepass"), "x.md")
    assert decoded is not None or problems


@settings(max_examples=150, **SETTINGS)
@given(raw=st.one_of(st.binary(max_size=400), st.text(max_size=200).map(lambda t: ("---\n" + t).encode())))
def test_any_bytes_never_raise(tmp_path_factory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("raw") / "x.md"
    path.write_bytes(raw)
    src, problems = load_source(path, "x.md")
    assert src is not None or problems
