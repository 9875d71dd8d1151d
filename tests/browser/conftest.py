"""Fixtures for the browser tests: the built site served under a sub-path, and a guarded Chromium.

Fixtures (all reusable by any test under tests/browser/):
- `built_site` (session): `BuiltSite`; `.output` is the built site folder, `.html_files()` its pages.
- `site_url` (session): "http://127.0.0.1:<port>/hyoka/", the site served over HTTP under a sub-path
  (missing paths get 404.html with status 404, as on a real host).
- `browser` (session): a Playwright (sync API) Chromium, /usr/bin/chromium, headless.
- `page` (function): a fresh page in its own context, 1280×800, locale ja-JP. The test FAILS on any
  request to a host other than 127.0.0.1 (the request is aborted and recorded), on a console error
  or uncaught page error, and on a same-site response with status >= 400.
- `new_page` (function): factory `new_page(width=1280, height=800) -> Page`, with the same guard.
- `guard_for` (function): `guard_for(page) -> Guard`, to inspect or `.allow(url)` an expected failure.
- `page_at` (session): `page_at(width) -> (Page, Guard)`, one reused page per width (for loops over
  every page; call `guard.reset()` before and `guard.problems()` after each visit).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from . import CHROMIUM, CHROMIUM_ARGS, BuiltSite, built_output, require, skip_requested

HOST = "127.0.0.1"
GUARDS = pytest.StashKey[list]()


@pytest.fixture(scope="session", autouse=True)
def _browser_tests_enabled() -> None:
    if skip_requested():
        pytest.skip("HYOKA_SKIP_BROWSER=1: browser tests skipped (run `bash scripts/test.sh` for all)")


@pytest.fixture(scope="session")
def built_site() -> BuiltSite:
    """The bundled content, built once per session into a temporary folder."""
    return built_output()


class _Handler(SimpleHTTPRequestHandler):
    """Static files from the served root; a missing path under the site gets its 404.html."""

    extensions_map: ClassVar[dict[str, str]] = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json"}
    not_found_page: Path | None = None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = self.not_found_page
        if code == 404 and page is not None and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


@pytest.fixture(scope="session")
def site_url(built_site: BuiltSite) -> Iterator[str]:
    """Base URL of the served site, ending in "/": http://127.0.0.1:<port>/hyoka/."""
    handler = type("Handler", (_Handler,), {"not_found_page": built_site.output / "404.html"})
    server = ThreadingHTTPServer((HOST, 0), functools.partial(handler, directory=str(built_site.serve_root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hyoka-site-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}{built_site.subpath}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Guard:
    """Records what a page must not do: reach another host, log errors, get failed responses."""

    def __init__(self) -> None:
        self.external: list[str] = []
        self.console: list[str] = []
        self.failed: list[str] = []
        self._allowed: set[str] = set()

    def allow(self, url: str) -> None:
        """Accept a failed response / console error for this URL (e.g. an intended 404)."""
        self._allowed.add(url)

    def reset(self) -> None:
        self.external.clear()
        self.console.clear()
        self.failed.clear()
        self._allowed.clear()

    def attach_context(self, context) -> None:
        context.route("**/*", self._route)

    def attach_page(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console.append(f"uncaught error: {exc}"))
        page.on("response", self._response)

    def _route(self, route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname == HOST:
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        where = msg.location.get("url", "") if msg.location else ""
        if where in self._allowed or urlsplit(where).hostname not in (HOST, None, ""):
            # An intended 404, or the echo of an aborted external request (already in .external).
            return
        line = msg.location.get("lineNumber") if msg.location else None
        self.console.append(msg.text + (f" ({where}{f':{line}' if line else ''})" if where else ""))

    def _response(self, response) -> None:
        if response.status >= 400 and response.url not in self._allowed:
            self.failed.append(f"{response.status} {response.url}")

    def problems(self) -> list[str]:
        return ([f"request to another host (aborted): {u}" for u in self.external]
                + [f"console error: {m}" for m in self.console]
                + [f"failed response: {f}" for f in self.failed])


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Chromium through Playwright's sync API, one for the whole session."""
    require("chromium", "playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _new_guarded_page(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP",
                                  service_workers="block")
    guard = Guard()
    guard.attach_context(context)
    page = context.new_page()
    guard.attach_page(page)
    return context, page, guard


@pytest.fixture
def new_page(browser, request) -> Iterator[Callable[..., object]]:
    """Factory: new_page(width=1280, height=800) → a guarded Page, closed after the test."""
    contexts = []
    guards = request.node.stash.setdefault(GUARDS, [])

    def make(width: int = 1280, height: int = 800):
        context, page, guard = _new_guarded_page(browser, width, height)
        contexts.append(context)
        guards.append((page, guard))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh guarded page, 1280×800."""
    return new_page()


@pytest.fixture
def guard_for(request) -> Callable[[object], Guard]:
    """guard_for(page) → the Guard recording that page's external requests and errors."""
    def find(page) -> Guard:
        for p, guard in request.node.stash.get(GUARDS, []):
            if p is page:
                return guard
        raise LookupError("not a page from the page/new_page fixtures")
    return find


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After a test that passed, fail it if one of its guarded pages misbehaved."""
    result = yield
    problems = [p for _, guard in item.stash.get(GUARDS, []) for p in guard.problems()]
    if problems:
        pytest.fail("the page did something it must not:\n  " + "\n  ".join(problems), pytrace=False)
    return result


@pytest.fixture(scope="session")
def page_at(browser) -> Iterator[Callable[[int], tuple[object, Guard]]]:
    """page_at(width) → (page, guard): one context and page per width, reused for the session."""
    made: dict[int, tuple[object, object, Guard]] = {}

    def get(width: int):
        if width not in made:
            made[width] = _new_guarded_page(browser, width, 812 if width < 600 else 800)
        _, page, guard = made[width]
        return page, guard

    yield get
    for context, _, _ in made.values():
        context.close()
