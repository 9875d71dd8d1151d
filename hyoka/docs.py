"""The field reference (docs/fields.md), generated from the schema declaration."""

from __future__ import annotations

from pathlib import Path

from .model import SiteConfig
from .schema import SHEET, walk
from .validate import BUILTIN_CHOICES

FIELDS_PATH = Path("docs") / "fields.md"
_KIND_TEXT = {
    "str": "文字列", "text": "文章", "slug": "id（半角英小文字・数字・-）", "int": "整数", "number": "数値",
    "bool": "true / false", "year": "西暦の年度", "choice": "選択肢", "object": "まとまり",
    "list": "リスト", "year_map": "年度ごと", "map": "一覧",
}


def fields_markdown(config: SiteConfig) -> str:
    """A Markdown table of every sheet key with its 和名, type, unit, rules and help."""
    lines = [
        "# シートの項目一覧 / Field reference",
        "",
        "<!-- python build.py schema が hyoka/schema.py から生成します。直接編集しないでください。 -->",
        "",
        "`[]` はリストの各要素、`<年度>` は西暦の年度（例: 2024）です。必須でない項目は空（null）にできます。",
        "",
        "| キー | 和名 | 種類 | 必須 | 単位・範囲・選択肢 | 説明 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for path, f in walk(SHEET):
        rules = []
        if f.unit:
            rules.append(f"単位: {f.unit}")
        if f.minimum is not None or f.maximum is not None:
            lo = "" if f.minimum is None else f"{f.minimum:g}"
            hi = "" if f.maximum is None else f"{f.maximum:g}"
            rules.append(f"{lo}〜{hi}")
        if f.kind == "choice" and f.choices:
            allowed = BUILTIN_CHOICES.get(f.choices) or config.choice_list(f.choices) or ()
            rules.append("、".join(allowed))
        cells = [f"`{path}`", f.label, _KIND_TEXT[f.kind], "必須" if f.required else "",
                 "<br>".join(rules), f.help]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_fields(config: SiteConfig) -> Path:
    """Write docs/fields.md."""
    path = config.root / FIELDS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fields_markdown(config), encoding="utf-8")
    return path
