"""PyYAML's side of hyoka/load.py: its loaders, for the documents that are not of the usual shape
(load._load_usual reads the usual ones without it), and its errors as problems. Imported when first
needed: importing PyYAML took ≈ 20 ms of every build's start, and a build after an edit of a usual
sheet needs none of it."""

from __future__ import annotations

from typing import Any

import yaml

from .load import (
    _INF,
    _MAP,
    _NAN,
    _PLAIN,
    _PLAIN_KINDS,
    _QUOTED,
    _RESOLVERS,
    _SEQ,
    MarkedDict,
    MarkedList,
    _ExplicitTag,
    _plain,
)
from .problems import Problem

YAMLError = yaml.YAMLError
WITH_LIBYAML: bool = yaml.__with_libyaml__

# libyaml's parser when available: the pure-Python one costs more than rendering a page.
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader whose mappings and sequences carry line marks and report duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[Any, int]] = []
        self.unhashable_keys: list[int] = []


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line = node.start_mark.line
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.unhashable_keys.append(key_node.start_mark.line)
            continue
        if key in result:
            # PyYAML silently keeps the last value; a sheet must not lose one silently.
            loader.duplicate_keys.append((key, key_node.start_mark.line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line
    result.item_lines = [child.start_mark.line for child in node.value]
    return result


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> int | float:
    text = loader.construct_scalar(node)
    # Decimal, as YAML 1.2 reads it (010 is 10, not octal 8); beyond Python's digit limit → inf,
    # which validation reports as not a finite number instead of a traceback.
    return int(text) if len(text) <= 300 else float(text)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
# Only the plain types a sheet has: `!!binary`, `!!timestamp`, `!!set`, `!!omap`, `!!pairs` are
# refused like any unknown tag (a clear message instead of bytes or dates reaching the pages).
_LineLoader.yaml_constructors = {
    tag: fn for tag, fn in _LineLoader.yaml_constructors.items()
    if tag is None or tag.rsplit(":", 1)[-1] in ("null", "bool", "int", "float", "str", "seq", "map")
}
_LineLoader.yaml_implicit_resolvers = {char: list(resolvers) for char, resolvers in _RESOLVERS.items()}
# The very NaN the other readers give (load._plain): one object, so that a document with `.nan` as a
# key twice reads the same in each.
_LineLoader.nan_value = _NAN
_LineLoader.inf_value = _INF


class _Composer(yaml.cyaml.CParser if yaml.__with_libyaml__ else object):  # type: ignore[misc]
    """libyaml's parser and composer; the resolver hooks only record how each node was written."""

    def resolve(self, kind: type, value: str | None, implicit: Any) -> object:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _QUOTED
        return _MAP if kind is yaml.MappingNode else _SEQ

    def descend_resolver(self, parent: Any, index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


def _node_value(node: Any, dups: list[tuple[Any, int]], bad_keys: list[int]) -> Any:
    """The value of one node (as _LineLoader.construct_object(node, deep=True) builds it)."""
    tag = node.tag
    if tag is _PLAIN:
        value = node.value
        kinds = _PLAIN_KINDS.get(value[:1])
        return value if kinds is None else _plain(value, kinds)
    if tag is _QUOTED:
        return node.value
    if tag is _MAP:
        result = MarkedDict()
        result.line = node.start_mark.line
        key_lines: dict[Any, int] = {}
        result.key_lines = key_lines
        for key_node, value_node in node.value:
            tag = key_node.tag
            if tag is _PLAIN:
                key = key_node.value
                kinds = _PLAIN_KINDS.get(key[:1])
                if kinds is not None:
                    key = _plain(key, kinds)
            elif tag is _QUOTED:
                key = key_node.value
            else:
                key = _node_value(key_node, dups, bad_keys)
                if tag is _MAP or tag is _SEQ:  # a MarkedDict or MarkedList: not hashable
                    bad_keys.append(key_node.start_mark.line)
                    continue
            line = key_node.start_mark.line
            if key in result:
                dups.append((key, line))
            tag = value_node.tag
            if tag is _QUOTED:
                result[key] = value_node.value
            elif tag is _PLAIN:
                value = value_node.value
                kinds = _PLAIN_KINDS.get(value[:1])
                result[key] = value if kinds is None else _plain(value, kinds)
            else:
                result[key] = _node_value(value_node, dups, bad_keys)
            key_lines[key] = line
        return result
    if tag is _SEQ:
        items = node.value
        seq = MarkedList([_node_value(child, dups, bad_keys) for child in items])
        seq.line = node.start_mark.line
        seq.item_lines = [child.start_mark.line for child in items]
        return seq
    raise _ExplicitTag


def load_fast(text: str) -> tuple[Any, list[tuple[Any, int]], list[int]]:
    """(data, duplicate keys, lines of unhashable keys); raises YAMLError, or _ExplicitTag."""
    composer = _Composer(text)
    try:
        node = composer.get_single_node()
    finally:
        composer.dispose()
    dups: list[tuple[Any, int]] = []
    bad_keys: list[int] = []
    return (None if node is None else _node_value(node, dups, bad_keys)), dups, bad_keys


def load_slow(text: str) -> tuple[Any, list[tuple[Any, int]], list[int]]:
    """The same with PyYAML's constructors: for explicit tags, and where libyaml is missing."""
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, loader.duplicate_keys, loader.unhashable_keys


_YAML_HINTS: tuple[tuple[str, str, str], ...] = (
    ("mapping values are not allowed",
     "「キー: 値」の形が崩れています",
     "値の中に「: 」があるときは値全体を \"...\" で囲んでください。字下げもそろえてください。"),
    ("could not find expected ':'",
     "「キー: 値」の「:」が見つかりません",
     "キーの後に「: 」（コロンと半角空白）を書いてください。"),
    ("found character '\\t'",
     "タブ文字は YAML の字下げに使えません",
     "タブを半角空白に置き換えてください。"),
    ("found unexpected end of stream",
     "引用符またはかっこが閉じていません",
     "\" や ' 、[ ] 、{ } の対応を確認してください。"),
    ("did not find expected key",
     "字下げがそろっていません",
     "同じ階層のキーは同じ数の半角空白で字下げしてください。"),
    ("did not find expected ',' or '}'",
     "{ } の中の書き方に誤りがあります",
     "{key: 値, key: 値} の形で、値の中に , や : があるときは \"...\" で囲んでください。"),
    ("did not find expected ',' or ']'",
     "[ ] の中の書き方に誤りがあります",
     "[値, 値] の形で書いてください。"),
    ("found undefined alias",
     "未定義の別名（*）が使われています",
     "値が * で始まるときは \"...\" で囲んでください。"),
    ("expected alphabetic or numeric character",
     "* または & の後の名前がありません",
     "値が * や & で始まるときは \"...\" で囲んでください。"),
    ("found unknown escape character",
     "\"...\" の中に使えない \\ があります",
     "\\ を使うときは '...' で囲むか、\\\\ と書いてください。"),
    ("could not determine a constructor",
     "使えない型の指定（!! や ! で始まるタグ）があります",
     "!!binary・!!timestamp などの指定を消して、値だけを書いてください。値が ! で始まるときは \"...\" で囲みます。"),
    ("found character that cannot start any token",
     "この位置に書けない文字があります",
     "値が @ や ` などで始まるときは \"...\" で囲んでください。"),
)


def yaml_problem(rel: str, exc: yaml.YAMLError, first_line: int, source: str) -> Problem:
    """Turn PyYAML's English error into one Japanese problem line (no raw PyYAML text)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    context = str(getattr(exc, "context", "") or "")
    if context.startswith(("while scanning a simple key", "while scanning a quoted scalar")):
        # The scanner notices only on a later line; the key or quote that started it is the culprit.
        mark = getattr(exc, "context_mark", None) or mark
    line = first_line + mark.line if mark is not None else first_line
    text = f"{getattr(exc, 'problem', '')} {context}"
    lines = source.split("\n")
    if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        text = "found character '\\t'"
    for needle, message, hint in _YAML_HINTS:
        if needle in text:
            return Problem(rel, line, "", "YAML", f"YAML の書き方に誤りがあります: {message}", hint)
    return Problem(rel, line, "", "YAML", "YAML の書き方に誤りがあります",
                   "この行とその前の行の字下げ・引用符・「キー: 値」の形を確認してください。")


def alias_lines(text: str) -> list[int]:
    """0-based lines of every alias (*name): read as events, so nothing is expanded."""
    parser = _BaseLoader(text)
    lines: list[int] = []
    try:
        while not parser.check_event(yaml.StreamEndEvent):
            event = parser.get_event()
            if isinstance(event, yaml.AliasEvent):
                lines.append(event.start_mark.line)
    except yaml.YAMLError:
        pass  # the real parse below reports it
    finally:
        parser.dispose()
    return sorted(set(lines))


