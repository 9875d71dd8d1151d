"""Load and validate site_config.yaml into a SiteConfig, reporting problems like a sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .load import decode, parse_yaml, rel_path
from .model import SiteConfig
from .problems import Problem, ProblemsFound
from .schema import CONFIG, SHEET
from .validate import BUILTIN_CHOICES, Checker

CONFIG_NAME = "site_config.yaml"


def required_choice_lists() -> list[str]:
    """Every `choices.<path>` the sheet schema refers to."""
    out: list[str] = []

    def visit(f: Any) -> None:
        for sub in f.fields:
            if sub.kind == "choice" and sub.choices and sub.choices not in BUILTIN_CHOICES:
                out.append(sub.choices)
            visit(sub)

    visit(SHEET)
    return sorted(set(out))


def load_config(root: Path, path: Path | None = None) -> SiteConfig:
    """Read the site configuration; raise ProblemsFound with every problem at once."""
    path = path or root / CONFIG_NAME
    rel = rel_path(path, root)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProblemsFound([Problem(rel, 0, "", "サイト設定",
                                     f"設定ファイルを読めません（{exc.strerror}）")]) from None
    text, problems = decode(raw, rel)
    if text is None:
        raise ProblemsFound(problems)
    data, problems = parse_yaml(text, rel, 1)
    if problems:
        raise ProblemsFound(problems)
    checker = Checker(rel, 1, lambda name: BUILTIN_CHOICES.get(name))
    clean = checker.value(CONFIG, data, "", "", 0, present=True)
    problems = checker.problems
    if clean is not None and isinstance(clean.get("choices"), dict):
        choices = data["choices"]
        line = data.line_of("choices")
        for dotted in required_choice_lists():
            node: Any = choices
            for part in dotted.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if not (isinstance(node, list) and node and all(isinstance(v, str) for v in node)):
                problems.append(Problem(rel, 1 + line, f"choices.{dotted}", "選択肢",
                                        "選択肢の一覧（文字列のリスト）がありません",
                                        "site_config.yaml の choices に一覧を書いてください。"))
    if problems or clean is None:
        raise ProblemsFound(problems)
    years = clean.get("fiscal_year_range") or {}
    checks = {f.key: f.default for f in CONFIG.child("checks").fields}  # type: ignore[union-attr]
    checks.update({k: v for k, v in (clean.get("checks") or {}).items() if v is not None})
    return SiteConfig(
        root=root,
        city=clean["city"],
        site_title=clean["site_title"],
        description=clean.get("description"),
        base_url=clean.get("base_url"),
        output_dir=root / (clean.get("output_dir") or "_site"),
        content_dir=root / (clean.get("content_dir") or "content"),
        personnel_unit_cost=clean["personnel_unit_cost"],
        fiscal_year_before=years.get("before") if years.get("before") is not None else 5,
        fiscal_year_after=years.get("after") if years.get("after") is not None else 5,
        checks=checks,
        choices=_plain(data["choices"]),
        contact=dict(clean.get("contact") or dict.fromkeys(("name", "phone", "email", "url"))),
        year_format=clean.get("year_format") or "wareki",
        synonyms=tuple(tuple(w for w in group or () if w) for group in
                       ((clean.get("search") or {}).get("synonyms") or ()) if group),
    )


def _plain(value: Any) -> Any:
    """Strip line marks so the config compares and prints as plain data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


