"""The XSS corpus in Chromium: no payload runs, in any field, on any page, nor through the search page.

The site of tests/xss_site.py (one sheet per payload of tests/fixtures/xss_payloads.txt, in every
string and choice field, the configuration and the body) is built with its search index into a
temporary folder and served over HTTP. Every HTML page is opened in a guarded page (the conftest
fixtures fail the test on a request to another host, a console error, or a failed response): no
dialog opens, and the DOM has no on* attribute, no javascript:/data: URL and no script but the
site's own. The search page searches for payloads and shows their results. Finally, markup
injected into a page by script is stopped by the page's Content-Security-Policy (defence in depth).
"""

from __future__ import annotations

import functools
import tempfile
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from hyoka.pipeline import run

from ..xss_site import PAYLOADS, make_xss_project
from .conftest import HOST, _Handler

pytestmark = pytest.mark.browser

DOM_PROBLEMS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push(`${el.tagName} ${a.name}=${a.value}`);
      if (a.name === 'style') bad.push(`${el.tagName} style=${a.value}`);
      if (/^(href|src|action|formaction|data|xlink:href)$/i.test(a.name)
          && /^\\s*(javascript|vbscript|data):/i.test(a.value.replace(/[\\u0000-\\u0020]/g, ''))) {
        bad.push(`${el.tagName} ${a.name}=${a.value}`);
      }
    }
  }
  for (const s of document.scripts) {
    if (!s.src.endsWith('/assets/js/search.js')) bad.push('script: ' + s.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('iframe, object, embed, base, style, frame, form[action^="http"]')) {
    bad.push(el.outerHTML.slice(0, 80));
  }
  if (window.__xss) bad.push('a payload ran');
  return bad;
}"""


@pytest.fixture(scope="module")
def xss_url() -> Iterator[tuple[str, Path]]:
    """The XSS site built with its search index, served at http://127.0.0.1:<port>/."""
    with tempfile.TemporaryDirectory(prefix="hyoka-xss-") as tmp:
        config = make_xss_project(Path(tmp))
        run(config)
        out = config.output_dir
        handler = type("Handler", (_Handler,), {"not_found_page": out / "404.html"})
        server = ThreadingHTTPServer((HOST, 0), functools.partial(handler, directory=str(out)))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{HOST}:{server.server_address[1]}/", out
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _watch(page) -> list[str]:
    """Record (and dismiss) any dialog; alert() and friends would open one."""
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def pages_to_visit(out: Path) -> list[str]:
    """Every sheet page (each has its payload in every field) and every page that is not one of
    many alike; of the pages per 課, 分野, 方針 and program (one per payload each), every sixth.
    tests/test_hostile.py parses all of them; the browser adds what parsing cannot see."""
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if p.name != "404.html")
    kinds: dict[str, list[str]] = {}
    for rel in pages:
        parts = rel.split("/")
        kind = "sheet" if rel.endswith("/2025/index.html") else parts[0] if len(parts) >= 3 else rel
        kinds.setdefault(kind, []).append(rel)
    chosen = [*kinds.pop("sheet")]
    for members in kinds.values():
        chosen += members if len(members) < 5 else members[::6]
    return sorted(chosen)


def test_no_payload_runs_on_any_page(new_page, xss_url) -> None:
    base, out = xss_url
    page = new_page()
    dialogs = _watch(page)
    # 404.html links absolutely under base_url's path (a payload here): the HTML checks cover it.
    pages = pages_to_visit(out)
    assert len(pages) > len(PAYLOADS) + 20
    problems: dict[str, list[str]] = {}
    for rel in pages:
        url = base + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
        # Inline scripts and handlers of parsed markup run during parsing; the DOM check sees the rest.
        response = page.goto(url, wait_until="domcontentloaded")
        assert response is not None and response.ok, url
        found = page.evaluate(DOM_PROBLEMS)
        if found:
            problems[rel] = found
    assert problems == {}
    assert dialogs == []


def test_payload_text_is_shown_not_run(new_page, xss_url) -> None:
    """A sheet page shows the payload as the text it is (here in the title and the body)."""
    base, _ = xss_url
    page = new_page()
    dialogs = _watch(page)
    for i in (0, 1, 3, 12, 16):
        page.goto(f"{base}sheets/xss-{i:02d}/2025/", wait_until="load")
        assert page.inner_text("h1").strip() == PAYLOADS[i][:200]
        assert PAYLOADS[i] in page.inner_text("main")
    assert dialogs == []


@pytest.mark.parametrize("query", ["<img src=x onerror=alert(1)>", "alert", '"><svg onload=alert(1)>'])
def test_search_shows_payload_results_inertly(new_page, xss_url, query: str) -> None:
    base, _ = xss_url
    page = new_page()
    dialogs = _watch(page)
    page.goto(base + "search/", wait_until="load")
    page.wait_for_function("() => typeof window.hyokaSearch === 'function'")
    page.fill("#hy-search-q", query)
    page.press("#hy-search-q", "Enter")
    page.wait_for_function("() => { const s = document.querySelector('#hy-search-status');"
                           " return s && s.textContent && !s.textContent.includes('検索しています'); }")
    if query == "alert":  # every sheet: results with payloads in titles, details and excerpts
        page.wait_for_selector(".hy-result")
    assert page.evaluate(DOM_PROBLEMS) == []
    # The query is shown back as text in the status line, not as markup.
    assert query in page.inner_text("#hy-search-status") or page.query_selector(".hy-result")
    assert dialogs == []


def test_csp_stops_markup_injected_at_run_time(new_page, guard_for, xss_url) -> None:
    """Defence in depth: even markup that got into a page could not run or load anything."""
    base, _ = xss_url
    page = new_page()
    guard = guard_for(page)
    dialogs = _watch(page)
    page.goto(base, wait_until="load")
    guard.allow(base + "x")  # the broken image of the first payload
    page.evaluate("""() => {
      document.body.insertAdjacentHTML('beforeend',
        '<img src="x" onerror="window.__xss = 1; alert(1)">' +
        '<img src="https://evil.example/pixel.png">' +
        '<a id="js" href="javascript:window.__xss = 1">x</a>');
      const s = document.createElement('script');
      s.textContent = 'window.__xss = 1; alert(1)';
      document.body.append(s);
    }""")
    page.click("#js")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__xss") is None
    assert dialogs == []
    # Chromium reports each refusal as a console error: expected here, and only those.
    refused = [m for m in guard.console if "Content Security Policy" in m]
    assert len(refused) >= 3, guard.console
    guard.console[:] = [m for m in guard.console if m not in refused]
    assert guard.external == []  # the CSP refused the outside image before any request
