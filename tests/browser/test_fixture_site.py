"""The two-year fixture site (tests/fixtures/site) in Chromium: the pages only a program with several
evaluation years has (year links, 「前回の評価からの変化」, the program page's history) pass axe-core
at 375 and 1280 px and do not scroll sideways at 320 px. Served beside the bundled site, under
/fixture/, from the same test server.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from ..golden import build_fixture_site
from . import AXE_JS, built_output, require
from .test_accessibility import AXE_OPTIONS, OVERFLOWING, RUN_AXE, _format_violations

pytestmark = pytest.mark.browser

HISTORY_PAGES = ("sheets/smartphone-subsidy/", "sheets/smartphone-subsidy/2025/",
                 "sheets/smartphone-subsidy/2024/", "")


@functools.cache
def fixture_url_path() -> str:
    """Build the fixture site once into the served root; its URL path ("/fixture/")."""
    target = built_output().serve_root / "fixture"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(build_fixture_site(Path(tmp)), target, dirs_exist_ok=True)
    return "/fixture/"


@pytest.fixture(scope="session")
def axe_path() -> str:
    require("axe")
    return str(AXE_JS)


@pytest.fixture(scope="session")
def fixture_url(site_url: str) -> str:
    origin = site_url.split("/hyoka/")[0]
    return origin + fixture_url_path()


@pytest.mark.parametrize("width", (375, 1280), ids=lambda w: f"{w}px")
@pytest.mark.parametrize("path", HISTORY_PAGES, ids=lambda p: p or "top")
def test_history_pages_pass_axe(page_at, fixture_url: str, axe_path: str, path: str, width: int) -> None:
    page, guard = page_at(width)
    guard.reset()
    url = fixture_url + path
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url
    # Evaluated, not added as a <script>: the pages' CSP refuses inline scripts (as it should).
    page.evaluate(Path(axe_path).read_text(encoding="utf-8") + "\n;void 0")
    violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
    assert not violations, _format_violations(violations, url, width)
    assert not guard.problems(), "\n".join(guard.problems())
    if path:
        text = page.inner_text("main")
        assert ("前回の評価からの変化" in text) or ("年度ごとの変化" in text) or path.endswith("2024/")


@pytest.mark.parametrize("path", HISTORY_PAGES, ids=lambda p: p or "top")
def test_history_pages_reflow_at_320px(page_at, fixture_url: str, path: str) -> None:
    page, guard = page_at(320)
    guard.reset()
    page.goto(fixture_url + path, wait_until="load")
    scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, page.evaluate(OVERFLOWING)
