"""Turn extracted 事務事業評価シート text (tab-separated cells) into content data.

The input is what a PDF/Excel export of the sheets gives: one `## 令和7年度 事務事業評価シート
(令和6年度実績)` heading per sheet, three organization lines, then one table row per line with
cells separated by tabs. Cell positions drift between sheets (leading tabs, doubled tabs from
merged cells), so rows are read by their label and values by their position relative to the
label, as the matching header row places them. Whatever cannot be mapped becomes an
ImportWarning with its source line; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .dump import dump_sheet
from .era import parse_wareki_year
from .load import find_content, load_source
from .schema import BODY_SECTIONS, SLUG_PATTERN

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SLUG_RE = re.compile(SLUG_PATTERN)

_SHEET_RE = re.compile(
    r"^(?:#{1,6}\s*)?(?P<eval>\S+?年度)\s*事務事業評価シート\s*\(\s*(?P<res>\S+?年度)\s*実績\s*\)\s*$"
)
# Section headings inside a sheet carry no data; their level varies (## to ####) between sheets.
_SECTION_WORDS = ("事業の概要", "事業の取組みと費用", "事業の評価", "事業についての評価", "事業の方向性")

_PLAN_KEYS = {"目標": "goal", "基本": "basic", "分野": "field"}
_OVERVIEW_KEYS = {"種別": "category", "主体": "implementer", "対象・受益者": "beneficiaries"}
_BUDGET_KEYS = {"区分": "fund", "款": "kan", "項": "kou", "目": "moku"}
_TEXT_ROWS = {"事務事業名": "title", "目的": "purpose", "内容": "description"}
_INDICATOR_HEADS = {"活動指標": "activity", "成果指標": "outcome"}
_INDICATOR_HEAD_WORDS = frozenset({"指標名", "説明"})
_COST_ROWS = {
    "総事業費": "total",
    "事業経費": "operating",
    "特定財源": "specific_revenue",
    "従事常勤職員数": "staff_regular",
    "従事非常勤職員数": "staff_nonregular",
    "概算人件費": "personnel",
}
_STAFF_FIELDS = frozenset({"staff_regular", "staff_nonregular"})
_EVAL_LABELS = {
    "今後の必要性": "need",
    "対象の適切性": "target_fit",
    "主体の妥当性": "actor_fit",
    "指標の実績": "indicator_result",
    "コストの削減": "cost_reduction",
    "費用対効果": "cost_effectiveness",
    "手段の妥当性": "means",
    "事業の方針": "direction",
}
# Group labels of the evaluation table (merged cells at the row start), not data.
_EVAL_GROUPS = frozenset({"個別評価", "総合評価", "必要性", "有効性", "効率性"})
_DEFAULT_COST_KINDS = ("決算", "予算", "予定")

_NUMBER_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_MISSING = frozenset({"", "/"})  # a slash in a value cell means 該当なし, i.e. no value
_BULLET = "・"
_LI_RE = re.compile(r"<li\b[^>]*>(.*?)</li\s*>", re.IGNORECASE | re.DOTALL)
_LIST_TAG_RE = re.compile(r"</?(?:ul|ol)\b[^>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ImportWarning:
    """Something in the source text the importer could not map, at a 1-based line."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}行目: {self.message}"


@dataclass
class ImportedSheet:
    """One sheet: front-matter data, Markdown body and the line of its heading."""

    data: dict[str, Any]
    body: str
    source_line: int

    @property
    def id(self) -> str:
        """The sheet's id."""
        return self.data["id"]


@dataclass
class ImportResult:
    """All sheets found in one source text, and the warnings met on the way."""

    source_name: str
    sheets: list[ImportedSheet] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)


class WrittenFiles(NamedTuple):
    """Files written by write_sheets, and existing files left alone."""

    written: list[Path]
    skipped: list[Path]


# ---------------------------------------------------------------------------------------------
# ids


def default_id(title: str) -> str:
    """「jigyo-」 + the first 8 hex digits of sha1(title): stable when nothing better is known."""
    return "jigyo-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:8]


def load_id_map(path: Path) -> dict[str, str]:
    """Read a YAML mapping 事務事業名 → id; ValueError (in Japanese) when it is not one."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: YAML として読めません（{exc.__class__.__name__}）") from None
    pairs = data.items() if isinstance(data, dict) else None
    if data is not None and pairs is None:
        raise ValueError(f"{path}: 「事務事業名: id」の並びになっていません")
    result: dict[str, str] = {}
    for title, id_ in pairs or ():
        if not isinstance(title, str) or not isinstance(id_, str) or not SLUG_RE.match(id_):
            raise ValueError(f"{path}: 「{title}」の id「{id_}」が半角英小文字・数字・ハイフンではありません")
        result[title] = id_
    return result


def ids_from_content(content_dir: Path) -> dict[str, str]:
    """title → id from existing content files, so a program keeps its id across years."""
    found: dict[str, tuple[int, str]] = {}
    for path in find_content(content_dir):
        src, _problems = load_source(path, path.name)
        if src is None:
            continue  # unreadable files are `check`'s business, not the importer's
        title, id_ = src.data.get("title"), src.data.get("id")
        if not isinstance(title, str) or not isinstance(id_, str):
            continue
        year = src.data.get("evaluation_year")
        year = year if isinstance(year, int) else 0
        # When a title was given different ids, the newest evaluation year wins.
        if title not in found or year >= found[title][0]:
            found[title] = (year, id_)
    return {title: id_ for title, (_year, id_) in found.items()}


def make_id_for(*maps: Mapping[str, str]) -> Callable[[str], str]:
    """An id_for that tries each map in turn and falls back to default_id."""

    def id_for(title: str) -> str:
        for m in maps:
            if title in m:
                return m[title]
        return default_id(title)

    return id_for


# ---------------------------------------------------------------------------------------------
# import


def import_text(
    text: str, *, source_name: str, choices: Mapping[str, Any], id_for: Callable[[str], str]
) -> ImportResult:
    """Parse every sheet in `text`; `choices` is site_config's `choices`, `id_for` names sheets."""
    result = ImportResult(source_name)
    warn = _Warner(result.warnings)
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parser: _SheetParser | None = None
    for no, line in enumerate(lines, 1):
        match = _SHEET_RE.match(_norm(line.strip()))
        if match:
            if parser is not None:
                result.sheets.append(parser.finish(id_for, source_name))
            parser = _SheetParser(no, match["eval"], match["res"], choices, warn)
        elif parser is not None:
            parser.feed(no, line)
        elif line.strip():
            warn(no, f"シートの見出しより前の行を読み込んでいません: {_excerpt(line)}")
    if parser is not None:
        result.sheets.append(parser.finish(id_for, source_name))
    else:
        warn(1, "シートが見つかりません"
                "（「## 令和7年度 事務事業評価シート(令和6年度実績)」の形の見出し行がありません）")
    _check_ids(result)
    result.warnings.sort(key=lambda w: w.line)
    return result


def _check_ids(result: ImportResult) -> None:
    seen: dict[str, int] = {}
    for sheet in result.sheets:
        id_ = sheet.data["id"]
        if not isinstance(id_, str) or not SLUG_RE.match(id_):
            result.warnings.append(ImportWarning(
                sheet.source_line, f"id「{id_}」は半角英小文字・数字・ハイフンではありません"))
        elif id_ in seen:
            result.warnings.append(ImportWarning(
                sheet.source_line, f"id「{id_}」が {seen[id_]}行目のシートと同じです"))
        else:
            seen[id_] = sheet.source_line


def write_sheets(result: ImportResult, out_dir: Path, *, overwrite: bool = False) -> WrittenFiles:
    """Write `<out_dir>/<id>.md` per sheet; existing files are skipped unless `overwrite`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[Path] = []
    for sheet in result.sheets:
        path = out_dir / f"{sheet.data['id']}.md"
        # A path written earlier in this run means two sheets share an id: keep the first.
        if path in written or (path.exists() and not overwrite):
            skipped.append(path)
            continue
        path.write_text(dump_sheet(sheet.data, sheet.body), encoding="utf-8", newline="\n")
        written.append(path)
    return WrittenFiles(written, skipped)


# ---------------------------------------------------------------------------------------------
# Markdown


def cell_to_markdown(text: str) -> str:
    """A text cell as Markdown: ・bullets and <ul><li> lists become `- ` lists, else a paragraph."""
    text = text.strip()
    if _LI_RE.search(text):
        items = [html.unescape(_TAG_RE.sub("", item)) for item in _LI_RE.findall(text)]
        rest = html.unescape(_LIST_TAG_RE.sub("", _LI_RE.sub("", text))).strip()
        blocks = [_escape_block(rest)] if rest else []
        blocks.append(_markdown_list(items))
        return "\n\n".join(blocks)
    if text.startswith(_BULLET):
        return _markdown_list(re.split(r"\s+・", text[1:]))
    return _escape_block(text)


def _markdown_list(items: list[str]) -> str:
    cleaned = [i.strip().removeprefix(_BULLET).strip() for i in items]
    return "\n".join(f"- {_escape_block(i)}" for i in cleaned if i)


def _escape_block(text: str) -> str:
    """Escape a leading character Markdown would read as a heading, list, quote or rule."""
    if re.match(r"^\d+[.)]\s", text):
        return re.sub(r"^(\d+)([.)])", r"\1\\\2", text)
    if text[:1] in ("#", ">", "-", "+", "*", "=", "|"):
        return "\\" + text
    return text


# ---------------------------------------------------------------------------------------------
# one sheet


class _Warner:
    def __init__(self, sink: list[ImportWarning]) -> None:
        self.sink = sink

    def __call__(self, line: int, message: str) -> None:
        self.sink.append(ImportWarning(line, message))


@dataclass
class _Indicator:
    kind: str
    line: int
    years: list[int]
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    targets: dict[int, Any] = field(default_factory=dict)
    actuals: dict[int, Any] = field(default_factory=dict)
    has_target: bool = False
    has_actual: bool = False

    def is_blank(self) -> bool:
        """True for the empty template rows of a sheet with no indicator."""
        values = list(self.targets.values()) + list(self.actuals.values())
        return not (self.name or self.description or self.unit) and all(v is None for v in values)

    def as_data(self) -> dict[str, Any]:
        targets = [t for t in self.targets.values() if t is not None]
        return {
            "kind": self.kind,
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            # Targets of 0 (障害件数, 漏洩件数) only make sense when fewer is better.
            "lower_is_better": bool(targets) and all(t == 0 for t in targets),
            "values": {y: {"target": self.targets.get(y), "actual": self.actuals.get(y)}
                       for y in self.years},
        }


_Reader = Callable[[int, list[str], list[tuple[int, str]], str], None]


@dataclass
class _Layout:
    """Columns of a header row: (offset from the label cell, slot) pairs."""

    slots: list[tuple[int, Any]]
    line: int


class _SheetParser:
    def __init__(self, line: int, eval_label: str, res_label: str,
                 choices: Mapping[str, Any], warn: _Warner) -> None:
        self.line = line
        self.warn = warn
        self.choices = choices
        self.evaluation_year = parse_wareki_year(eval_label)
        self.results_year = parse_wareki_year(res_label)
        if self.evaluation_year is None:
            warn(line, f"評価年度「{eval_label}」を西暦に直せません")
        if self.results_year is None:
            warn(line, f"実績年度「{res_label}」を西暦に直せません")
        self.org: list[str] = []
        self.rows_started = False
        self.texts: dict[str, str | None] = {"title": None, "purpose": None, "description": None}
        self.plan: dict[str, str | None] = dict.fromkeys(_PLAN_KEYS.values())
        self.overview: dict[str, str | None] = dict.fromkeys(_OVERVIEW_KEYS.values())
        self.budget: dict[str, str | None] = dict.fromkeys(_BUDGET_KEYS.values())
        self.sdgs: list[int] = []
        self.indicators: list[_Indicator] = []
        self.ind_layout: _Layout | None = None
        self.ind_kind: str | None = None  # set while inside an indicator table
        self.cost_layout: _Layout | None = None
        self.costs: dict[int, dict[str, Any]] = {}
        self.evaluation: dict[str, dict[str, str | None]] = {
            key: {"rating": None, "comment": None} for key in _EVAL_LABELS.values()}
        self.body: dict[str, str] = {}
        self.seen: dict[str, int] = {}  # row label → line, to report duplicates
        self.handlers = self._handlers()

    # -- dispatch ------------------------------------------------------------------------------

    def feed(self, no: int, line: str) -> None:
        if not line.strip():
            return
        if line.lstrip().startswith("#"):
            heading = line.strip().lstrip("#").strip()
            if not any(word in heading for word in _SECTION_WORDS):
                self.warn(no, f"知らない見出しです（読み飛ばしました）: {_excerpt(heading)}")
            return
        cells = [c.strip() for c in line.split("\t")]
        if not self.rows_started and len(cells) == 1 and _norm(cells[0]) not in _TEXT_ROWS:
            self._org_line(no, cells[0])
            return
        self.rows_started = True
        self._row(no, cells)

    def _org_line(self, no: int, text: str) -> None:
        if len(self.org) < 3:
            self.org.append(text)
        else:
            self.warn(no, f"担当組織（部局・課・係）の後の行を読み込んでいません: {_excerpt(text)}")

    def _row(self, no: int, cells: list[str]) -> None:
        ne = [(i, c) for i, c in enumerate(cells) if c]
        while ne and _norm(ne[0][1]) in _EVAL_GROUPS:
            ne.pop(0)
        if not ne:
            return
        label = _norm(ne[0][1])
        if self.ind_kind is not None:
            marker = next((i for i, c in ne if c in ("目標", "実績")), None)
            if marker is not None:
                self._indicator_row(no, cells, ne, marker)
                return
        self.ind_kind = None
        if label == "目標" and any(_norm(c) in ("基本", "分野") for _i, c in ne):
            # The first seed sheet lost the 「総合計画の体系」 label; 目標/基本/分野 cells remain.
            label, ne = "総合計画の体系", [(-1, "総合計画の体系"), *ne]
        elif label.startswith("事業費("):
            label = "事業費"
        handler = self.handlers.get(label)
        if handler is None:
            row = _excerpt("\t".join(cells))
            self.warn(no, f"「{ne[0][1]}」は知らない行です。この行は読み込んでいません: {row}")
        elif label in _INDICATOR_HEADS or self._once(no, label):
            handler(no, cells, ne, label)

    def _handlers(self) -> dict[str, _Reader]:
        """Row label → reader; every reader gets (line, cells, non-empty cells, label)."""
        table: dict[str, _Reader] = {
            "総合計画の体系": lambda no, _c, ne, lb: self._pairs(no, ne[1:], _PLAN_KEYS, self.plan, lb),
            "SDGs目標": lambda no, _c, ne, _lb: self._sdgs(no, ne[1:]),
            "種別": lambda no, _c, ne, _lb: self._pairs(no, ne, _OVERVIEW_KEYS, self.overview,
                                                     "種別・主体・対象"),
            "予算科目": lambda no, _c, ne, lb: self._pairs(no, ne[1:], _BUDGET_KEYS, self.budget, lb),
            "事業費": lambda no, _c, ne, _lb: self._cost_header(no, ne),
        }
        table.update(dict.fromkeys(_TEXT_ROWS, self._text_row))
        table.update(dict.fromkeys(_INDICATOR_HEADS, self._indicator_header))
        table.update(dict.fromkeys(_COST_ROWS, self._cost_row))
        table.update(dict.fromkeys(_EVAL_LABELS, self._evaluation_row))
        table.update(dict.fromkeys(BODY_SECTIONS, self._body_row))
        return table

    def _once(self, no: int, label: str) -> bool:
        if label in self.seen:
            self.warn(no, f"「{label}」の行が {self.seen[label]}行目にもあります。"
                          "後の行は読み込んでいません")
            return False
        self.seen[label] = no
        return True

    def _stray(self, no: int, where: str, cells: list[tuple[int, str]]) -> None:
        for _i, text in cells:
            self.warn(no, f"{where}の余分なセルを読み込んでいません: 「{_excerpt(text)}」")

    # -- simple rows ---------------------------------------------------------------------------

    def _text_row(self, no: int, _cells: list[str], ne: list[tuple[int, str]], label: str) -> None:
        key = _TEXT_ROWS[label]
        if len(ne) < 2:
            if key == "title":
                self.warn(no, "事務事業名が空です")
            return
        self.texts[key] = ne[1][1]
        self._stray(no, label, ne[2:])

    def _pairs(self, no: int, cells: list[tuple[int, str]], keys: dict[str, str],
               out: dict[str, str | None], where: str) -> None:
        """Read 「key→value」 or 「key value」 cells into `out`."""
        current: str | None = None
        for i, text in cells:
            norm = _norm(text)
            if norm in keys:
                current = keys[norm]
                continue
            joined = re.match(r"^(\S+)\s+(.+)$", text)
            if joined and _norm(joined[1]) in keys:
                out[keys[_norm(joined[1])]] = joined[2].strip()
                current = None
            elif current is not None:
                out[current] = text
                current = None
            else:
                self._stray(no, where, [(i, text)])

    def _sdgs(self, no: int, cells: list[tuple[int, str]]) -> None:
        after_number = False
        for _i, text in cells:
            if re.fullmatch(r"\d+", _norm(text)):
                self.sdgs.append(int(_norm(text)))
                after_number = True
            elif after_number:
                after_number = False  # the goal's name (産業と技術革新の…): the number says it all
            else:
                self.warn(no, f"SDGs目標のゴール番号「{_excerpt(text)}」が数字ではありません")

    # -- indicators ----------------------------------------------------------------------------

    def _indicator_header(self, no: int, _cells: list[str], ne: list[tuple[int, str]],
                          label: str) -> None:
        kind = _INDICATOR_HEADS[label]
        anchor: int | None = None
        years: list[tuple[int, int]] = []
        unit_col: int | None = None
        for i, text in ne[1:]:
            norm = _norm(text)
            if norm in _INDICATOR_HEAD_WORDS:
                continue
            if norm == "年度":
                anchor = i
            elif norm == "単位":
                unit_col = i
            elif (year := parse_wareki_year(norm)) is not None:
                years.append((i, year))
            else:
                self._stray(no, "指標の見出し行", [(i, text)])
        if not years:
            self.warn(no, "指標の見出し行に年度（令和5年度など）の列がありません")
        if anchor is None:
            # 目標/実績 sit in the 年度 column, just left of the first year.
            anchor = years[0][0] - 1 if years else ne[0][0]
        slots: list[tuple[int, Any]] = [(i - anchor, y) for i, y in years]
        if unit_col is not None:
            slots.append((unit_col - anchor, "unit"))
        self.ind_layout = _Layout(slots, no)
        self.ind_kind = kind

    def _indicator_row(self, no: int, cells: list[str], ne: list[tuple[int, str]],
                       marker: int) -> None:
        assert self.ind_layout is not None and self.ind_kind is not None
        is_target = cells[marker] == "目標"
        years = [slot for _o, slot in self.ind_layout.slots if slot != "unit"]
        texts = [(i, c) for i, c in ne if i < marker]
        last = self.indicators[-1] if self.indicators else None
        current = last if last is not None and last.kind == self.ind_kind else None
        if is_target or current is None or current.has_actual:
            if not is_target:
                self.warn(no, "目標の行がない実績の行です。名前のない指標として読み込みました")
            current = _Indicator(self.ind_kind, no, years)
            self.indicators.append(current)
        where = "指標の目標の行" if is_target else "指標の実績の行"
        if is_target:
            current.has_target = True
            if texts:
                current.name = texts[0][1]
            if len(texts) > 1:
                current.description = texts[1][1]
            self._stray(no, where, texts[2:])
        else:
            current.has_actual = True
            self._stray(no, where, texts)
        values = self._aligned(no, cells, marker, self.ind_layout, where)
        store = current.targets if is_target else current.actuals
        for slot, text in values.items():
            if slot == "unit":
                if text and current.unit and text != current.unit:
                    self.warn(no, f"指標の単位が目標の行（{current.unit}）と実績の行（{text}）で"
                                  "違います。目標の行の単位にしました")
                elif text:
                    current.unit = text  # デジタルデバイド対策事務 puts the unit on the 実績 row
            else:
                store[slot] = self._number(no, text, f"{where}（{slot}年度）")

    # -- costs ---------------------------------------------------------------------------------

    def _cost_header(self, no: int, ne: list[tuple[int, str]]) -> None:
        kinds = self.choices.get("cost_kind") or _DEFAULT_COST_KINDS
        kind_re = re.compile(
            r"^(?P<era>\S+?\d+)(?:年度)?(?P<kind>" + "|".join(map(re.escape, kinds)) + r")額?$")
        anchor = ne[0][0]
        slots: list[tuple[int, Any]] = []
        for i, text in ne[1:]:
            m = kind_re.match(_norm(text).replace(" ", ""))
            year = parse_wareki_year(m["era"]) if m else None
            if m is None or year is None:
                self.warn(no, f"事業費の見出し「{_excerpt(text)}」から年度と区分"
                              f"（{'・'.join(kinds)}）が読み取れません")
                continue
            slots.append((i - anchor, year))
            self.costs[year] = {"kind": m["kind"], **dict.fromkeys(_COST_ROWS.values())}
        self.cost_layout = _Layout(slots, no)

    def _cost_row(self, no: int, cells: list[str], ne: list[tuple[int, str]], label: str) -> None:
        key = _COST_ROWS[label]
        if self.cost_layout is None:
            self.warn(no, f"「{label}」の行より前に事業費の見出し行（R5決算額など）がありません。"
                          "この行は読み込んでいません")
            return
        for year, text in self._aligned(no, cells, ne[0][0], self.cost_layout, label).items():
            value = self._number(no, text, f"{label}（{year}年度）")
            if key in _STAFF_FIELDS and value is not None:
                value = float(value)
            self.costs[year][key] = value

    # -- evaluation and body -------------------------------------------------------------------

    def _evaluation_row(self, no: int, _cells: list[str], ne: list[tuple[int, str]],
                        label: str) -> None:
        key = _EVAL_LABELS[label]
        allowed = {_norm(c): c for c in (self.choices.get("evaluation") or {}).get(key) or []}
        cells = ne[1:]
        item = self.evaluation[key]
        rating_at = next((n for n, (_i, c) in enumerate(cells) if _norm(c) in allowed), None)
        if rating_at is not None:
            item["rating"] = allowed[_norm(cells[rating_at][1])]
            rest = cells[:rating_at] + cells[rating_at + 1:]
        elif len(cells) >= 2:
            # A rating outside the choice list: only the first cell can be one.
            item["rating"] = cells[0][1]
            rest = cells[1:]
            self.warn(no, f"{label}の評価「{cells[0][1]}」は選択肢"
                          f"（site_config.yaml の choices.evaluation.{key}）にありません")
        else:
            rest = cells
            # Ratings sit right after the label; a lone non-choice there may be a mistyped one.
            if cells and cells[0][0] == ne[0][0] + 1:
                self.warn(no, f"{label}の「{_excerpt(cells[0][1])}」は評価の選択肢にないため、"
                              "コメントとして読み込みました")
        if rest:
            item["comment"] = rest[0][1]
            self._stray(no, label, rest[1:])

    def _body_row(self, no: int, _cells: list[str], ne: list[tuple[int, str]],
                  label: str) -> None:
        if len(ne) < 2:
            return
        self.body[label] = cell_to_markdown(ne[1][1])
        self._stray(no, label, ne[2:])

    # -- cells ---------------------------------------------------------------------------------

    def _aligned(self, no: int, cells: list[str], anchor: int, layout: _Layout,
                 where: str) -> dict[Any, str]:
        """The cell of each header slot in a data row whose label (or 目標/実績) is at `anchor`."""
        offsets = [o for o, _slot in layout.slots]
        n = len(offsets)
        # Header and data rows normally drift together; if not, try the two layouts seen in
        # exports (every cell, every other cell) before giving up on the header positions.
        for k, offs in enumerate((offsets, list(range(1, n + 1)), list(range(1, 2 * n, 2)))):
            positions = [anchor + o for o in offs]
            strays = [(i, c) for i, c in enumerate(cells) if i > anchor and c and i not in positions]
            if not strays:
                if k and offs != offsets:
                    self.warn(no, f"{where}の列の位置が見出し行（{layout.line}行目）と合わないため、"
                                  "左から順に読み取りました")
                break
        else:
            positions = [anchor + o for o in offsets]
            strays = [(i, c) for i, c in enumerate(cells) if i > anchor and c and i not in positions]
            self._stray(no, where, strays)
        return {slot: (cells[p] if 0 <= p < len(cells) else "")
                for p, (_o, slot) in zip(positions, layout.slots, strict=True)}

    def _number(self, no: int, text: str, where: str) -> int | float | None:
        norm = _norm(text).replace(" ", "")
        if norm in _MISSING:
            return None
        if not _NUMBER_RE.match(norm):
            self.warn(no, f"{where}の「{_excerpt(text)}」は数値ではありません。"
                          "null（データなし）にしました")
            return None
        plain = norm.replace(",", "")
        return float(plain) if "." in plain else int(plain)

    # -- result --------------------------------------------------------------------------------

    def finish(self, id_for: Callable[[str], str], source_name: str) -> ImportedSheet:
        title = self.texts["title"]
        if "事務事業名" not in self.seen:
            self.warn(self.line, "事務事業名の行がありません")
        if len(self.org) < 2:
            self.warn(self.line, "見出しの後に担当組織（部局・課・係）の行がありません")
        org: list[str | None] = [*self.org, None, None, None][:3]
        indicators = []
        for ind in self.indicators:
            if ind.is_blank():
                continue
            if not ind.name:
                self.warn(ind.line, "指標名が空です")
            indicators.append(ind.as_data())
        data: dict[str, Any] = {
            "id": id_for(title) if title else default_id(f"{source_name}:{self.line}"),
            "evaluation_year": self.evaluation_year,
            "results_year": self.results_year,
            "title": title,
            "organization": {"bureau": org[0], "division": org[1], "section": org[2]},
            "plan": self.plan,
            "sdgs": self.sdgs,
            "purpose": self.texts["purpose"],
            "description": self.texts["description"],
            **self.overview,
            "indicators": indicators,
            "budget_account": self.budget,
            "costs": self.costs,
            "evaluation": self.evaluation,
        }
        body = "\n".join(f"## {label}\n\n{self.body[label]}\n" for label in BODY_SECTIONS
                         if label in self.body)
        return ImportedSheet(data, body, self.line)


def _norm(text: str) -> str:
    """NFKC with surrounding space removed: full-width （） and ＳＤＧｓ match their ASCII forms."""
    return unicodedata.normalize("NFKC", text).strip()


def _excerpt(text: str, limit: int = 40) -> str:
    text = text.replace("\t", "→").strip()
    return text if len(text) <= limit else text[:limit] + "…"
