"""Tests of the built site in a real browser, plus helpers shared with tests/test_links.py.

The bundled content is built ONCE per test session (`built_output()`), into a temporary folder
named like the sub-path the site is served under (`/hyoka/` by default), so the site is checked
under a sub-path, as it is published, and not only at the root of a host.

The browser tests need tools that `bash scripts/test.sh` installs: Chromium (/usr/bin/chromium,
Debian's package), the Python package playwright (never `playwright install`: it downloads a
browser), Java (default-jre-headless) and the npm packages axe-core and vnu-jar (node_modules/).
When one is missing the tests FAIL and say so. `HYOKA_SKIP_BROWSER=1` skips them instead, for a
quick local run; in CI (CI set) that variable is ignored and they always run.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_MODULES = ROOT / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = Path(os.environ.get("HYOKA_CHROMIUM", "/usr/bin/chromium"))
# Without the two background flags Chromium phones home at start, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEFAULT_SUBPATH = "/hyoka/"
SHEET_PAGE = re.compile(r"^sheets/[^/]+/\d{4}/index\.html$")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_requested() -> bool:
    """HYOKA_SKIP_BROWSER=1 outside CI: skip the browser tests (quick local runs)."""
    return os.environ.get("HYOKA_SKIP_BROWSER", "") not in ("", "0") and not in_ci()


def require(*tools: str) -> None:
    """Fail (or skip, with HYOKA_SKIP_BROWSER=1 outside CI) unless every named tool is installed.

    Tools: chromium, playwright, axe, java, vnu.
    """
    checks = {
        "chromium": (lambda: CHROMIUM.is_file(), f"Chromium ({CHROMIUM}; Debian package chromium)"),
        "playwright": (lambda: importlib.util.find_spec("playwright") is not None,
                       "the Python package playwright"),
        "axe": (AXE_JS.is_file, f"axe-core ({AXE_JS.relative_to(ROOT)})"),
        "java": (lambda: shutil.which("java") is not None, "java (Debian package default-jre-headless)"),
        "vnu": (VNU_JAR.is_file, f"the Nu Html Checker ({VNU_JAR.relative_to(ROOT)})"),
    }
    missing = [label for name in tools for ok, label in [checks[name]] if not ok()]
    if not missing:
        return
    message = ("missing: " + ", ".join(missing)
               + ". Run `bash scripts/test.sh`, which installs them and runs the tests"
               + " (or set HYOKA_SKIP_BROWSER=1 to skip the browser tests in a quick local run).")
    if skip_requested():
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@dataclass(frozen=True)
class BuiltSite:
    """The bundled content built once: `output` is served at `http://127.0.0.1:<port><subpath>`."""

    serve_root: Path   # the folder served as the host's root
    output: Path       # serve_root / subpath: the site itself
    subpath: str       # "/hyoka/": starts and ends with "/"
    base_url: str | None

    def html_files(self) -> list[str]:
        """Every HTML page of the site, as paths relative to `output` ("index.html", "sheets/…")."""
        return sorted(p.relative_to(self.output).as_posix() for p in self.output.rglob("*.html"))


_built: BuiltSite | None = None
_build_error: BaseException | None = None


def built_output() -> BuiltSite:
    """Build the bundled content once per process (later calls return the same folder)."""
    global _built, _build_error
    if _built is not None:
        return _built
    if _build_error is not None:
        raise _build_error
    try:
        _built = _build()
    except BaseException as exc:
        _build_error = exc
        raise
    return _built


def _build() -> BuiltSite:
    from hyoka.config import load_config
    from hyoka.pipeline import run

    config = load_config(ROOT)
    # Serve under the sub-path of the configured base_url (404.html links there absolutely);
    # a base_url at a host's root is moved to /hyoka/ so the sub-path case is still what is tested.
    base = urlsplit(config.base_url or "")
    subpath = base.path if base.path.strip("/") else DEFAULT_SUBPATH
    subpath = "/" + subpath.strip("/") + "/"
    replace: dict = {}
    if subpath != base.path:
        replace["base_url"] = f"{base.scheme or 'https'}://{base.netloc or 'example.jp'}{subpath}"
    serve_root = Path(tempfile.mkdtemp(prefix="hyoka-site-"))
    atexit.register(shutil.rmtree, serve_root, ignore_errors=True)
    output = serve_root / subpath.strip("/")
    output.parent.mkdir(parents=True, exist_ok=True)
    run(dataclasses.replace(config, output_dir=output, **replace))
    return BuiltSite(serve_root, output, subpath, replace.get("base_url", config.base_url))


def page_names() -> list[str]:
    """HTML pages for parametrizing (at collection); ["<build failed>"] if the build fails,
    so that the tests report the build error instead of stopping the whole collection."""
    try:
        return built_output().html_files()
    except Exception:
        return ["<build failed>"]


def page_url_path(html: str) -> str:
    """Site-relative URL of a page: "sheets/x/2025/index.html" → "sheets/x/2025/", "index.html" → ""."""
    return html[: -len("index.html")] if html == "index.html" or html.endswith("/index.html") else html


def screenshot_pages(pages: list[str]) -> set[str]:
    """Pages to photograph: the top page, one sheet page, and the first list page if there is one."""
    chosen = {"index.html", "sheets/smartphone-subsidy/2025/index.html"} & set(pages)
    lists = [p for p in pages if p not in ("index.html", "404.html") and not SHEET_PAGE.match(p)]
    if lists:
        chosen.add(lists[0])
    return chosen
