"""Check front matter against the schema: clean values, or every problem at once."""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from .era import fiscal_year_label, parse_wareki_year, wareki
from .load import MarkedDict, MarkedList, hidden_problem, is_hidden
from .model import SourceRef, build_sheet
from .problems import Problem
from .schema import (
    CHECK_LEVELS,
    INDICATOR_KINDS,
    SHEET,
    SLUG_PATTERN,
    YEAR_FORMATS,
    YEAR_MAX,
    YEAR_MIN,
    Field,
)

_SLUG_RE = re.compile(SLUG_PATTERN)
_WEB_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
_SLUG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_NUMBERISH = re.compile(r"^[\s\d０-９,，.．▲△\-−ー+]+$")
# 2024-04-01, 2024/4/1, 2024年4月1日, 令和6年4月1日: a date where a year (or a number) belongs.
_DATEISH = re.compile(r"^\s*(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?"
                      r"|\D{1,4}\d{1,2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*$")
_YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})
# Larger than any 千円 amount or count a sheet has; beyond it floats lose whole digits.
NUMBER_MAX = 1e15

BUILTIN_CHOICES: dict[str, Sequence[str]] = {
    "indicator_kind": tuple(INDICATOR_KINDS),
    "_check_level": CHECK_LEVELS,
    "_year_format": YEAR_FORMATS,
}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "真偽値"
    if isinstance(value, (int, float)):
        return "数値"
    if isinstance(value, str):
        return "文字列"
    if isinstance(value, list):
        return "リスト"
    if isinstance(value, dict):
        return "辞書（キー: 値）"
    if isinstance(value, date):
        return "日付"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:40] + "…"
        return f"\"{short}\""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


class Checker:
    """Walks one document against a Field declaration, collecting problems."""

    def __init__(self, rel: str, first_line: int, choices: Callable[[str], Sequence[str] | None],
                 year_range: tuple[int, int] | None = None) -> None:
        self.rel = rel
        self.first_line = first_line
        self.choices = choices
        self.year_range = year_range
        self.problems: list[Problem] = []

    def problem(self, line: int, key: str, label: str, message: str, hint: str | None = None,
                severity: str = "error") -> None:
        """Record one problem at a 0-based front-matter line."""
        self.problems.append(Problem(self.rel, self.first_line + line, key, label, message, hint,
                                     severity))  # type: ignore[arg-type]

    # -- containers --------------------------------------------------------------------------

    def object(self, f: Field, value: Any, path: str, label: str, line: int) -> dict[str, Any] | None:
        """A mapping with the declared keys; unknown keys get a did-you-mean hint."""
        if not isinstance(value, dict):
            self.wrong_type(f, value, path, label, line, "辞書（キー: 値 の並び）")
            return None
        known = {sub.key for sub in f.fields}
        out: dict[str, Any] = {}
        for key in value:
            if key not in known:
                self.unknown_key(value, key, known, path, label)
        for sub in f.fields:
            sub_path = f"{path}.{sub.key}" if path else sub.key
            # Under an indicator the year table's own name adds nothing: 成果指標「x」・令和6年度・実績.
            sub_label = (label if label and sub.kind == "year_map"
                         else f"{label}・{sub.label}" if label else sub.label)
            sub_line = value.line_of(sub.key) if isinstance(value, MarkedDict) else line
            out[sub.key] = self.value(sub, value.get(sub.key), sub_path, sub_label, sub_line,
                                      present=sub.key in value)
        return out

    def unknown_key(self, value: dict, key: Any, known: set[str], path: str, label: str) -> None:
        """Report a key the schema does not declare, suggesting the closest one."""
        line = value.line_of(key) if isinstance(value, MarkedDict) else 0
        key_path = f"{path}.{key}" if path else str(key)
        close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
        hint = (f"「{close[0]}」の書き間違いではありませんか？" if close
                else f"使えるキー: {', '.join(sorted(known))}")
        if key == "<<":
            hint = "<<（YAML のマージ）は使えません。キーをそれぞれ書いてください。"
        if isinstance(key, int) and not isinstance(key, bool) and value.get(key) is None:
            # {total: 2,281} is {total: 2, 281: null}: inside { } a comma separates items.
            hint = "{ } の中ではカンマ（,）が区切りになります。数値は 2281 のようにカンマなしで書いてください。"
        self.problem(line, key_path, label or "項目", f"知らないキーです: {key}", hint)

    def year_map(self, f: Field, value: Any, path: str, label: str, line: int) -> dict[int, Any] | None:
        """A mapping from fiscal year (西暦 integer) to an object."""
        if not isinstance(value, dict):
            self.wrong_type(f, value, path, label, line, "年度をキーにした辞書（例: 2024: {...}）")
            return None
        out: dict[int, Any] = {}
        for key, sub_value in value.items():
            key_line = value.line_of(key) if isinstance(value, MarkedDict) else line
            year = self.year_key(key, f"{path}.{key}", label, key_line)
            if year is None:
                continue
            if year in out:
                self.problem(key_line, f"{path}.{year}", label, f"{year}年度が2回書かれています")
                continue
            item = Field(str(year), wareki(year), "object", f.help, fields=f.fields)
            out[year] = self.object(item, sub_value, f"{path}.{year}", f"{label}・{wareki(year)}",
                                    key_line)
        return dict(sorted(out.items()))

    def year_key(self, key: Any, path: str, label: str, line: int) -> int | None:
        """A year key must be a 西暦 integer inside the sheet's range."""
        if isinstance(key, bool) or not isinstance(key, int):
            year = parse_wareki_year(key) if isinstance(key, str) else None
            half = unicodedata.normalize("NFKC", key).strip() if isinstance(key, str) else ""
            if year:
                hint = f"西暦の整数で書いてください（{key} → {year}）。"
            elif half.isascii() and half.isdigit():
                hint = f"年度は半角数字で、引用符なしで書いてください（{key} → {half}）。"
            elif isinstance(key, str) and _DATEISH.match(key):
                hint = "日付ではなく、年度を西暦の整数で書いてください（例: 2024）。"
            else:
                hint = "年度は西暦の整数で書いてください（例: 2024）。"
            self.problem(line, path, label, f"年度が西暦の整数ではありません: {_show(key)}", hint)
            return None
        if self.year_range and not (self.year_range[0] <= key <= self.year_range[1]):
            lo, hi = self.year_range
            self.problem(line, path, label, f"年度 {key} がこのシートの範囲外です",
                         f"評価年度に対して {fiscal_year_label(lo)}〜{fiscal_year_label(hi)} の範囲で書いてください"
                         "（範囲は site_config.yaml の fiscal_year_range）。")
            return None
        if not (YEAR_MIN <= key <= YEAR_MAX):
            self.problem(line, path, label, f"年度 {key} は西暦の年度として正しくありません")
            return None
        return key

    def list(self, f: Field, value: Any, path: str, label: str, line: int) -> list[Any] | None:
        """A list of objects or of scalars."""
        if not isinstance(value, list):
            self.wrong_type(f, value, path, label, line, "リスト")
            return None
        out = []
        for i, item in enumerate(value):
            item_line = value.line_of(i) if isinstance(value, MarkedList) else line
            item_path = f"{path}[{i}]"
            if f.fields:
                sub = Field(f.key, f.label, "object", f.help, fields=f.fields)
                out.append(self.object(sub, item, item_path, self.item_label(f, item, i), item_line))
            elif f.item is not None:
                if item is None or (isinstance(item, str) and not item.strip()):
                    self.problem(item_line, item_path, label, "リストの中に空の値があります",
                                 "空の値を消してください（[9, , 11] や [9, null] ではなく [9, 11]）。")
                    continue
                out.append(self.value(f.item, item, item_path, f"{label}", item_line, present=True))
        return out

    def item_label(self, f: Field, item: Any, index: int) -> str:
        """「成果指標「利用者数」」 for an indicator with a kind and name; else 「指標2」."""
        if isinstance(item, dict):
            kind, name = item.get("kind"), item.get("name")
            if isinstance(kind, str) and kind in INDICATOR_KINDS and isinstance(name, str) and name:
                name = "".join(ch for ch in name if not is_hidden(ch))  # the label names it visibly
                return f"{INDICATOR_KINDS[kind]}「{name}」"
        return f"{f.label}{index + 1}"

    # -- scalars -------------------------------------------------------------------------------

    def value(self, f: Field, value: Any, path: str, label: str, line: int, *, present: bool) -> Any:
        """Dispatch on the field kind; None (absent or null) is allowed unless required."""
        if value is None or (isinstance(value, str) and not value.strip() and f.kind != "text"):
            if f.required:
                where = "がありません" if not present else "が空です"
                self.problem(line, path, label, f"必須の項目{where}", f.help)
                return None
            if f.kind == "bool":
                return f.default
            return None
        handler = {
            "object": self.object, "year_map": self.year_map, "list": self.list,
        }.get(f.kind)
        if handler is not None:
            return handler(f, value, path, label, line)
        if f.kind == "map":
            if not isinstance(value, dict):
                self.wrong_type(f, value, path, label, line, "辞書（キー: 値 の並び）")
                return None
            return value
        if f.kind in ("str", "text", "slug", "choice"):
            return self.string(f, value, path, label, line)
        if f.kind in ("int", "number", "year"):
            return self.number(f, value, path, label, line)
        if f.kind == "bool":
            if not isinstance(value, bool):
                if isinstance(value, str) and value.strip().lower() in _YAML11_BOOLS:
                    # YAML 1.1 read yes/no as booleans; sheets use YAML 1.2, where only true/false are.
                    self.problem(line, path, label, f"true または false で書いてください: {_show(value)}",
                                 "はいは true、いいえは false と書きます（yes・no・on・off は使えません）。")
                else:
                    self.wrong_type(f, value, path, label, line, "true または false")
                return None
            return value
        raise AssertionError(f"unknown field kind {f.kind}")  # pragma: no cover

    def string(self, f: Field, value: Any, path: str, label: str, line: int) -> str | None:
        """Text values; slugs and choices are checked against their rules."""
        if not isinstance(value, str):
            hint = None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                hint = f"文字列として書くには \"{value}\" のように引用符で囲んでください。"
            elif isinstance(value, bool):
                text = "true" if value else "false"
                hint = f"true と false は真偽値になります。文字として書くには \"{text}\" のように引用符で囲んでください。"
            elif isinstance(value, (dict, list)):
                hint = "値の中に「: 」や「- 」、[ ] { } があるときは、値全体を \"...\" で囲んでください。"
            self.problem(line, path, label, f"文字列ではありません（{_type_name(value)}）: {_show(value)}", hint)
            return None
        # "\r\n" written as an escape inside "..." is a line break (CSV cells from Excel have them).
        # isprintable() is False for every category is_hidden flags: skip the per-character scan
        # for the usual value (the scan is what made validation slow at 10,000 sheets).
        index = None if value.isprintable() else next(
            (i for i, ch in enumerate(value) if is_hidden(ch, allowed="\t\n\r")), None)
        if index is not None:
            hidden = hidden_problem(self.rel, self.first_line + line, path, label, value, index)
            self.problems.append(hidden)
            return None
        if f.max_length and len(value) > f.max_length:
            self.problem(line, path, label,
                         f"長すぎます（{len(value)}文字。上限は{f.max_length}文字）",
                         "要点を短くまとめてください。詳しい説明は本文（--- の後の Markdown）に書けます。")
            return None
        if f.key in ("url", "base_url") and not _WEB_URL.match(value):
            # It becomes a link on every page: javascript: or data: there would run when clicked.
            self.problem(line, path, label, f"http:// または https:// で始まる URL ではありません: {_show(value)}",
                         "例: https://www.city.example.jp/")
            return None
        if f.kind == "slug" and not _SLUG_RE.match(value):
            bad = next((i for i, ch in enumerate(value) if ch not in _SLUG_CHARS), None)
            if bad is None:
                self.problem(line, path, label, f"id の形が正しくありません: {_show(value)}",
                             "ハイフンは英数字の間にだけ書けます（先頭・末尾や2つ続けては書けません）。")
                return None
            ch = value[bad]
            # 「о」 may be Cyrillic: name the code point of anything outside ASCII.
            which = f"「{ch}」" + ("" if ch.isascii() else f" U+{ord(ch):04X}")
            self.problem(line, path, label,
                         f"id に使えない文字があります: {_show(value)}（{bad + 1}文字目の{which}）",
                         "半角英小文字・数字・ハイフンで書いてください（例: smartphone-subsidy）。")
            return None
        if f.kind == "choice" and f.choices:
            allowed = self.choices(f.choices)
            if allowed is not None and value not in allowed:
                close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.5)
                hint = f"選べる値: {'、'.join(allowed)}"
                if close:
                    hint = f"「{close[0]}」ではありませんか？ " + hint
                self.problem(line, path, label, f"選択肢にない値です: {_show(value)}", hint)
                return None
        return value

    def number(self, f: Field, value: Any, path: str, label: str, line: int) -> int | float | None:
        """Integers, numbers and years, within their declared bounds."""
        want_int = f.kind in ("int", "year")
        ok = isinstance(value, int) if want_int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            self.not_a_number(f, value, path, label, line, want_int)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(line, path, label, f"有限の数値ではありません: {_show(value)}",
                         "空欄にするときは null と書いてください。")
            return None
        if abs(value) > NUMBER_MAX:
            self.problem(line, path, label, f"数値が大きすぎます: {value:.6g}",
                         "桁を確かめてください（書ける数値は ±1,000兆 まで。金額の単位は千円です）。")
            return None
        if f.kind == "year" and not (YEAR_MIN <= value <= YEAR_MAX):
            self.problem(line, path, label, f"西暦の年度として正しくありません: {value}",
                         "西暦の4桁で書いてください（例: 2025）。")
            return None
        if f.minimum is not None and value < f.minimum:
            what = "負の値は書けません" if f.minimum == 0 else f"{_fmt(f.minimum)}以上で書いてください"
            self.problem(line, path, label, f"{what}: {_show(value)}")
            return None
        if f.maximum is not None and value > f.maximum:
            self.problem(line, path, label, f"{_fmt(f.maximum)}以下で書いてください: {_show(value)}",
                         f"{_fmt(f.minimum)}〜{_fmt(f.maximum)} の範囲です。" if f.minimum is not None else None)
            return None
        return value

    def not_a_number(self, f: Field, value: Any, path: str, label: str, line: int, want_int: bool) -> None:
        """Explain why a value is not a number, with the fix where one can be guessed."""
        what = "整数" if want_int else "数値"
        hint = None
        if isinstance(value, str):
            norm = unicodedata.normalize("NFKC", value).replace(",", "").strip()
            year = parse_wareki_year(value) if f.kind == "year" else None
            if year:
                hint = f"西暦の整数で書いてください（{value} → {year}）。"
            elif _DATEISH.match(value):
                hint = ("日付ではなく、年度を西暦の整数で書いてください（例: 2024）。" if f.kind == "year"
                        else "日付は書けません。数値だけを書いてください。")
            elif _NUMBERISH.match(value):
                hint = (f"数値は引用符・カンマ・全角数字なしで書きます（例: {norm}）。"
                        if re.fullmatch(r"-?\d+(\.\d+)?", norm) else
                        "数値は引用符・カンマ・全角数字なしで、負の値は - で書きます。")
            elif f.kind == "year":
                hint = "西暦の整数で書いてください（例: 2025）。"
            elif f.unit:
                hint = f"数値だけを書いてください（この項目の単位は{f.unit}と決まっています）。空欄は null です。"
            else:
                hint = "数値だけを書いてください（単位は unit に書きます）。空欄は null です。"
        elif isinstance(value, float) and want_int:
            hint = "小数点のない整数で書いてください。"
        self.problem(line, path, label, f"{what}ではありません: {_show(value)}", hint)

    def wrong_type(self, f: Field, value: Any, path: str, label: str, line: int, expected: str) -> None:
        """A value of the wrong YAML type."""
        self.problem(line, path, label, f"{expected}で書いてください（{_type_name(value)}が書かれています）",
                     f.help)


def _fmt(n: float | None) -> str:
    if n is None:
        return ""
    return str(int(n)) if float(n).is_integer() else str(n)


# -- the fast walk -----------------------------------------------------------------------------
# Checker builds a key path and a 和名 for every value it visits, in case it has a problem to report.
# Almost every sheet has none: the walk below gives the same clean values from one closure per
# schema field, and stops at the first value the Checker would report (_Invalid). Then the Checker
# walks the sheet again and reports every problem, so the messages come from one place only.

class _Invalid(Exception):
    """The fast walk met a value the Checker reports."""


Convert = Callable[[Any, "_Context"], Any]


class _Context:
    """What the clean values of one sheet depend on besides the schema."""

    __slots__ = ("choices", "year_range")

    def __init__(self, choices: Callable[[str], Sequence[str] | None],
                 year_range: tuple[int, int] | None) -> None:
        self.choices = choices
        self.year_range = year_range


# Space separators (Unicode category Zs) and the allowed controls: not hidden, but not printable
# either (isprintable() is False for U+3000, the Japanese space, and for line breaks). Removing
# them first leaves isprintable() False only for what Checker.string may report.
_SPACES = "\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_NOT_HIDDEN_IN_VALUES = re.compile(f"[\t\n\r{_SPACES}]+")
_NOT_HIDDEN_IN_BODY = re.compile(f"[\t\n{_SPACES}]+")


def _value_converter(f: Field) -> Convert:
    """Checker.value for field `f` without the messages."""
    if f.kind in ("str", "text", "slug", "choice"):
        return _string_converter(f)
    if f.kind in ("int", "number", "year"):
        return _number_converter(f)
    inner = _kind_converter(f)
    required = f.required
    default = f.default if f.kind == "bool" else None

    def convert(value: Any, ctx: _Context) -> Any:
        # (not value.strip()) is (not value or value.isspace()), without copying a long text.
        if value is None or (isinstance(value, str) and (not value or value.isspace())):
            if required:
                raise _Invalid
            return default
        return inner(value, ctx)

    return convert


def _object_converter(fields: tuple[Field, ...]) -> Convert:
    """Checker.object: the declared keys only, each converted."""
    known = frozenset(sub.key for sub in fields)
    subs = tuple((sub.key, _value_converter(sub)) for sub in fields)

    def convert(value: Any, ctx: _Context) -> dict[str, Any]:
        if not isinstance(value, dict) or not known.issuperset(value):
            raise _Invalid
        get = value.get
        return {key: sub(get(key), ctx) for key, sub in subs}

    return convert


def _kind_converter(f: Field) -> Convert:
    """The conversion of a present, non-empty value of field `f`."""
    kind = f.kind
    if kind == "object":
        return _object_converter(f.fields)
    if kind == "year_map":
        item = _object_converter(f.fields)

        def year_map(value: Any, ctx: _Context) -> dict[int, Any]:
            if not isinstance(value, dict):
                raise _Invalid
            out: dict[int, Any] = {}
            year_range = ctx.year_range
            last = YEAR_MIN - 1
            ascending = True  # as sheets write them: then out is already what sorting gives
            for key, sub_value in value.items():
                if (isinstance(key, bool) or not isinstance(key, int)
                        or (year_range and not (year_range[0] <= key <= year_range[1]))
                        or not (YEAR_MIN <= key <= YEAR_MAX) or key in out):
                    raise _Invalid
                out[key] = item(sub_value, ctx)
                ascending = ascending and key > last
                last = key
            return out if ascending else dict(sorted(out.items()))

        return year_map
    if kind == "list":
        if f.fields:
            obj = _object_converter(f.fields)

            def object_list(value: Any, ctx: _Context) -> list[Any]:
                if not isinstance(value, list):
                    raise _Invalid
                return [obj(item, ctx) for item in value]

            return object_list
        if f.item is None:
            def nothing(value: Any, ctx: _Context) -> list[Any]:
                if not isinstance(value, list):
                    raise _Invalid
                return []

            return nothing
        scalar = _value_converter(f.item)

        def scalar_list(value: Any, ctx: _Context) -> list[Any]:
            if not isinstance(value, list):
                raise _Invalid
            out = []
            for item in value:
                if item is None or (isinstance(item, str) and not item.strip()):
                    raise _Invalid
                out.append(scalar(item, ctx))
            return out

        return scalar_list
    if kind == "map":
        def mapping(value: Any, ctx: _Context) -> Any:
            if not isinstance(value, dict):
                raise _Invalid
            return value

        return mapping
    if kind == "bool":
        def boolean(value: Any, ctx: _Context) -> bool:
            if not isinstance(value, bool):
                raise _Invalid
            return value

        return boolean
    raise AssertionError(f"unknown field kind {kind}")  # pragma: no cover


def _string_converter(f: Field) -> Convert:
    """Checker.value and Checker.string for a text field, without the messages."""
    required, blank_is_none = f.required, f.kind != "text"
    max_length = f.max_length
    url = f.key in ("url", "base_url")
    slug = f.kind == "slug"
    choice = f.choices if f.kind == "choice" and f.choices else None

    def string(value: Any, ctx: _Context) -> str | None:
        if value is None or (blank_is_none and isinstance(value, str) and (not value or value.isspace())):
            if required:
                raise _Invalid
            return None
        if not isinstance(value, str):
            raise _Invalid
        if not value.isprintable() and not _NOT_HIDDEN_IN_VALUES.sub("", value).isprintable() and any(
                is_hidden(ch, allowed="\t\n\r") for ch in value):
            raise _Invalid
        if ((max_length and len(value) > max_length) or (url and not _WEB_URL.match(value))
                or (slug and not _SLUG_RE.match(value))):
            raise _Invalid
        if choice is not None:
            allowed = ctx.choices(choice)
            if allowed is not None and value not in allowed:
                raise _Invalid
        return value

    return string


def _number_converter(f: Field) -> Convert:
    """Checker.value and Checker.number for a number field, without the messages."""
    required = f.required
    want_int = f.kind in ("int", "year")
    types: tuple[type, ...] = (int,) if want_int else (int, float)
    year = f.kind == "year"
    minimum, maximum = f.minimum, f.maximum

    def number(value: Any, ctx: _Context) -> int | float | None:
        cls = value.__class__
        if cls is not int and (want_int or cls is not float):  # not the usual: the Checker's order
            if value is None or (isinstance(value, str) and (not value or value.isspace())):
                if required:
                    raise _Invalid
                return None
            if isinstance(value, bool) or not isinstance(value, types) or (
                    isinstance(value, float) and not math.isfinite(value)):
                raise _Invalid
        elif cls is float and not math.isfinite(value):
            raise _Invalid
        if (abs(value) > NUMBER_MAX or (year and not (YEAR_MIN <= value <= YEAR_MAX))
                or (minimum is not None and value < minimum) or (maximum is not None and value > maximum)):
            raise _Invalid
        return value

    return number


_SHEET_CONVERTER = _object_converter(SHEET.fields)


class _ChoiceLists:
    """The choice lists of the last configuration, looked up once per name (a SiteConfig is frozen)."""

    def __init__(self) -> None:
        self.config: Any = None
        self.lists: dict[str, Sequence[str] | None] = {}

    def lookup(self, config: Any) -> Callable[[str], Sequence[str] | None]:
        if config is not self.config:
            self.config, self.lists = config, {}
        lists = self.lists

        def choices(name: str) -> Sequence[str] | None:
            try:
                return lists[name]
            except KeyError:
                found = lists[name] = BUILTIN_CHOICES.get(name) or config.choice_list(name)
                return found

        return choices


_CHOICE_LISTS = _ChoiceLists()


# -- sheets ------------------------------------------------------------------------------------

def validate_source(src: Any, config: Any) -> tuple[Any, list[Problem]]:
    """Validate one SourceFile into a Sheet (None when it has errors) and its problems."""
    data = src.data
    eval_year = data.get("evaluation_year")
    year_range = None
    if isinstance(eval_year, int) and not isinstance(eval_year, bool) and YEAR_MIN <= eval_year <= YEAR_MAX:
        year_range = (eval_year - config.fiscal_year_before, eval_year + config.fiscal_year_after)
    choices = _CHOICE_LISTS.lookup(config)
    checker = Checker(src.rel, src.fm_first_line, choices, year_range)
    try:
        clean = _SHEET_CONVERTER(data, _Context(choices, year_range))
    except _Invalid:
        clean = checker.object(SHEET, data, "", "", 0)
    line_of = data.line_of
    if clean is not None:
        _check_sheet(checker, clean, data, src, config)
    body = src.body
    if not (body.isprintable() or _NOT_HIDDEN_IN_BODY.sub("", body).isprintable()):
        for number, text in enumerate(body.split("\n")):
            index = None if text.isprintable() else next((i for i, ch in enumerate(text) if is_hidden(ch)), None)
            if index is not None:
                checker.problems.append(hidden_problem(src.rel, src.body_first_line + number, "body", "本文",
                                                       text, index))
    problems = checker.problems
    if clean is None or any(p.is_error for p in problems):
        return None, problems
    sheet = build_sheet(clean, SourceRef(src.rel, src.file_line(line_of("id")), src.digest), src.body)
    return sheet, problems


def _check_sheet(c: Checker, clean: dict[str, Any], data: MarkedDict, src: Any, config: Any) -> None:
    """Rules across fields: SDGs unique, years consistent, cost arithmetic, file naming."""
    sdgs = [g for g in clean.get("sdgs") or [] if g is not None]
    if len(set(sdgs)) != len(sdgs):
        c.problem(data.line_of("sdgs"), "sdgs", "SDGs目標", "同じゴール番号が2回以上書かれています")
    ey, ry = clean.get("evaluation_year"), clean.get("results_year")
    if ey is not None and ry is not None:
        if ry > ey:
            c.problem(data.line_of("results_year"), "results_year", "実績年度",
                      f"実績年度（{ry}）が評価年度（{ey}）より後です")
        elif ry != ey - 1:
            _consistency(c, config, "results_year", data.line_of("results_year"), "results_year", "実績年度",
                         f"実績年度（{ry}）が評価年度（{ey}）の前年度ではありません")
    costs = clean.get("costs") or {}
    cost_lines = data.get("costs") if isinstance(data.get("costs"), MarkedDict) else None
    unit = config.personnel_unit_cost
    for year, col in costs.items():
        if col is None:
            continue
        line = cost_lines.line_of(year) if cost_lines is not None else data.line_of("costs")
        label = f"事業費・{wareki(year)}"
        total, operating, personnel, staff = (col.get(k) for k in
                                              ("total", "operating", "personnel", "staff_regular"))
        if None not in (total, operating, personnel) and abs(total - (operating + personnel)) > 0.5:
            _consistency(c, config, "total_cost_sum", line, f"costs.{year}.total", f"{label}・総事業費",
                         f"総事業費 {_n(total)} ≠ 事業経費 {_n(operating)} + 概算人件費 {_n(personnel)}"
                         f"（= {_n(operating + personnel)}）",
                         "値を確かめてください（自動では直しません）。")
        if None not in (personnel, staff) and abs(personnel - staff * unit) > 0.5:
            _consistency(c, config, "personnel_cost", line, f"costs.{year}.personnel", f"{label}・概算人件費",
                         f"概算人件費 {_n(personnel)} ≠ 従事常勤職員数 {staff} × 単価 {_n(unit)}"
                         f"（= {_n(round(staff * unit, 2))}）",
                         "人件費単価は site_config.yaml の personnel_unit_cost です。")
    stem = src.path.stem
    if not _SLUG_RE.match(stem):
        # Spaces, capitals and Japanese in file names trip git and shells on Windows and macOS.
        fix = (f"ファイル名を {clean['id']}.md にしてください。" if clean.get("id")
               else "ファイル名は id と同じ名前（例: smartphone-subsidy.md）にしてください。")
        c.problem(data.line_of("id"), "id", "事業ID",
                  f"ファイル名（{src.path.name}）が id の形（半角英小文字・数字・ハイフン）ではありません",
                  fix)
    elif clean.get("id") and stem != clean["id"]:
        c.problem(data.line_of("id"), "id", "事業ID",
                  f"ファイル名（{stem}.md）と id（{clean['id']}）が違います",
                  f"ファイル名を {clean['id']}.md にするとわかりやすくなります。", "warning")
    folder = src.path.parent.name
    if ey is not None and folder.isdigit() and len(folder) == 4 and int(folder) != ey:
        c.problem(data.line_of("evaluation_year"), "evaluation_year", "評価年度",
                  f"フォルダ（{folder}）と評価年度（{ey}）が違います",
                  f"content/{ey}/ に置いてください。", "warning")


def _consistency(c: Checker, config: Any, check: str, line: int, key: str, label: str, message: str,
                 hint: str | None = None) -> None:
    level = config.checks.get(check, "warning")
    if level != "off":
        c.problem(line, key, label, message, hint, level)


def _n(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) or not float(value).is_integer() else f"{int(value):,}"


def duplicate_id(sheet: Any, other_path: str) -> Problem:
    """`sheet` uses an id that `other_path` already uses in the same evaluation year."""
    return Problem(sheet.source.path, sheet.source.line, "id", "事業ID",
                   f"id「{sheet.id}」は{wareki(sheet.evaluation_year)}の {other_path} でも使われています",
                   "同じ年度に同じ id は使えません。別の id にしてください。")


def check_duplicates(sheets: list[Any]) -> list[Problem]:
    """Two sheets with the same id in the same evaluation year would share one URL."""
    if len({(sheet.id, sheet.evaluation_year) for sheet in sheets}) == len(sheets):
        return []  # none (10,000 sheets are not sorted for that)
    seen: dict[tuple[str, int], Any] = {}
    problems = []
    for sheet in sorted(sheets, key=lambda s: s.source.path):
        key = (sheet.id, sheet.evaluation_year)
        if key in seen:
            problems.append(duplicate_id(sheet, seen[key].source.path))
        else:
            seen[key] = sheet
    return problems
