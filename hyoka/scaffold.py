"""New sheets: a commented skeleton from the schema (`new`), or next year's sheet from last year's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dump import SCHEMA_COMMENT, dump_sheet
from .era import wareki
from .model import SiteConfig
from .schema import BODY_SECTIONS, INDICATOR_KINDS, SHEET, Field
from .validate import BUILTIN_CHOICES

COST_KEYS = tuple(f.key for f in SHEET.child("costs").fields)  # type: ignore[union-attr]


@dataclass(frozen=True)
class NewSheet:
    """What `new` knows before staff fill in the rest."""

    id: str
    evaluation_year: int
    title: str
    bureau: str | None
    division: str
    section: str | None = None


def _choices(f: Field, config: SiteConfig) -> tuple[str, ...]:
    return tuple(BUILTIN_CHOICES.get(f.choices or "") or config.choice_list(f.choices or "") or ())


def _comment(f: Field, config: SiteConfig) -> str:
    """「# 和名（必須）: help 選択肢: …」 for one key."""
    text = f"# {f.label}{'（必須）' if f.required else ''}: {f.help}"
    if f.unit:
        text += f" 単位: {f.unit}。"
    if f.kind == "choice":
        allowed = _choices(f, config)
        if f.key == "kind" and f.choices == "indicator_kind":
            allowed = tuple(f"{k}（{INDICATOR_KINDS[k]}）" for k in allowed)
        text += f" 選択肢: {' / '.join(allowed)}"
    return text


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def scaffold(new: NewSheet, config: SiteConfig) -> str:
    """Every field present, each with its 和名, help and choices as a comment; passes validation
    once the required values are there (blank optional values are null, never 0)."""
    ey = new.evaluation_year
    values: dict[str, Any] = {
        "id": new.id, "evaluation_year": ey, "results_year": ey - 1, "title": new.title,
        "organization.bureau": new.bureau, "organization.division": new.division,
        "organization.section": new.section,
    }
    lines = ["---", SCHEMA_COMMENT,
             f"# {wareki(ey)} 事務事業評価シート（{wareki(ey - 1)}実績）。各項目の説明は docs/fields.md にあります。",
             "# 空欄は null のままにします（0 とは書かないでください）。"]
    for f in SHEET.fields:
        lines.append(_comment(f, config))
        if f.kind == "object" and f.key != "evaluation":
            lines.append(f"{f.key}:")
            for sub in f.fields:
                lines.append(f"  {sub.key}: {_scalar(values.get(f'{f.key}.{sub.key}'))}  {_comment(sub, config)}")
        elif f.key == "sdgs":
            lines.append("sdgs: []")
        elif f.key == "indicators":
            lines += _indicator_example(config, ey)
        elif f.key == "costs":
            lines.append("costs:")
            for year in range(ey - 2, ey + 3):
                kind = "決算" if year < ey else "予算" if year == ey else "予定"
                cells = ", ".join(f"{k}: {kind if k == 'kind' else 'null'}" for k in COST_KEYS)
                lines.append(f"  {year}: {{{cells}}}  # {wareki(year)}")
        elif f.key == "evaluation":
            lines.append("evaluation:")
            for item in f.fields:
                rating = item.child("rating")
                assert rating is not None
                allowed = " / ".join(_choices(rating, config))
                lines.append(f"  {item.key}: {{rating: null, comment: null}}  # {item.label} 選択肢: {allowed}")
        else:
            lines.append(f"{f.key}: {_scalar(values.get(f.key))}")
    lines.append("---")
    body = "\n\n".join(f"## {section}\n\n" for section in BODY_SECTIONS).rstrip() + "\n"
    return "\n".join(lines) + "\n\n" + body


def _indicator_example(config: SiteConfig, ey: int) -> list[str]:
    """`indicators: []` and a commented example to copy (an empty indicator would not validate)."""
    ind = SHEET.child("indicators")
    assert ind is not None
    lines = ["indicators: []", "# 指標を書くときは、上の indicators: [] の行を消し、次の行の先頭の「# 」を外して書きます:", "# indicators:"]
    for i, f in enumerate(ind.fields):
        lead = "#   - " if i == 0 else "#     "
        if f.key == "values":
            lines.append(f"{lead}values:  {_comment(f, config)}")
            for year in range(ey - 2, ey + 1):
                lines.append(f"#       {year}: {{target: null, actual: null}}  # {wareki(year)}")
        else:
            example = {"kind": "activity", "lower_is_better": "false"}.get(f.key, "null")
            lines.append(f"{lead}{f.key}: {example}  {_comment(f, config)}")
    return lines


def next_year(data: dict[str, Any], body: str) -> tuple[dict[str, Any], str]:
    """Next year's sheet from last year's: years shifted, figures carried, the evaluation blank."""
    old_ey = data["evaluation_year"]
    ey = old_ey + 1
    out = dict(data)
    out["evaluation_year"] = ey
    out["results_year"] = (data.get("results_year") or old_ey - 1) + 1
    indicators = []
    for ind in data.get("indicators") or []:
        values = dict(ind.get("values") or {})
        span = (max(values) - min(values)) if values else 2
        shifted = {y: dict(v) for y, v in values.items() if y >= max(values, default=old_ey) + 1 - span}
        shifted.setdefault(max(values, default=old_ey) + 1, {"target": None, "actual": None})
        indicators.append({**ind, "values": dict(sorted(shifted.items()))})
    out["indicators"] = indicators
    costs = data.get("costs") or {}
    if costs:
        first, last = min(costs) + 1, max(costs) + 1
        new_costs = {}
        for year in range(first, last + 1):
            carried = dict(costs.get(year) or dict.fromkeys(COST_KEYS))
            # The kind follows the year's place in the new sheet: settled, budget or plan.
            carried["kind"] = "決算" if year < ey else "予算" if year == ey else "予定"
            new_costs[year] = carried
        out["costs"] = new_costs
    grid = SHEET.child("evaluation")
    assert grid is not None
    out["evaluation"] = {f.key: {"rating": None, "comment": None} for f in grid.fields}
    new_body = "\n\n".join(f"## {section}\n\n" for section in BODY_SECTIONS).rstrip() + "\n"
    return out, new_body


def next_year_text(data: dict[str, Any], body: str) -> str:
    """next_year as file text, with a note on what to check."""
    out, new_body = next_year(data, body)
    text = dump_sheet(out, new_body)
    note = (f"# {wareki(data['evaluation_year'])}のシートから作成しました。指標と事業費の値は前年度のものを引き継いでいます。\n"
            "# 実績・決算額を最新の値に直し、評価（evaluation）と本文を書いてください。\n")
    head, rest = text.split("\n", 2)[0:2], text.split("\n", 2)[2]
    return "\n".join(head) + "\n" + note + rest
