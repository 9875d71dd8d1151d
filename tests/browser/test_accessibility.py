"""Every built page, in Chromium: axe-core finds no WCAG 2.2 A/AA violation at 375 and 1280 px, and
at 320 px the document has no horizontal scroll (WCAG 1.4.10 reflow). Each page loads with no
request to another host, no console error and no failed response, under the /hyoka/ sub-path.

Pages are found by walking the built folder, so a new kind of page is covered without editing
this file. Screenshots of the top page, one sheet page and one list page go to
test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from . import AXE_JS, SCREENSHOTS, built_output, page_names, page_url_path, require, screenshot_pages

pytestmark = pytest.mark.browser

PAGES = page_names()
SHOOT = screenshot_pages(PAGES)
AXE_WIDTHS = (375, 1280)
REFLOW_WIDTH = 320
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}
# Only what a failure message needs (axe's full result carries every node's HTML).
RUN_AXE = """async (options) => {
  const result = await axe.run(document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    count: v.nodes.length,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
    summary: (v.nodes[0] && v.nodes[0].failureSummary) || "",
  }));
}"""
# Elements that stick out to the right of the viewport and are not clipped by a scrolling box.
# An absolutely positioned element is clipped only by a box at or inside its containing block:
# e.g. a visually-hidden span (position:absolute) in a table inside .hy-table-wrap escapes the
# wrapper unless the wrapper (or something inside it) is positioned.
OVERFLOWING = """() => {
  const w = window.innerWidth, out = [];
  const out_of_flow = s => s.position === "absolute" || s.position === "fixed";
  const clipped = el => {
    let escaping = out_of_flow(getComputedStyle(el));
    for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
      const s = getComputedStyle(p);
      const scrolls = ["auto", "scroll", "hidden", "clip"].includes(s.overflowX);
      if (escaping && s.position === "static") continue;
      if (scrolls) return true;
      escaping = out_of_flow(s);
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map(c => "." + c).join("");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if ((r.width || r.height) && r.right > w + 0.5 && !clipped(el)) {
      const parent = el.parentElement ? name(el.parentElement) + " > " : "";
      out.push(`${parent}${name(el)} (right edge ${Math.round(r.right)}px, position ${getComputedStyle(el).position})`);
    }
  }
  return out.slice(0, 8);
}"""


def _id(html: str) -> str:
    return page_url_path(html) or "/"


def _visit(page_at, site_url: str, html: str, width: int):
    if html == "<build failed>":
        built_output()  # raises the build's error
    page, guard = page_at(width)
    guard.reset()
    url = site_url + page_url_path(html)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    return page, guard, url


def _format_violations(violations: list[dict], url: str, width: int) -> str:
    lines = [f"axe: {len(violations)} violation(s) on {url} at {width}px:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v['count']} element(s) <{v['helpUrl']}>")
        lines += [f"    {t}" for t in v["targets"]]
        if v["summary"]:
            lines += ["    | " + s for s in v["summary"].splitlines()[:4]]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def axe_path() -> str:
    require("axe")
    return str(AXE_JS)


@pytest.mark.parametrize("width", AXE_WIDTHS, ids=lambda w: f"{w}px")
@pytest.mark.parametrize("html", PAGES, ids=_id)
def test_no_axe_violations(page_at, site_url: str, axe_path: str, html: str, width: int) -> None:
    page, guard, url = _visit(page_at, site_url, html, width)
    # Evaluated, not added as a <script>: the pages' CSP refuses inline scripts (as it should).
    page.evaluate(Path(axe_path).read_text(encoding="utf-8") + "\n;void 0")
    violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
    if html in SHOOT:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = page_url_path(html).strip("/").replace("/", "-") or "top"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    problems = guard.problems()
    assert not violations and not problems, "\n".join(
        ([_format_violations(violations, url, width)] if violations else [])
        + [f"{url} at {width}px: {p}" for p in problems])


@pytest.mark.parametrize("html", PAGES, ids=_id)
def test_no_horizontal_scroll_at_320px(page_at, site_url: str, html: str) -> None:
    page, guard, url = _visit(page_at, site_url, html, REFLOW_WIDTH)
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    sticking_out = page.evaluate(OVERFLOWING) if scroll_width > inner_width else []
    assert scroll_width <= inner_width, (
        f"{url} at {REFLOW_WIDTH}px scrolls sideways: document {scroll_width}px wide > {inner_width}px"
        " (wide content belongs in a scrolling box such as .hy-table-wrap). Sticking out: "
        + ", ".join(sticking_out))
    assert not guard.problems(), "\n".join(guard.problems())


def test_missing_path_gets_the_styled_404_page(page, guard_for, site_url: str) -> None:
    """A host serves 404.html at any missing path: its stylesheets and links must still work."""
    url = site_url + "no/such/page/"
    guard_for(page).allow(url)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 404
    # Every stylesheet came from the site (a failed one would fail the test through the guard).
    sheets = page.evaluate("() => [...document.styleSheets].map(s => [s.href, s.cssRules.length])")
    assert sum(count for _, count in sheets) > 0, f"the 404 page has no styles: {sheets}"
    assert all(href.startswith(site_url) for href, _ in sheets if href), sheets
    links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    assert site_url in links, f"no link back to the top page {site_url}: {links}"
    outside = [h for h in links if urlsplit(h).hostname == "127.0.0.1" and not h.startswith(site_url)]
    assert not outside, f"links from the 404 page that leave the site's folder: {outside}"
