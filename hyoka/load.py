"""Find content files, split front matter from body, and parse YAML keeping line numbers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .problems import Problem

# libyaml's parser when available: the pure-Python one costs more than rendering a page.
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


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
    if mark is not None and "\t" in source.split("\n")[mark.line][: mark.column + 1]:
        text = "found character '\\t'"
    for needle, message, hint in _YAML_HINTS:
        if needle in text:
            return Problem(rel, line, "", "YAML", f"YAML の書き方に誤りがあります: {message}", hint)
    return Problem(rel, line, "", "YAML", "YAML の書き方に誤りがあります",
                   "この行とその前の行の字下げ・引用符・「キー: 値」の形を確認してください。")


def parse_yaml(text: str, rel: str, first_line: int) -> tuple[Any, list[Problem]]:
    """Parse YAML with line marks; problems carry 1-based file lines."""
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        return None, [yaml_problem(rel, exc, first_line, text)]
    finally:
        loader.dispose()
    problems = [
        Problem(rel, first_line + line, str(key), "重複したキー",
                f"キー「{key}」が同じ階層に2回以上書かれています",
                "YAML では後の値だけが残り、前の値は失われます。どちらか一方にしてください。")
        for key, line in loader.duplicate_keys
    ]
    problems += [
        Problem(rel, first_line + line, "", "YAML", "キーに使えない値（リストや辞書）がキーになっています")
        for line in loader.unhashable_keys
    ]
    return data, problems


_FENCE = re.compile(r"^---[ \t]*$")


def split_front_matter(text: str, rel: str) -> tuple[str, str, int, int, list[Problem]]:
    """Return (front matter, body, fm first line, body first line, problems)."""
    lines = text.split("\n")
    if not text.strip():
        return "", "", 1, 1, [Problem(rel, 1, "", "ファイル", "ファイルが空です",
                                      "先頭に --- で囲んだ front matter（YAML）を書いてください。")]
    if not _FENCE.match(lines[0].rstrip("\r")):
        return "", "", 1, 1, [Problem(rel, 1, "", "front matter",
                                      "先頭行が --- ではありません（front matter がありません）",
                                      "1行目に --- 、YAML の項目、次に --- の行を書き、その後に本文を書きます。")]
    for i in range(1, len(lines)):
        if _FENCE.match(lines[i].rstrip("\r")) or lines[i].rstrip("\r") == "...":
            fm = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1:])
            return fm, body, 2, i + 2, []
    return "", "", 1, 1, [Problem(rel, 1, "", "front matter",
                                  "front matter が --- で閉じられていません",
                                  "YAML の項目の後に --- だけの行を書いてください。")]


def decode(raw: bytes, rel: str) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 (a leading BOM is accepted); say so plainly for anything else."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = "エディタで「UTF-8」を選んで保存し直してください。"
        try:
            raw.decode("cp932")
            hint = ("Shift_JIS（Windows の標準）で保存されているようです。" + hint
                    + "（コマンドなら: iconv -f CP932 -t UTF-8 元.md > 新.md）")
        except UnicodeDecodeError:
            pass
        return None, [Problem(rel, line, "", "文字コード", "ファイルが UTF-8 ではありません", hint)]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, [Problem(rel, line, "", "文字コード", "ファイルに NUL 文字（\\0）が含まれています",
                              "テキストエディタで保存し直してください。")]
    return text.replace("\r\n", "\n"), []


def load_source(path: Path, rel: str) -> tuple[SourceFile | None, list[Problem]]:
    """Read one content file into a SourceFile, or the problems that prevent it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(rel, 0, "", "ファイル", f"ファイルを読めません（{exc.strerror}）")]
    text, problems = decode(raw, rel)
    if text is None:
        return None, problems
    fm, body, fm_line, body_line, problems = split_front_matter(text, rel)
    if problems:
        return None, problems
    data, problems = parse_yaml(fm, rel, fm_line)
    if data is None and not problems:
        problems = [Problem(rel, 1, "", "front matter", "front matter が空です",
                            "--- と --- の間に id や title などの項目を書いてください。")]
    elif data is not None and not isinstance(data, MarkedDict):
        problems.append(Problem(rel, fm_line, "", "front matter",
                                "front matter が「キー: 値」の並び（YAML の辞書）になっていません"))
    if problems and not isinstance(data, MarkedDict):
        return None, problems
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    return SourceFile(path, rel, data, body, fm_line, body_line, digest), problems


def find_content(content_dir: Path) -> list[Path]:
    """Every sheet file under the content folder, in a stable order."""
    if not content_dir.is_dir():
        return []
    return sorted(
        p for p in content_dir.rglob("*.md")
        if not any(part.startswith((".", "_")) for part in p.relative_to(content_dir).parts)
    )
