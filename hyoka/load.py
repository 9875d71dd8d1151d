"""Find content files, split front matter from body, and parse YAML keeping line numbers."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .problems import Problem


class MarkedDict(dict):
    """A mapping that remembers the 0-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """0-based line of `key`, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class MarkedList(list):
    """A sequence that remembers the 0-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """0-based line of item `index`."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


# Which plain (unquoted) words are not text. YAML 1.1, PyYAML's default, reads `no`, `on`, `yes`,
# `off` as booleans, 1:30 as 90 (base 60), 010 as 8, 2024-04-01 as a date, and `<<` as a merge.
# Sheets follow YAML 1.2 as VS Code's YAML extension does: only true/false are booleans, so
# `implementer: no` is the text "no" as written; numbers are decimal; a date stays the text it
# is. Each pattern is a subset of YAML 1.1's, so anything hyoka.dump writes plain reads back the same.
_PLAIN_TYPES: tuple[tuple[str, str, str], ...] = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*|0[0-7]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
)
# Per first character, the (tag, regex) list YAML's resolver tries for a plain scalar, in its
# order (hyoka/yamlparse.py gives PyYAML's loader the same).
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _pattern, _first in _PLAIN_TYPES:
    for _char in (*_first, *(("",) if _tag.endswith("null") else ())):
        _RESOLVERS.setdefault(_char, []).append((_tag, re.compile(_pattern)))


# -- the fast path: libyaml composes the nodes, one recursive walk builds the values ---------------
# What the _LineLoader above gives, several times faster: PyYAML's constructors run a generator and
# a dict of constructors per node, and its resolver runs the regexes of _PLAIN_TYPES for every
# plain scalar. Here the composer only marks how each node was written (the sentinels below, which
# no explicitly tagged node can have: its tag is a fresh string), and the walk resolves plain
# scalars by their first character. A node with an explicit tag (!!str, !!binary, !foo ...) is
# rare and is left to the _LineLoader, whose constructors give the result and the message.
_PLAIN, _QUOTED, _MAP, _SEQ = (object() for _ in range(4))
# Per first character, the same (kind, regex) list the _LineLoader's resolver tries, in its order.
_PLAIN_KINDS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    char: tuple((tag.rsplit(":", 1)[-1], regex) for tag, regex in resolvers)
    for char, resolvers in _RESOLVERS.items()
}
# Plain scalars that _plain has read: keys such as `total` and numbers such as 2024 repeat in every
# sheet. Values are immutable (text, numbers, true/false, null), so sharing them changes nothing.
_PLAIN_SEEN: dict[str, Any] = {}
_INF = float("inf")  # as SafeConstructor.inf_value and nan_value
_NAN = -_INF / _INF


class _ExplicitTag(Exception):
    """A node has an explicit tag: the _LineLoader reads this document instead."""


def _plain(value: str, kinds: tuple[tuple[str, re.Pattern[str]], ...]) -> Any:
    """A plain scalar whose first character may start a non-text value, as the _LineLoader reads it."""
    try:
        return _PLAIN_SEEN[value]
    except KeyError:
        pass
    result = _resolve_plain(value, kinds)
    if len(value) <= 40 and len(_PLAIN_SEEN) < 10_000:
        _PLAIN_SEEN[value] = result
    return result


def _resolve_plain(value: str, kinds: tuple[tuple[str, re.Pattern[str]], ...]) -> Any:
    for kind, regex in kinds:
        if regex.match(value):
            if kind == "int":  # as _construct_int
                return int(value) if len(value) <= 300 else float(value)
            if kind == "float":  # as SafeConstructor.construct_yaml_float
                text = value.replace("_", "").lower()
                sign = -1 if text[0] == "-" else 1
                if text[0] in "+-":
                    text = text[1:]
                if text == ".inf":
                    return sign * _INF
                if text == ".nan":
                    return _NAN
                return sign * float(text)
            if kind == "bool":  # SafeConstructor.bool_values of the lowered word: true or false
                return value.lower() == "true"
            return None
    return value


# -- the usual shape, read in pure Python ---------------------------------------------------------
# Sheets are written one way: block mappings of `key: value`, block sequences of such mappings, plain
# and one-line quoted scalars, one-line flow collections of scalars, comments and blank lines. This
# reads exactly that shape, three times faster than libyaml composing nodes, and gives what
# _load_fast gives (the same values, types and line marks). Anything else, including what would be
# an error or a duplicate key, is _UNUSUAL: _load_fast then reads the document (and gives the
# message). tests/test_load_yaml_fast.py compares the two on the content, the corpora and fuzz.
_UNUSUAL = object()


class _Unusual(Exception):
    """Not the usual shape."""


class _LazyPattern:
    """A regex compiled when first used: compiling _UNUSUAL_CHARS took 9 ms of every build's start,
    and a usual file is never scanned with it (_usual_bytes)."""

    __slots__ = ("_compiled", "_source")

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: re.Pattern[str] | None = None

    def search(self, text: str) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self._source)
        return self._compiled.search(text)


# Tabs, CR and the other line breaks YAML knows, the BOM, and what libyaml's reader refuses.
_UNUSUAL_CHARS = _LazyPattern("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# A plain scalar or key starts with none of YAML's indicators (nor a space). `-` may start a plain
# value when a non-blank follows (-5, -.inf); keys and flow scalars never start with it here.
_INDICATORS = frozenset(" -?:,[]{}#&*!|>'\"%@`")
_START = r"[^-?:,\[\]{}#&*!|>'\"%@` ]"
# A key: a plain scalar without : # , [ ] { } ' " and not ending in a space, then `:` and a space or
# the end of the line.
_KEY = _START + r"(?:[^:,\[\]{}#'\"]{0,200}[^:,\[\]{}#'\" ])?"
_KEY_LINE = re.compile(f"({_KEY}):(?: +|$)")
# One scalar inside [ ] or { }: '...' ('' is '), "..." without \, or plain text without : , [ ] { } #.
_FLOW_SCALAR = (r"(?:'((?:[^']|'')*+)'|\"([^\"\\]*)\"|((?:" + _START + r"|-[^:,\[\]{}# ])[^:,\[\]{}#]*))"
                r" *")
_FLOW_ITEM = re.compile(r" *" + _FLOW_SCALAR + r"([,\]])")
_FLOW_ENTRY = re.compile(f" *({_KEY}): +" + _FLOW_SCALAR + r"([,}])")
_EMPTY_SEQ = re.compile(r"\[ *\]")
_EMPTY_MAP = re.compile(r"\{ *\}")
# After a quoted scalar or a flow collection: nothing, or a comment after a space.
_TAIL = re.compile(r" +#.*| *")
_SINGLE = re.compile(r"'((?:[^']|'')*+)'(?: +#.*| *)")
_DOUBLE = re.compile(r"\"([^\"\\]*)\"(?: +#.*| *)")


def _load_usual(text: str, usual_chars: bool = False) -> Any:
    """The front matter as _load_fast reads it (without duplicate or unhashable keys), or _UNUSUAL.
    `usual_chars`: the text is known to hold none of _UNUSUAL_CHARS (_usual_bytes of its file)."""
    if not usual_chars and _UNUSUAL_CHARS.search(text):
        return _UNUSUAL
    lines: list[tuple[int, int, str]] = []
    for number, line in enumerate(text.split("\n")):
        content = line.lstrip(" ")
        if content and content[0] != "#":
            indent = len(line) - len(content)
            if indent == 0 and content[:3] in ("---", "..."):  # document markers
                return _UNUSUAL
            lines.append((number, indent, content))
    if not lines or lines[0][1] != 0:
        return _UNUSUAL
    try:
        return _usual_map(lines, 0, 0)[0]
    except _Unusual:
        return _UNUSUAL


# Lines of a block mapping read the usual way: `unit: 回`, `lower_is_better: false` and most lines
# of a program's sheet repeat, in sheet after sheet and year after year. Keys and scalars are
# immutable; a { } or [ ] value (a new MarkedDict or MarkedList each time) is read from the rest.
_KEY_LINES_SEEN: dict[str, tuple[Any, str, Any]] = {}
_NOT_SCALAR = object()


def _key_line(content: str) -> tuple[Any, str, Any]:
    """(key, the rest after `key:` and its spaces, its scalar value or _NOT_SCALAR) of one line of a
    block mapping; raises _Unusual."""
    match = _KEY_LINE.match(content)
    if match is None:
        raise _Unusual
    key = match.group(1)
    kinds = _PLAIN_KINDS.get(key[0])
    if kinds is not None:
        key = _plain(key, kinds)
    rest = content[match.end():]
    scalar = rest and rest[0] not in "#{["
    found = key, rest, _usual_value(rest, 0) if scalar else _NOT_SCALAR  # a scalar has no line mark
    if len(content) <= 200 and len(_KEY_LINES_SEEN) < 20_000:
        _KEY_LINES_SEEN[content] = found
    return found


def _usual_map(lines: list[tuple[int, int, str]], i: int, column: int) -> tuple[MarkedDict, int]:
    """The block mapping whose keys start lines[i:] at `column`, and the index after it."""
    result = MarkedDict()
    result.line = lines[i][0]
    key_lines: dict[Any, int] = {}
    result.key_lines = key_lines
    end = len(lines)
    while i < end:
        number, indent, content = lines[i]
        if indent != column:
            if indent < column:
                break
            raise _Unusual
        key, rest, value = _KEY_LINES_SEEN.get(content) or _key_line(content)
        if key in result:
            raise _Unusual
        i += 1
        if value is not _NOT_SCALAR:
            pass  # `key: value`
        elif rest and rest[0] != "#":  # `key: { }` or `key: [ ]`
            value = _usual_value(rest, number)
        elif i < end and lines[i][1] > column:  # `key:` and a block below it
            inner = lines[i][2]
            if inner[0] == "-" and inner[1:2] in ("", " "):
                value, i = _usual_seq(lines, i, lines[i][1])
            else:
                value, i = _usual_map(lines, i, lines[i][1])
        else:
            value = None  # `key:` alone: the empty plain scalar, null
        result[key] = value
        key_lines[key] = number
    return result, i


def _usual_seq(lines: list[tuple[int, int, str]], i: int, column: int) -> tuple[MarkedList, int]:
    """The block sequence whose `- ` start lines[i:] at `column`, and the index after it."""
    result = MarkedList()
    result.line = lines[i][0]
    item_lines: list[int] = []
    result.item_lines = item_lines
    end = len(lines)
    while i < end:
        number, indent, content = lines[i]
        if indent != column:
            if indent < column:
                break
            raise _Unusual
        if content[:2] != "- " or len(content) < 3:
            raise _Unusual
        item = content[2:]
        if _KEY_LINE.match(item):  # `- key: ...`: a mapping whose keys are at column + 2
            lines[i] = (number, column + 2, item)
            value, i = _usual_map(lines, i, column + 2)
        else:
            value = _usual_value(item, number)
            i += 1
        result.append(value)
        item_lines.append(number)
    return result, i


def _usual_value(text: str, line: int) -> Any:
    """The value that `text` (the rest of a line, not empty) writes in block context."""
    first = text[0]
    if first == "{":
        return _usual_flow_map(text, line)
    if first == "[":
        return _usual_flow_seq(text, line)
    if first == "'":
        match = _SINGLE.fullmatch(text)
        if match is None:
            raise _Unusual
        return match.group(1).replace("''", "'")
    if first == '"':
        match = _DOUBLE.fullmatch(text)
        if match is None:
            raise _Unusual
        return match.group(1)
    if first in _INDICATORS and (first != "-" or text[1:2] in ("", " ")):
        raise _Unusual
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment]
    text = text.rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise _Unusual
    kinds = _PLAIN_KINDS.get(first)
    return text if kinds is None else _plain(text, kinds)


def _flow_scalar(single: str | None, double: str | None, plain: str | None) -> Any:
    if plain is not None:
        plain = plain.rstrip(" ")
        kinds = _PLAIN_KINDS.get(plain[0])
        return plain if kinds is None else _plain(plain, kinds)
    if single is not None:
        return single.replace("''", "'")
    return double


def _usual_flow_seq(text: str, line: int) -> MarkedList:
    close = text.find("]")
    inner = text[1:close]
    if close > 1 and _canonical(inner, ":") and (
            close + 1 == len(text) or _TAIL.fullmatch(text, close + 1) is not None):
        # `[a, b]`, the usual way: split at each ", " without a regex
        values = inner.split(", ")
        if len(values) == inner.count(",") + 1:
            for i, value in enumerate(values):
                first = value[:1]
                if (first in _INDICATORS and (first != "-" or value[1:2] in ("", " "))) or not first:
                    break
                kinds = _PLAIN_KINDS.get(first)
                if kinds is not None:
                    values[i] = _plain(value, kinds)
            else:
                result = MarkedList(values)
                result.line = line
                result.item_lines = [line] * len(values)
                return result
    result = MarkedList()
    result.line = line
    empty = _EMPTY_SEQ.match(text)
    if empty is not None:
        pos = empty.end()
    else:
        pos = 1
        while True:
            match = _FLOW_ITEM.match(text, pos)
            if match is None:
                raise _Unusual
            single, double, plain, close_char = match.groups()
            result.append(_flow_scalar(single, double, plain))
            pos = match.end()
            if close_char == "]":
                break
    if _TAIL.fullmatch(text, pos) is None:
        raise _Unusual
    result.item_lines = [line] * len(result)
    return result


def _canonical(inner: str, forbidden: str) -> bool:
    """No quotes, brackets, braces, comments or `forbidden`; single spaces only, none at either end."""
    return not (inner[0] == " " or inner[-1] == " " or "  " in inner or " ," in inner or "'" in inner
                or '"' in inner or "[" in inner or "]" in inner or "{" in inner or "}" in inner or "#" in inner
                or forbidden in inner)


# `{key: value, ...}` texts read the usual way, as a dict that is never handed out (each result is a
# MarkedDict copied from it): `{target: 0, actual: null}` and `{rating: 適切, comment: null}` repeat
# in sheet after sheet. Keys and values are immutable.
_FLOW_MAPS_SEEN: dict[str, dict[Any, Any]] = {}


# Each `key: value` of such a text, read the usual way: `kind: 決算`, `actual: null` and
# `staff_regular: 0.85` repeat inside texts that do not (the costs of each year).
_FLOW_PAIRS: dict[str, tuple[Any, Any]] = {}


def _flow_pair(part: str) -> tuple[Any, Any] | None:
    """(key, value) of one `key: value` (exactly one ": ") of a `{...}` without quotes or brackets,
    or None when either is not a plain scalar written the usual way."""
    key, _, value = part.partition(": ")
    if ":" in value:  # the caller counts the ": " of all parts; this one holds two
        return None
    first = key[:1]
    if not first or first in _INDICATORS or len(key) > 200:
        return None
    kinds = _PLAIN_KINDS.get(first)
    if kinds is not None:
        key = _plain(key, kinds)
    first = value[:1]
    if (first in _INDICATORS and (first != "-" or value[1:2] in ("", " "))) or not first:
        return None
    kinds = _PLAIN_KINDS.get(first)
    pair = (key, value if kinds is None else _plain(value, kinds))
    if len(part) <= 60 and len(_FLOW_PAIRS) < 20_000:
        _FLOW_PAIRS[part] = pair
    return pair


def _usual_flow_map(text: str, line: int) -> MarkedDict:
    seen = _FLOW_MAPS_SEEN.get(text)
    if seen is not None:
        result = MarkedDict(seen)
        result.line = line
        result.key_lines = dict.fromkeys(seen, line)
        return result
    close = text.find("}")
    inner = text[1:close]
    if close > 1 and _canonical(inner, " :") and (
            close + 1 == len(text) or _TAIL.fullmatch(text, close + 1) is not None):
        # `{key: value, key: value}`, the usual way: split at each ", " and ": " without a regex
        parts = inner.split(", ")
        count = len(parts)
        if count == inner.count(",") + 1 and count == inner.count(":") == inner.count(": "):
            pairs = [_FLOW_PAIRS.get(part) or _flow_pair(part) for part in parts]
            if all(pairs):
                result = MarkedDict(pairs)
                if len(result) != count:  # a key written twice
                    raise _Unusual
                result.line = line
                result.key_lines = dict.fromkeys(result, line)
                if len(text) <= 100 and len(_FLOW_MAPS_SEEN) < 10_000:
                    _FLOW_MAPS_SEEN[text] = dict(result)
                return result
    result = MarkedDict()
    result.line = line
    key_lines: dict[Any, int] = {}
    result.key_lines = key_lines
    empty = _EMPTY_MAP.match(text)
    if empty is not None:
        pos = empty.end()
    else:
        pos = 1
        while True:
            match = _FLOW_ENTRY.match(text, pos)
            if match is None:
                raise _Unusual
            key, single, double, plain, close_char = match.groups()
            kinds = _PLAIN_KINDS.get(key[0])
            if kinds is not None:
                key = _plain(key, kinds)
            if key in result:
                raise _Unusual
            result[key] = _flow_scalar(single, double, plain)
            key_lines[key] = line
            pos = match.end()
            if close_char == "}":
                break
    if _TAIL.fullmatch(text, pos) is None:
        raise _Unusual
    return result


def _load_marked(text: str, usual_chars: bool = False) -> tuple[Any, list[tuple[Any, int]], list[int]]:
    """(data with line marks, duplicate keys with their lines, lines of unhashable keys). PyYAML
    (hyoka/yamlparse.py) is imported only for a document not of the usual shape."""
    data = _load_usual(text, usual_chars)
    if data is not _UNUSUAL:
        return data, [], []
    from .yamlparse import WITH_LIBYAML
    if WITH_LIBYAML:
        try:
            return _load_fast(text)
        except _ExplicitTag:
            pass
    return _load_slow(text)


def _load_fast(text: str) -> tuple[Any, list[tuple[Any, int]], list[int]]:
    """yamlparse.load_fast: (data, duplicate keys, lines of unhashable keys); raises YAMLError, or
    _ExplicitTag."""
    from .yamlparse import load_fast
    return load_fast(text)


def _load_slow(text: str) -> tuple[Any, list[tuple[Any, int]], list[int]]:
    """yamlparse.load_slow: the same with PyYAML's constructors."""
    from .yamlparse import load_slow
    return load_slow(text)


@dataclass(frozen=True)
class SourceFile:
    """One content file split into front matter and body, with where each starts."""

    path: Path
    rel: str  # path as shown in messages, relative to the project
    data: MarkedDict
    body: str
    fm_first_line: int  # 1-based file line of the first front-matter line
    body_first_line: int
    digest: str = ""  # hash of the file's bytes: what incremental rendering compares

    def file_line(self, yaml_line: int) -> int:
        """1-based file line for a 0-based line inside the front matter."""
        return self.fm_first_line + yaml_line


def yaml_problem(rel: str, exc: Exception, first_line: int, source: str) -> Problem:
    """yamlparse.yaml_problem: PyYAML's English error as one Japanese problem line."""
    from .yamlparse import yaml_problem as problem
    return problem(rel, exc, first_line, source)


def _alias_lines(text: str) -> list[int]:
    """yamlparse.alias_lines: 0-based lines of every alias (*name)."""
    from .yamlparse import alias_lines
    return alias_lines(text)


def parse_yaml(text: str, rel: str, first_line: int, usual_chars: bool = False) -> tuple[Any, list[Problem]]:
    """Parse YAML with line marks; problems carry 1-based file lines. `usual_chars`: the text is
    known to hold none of _UNUSUAL_CHARS (a tab, a control, a line separator, U+FEFF, U+FFFE,
    U+FFFF: _usual_bytes)."""
    # Aliases (*name) are refused before anything is built: a sheet never needs them, and a few
    # lines of nested aliases ("billion laughs") would otherwise expand to gigabytes.
    aliases = _alias_lines(text) if "*" in text else []
    if aliases:
        return None, [Problem(rel, first_line + line, "", "YAML", "別名（*名前）は使えません",
                              "アンカー（&名前）と別名（*名前）を使わず、値をそれぞれの場所に書いてください。"
                              "値が * や & で始まるときは \"...\" で囲みます。")
                      for line in aliases]
    try:
        data, duplicate_keys, unhashable_keys = _load_marked(text, usual_chars)
    except Exception as exc:
        from .yamlparse import YAMLError
        if not isinstance(exc, YAMLError):
            raise
        return None, [yaml_problem(rel, exc, first_line, text)]
    problems = [
        Problem(rel, first_line + line, str(key), "重複したキー",
                f"キー「{key}」が同じ階層に2回以上書かれています",
                "YAML では後の値だけが残り、前の値は失われます。どちらか一方にしてください。")
        for key, line in duplicate_keys
    ]
    problems += [
        Problem(rel, first_line + line, "", "YAML", "キーに使えない値（リストや辞書）がキーになっています",
                "キーは title のような名前にしてください。「? 」で始まる行や [ ] { } の位置を確かめてください。")
        for line in unhashable_keys
    ]
    return data, problems


_FENCE = re.compile(r"^---[ \t]*$")
# A later line that is --- (or ...), whatever \r follow it, found from the "\n" before it: a pattern
# that starts with a character is searched for that character first, five times faster than a
# MULTILINE ^, which is tried at every position.
_CLOSING_FENCE = re.compile(r"\n(?:---[ \t]*|\.\.\.)\r*$", re.MULTILINE)


def split_front_matter(text: str, rel: str) -> tuple[str, str, int, int, list[Problem]]:
    """Return (front matter, body, fm first line, body first line, problems)."""
    newline = text.find("\n")
    first = text[:newline] if newline >= 0 else text  # the first line
    if not text or text.isspace():  # (not text.strip(), without copying the text)
        return "", "", 1, 1, [Problem(rel, 1, "", "ファイル", "ファイルが空です",
                                      "先頭に --- で囲んだ front matter（YAML）を書いてください。")]
    if not _FENCE.match(first.rstrip("\r")):
        return "", "", 1, 1, [Problem(rel, 1, "", "front matter",
                                      "先頭行が --- ではありません（front matter がありません）",
                                      "1行目に --- 、YAML の項目、次に --- の行を書き、その後に本文を書きます。")]
    # The first later line that is --- (or ...), whatever \r follow it: one search, not a loop.
    start = len(first) + 1
    end = _CLOSING_FENCE.search(text, start - 1) if start <= len(text) else None
    if end is not None:
        fence = end.start() + 1  # where the closing line starts
        fm = text[start:fence - 1] if fence > start else ""
        body = text[end.end() + 1:]
        return fm, body, 2, text.count("\n", 0, fence) + 2, []
    return "", "", 1, 1, [Problem(rel, 1, "", "front matter",
                                  "front matter が --- で閉じられていません",
                                  "YAML の項目の後に --- だけの行を書いてください。")]


# A sheet is a few kilobytes; anything near this is a paste gone wrong (or an attack on memory).
MAX_FILE_BYTES = 1_000_000
_CHAR_NAMES = {"\r": "CR", "\x0b": "垂直タブ", "\x0c": "改ページ", "\x1b": "ESC", "\x7f": "DEL",
               "\x85": "NEL"}
# What is_hidden(ch, controls_only=True) finds, as one pattern for a quick scan of the whole file.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def char_name(ch: str) -> str:
    """「U+202E（RIGHT-TO-LEFT OVERRIDE）」: what a message calls an invisible character."""
    return f"U+{ord(ch):04X}（{_CHAR_NAMES.get(ch) or unicodedata.name(ch, '制御文字')}）"


def is_hidden(ch: str, *, controls_only: bool = False, allowed: str = "\t\n") -> bool:
    """Control characters (but those `allowed`) and line separators; unless `controls_only`, also
    invisible format characters (bidi controls, zero-width spaces) and lone surrogates."""
    cat = unicodedata.category(ch)
    if (cat == "Cc" and ch not in allowed) or cat in ("Zl", "Zp"):
        return True
    return not controls_only and cat in ("Cf", "Cs")


def hidden_problem(rel: str, line: int, key: str, label: str, text: str, index: int) -> Problem:
    """One invisible character, named by code point, with its column and how to remove it."""
    ch = text[index]
    if ch == "\r":
        return Problem(rel, line, key, label, "改行コードが CR だけの行があります",
                       "改行コードを LF（または CRLF）にして保存し直してください。")
    if ch in "\u2028\u2029":
        hint = "Unicode の行区切りの文字です。普通の改行に置き換えてください。"
    elif ch in BIDI_CONTROLS:
        hint = ("文字の向きを変える制御文字は、表示される文と実際の文を食い違わせることがあるため使えません"
                "（Trojan Source）。その位置の文字を消してください。")
    else:
        hint = ("Word・Excel・Web ページから貼り付けると入ることがある、見えない文字です。"
                "その位置の文字を消してください（VS Code では記号や枠で表示されます）。")
    return Problem(rel, line, key, label,
                   f"見えない文字 {char_name(ch)}があります（{index + 1}文字目）", hint)


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


# Every byte but the ASCII controls (0x00–0x1f, DEL): what _usual_bytes deletes to see those.
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not (b < 0x20 or b == 0x7f))
# In UTF-8, the lead byte of U+0080–U+00BF (C1 controls among them), U+2028, U+2029, U+FEFF, U+FFFE
# and U+FFFF: the other characters of _UNUSUAL_CHARS.
_UNUSUAL_UTF8 = (b"\xc2", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xef\xbb\xbf", b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def _usual_bytes(raw: bytes) -> bool:
    """True when the text of `raw` (UTF-8 without its BOM, CRLF read as LF) holds none of
    _UNUSUAL_CHARS (nor, so, of _CONTROLS): then neither needs its regex scan of the text (the
    two scans were a tenth of loading a sheet: re tries a character class at every character). False
    also for some usual texts (with U+00A0–U+00BF, or a CR not directly followed by LF as in
    `\\r\\r\\n`): they are scanned.
    Found in C: the control bytes kept by bytes.translate, and substring tests."""
    controls = raw.translate(None, _NOT_CONTROL_BYTES)
    if controls and (controls.translate(None, b"\n\r") or raw.count(b"\r") != raw.count(b"\r\n")):
        return False  # a tab, another control, or a CR that is not the CR of a CRLF
    return not any(seq in raw for seq in _UNUSUAL_UTF8)


def decode(raw: bytes, rel: str) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 (a leading BOM is accepted); say so plainly for anything else."""
    text, problems, _ = _decode(raw, rel)
    return text, problems


def _decode(raw: bytes, rel: str) -> tuple[str | None, list[Problem], bool]:
    """decode, and whether the text holds only usual characters (_usual_bytes)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = "エディタで「UTF-8」を選んで保存し直してください。"
        if _decodes(raw, "cp932"):
            hint = ("Shift_JIS（Windows の標準）で保存されているようです。" + hint
                    + "（コマンドなら: iconv -f CP932 -t UTF-8 元.md > 新.md）")
        elif _decodes(pair := raw[exc.start:exc.start + 2], "cp932") and not pair.isascii():
            hint = ("この行に Shift_JIS（Windows の標準）の文字が混ざっているようです（別のファイルから"
                    "貼り付けた文字など）。この行を UTF-8 で書き直してください。")
        return None, [Problem(rel, line, "", "文字コード", "ファイルが UTF-8 ではありません", hint)], False
    if _usual_bytes(raw):  # no NUL, no control: nothing below applies
        return text.replace("\r\n", "\n"), [], True
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [Problem(rel, line, "", "文字コード", "ファイルに NUL 文字（\\0）が含まれています",
                              "テキストエディタで保存し直してください。")], False
    text = text.replace("\r\n", "\n")
    # Controls would break YAML's reader (or its line count) and the HTML: name each, file at once.
    problems = []
    for number, line in enumerate(text.split("\n") if _CONTROLS.search(text) else (), start=1):
        index = next((i for i, ch in enumerate(line) if is_hidden(ch, controls_only=True)), None)
        if index is not None:
            problems.append(hidden_problem(rel, number, "", "文字", line, index))
    if len(problems) > 10:
        rest = len(problems) - 10
        problems = [*problems[:10], Problem(rel, problems[10].line, "", "文字",
                                            f"ほかに {rest}行にも見えない文字があります")]
    return (None, problems, False) if problems else (text, [], False)


def load_source(path: Path, rel: str) -> tuple[SourceFile | None, list[Problem]]:
    """Read one content file into a SourceFile, or the problems that prevent it."""
    try:
        if not path.is_file():  # a folder or a pipe named *.md: opening a pipe would wait forever
            return None, [Problem(rel, 0, "", "ファイル", "通常のファイルではありません",
                                  "フォルダなどの名前が .md で終わっていないか確かめてください。")]
        with path.open("rb") as f:
            # f.read(MAX_FILE_BYTES + 1) alone allocates a megabyte for each file, most of the
            # cost of reading a sheet: ask for the size the file has, and read on only if it grew.
            size = min(os.fstat(f.fileno()).st_size, MAX_FILE_BYTES)
            raw = f.read(size + 1)
            if len(raw) > size:
                raw += f.read(MAX_FILE_BYTES - size)
    except OSError as exc:
        return None, [Problem(rel, 0, "", "ファイル", f"ファイルを読めません（{exc.strerror}）")]
    if len(raw) > MAX_FILE_BYTES:
        size = path.stat().st_size
        return None, [Problem(rel, 0, "", "ファイル",
                              f"ファイルが大きすぎます（{size:,}バイト。上限は {MAX_FILE_BYTES:,}バイト）",
                              "1つのシートは普通 10 KB ほどです。表計算のデータや画像を貼り付けていないか、"
                              "同じ内容を何度も貼っていないか確かめてください。")]
    text, problems, usual_chars = _decode(raw, rel)
    if text is None:
        return None, problems
    fm, body, fm_line, body_line, problems = split_front_matter(text, rel)
    if problems:
        return None, problems
    data, problems = parse_yaml(fm, rel, fm_line, usual_chars)
    if data is None and not problems:
        problems = [Problem(rel, 1, "", "front matter", "front matter が空です",
                            "--- と --- の間に id や title などの項目を書いてください。")]
    elif data is not None and not isinstance(data, MarkedDict):
        problems.append(Problem(rel, fm_line, "", "front matter",
                                "front matter が「キー: 値」の並び（YAML の辞書）になっていません"))
    if problems and not isinstance(data, MarkedDict):
        return None, problems
    return SourceFile(path, rel, data, body, fm_line, body_line, file_digest(raw)), problems


def file_digest(raw: bytes) -> str:
    """The hash of a content file's bytes: what incremental rendering and the build cache compare."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def rel_path(path: Path, root: Path) -> str:
    """Path as shown in messages: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def rel_paths(paths: list[Path], root: Path) -> list[str]:
    """rel_path of each path, resolving each folder once instead of each file (10,000 sheets sit
    in a few folders); a linked file is resolved on its own. Strings, not Path objects: this runs
    before every build."""
    base = str(root.resolve())
    prefix = base.rstrip(os.sep) + os.sep
    folders: dict[str, str] = {}
    out = []
    for path in paths:
        text = os.fspath(path)
        parent, name = os.path.split(text)
        folder = folders.get(parent)
        if folder is None:
            folder = folders[parent] = str(Path(parent).resolve())
        full = str(path.resolve()) if os.path.islink(text) else os.path.join(folder, name)
        if full.startswith(prefix):
            out.append(full[len(prefix):].replace(os.sep, "/"))
        elif full == base:
            out.append(".")
        else:
            out.append(str(path))
    return out


def find_content(content_dir: Path) -> list[Path]:
    """Every sheet file under the content folder, in a stable order (the order of sorted Paths).

    Files and folders whose names start with "." or "_" are skipped (drafts, editor files). A
    folder named *.md is listed too, so that it is reported instead of silently skipped.
    """
    return [content_dir.joinpath(*parts) for parts, _ in content_entries(content_dir)]


def content_listing(content_dir: Path, root: Path) -> tuple[list[str], list[str]]:
    """find_content's files as strings, and their rel_path each (what every build lists first).

    One walk with os.scandir: a folder is resolved once, a file only when it is a link; no Path
    objects (at 10,000 files, find_content and rel_paths took 0.11 s of a build after one edit).
    """
    entries = content_entries(content_dir)
    base = os.fspath(content_dir)
    files = [os.path.join(base, *parts) for parts, _ in entries]
    root_text = str(root.resolve())
    prefix = root_text.rstrip(os.sep) + os.sep
    folders: dict[tuple[str, ...], str] = {}
    rels = []
    for (parts, link), text in zip(entries, files, strict=True):
        if link:
            full = str(Path(text).resolve())
        else:
            folder = folders.get(parts[:-1])
            if folder is None:
                folder = folders[parts[:-1]] = str(Path(base, *parts[:-1]).resolve())
            full = os.path.join(folder, parts[-1])
        if full.startswith(prefix):
            rels.append(full[len(prefix):].replace(os.sep, "/"))
        elif full == root_text:
            rels.append(".")
        else:
            rels.append(text)
    return files, rels


def content_entries(content_dir: Path, *, ordered: bool = True) -> list[tuple[tuple[str, ...], bool]]:
    """(path parts under content_dir, is a link) of each sheet file: the one walk of the content
    folder (find_content, content_listing, serve.scan_content). Sorted by parts, unless not
    `ordered` (the preview, on every save, does not need it)."""
    if not content_dir.is_dir():
        return []
    found: list[tuple[tuple[str, ...], bool]] = []
    seen: set[tuple[int, int]] = set()

    def visit(where: str, parts: tuple[str, ...]) -> None:
        try:
            st = os.stat(where)
        except OSError:  # as os.walk: a folder that cannot be read is skipped
            return
        if (st.st_dev, st.st_ino) in seen:  # a link back up the tree
            return
        seen.add((st.st_dev, st.st_ino))
        folders = []
        try:
            with os.scandir(where) as it:
                for entry in it:
                    name = entry.name
                    if name.startswith((".", "_")):
                        continue
                    try:
                        is_dir = entry.is_dir()  # follows links, as os.walk(followlinks=True)
                    except OSError:
                        is_dir = False
                    if name.endswith(".md"):
                        found.append(((*parts, name), entry.is_symlink()))
                    if is_dir:
                        folders.append(name)
        except OSError:  # as os.walk: an unreadable folder is skipped
            return
        for name in sorted(folders):
            visit(os.path.join(where, name), (*parts, name))

    visit(os.fspath(content_dir), ())
    if ordered:
        found.sort()
    return found
