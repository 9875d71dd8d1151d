"""The search page in Chromium, under the /hyoka/ sub-path, against the real Pagefind index.

- The relevance set (tests/fixtures/search_relevance.yaml) through `window.hyokaSearch`, the page's
  own pipeline: the expected sheet first for ≥ 95% of queries, in the top 3 for all, and nothing
  for the no-result queries (`python -m tests.search_relevance` prints the same table).
- A person's flow by keyboard: type, see titles and excerpts, filter, sort, follow a result.
- Japanese IME: the Enter that confirms a conversion neither submits nor searches; the search
  runs when the conversion ends.
- ?q= on load, the header link, the page without JavaScript, and axe-core with results shown.
"""

from __future__ import annotations

import re

import pytest

from ..search_relevance import (
    FIRST_TARGET,
    TOP,
    load_cases,
    open_search_page,
    run_cases,
    summary,
    table,
    wait_until,
)
from . import AXE_JS, require
from .test_accessibility import AXE_OPTIONS, RUN_AXE, _format_violations

pytestmark = pytest.mark.browser


def _wait_for_filters(page) -> None:
    page.wait_for_selector("#hy-search-filters:not([hidden]) select[data-filter]")


def _status(page) -> str:
    return page.inner_text("#hy-search-status")


def test_relevance_set(page, site_url: str) -> None:
    cases, no_results = load_cases()
    open_search_page(page, site_url)
    outcomes, empty = run_cases(page, cases, no_results)
    s = summary(outcomes, empty)
    report = table(outcomes, empty)
    assert s["first"] >= FIRST_TARGET, f"expected sheet first for too few queries:\n{report}"
    assert s["top"] == 1, f"an expected sheet is not in the top {TOP}:\n{report}"
    assert s["empty"] == 1, f"a no-result query returned results:\n{report}"


def test_type_filter_sort_and_follow_a_result(page, site_url: str) -> None:
    page.goto(site_url + "search/")
    _wait_for_filters(page)
    # Keyboard only: the input is reachable by Tab from the top of the page.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "hy-search-q":
            break
    else:
        pytest.fail("Tab never reached the search input")
    page.keyboard.type("スマホ")
    wait_until(page, "() => document.querySelectorAll('.hy-result').length >= 2")
    assert re.fullmatch(r"「スマホ」の検索結果: \d+件", _status(page)), _status(page)
    first = page.locator(".hy-result").first
    assert first.locator("h2 a").inner_text() == "スマートフォン購入補助事務"
    assert first.locator(".hy-result__excerpt mark").first.inner_text() == "スマホ"
    assert "総事業費" in first.locator(".hy-result__facts").inner_text()
    titles = page.locator(".hy-result h2 a").all_inner_texts()
    assert "デジタルデバイド対策事務" in titles
    assert "q=%E3%82%B9%E3%83%9E%E3%83%9B" in page.url  # the address keeps the query (bookmarks, back)

    # Filter by 事業の方針 (a select, operated from the keyboard).
    select = page.locator("select[data-filter='事業の方針']")
    select.focus()
    select.select_option("完了・達成")
    wait_until(page, "() => document.getElementById('hy-search-status').textContent.includes('絞り込み')")
    assert _status(page) == "「スマホ」の検索結果（絞り込みあり）: 1件"
    assert page.locator(".hy-result h2 a").all_inner_texts() == ["デジタルデバイド対策事務"]

    # Sort by 総事業費 without the filter: the most expensive first.
    select.select_option("")
    page.locator("#hy-search-sort").select_option("total:desc")
    # Clearing the filter and choosing the sort each start a search: wait for the sorted one
    # (reading the list in between would catch the relevance-ordered results of the first).
    wait_until(page, """() => {
      if (document.getElementById('hy-search-status').textContent.includes('絞り込み')) return false;
      const totals = [...document.querySelectorAll('.hy-result__facts div')]
        .filter(d => d.querySelector('dt') && d.querySelector('dt').textContent.includes('総事業費'))
        .map(d => parseInt(d.querySelector('dd').textContent.split('千円')[0].replace(/[^0-9]/g, ''), 10));
      return totals.length >= 2 && totals.every((v, i) => i === 0 || totals[i - 1] >= v);
    }""")
    totals = [int(t.split("千円")[0].replace(",", "").split(":")[-1].strip())
              for t in page.locator(".hy-result__facts div:has(dt:text('総事業費')) dd").all_inner_texts()]
    assert totals == sorted(totals, reverse=True) and len(totals) >= 2, totals

    # Follow a result with the keyboard.
    link = page.locator(".hy-result h2 a", has_text="デジタルデバイド対策事務")
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == site_url + "sheets/digital-divide/2025/"
    assert page.locator("h1").inner_text() == "デジタルデバイド対策事務"


def test_ime_enter_confirming_a_conversion_does_not_submit(page, site_url: str) -> None:
    page.goto(site_url + "search/")
    _wait_for_filters(page)
    page.evaluate("""() => {
      window.__submits = 0;
      document.getElementById('hy-search').addEventListener('submit', () => window.__submits++);
    }""")
    url = page.url
    page.focus("#hy-search-q")
    cdp = page.context.new_cdp_session(page)
    # Type ほじょきん and convert it to 補助金, as a Japanese IME does (composition events).
    cdp.send("Input.imeSetComposition", {"text": "ほじょきん", "selectionStart": 5, "selectionEnd": 5})
    cdp.send("Input.imeSetComposition", {"text": "補助金", "selectionStart": 3, "selectionEnd": 3})
    # The Enter that confirms the conversion reaches the page as keyCode 229 while composing.
    cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": "Enter", "code": "Enter",
                                        "windowsVirtualKeyCode": 229, "nativeVirtualKeyCode": 229})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Enter", "code": "Enter",
                                        "windowsVirtualKeyCode": 13})
    page.wait_for_timeout(600)  # longer than the input debounce
    assert page.evaluate("window.__submits") == 0
    assert page.url == url
    assert _status(page) == "" and page.locator(".hy-result").count() == 0
    # Safari sends compositionend before that keydown: keyCode 229 alone must be enough.
    prevented = page.evaluate("""() => {
      const e = new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, bubbles: true, cancelable: true});
      document.getElementById('hy-search-q').dispatchEvent(e);
      return e.defaultPrevented;
    }""")
    assert prevented
    # Confirming the conversion ends the composition: now it searches.
    cdp.send("Input.insertText", {"text": "補助金"})
    page.wait_for_selector(".hy-result")
    assert page.input_value("#hy-search-q") == "補助金"
    assert _status(page).startswith("「補助金」の検索結果: ")
    assert page.locator(".hy-result h2 a").first.inner_text() == "スマートフォン購入補助事務"
    # A plain Enter afterwards searches in place, without leaving the page.
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.url.startswith(site_url + "search/?q=")


def test_query_in_the_address_is_searched_on_load(page, site_url: str) -> None:
    page.goto(site_url + "search/?q=%E4%BA%BA%E6%9D%90%E8%82%B2%E6%88%90")  # 人材育成
    page.wait_for_selector(".hy-result")
    assert page.input_value("#hy-search-q") == "人材育成"
    assert page.locator(".hy-result h2 a").first.inner_text() == "ICT人材育成事務"


def test_no_result_message(page, site_url: str) -> None:
    page.goto(site_url + "search/?q=%E5%9B%B3%E6%9B%B8%E9%A4%A8")  # 図書館
    wait_until(page, "() => document.getElementById('hy-search-status').textContent.includes('見つかりません')")
    assert page.locator(".hy-result").count() == 0


def test_header_link_leads_to_search(page, site_url: str) -> None:
    page.goto(site_url + "sheets/ai-rpa/2025/")
    with page.expect_navigation():
        page.get_by_role("navigation", name="サイト内の一覧").get_by_role("link", name="検索").click()
    assert page.url == site_url + "search/"
    wait_until(page, "() => typeof window.hyokaSearch === 'function'")


def test_without_javascript_the_page_points_to_the_lists(browser, site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="ja-JP")
    try:
        page = context.new_page()
        page.goto(site_url + "search/")
        text = page.inner_text("main")
        assert "検索には JavaScript が必要です" in text
        links = page.locator("main .hy-search-noscript a").evaluate_all("els => els.map(a => a.href)")
        assert links == [site_url + p for p in ("divisions/", "plan/", "sdgs/", "directions/", "years/")]
    finally:
        context.close()


@pytest.mark.parametrize("width", [375, 1280], ids=lambda w: f"{w}px")
def test_no_axe_violations_with_results_shown(new_page, site_url: str, width: int) -> None:
    require("axe")
    page = new_page(width=width)
    page.goto(site_url + "search/?q=%E8%A3%9C%E5%8A%A9%E9%87%91")  # 補助金
    _wait_for_filters(page)
    page.wait_for_selector(".hy-result mark")
    # Evaluated, not added as a <script>: the site's Content-Security-Policy forbids inline script.
    page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;void 0")
    violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
    assert not violations, _format_violations(violations, page.url, width)
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"the results page scrolls sideways at {width}px"


# -- a sharded index ---------------------------------------------------------------------------
# At scale the index is one Pagefind bundle per shard (hyoka/search.py), merged in the browser.
# Here the 12 sheets are indexed in shards of 4, so that every search crosses shards.

SHARD_SORT = """async ([filters, direction]) => {
  const response = await window.hyokaSearch('', {filters, sort: {total: direction}});
  const urls = [];
  for (const result of response.results) urls.push((await result.data()).url);
  return urls;
}"""


@pytest.fixture(scope="module")
def sharded_url(built_site, tmp_path_factory):
    import shutil

    from hyoka import search

    from ..search_relevance import serve

    folder = tmp_path_factory.mktemp("sharded") / "site"
    shutil.copytree(built_site.output, folder, symlinks=True)
    stats = search.index_site(folder, shard_pages=4)
    assert (stats.pages, stats.shards) == (12, 3)
    with serve(folder) as url:
        yield url, folder


def test_relevance_set_across_shards(page, sharded_url) -> None:
    """Merged shards rank by each shard's own word statistics; with shards of 4 sheets three
    katakana queries swap two close sheets (first 105/108), which real shards of hundreds do not."""
    url, _ = sharded_url
    cases, no_results = load_cases()
    open_search_page(page, url)
    outcomes, empty = run_cases(page, cases, no_results)
    s = summary(outcomes, empty)
    report = table(outcomes, empty)
    assert s["first"] >= FIRST_TARGET and s["top"] == 1 and s["empty"] == 1, report


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_sort_by_total_across_shards(page, sharded_url, direction: str) -> None:
    url, folder = sharded_url
    totals = {}
    for sheet in folder.glob("sheets/*/*/index.html"):
        found = re.search(r'data-pagefind-sort="total">(\d+)<', sheet.read_text(encoding="utf-8"))
        assert found is not None, sheet
        totals[sheet.parent.parent.name] = int(found.group(1))
    open_search_page(page, url)
    urls = page.evaluate(SHARD_SORT, [{"評価年度": "令和7年度（2025年度）"}, direction])
    got = [totals[re.search(r"/sheets/([^/]+)/", u).group(1)] for u in urls]
    assert len(got) == 12 and got == sorted(totals.values(), reverse=direction == "desc"), got
    # With a word: only the sheets containing it, still in order across shards.
    response = page.evaluate("""async () => {
      const r = await window.hyokaSearch('システム', {sort: {total: 'desc'}});
      return Promise.all(r.results.map(async (x) => (await x.data()).url));
    }""")
    values = [totals[re.search(r"/sheets/([^/]+)/", u).group(1)] for u in response]
    assert len(values) >= 3 and values == sorted(values, reverse=True), values


def test_filters_count_every_shard(page, sharded_url) -> None:
    url, _ = sharded_url
    page.goto(url + "search/")
    _wait_for_filters(page)
    options = page.locator("select[data-filter='評価年度'] option").all_inner_texts()
    assert options == ["すべて", "令和7年度（2025年度）（12）"], options
    assert page.locator("select[data-filter]").count() == 5  # the shard filter is not offered
    page.locator("select[data-filter='事業の方針']").select_option("完了・達成")
    # The status is set before the results are drawn: wait for both.
    wait_until(page, """() => document.getElementById('hy-search-status').textContent.includes('絞り込み')
      && document.querySelectorAll('.hy-result').length > 0""")
    assert _status(page) == "絞り込みの結果: 1件"
    assert page.locator(".hy-result h2 a").all_inner_texts() == ["デジタルデバイド対策事務"]

