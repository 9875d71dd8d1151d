"""Every built HTML page passes the Nu Html Checker (vnu, the W3C validator), errors only.

vnu runs ONCE over all pages (one JVM start); each page is then its own test, so a failure names
the page. The checker is node_modules/vnu-jar/build/dist/vnu.jar, run with Debian's java.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ..golden import GOLDEN
from . import VNU_JAR, BuiltSite, page_names, require

pytestmark = pytest.mark.browser

PAGES = page_names()
# The two-year fixture site's pages (tests/golden/): program history only appears there.
GOLDEN_FILES = sorted(GOLDEN.rglob("*.html"))


@pytest.fixture(scope="module")
def vnu_errors(built_site: BuiltSite) -> dict[str, list[str]]:
    """Page (relative to the site) → vnu's error messages as "line N: message ⟨extract⟩"."""
    require("java", "vnu")
    files = [built_site.output / p for p in built_site.html_files()] + GOLDEN_FILES
    proc = subprocess.run(
        [shutil.which("java") or "java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json",
         *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False)
    try:
        report = json.loads(proc.stderr or proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"vnu did not answer in JSON (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
                    f"\n{proc.stdout[-3000:]}", pytrace=False)
    errors: dict[str, list[str]] = {}
    for m in report.get("messages", []):
        if m.get("type") not in ("error", "non-document-error"):
            continue
        path = Path(unquote(urlsplit(m.get("url", "")).path))
        try:
            page = path.resolve().relative_to(built_site.output.resolve()).as_posix()
        except ValueError:
            try:
                page = "golden/" + path.resolve().relative_to(GOLDEN.resolve()).as_posix()
            except ValueError:
                page = str(path)
        extract = " ".join((m.get("extract") or "").split())
        line = m.get("lastLine") or m.get("firstLine") or "?"
        errors.setdefault(page, []).append(
            f"line {line}: {m.get('message', '').strip()}" + (f" ⟨{extract[:120]}⟩" if extract else ""))
    return errors


@pytest.mark.parametrize("html", PAGES, ids=lambda p: p)
def test_page_is_valid_html(vnu_errors: dict[str, list[str]], html: str) -> None:
    assert html != "<build failed>", "the site did not build"
    errors = vnu_errors.get(html, [])
    assert not errors, f"Nu Html Checker: {len(errors)} error(s) in {html}:\n  " + "\n  ".join(errors)


def test_golden_pages_are_valid_html(vnu_errors: dict[str, list[str]]) -> None:
    golden = {k: v for k, v in vnu_errors.items() if k.startswith("golden/")}
    assert len(GOLDEN_FILES) > 10
    assert not golden, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in golden.items())


def test_checker_saw_no_other_files(vnu_errors: dict[str, list[str]], built_site: BuiltSite) -> None:
    """Errors about files outside the page list (e.g. an unreadable file) are reported here."""
    stray = {k: v for k, v in vnu_errors.items()
             if k not in built_site.html_files() and not k.startswith("golden/")}
    assert not stray, stray
