"""Search: the synonyms each sheet page gives Pagefind, and the Pagefind index of the built site.

Pagefind (extended build) indexes the sheet article as it is shown. A hidden block adds, for every
synonym group of site_config.yaml (search.synonyms) that the sheet uses, the spellings it does not
use (スマホ → スマートフォン, 漏洩 → 漏えい, AI → 人工知能), each as often as the group occurs, so any
spelling finds and ranks the sheet like the one it uses. Queries are normalised by the search page's
script (assets/js/search.js) the way `normalize` normalises the text here. What was measured, and
why there is no morphological analyser: tests/search_relevance.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .problems import BuildError

BUNDLE_DIR = "pagefind"
# Pagefind writes its ready-made UIs too; the search page uses only the JavaScript API.
UNUSED_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
_SPACES = re.compile(r"\s+")
_MARKDOWN = re.compile(r"^\s*(?:#+|[-*+]|\d+[.)])\s+|[*_`>|]+", re.M)


@dataclass(frozen=True)
class IndexStats:
    """What the index stage did: pages indexed, seconds taken, bundle size in bytes."""

    pages: int
    seconds: float
    bundle_bytes: int


# ---------------------------------------------------------------------------------------------
# Text: normalisation and synonyms


def normalize(text: str) -> str:
    """NFKC (全角英数 → 半角, 半角カナ → 全角), lower case, one space between words.

    assets/js/search.js applies the same steps to queries; keep the two in step.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _count(text: str, word: str) -> int:
    """How often `word` occurs in `text`; a Latin word only as a whole word ("ai" is not in "mail")."""
    if word.isascii():
        return len(re.findall(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text))
    return text.count(word)


def synonym_terms(text: str, groups: Sequence[Sequence[str]], most: int = 10) -> list[str]:
    """Extra spellings for every synonym group used in `text`, so that each spelling of the group
    occurs as often as the whole group does (up to `most`): any spelling then finds the sheet and
    ranks it as the one it uses (ホームページ eight times outranks once, for 「ウェブサイト」 too).
    """
    text = normalize(text)
    found: list[str] = []
    for group in groups:
        spellings = list(dict.fromkeys(w for w in (normalize(s) for s in group) if w))
        counts = [_count(text, s) for s in spellings]
        total = min(most, sum(counts))
        for spelling, count in zip(spellings, counts, strict=True):
            found += [spelling] * max(0, total - count)
    return found


def plain_text(markdown: str) -> str:
    """The words of a Markdown body without its markup (headings, list marks, emphasis)."""
    return _MARKDOWN.sub("", markdown)


def sheet_texts(sheet) -> list[str]:  # type: ignore[no-untyped-def]
    """Every piece of a sheet's text a citizen may search for, in page order."""
    org = sheet.organization
    parts: list[str | None] = [sheet.title, org.bureau, org.division, org.section,
                               sheet.plan.goal, sheet.plan.basic, sheet.plan.field,
                               sheet.purpose, sheet.description, sheet.category, sheet.implementer,
                               sheet.beneficiaries]
    for ind in sheet.indicators:
        parts += [ind.kind_label, ind.name, ind.description]
    parts += [sheet.budget_account.kan, sheet.budget_account.kou, sheet.budget_account.moku]
    for item in sheet.evaluation:
        parts += [item.rating, item.comment]
    parts += plain_text(sheet.body).splitlines()
    return [p.strip() for p in parts if p and p.strip()]


def sheet_synonyms(sheet, groups: Sequence[Sequence[str]]) -> str:  # type: ignore[no-untyped-def]
    """The hidden synonym text of one sheet's page: the missing spellings, 「、」 between them."""
    return "、".join(synonym_terms("。".join(sheet_texts(sheet)), groups))


# ---------------------------------------------------------------------------------------------
# The index stage


def pagefind_executable() -> Path:
    """The extended Pagefind binary from the pagefind[extended] package, or a clear Japanese error."""
    try:
        from pagefind_bin_extended import get_executable  # type: ignore[import-not-found]
    except ImportError:
        raise _no_extended() from None
    path = Path(get_executable())
    if not path.is_file():
        raise _no_extended()
    return path


def _no_extended() -> BuildError:
    return BuildError(
        "検索の索引を作れません: Pagefind の拡張版（extended）が見つかりません。"
        "通常版は日本語の単語を区切れないため、「補助金」などで検索できません",
        "python3 -m pip install -e . で pagefind[extended] を入れ直すか、"
        "検索なしで作るときは python3 build.py build --no-search としてください。")


def index_site(folder: Path, executable: Path | None = None) -> IndexStats:
    """Index `folder` (a built site) once with Pagefind's extended build into `folder`/pagefind/."""
    exe = executable or pagefind_executable()
    start = time.perf_counter()
    try:
        proc = subprocess.run([str(exe), "--site", str(folder), "--output-subdir", BUNDLE_DIR],
                              capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"検索の索引を作れません: Pagefind を実行できません（{exc}）",
                         "python3 -m pip install -e . で pagefind[extended] を入れ直してください。") from None
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    if "(Extended)" not in log:
        # A plain binary (e.g. through PAGEFIND_BINARY_PATH) indexes Japanese as one word per chunk.
        shutil.rmtree(folder / BUNDLE_DIR, ignore_errors=True)
        raise _no_extended()
    if proc.returncode != 0:
        tail = " / ".join(line.strip() for line in log.strip().splitlines()[-3:])
        raise BuildError(f"検索の索引を作れません: Pagefind が失敗しました（終了コード {proc.returncode}）: {tail}",
                         "--debug を付けて詳細を確かめるか、--no-search で検索なしに作ってください。")
    bundle = folder / BUNDLE_DIR
    for name in UNUSED_FILES:
        (bundle / name).unlink(missing_ok=True)
    match = re.search(r"Indexed (\d+) pages?", log)
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    return IndexStats(int(match.group(1)) if match else 0, seconds, size)
