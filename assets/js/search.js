// The search page: a form over Pagefind's JavaScript API (no Component UI: it ignores IME conversion).
//
// window.hyokaSearch(query, {filters, sort}) is the one search pipeline (normalise, ask Pagefind,
// fall back to other segmentations): the box, tests/browser/test_search.py and the relevance
// measurement (python -m tests.search_relevance) all call it, so they rank exactly alike.
// The index comes in shards (hyoka/search.py: the sheets of one evaluation year, or part of one):
// pagefind/shards.json lists them, the first shard's Pagefind loads and merges the others
// (mergeIndex), so a search, its filters and their counts cover all of them.
// Everything is loaded relative to this file, so the site works under any sub-path; nothing is
// fetched from another host. Japanese messages come from the page (data-msg-* on the form).

const SITE_ROOT = new URL("../../", import.meta.url);
const BUNDLE = new URL("pagefind/", SITE_ROOT);
const PAGE_SIZE = 20;
const RERANK = 20;
const EXCERPT_BEFORE = 30; // characters of context around the first matched word
const EXCERPT_AFTER = 70; // results re-ordered by the words as typed (one page of results)
const DEBOUNCE_MS = 300;

let indexPromise = null;
let sortsPromise = null;

/** Load Pagefind once with every shard merged: {pagefind, layout} (results link under this
 *  site's folder, e.g. /hyoka/). Each shard carries a synthetic filter naming it (layout.filter),
 *  which a sorted search uses; the page shows only the filters listed on the form. */
function loadIndex() {
  if (!indexPromise) {
    indexPromise = (async () => {
      const layout = await (await fetch(new URL("shards.json", BUNDLE))).json();
      const [first, ...rest] = layout.shards;
      if (!first) return { pagefind: null, layout };
      const options = (shard) => ({ baseUrl: SITE_ROOT.pathname, excerptLength: 40,
        mergeFilter: { [layout.filter]: shard.name } });
      const pagefind = await import(new URL(`${first.path}pagefind.js`, BUNDLE).href);
      await pagefind.options(options(first));
      await pagefind.init();
      await Promise.all(rest.map((shard) =>
        pagefind.mergeIndex(new URL(shard.path, BUNDLE).pathname, options(shard))));
      return { pagefind, layout };
    })();
    indexPromise.catch(() => { indexPromise = null; });
  }
  return indexPromise;
}

/** The sort values of every shard (pagefind/sorts.json: key → shard → values in ascending order),
 *  loaded on the first sorted search. */
function loadSorts() {
  if (!sortsPromise) {
    sortsPromise = fetch(new URL("sorts.json", BUNDLE)).then((r) => r.json());
    sortsPromise.catch(() => { sortsPromise = null; });
  }
  return sortsPromise;
}

/** Filter counts of several responses added up (as Pagefind merges its indexes' counts). */
function addCounts(all) {
  const sum = {};
  for (const counts of all) {
    for (const [name, values] of Object.entries(counts || {})) {
      sum[name] ??= {};
      for (const [value, n] of Object.entries(values)) sum[name][value] = (sum[name][value] || 0) + n;
    }
  }
  return sum;
}

/** A sorted search over every shard. Pagefind scores a sorted result by its page's place in its
 *  own shard's order, which merged shards cannot compare; so each shard is searched alone (its
 *  synthetic filter) and the lists are merged by the values at those places (sorts.json). */
async function sortedSearch({ pagefind, layout }, term, filters, sort) {
  const [[key, direction]] = Object.entries(sort);
  if (layout.shards.length === 1) return pagefind.search(term, { filters, sort });
  const [values, responses] = await Promise.all([loadSorts(), Promise.all(layout.shards.map((shard) =>
    pagefind.search(term, { filters: { ...filters, [layout.filter]: shard.name }, sort })))]);
  const keyed = responses.flatMap((response, i) => {
    const order = (values[key] || {})[layout.shards[i].name] || [];
    return response.results.map((result) => [result, order[Math.abs(Math.round(result.score))]]);
  });
  const sign = direction === "asc" ? 1 : -1;
  keyed.sort(([, a], [, b]) => (a < b ? -sign : a > b ? sign : 0)); // stable: ties keep shard order
  return {
    results: keyed.map(([result]) => result),
    unfilteredResultCount: responses.reduce((n, r) => n + r.unfilteredResultCount, 0),
    filters: addCounts(responses.map((r) => r.filters)),
    totalFilters: addCounts(responses.map((r) => r.totalFilters)),
  };
}

/** The query as the index stores text: NFKC (全角英数 → 半角, 半角カナ → 全角), lower case,
 *  one space between words. Same steps as hyoka/search.py normalize(). */
export function normalize(text) {
  return String(text ?? "").normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim();
}

const WORDS = typeof Intl.Segmenter === "function" ? new Intl.Segmenter("ja", { granularity: "word" }) : null;

/** The words Pagefind looks up for a query: it cuts Japanese with the browser's segmenter, which
 *  shreds katakana words it does not know (クラウド → クラ|ウド, ガバメントクラウド → ガバ|メン|トク|ラウ|ド). */
export function queryWords(query) {
  if (!WORDS) return query.split(" ").filter(Boolean);
  return [...WORDS.segment(query)].filter((s) => s.isWordLike).map((s) => s.segment);
}

/** A second try when the query as typed finds nothing: each typed word by its first segment (at
 *  least two characters). Pagefind matches the beginnings of indexed words, so ガバ finds
 *  ガバメントクラウド even though the shredded pieces of the whole word do not all match. */
export function headQuery(query) {
  const heads = query.split(" ").filter(Boolean).map((word) => {
    const first = queryWords(word)[0] || word;
    return first.length >= 2 || word.length < 2 ? first : [...word].slice(0, 2).join("");
  });
  return heads.join(" ");
}

/** A result's text as plain normalised characters (Pagefind marks its word breaks with U+200B). */
async function resultText(result) {
  return normalize((await result.data()).content.replace(/\u200b/gu, ""));
}

/** Whether every word of the query really occurs on the site. Pagefind falls back to the longest
 *  indexed word a query word starts with, so 「図書館」 finds a page with 「図る」 (indexed 「図」);
 *  those are not answers. The first result is checked (it is shown anyway); a word it lacks is
 *  looked up alone, and the query has no answer when that word is nowhere on the site. */
async function wordsOccur(pagefind, query, response) {
  const first = await resultText(response.results[0]);
  for (const word of queryWords(query)) {
    if (first.includes(word)) continue;
    const alone = await pagefind.search(word);
    if (!alone.results.length || !(await resultText(alone.results[0])).includes(word)) return false;
  }
  return true;
}

/** Each result's data() loads its fragment once, however often it is asked for. */
function remembered(response) {
  const results = response.results.map((result) => {
    let data = null;
    return { ...result, data: () => (data ??= result.data()) };
  });
  return { ...response, results };
}

/** Pagefind scores words, not their order: 「スマホ市役所」 would rank a page saying スマホ ten times
 *  above the one about スマホ市役所. Among the first results (those a person sees first), pages
 *  containing more of the typed words as written come first; the order is kept otherwise. */
async function typedWordsFirst(response, query) {
  const typed = query.split(" ").filter(Boolean);
  const head = response.results.slice(0, RERANK);
  const texts = await Promise.all(head.map(resultText));
  const hits = texts.map((text) => typed.filter((w) => text.includes(w)).length);
  const order = head.map((result, i) => [result, hits[i], i]);
  order.sort((a, b) => b[1] - a[1] || a[2] - b[2]);
  return { ...response, results: [...order.map(([r]) => r), ...response.results.slice(RERANK)] };
}

/** Search as the box does; resolves to Pagefind's response ({results: [{id, score, data()}...]}). */
export async function hyokaSearch(query, { filters = {}, sort = {} } = {}) {
  const index = await loadIndex();
  const { pagefind } = index;
  const q = normalize(query);
  const hasFilters = Object.values(filters).some((v) => (Array.isArray(v) ? v.length : v));
  if ((!q && !hasFilters) || !pagefind) {
    return { results: [], unfilteredResultCount: 0, filters: {}, totalFilters: {} };
  }
  const sorted = Object.keys(sort).length > 0;
  const find = (term) => (sorted ? sortedSearch(index, term, filters, sort) : pagefind.search(term, { filters }));
  let response = await find(q || null);
  if (!q) return response;
  const head = headQuery(q);
  if (!response.results.length && head !== q) response = await find(head);
  if (!response.results.length) return response;
  response = remembered(response);
  if (!(await wordsOccur(pagefind, q, response))) return { ...response, results: [] };
  return sorted ? response : typedWordsFirst(response, q);
}

window.hyokaSearch = hyokaSearch;

// ---------------------------------------------------------------------------------------------
// The page

const form = document.getElementById("hy-search");
if (form) setUpPage(form);

function setUpPage(form) {
  const input = form.querySelector("#hy-search-q");
  const status = document.getElementById("hy-search-status");
  const list = document.getElementById("hy-search-results");
  const more = document.getElementById("hy-search-more");
  const filterBox = form.querySelector("#hy-search-filters");
  const filterList = form.querySelector("#hy-search-filter-list");
  const sortSelect = form.querySelector("#hy-search-sort");
  const msg = form.dataset;
  const filterNames = (msg.filters || "").split("|").filter(Boolean);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));

  let composing = false;
  let timer = 0;
  let generation = 0;
  let shown = [];
  let shownCount = 0;
  let shownQuery = "";

  // IME: Enter that confirms a conversion must not submit (keyCode 229 covers Safari, where
  // compositionend comes before that keydown). Search when the conversion is confirmed.
  input.addEventListener("compositionstart", () => { composing = true; });
  input.addEventListener("compositionend", () => { composing = false; schedule(DEBOUNCE_MS); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.isComposing || event.keyCode === 229 || composing)) {
      event.preventDefault();
    }
  });
  input.addEventListener("input", (event) => {
    if (event.isComposing || composing) return;
    schedule(DEBOUNCE_MS);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (composing) return;
    schedule(0);
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches("select")) schedule(0);
  });
  more.addEventListener("click", () => showMore(true));

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  }

  function currentFilters() {
    const filters = {};
    for (const select of filterList.querySelectorAll("select")) {
      if (select.value) filters[select.dataset.filter] = select.value;
    }
    return filters;
  }

  function currentSort() {
    const [key, direction] = (sortSelect.value || "").split(":");
    return key ? { [key]: direction } : {};
  }

  async function run() {
    if (composing) return; // compositionend searches when the conversion is confirmed
    const mine = ++generation;
    const query = input.value;
    const filters = currentFilters();
    const url = new URL(window.location.href);
    if (query.trim()) url.searchParams.set("q", query.trim()); else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
    if (!query.trim() && !Object.keys(filters).length) {
      clearResults();
      status.textContent = "";
      return;
    }
    status.textContent = msg.msgLoading;
    let response;
    try {
      response = await hyokaSearch(query, { filters, sort: currentSort() });
    } catch (err) {
      if (mine === generation) status.textContent = msg.msgError;
      throw err;
    }
    if (mine !== generation) return; // a newer search started meanwhile
    clearResults();
    shown = response.results;
    shownQuery = query;
    const count = shown.length;
    const values = { query: query.trim(), count };
    const filtered = Object.keys(filters).length > 0;
    if (!query.trim()) status.textContent = fill(msg.msgFiltered, values);
    else if (!count) status.textContent = fill(msg.msgNone, values);
    else status.textContent = fill(filtered ? msg.msgCountFiltered : msg.msgCount, values);
    await showMore(false);
  }

  function clearResults() {
    list.replaceChildren();
    shown = [];
    shownCount = 0;
    more.hidden = true;
  }

  async function showMore(moveFocus) {
    const mine = generation;
    const batch = shown.slice(shownCount, shownCount + PAGE_SIZE);
    const data = await Promise.all(batch.map((r) => r.data()));
    if (mine !== generation) return;
    const items = data.map((d) => resultItem(d, shownQuery));
    list.append(...items);
    shownCount += batch.length;
    const rest = shown.length - shownCount;
    more.hidden = rest <= 0;
    more.textContent = fill(msg.msgMore, { count: rest });
    // After 「さらに表示」, continue from the first new result (WCAG 2.4.3 focus order).
    if (moveFocus && items.length) items[0].querySelector("a").focus();
  }

  function resultItem(data, query) {
    const li = document.createElement("li");
    li.className = "hy-result";
    const h2 = document.createElement("h2");
    h2.className = "hy-result__title";
    const a = document.createElement("a");
    a.href = data.url;
    a.textContent = data.meta.title || data.url;
    h2.append(a);
    li.append(h2);
    const facts = [["division", msg.labelDivision], ["direction", msg.labelDirection],
      ["total", msg.labelTotal], ["year", msg.labelYear]].filter(([key]) => data.meta[key]);
    if (facts.length) {
      const dl = document.createElement("dl");
      dl.className = "hy-result__facts";
      for (const [key, label] of facts) {
        const div = document.createElement("div");
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.textContent = data.meta[key];
        div.append(dt, dd);
        dl.append(div);
      }
      li.append(dl);
    }
    if (data.meta.purpose) {
      const purpose = document.createElement("p");
      purpose.className = "hy-result__purpose";
      purpose.textContent = data.meta.purpose;
      li.append(purpose);
    }
    const excerpt = excerptOf(data.content || "", query);
    if (excerpt) li.append(excerpt);
    return li;
  }

  // Where the words occur: our own excerpt from the page text before the hidden synonym list
  // (Pagefind's own excerpt would often show that list, which has the most matches). Built from
  // text nodes and <mark>, so nothing from the index becomes markup.
  function excerptOf(content, query) {
    const text = content.split(msg.excerptEnd || "\u2042")[0].replace(/\u200b/gu, "");
    const lower = text.toLowerCase();
    const typed = normalize(query).split(" ").filter(Boolean);
    const pieces = [...typed, ...typed.flatMap(queryWords).filter((w) => w.length >= 2)];
    const found = pieces.map((w) => [w, lower.indexOf(w)]).find(([, i]) => i >= 0);
    if (!found) return null;
    const [word, at] = found;
    const start = Math.max(0, at - EXCERPT_BEFORE);
    const end = Math.min(text.length, at + word.length + EXCERPT_AFTER);
    const p = document.createElement("p");
    p.className = "hy-result__excerpt";
    if (start > 0) p.append("…");
    const marks = [...new Set(pieces)].sort((a, b) => b.length - a.length);
    let i = start;
    let plain = i;
    while (i < end) {
      const hit = marks.find((w) => lower.startsWith(w, i));
      if (!hit) { i += 1; continue; }
      if (i > plain) p.append(text.slice(plain, i));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(i, Math.min(end, i + hit.length));
      p.append(mark);
      i += hit.length;
      plain = i;
    }
    if (Math.min(i, end) > plain) p.append(text.slice(plain, Math.min(i, end)));
    if (end < text.length) p.append("…");
    return p;
  }

  async function buildFilters() {
    const { pagefind } = await loadIndex();
    const available = pagefind ? await pagefind.filters() : {};
    const collator = new Intl.Collator("ja", { numeric: true });
    for (const name of filterNames) {
      const values = available[name];
      if (!values || !Object.keys(values).length) continue;
      const id = `hy-search-filter-${filterList.children.length + 1}`;
      const wrap = document.createElement("div");
      wrap.className = "hy-search__filter";
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = name;
      const select = document.createElement("select");
      select.id = id;
      select.dataset.filter = name;
      select.append(new Option(msg.msgAll, ""));
      for (const value of Object.keys(values).sort(collator.compare)) {
        select.append(new Option(`${value}（${values[value]}）`, value));
      }
      wrap.append(label, select);
      filterList.append(wrap);
    }
    filterBox.hidden = false;
  }

  const initial = new URL(window.location.href).searchParams.get("q");
  if (initial) input.value = initial;
  buildFilters().then(() => { if (initial && !composing) schedule(0); }, (err) => {
    status.textContent = msg.msgError;
    throw err;
  });
}
