"""A project whose every string is an XSS payload (tests/fixtures/xss_payloads.txt).

One sheet per payload (id xss-NN): the payload, cut to each field's length limit, in every string
field, in every choice (the choice lists of site_config.yaml get the payloads too), in the Markdown
body (paragraph, list item, table cell) and in the configuration's own strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hyoka.model import SiteConfig
from hyoka.schema import SHEET, Field

from .conftest import FIXTURES, ROOT, make_project

PAYLOADS: list[str] = [line for line in (FIXTURES / "xss_payloads.txt").read_text(encoding="utf-8").splitlines()
                       if line and not line.startswith("# ")]
EVALUATION_KEYS = [f.key for f in SHEET.child("evaluation").fields]  # type: ignore[union-attr]


def _limit(field: Field | None, text: str) -> str:
    return text[: field.max_length] if field is not None and field.max_length else text


def _cut(path: str, text: str) -> str:
    """`text` within the length limit of the field at dotted `path` (e.g. "organization.bureau")."""
    field: Field | None = SHEET
    for part in path.split("."):
        field = field.child(part) if field is not None else None
    return _limit(field, text)


def sheet_data(index: int, payload: str) -> dict[str, Any]:
    """Front matter of sheet `index` with `payload` in every string and choice field."""
    def cut(path: str) -> str:
        return _cut(path, payload)

    def indicator(kind: str) -> dict[str, Any]:
        return {"kind": kind, "name": cut("indicators.name"), "description": cut("indicators.description"),
                "unit": cut("indicators.unit"), "lower_is_better": kind == "outcome",
                "values": {2023: {"target": 3, "actual": 3}, 2024: {"target": 3, "actual": 2},
                           2025: {"target": 3, "actual": None}}}

    def cost(kind: str) -> dict[str, Any]:
        return {"kind": kind, "total": 2281, "operating": 641, "specific_revenue": 0, "staff_regular": 0.2,
                "staff_nonregular": None, "personnel": 1640}

    return {
        "id": f"xss-{index:02d}", "evaluation_year": 2025, "results_year": 2024,
        "title": cut("title"),
        "organization": {k: cut(f"organization.{k}") for k in ("bureau", "division", "section")},
        "plan": {k: cut(f"plan.{k}") for k in ("goal", "basic", "field")},
        "sdgs": [9, 11],
        "purpose": cut("purpose"), "description": cut("description"), "category": payload,
        "implementer": cut("implementer"), "beneficiaries": cut("beneficiaries"),
        "indicators": [indicator("activity"), indicator("outcome")],
        "budget_account": {k: cut(f"budget_account.{k}") for k in ("fund", "kan", "kou", "moku")},
        "costs": {2024: cost(payload), 2025: cost("予算")},
        "evaluation": {k: {"rating": payload, "comment": payload} for k in EVALUATION_KEYS},
    }


def body(payload: str) -> str:
    """A Markdown body carrying the payload as a paragraph, a list item, a heading and a table cell."""
    cell = payload.replace("|", "\\|")
    return (f"## 現状の課題\n\n{payload}\n\n- {payload}\n\n### {payload}\n\n"
            f"## 今後の取組み\n\n| 項目 | 値 |\n|:--|--:|\n| {cell} | 1 |\n")


def sheet_text(index: int, payload: str) -> str:
    """The content file: front matter dumped by PyYAML (it quotes what needs quoting) and body."""
    front = yaml.safe_dump(sheet_data(index, payload), allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{front}---\n{body(payload)}"


def config_text() -> str:
    """site_config.yaml with payloads in its strings, choice lists and synonyms."""
    data = yaml.safe_load((ROOT / "site_config.yaml").read_text(encoding="utf-8"))
    p = PAYLOADS
    data.update(city=p[0], site_title=p[1], description=p[2],
                base_url="https://example.jp/'\"><script>alert(1)</script>/")
    data["contact"] = {"name": p[3], "phone": p[4], "email": p[5],
                       "url": "https://example.jp/?q=\"><script>alert(1)</script>"}
    choices = data["choices"]
    choices["category"] = [*choices["category"], *p]
    choices["cost_kind"] = [*choices["cost_kind"], *p]
    for key in EVALUATION_KEYS:
        choices["evaluation"][key] = [*choices["evaluation"][key], *p]
    data["search"]["synonyms"] = [*data["search"]["synonyms"], [x[:100] for x in p[:6]]]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def make_xss_project(tmp: Path) -> SiteConfig:
    """A throwaway project in `tmp` with one sheet per payload and the hostile configuration."""
    (tmp / "xss_config.yaml").write_text(config_text(), encoding="utf-8")
    files = {f"content/2025/xss-{i:02d}.md": sheet_text(i, p) for i, p in enumerate(PAYLOADS)}
    return make_project(tmp, files, config_file=tmp / "xss_config.yaml")


def strings_of(data: Any) -> list[str]:
    """Every non-empty string in front matter (the values a page must show)."""
    if isinstance(data, str):
        return [data] if data.strip() else []
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings_of(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings_of(v)]
    return []
