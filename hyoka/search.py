"""Search: the synonyms each sheet page gives Pagefind, and the Pagefind index of the built site.

Pagefind (extended build) indexes the sheet article as it is shown. A hidden block adds, for every
synonym group of site_config.yaml (search.synonyms) that the sheet uses, the spellings it does not
use (スマホ → スマートフォン, 漏洩 → 漏えい, AI → 人工知能), each as often as the group occurs, so any
spelling finds and ranks the sheet like the one it uses. Queries are normalised by the search page's
script (assets/js/search.js) the way `normalize` normalises the text here. What was measured, and
why there is no morphological analyser: tests/search_relevance.py.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import os
import re
import shutil
import subprocess
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import PageRecord, link_or_copy, page_record, reusable
from .problems import BuildError

BUNDLE_DIR = "pagefind"
# Pagefind writes its ready-made UIs too; the search page uses only the JavaScript API.
UNUSED_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
_SPACES = re.compile(r"\s+")
_MARKDOWN = re.compile(r"^\s*(?:#+|[-*+]|\d+[.)])\s+|[*_`>|]+", re.M)


# ---------------------------------------------------------------------------------------------
# Text: normalisation and synonyms


def normalize(text: str) -> str:
    """NFKC (全角英数 → 半角, 半角カナ → 全角), lower case, one space between words.

    assets/js/search.js applies the same steps to queries; keep the two in step.
    """
    # str.split() cuts at the white space of the regex \s (both are str.isspace) and drops it at
    # both ends: the same as _SPACES.sub(" ", …).strip(), several times faster.
    return " ".join(_nfkc(text).lower().split())


# 全角 ASCII and the ideographic space, each to its compatibility decomposition (what NFKC makes of it).
_FULLWIDTH = re.compile("[\u3000\uff01-\uff5e]")
_FULLWIDTH_TO = {chr(c): unicodedata.normalize("NFKD", chr(c)) for c in (0x3000, *range(0xFF01, 0xFF5F))}


def _nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), faster for the usual Japanese text.

    CPython normalises a whole string slowly (≈ 0.1 µs a character) as soon as one character
    needs it, and in sheets that is nearly always a 全角 bracket or digit. Replacing those by
    their decompositions first gives the same NFKC (NFKC works on the full decomposition), and
    the text then usually passes the fast is_normalized check as it is.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = _FULLWIDTH.sub(lambda m: _FULLWIDTH_TO[m[0]], text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _count(text: str, word: str) -> int:
    """How often `word` occurs in `text`; a Latin word only as a whole word ("ai" is not in "mail")."""
    if word.isascii():
        # A plain substring test first: most words are absent, and the regex is much slower.
        return len(_whole_word(word).findall(text)) if word in text else 0
    return text.count(word)


@functools.lru_cache(maxsize=1024)
def _whole_word(word: str) -> re.Pattern[str]:
    """`word` not preceded or followed by a Latin letter or digit: (?<![a-z0-9])word(?![a-z0-9]).

    Written with the word first and the look-behind after it (covering the character before the
    word): a pattern that starts with the word lets re skip along the text to each occurrence,
    where one that starts with a look-behind is tried at every position (≈ 15 times slower).
    """
    w = re.escape(word)
    return re.compile(rf"{w}(?<![a-z0-9]{w})(?![a-z0-9])")


@dataclass(frozen=True)
class _Synonyms:
    """A configuration's synonym groups, prepared once for counting them in every sheet."""

    groups: tuple[tuple[str, ...], ...]    # each group's distinct normalized spellings
    # Finds where any spelling of any group occurs (as a plain substring, Latin ones too). One
    # scan of the text instead of one per spelling: most spellings occur in no sheet.
    finder: re.Pattern[str] | None
    # Per spelling, every spelling an occurrence could hide from the finder (see `candidates`).
    overlapping: dict[str, frozenset[str]]
    # Per spelling, the groups (indexes) it belongs to.
    groups_of: dict[str, tuple[int, ...]]

    def candidate_groups(self, text: str) -> list[int]:
        """The groups of which some spelling may occur in `text`, in order; no others can.

        finder.findall reports non-overlapping matches. An occurrence of a spelling X that it
        does not report either starts where a reported match M starts (one of X and M is then a
        prefix of the other) or inside M: in both cases X starts at some offset i of M and agrees
        with M[i:] as far as both go. `overlapping[M]` holds every such X, M itself included.
        """
        if self.finder is None:
            return []
        found = set(self.finder.findall(text))
        if not found:
            return []
        spellings = set().union(*(self.overlapping[m] for m in found))
        return sorted({g for w in spellings for g in self.groups_of[w]})


@functools.lru_cache(maxsize=64)
def _prepare(groups: tuple[tuple[str, ...], ...]) -> _Synonyms:
    """Each group's distinct normalized spellings, and how to find them (once per configuration)."""
    prepared = tuple(tuple(dict.fromkeys(w for w in (normalize(s) for s in group) if w)) for group in groups)
    groups_of: dict[str, tuple[int, ...]] = {}
    for i, spellings in enumerate(prepared):
        for w in spellings:
            groups_of[w] = (*groups_of.get(w, ()), i)
    words = list(groups_of)
    # x overlaps m where it starts inside m, at a place i where m[i] is x's first character: as
    # each word is looked for by x's first character only at such places (not 40 words × every
    # place of each, ≈ 5 ms of every build's first sheet page).
    starts: dict[str, list[str]] = {}
    for x in words:
        starts.setdefault(x[0], []).append(x)
    overlapping = {m: frozenset(x for i, c in enumerate(m) for x in starts.get(c, ())
                                if x.startswith(m[i:]) or m[i:].startswith(x))
                   for m in words}
    finder = re.compile("|".join(re.escape(w) for w in words)) if words else None
    return _Synonyms(prepared, finder, overlapping, groups_of)


# _prepare of a configuration's groups by their identity (a tuple, which cannot change): looking
# them up by value would hash every group again for every sheet. The entry holds the groups, so
# their id is not reused while it is here.
_PREPARED: dict[int, tuple[Sequence[Sequence[str]], _Synonyms]] = {}


def _synonyms(groups: Sequence[Sequence[str]]) -> _Synonyms:
    """_prepare(groups), remembered by identity for a tuple of groups."""
    entry = _PREPARED.get(id(groups))
    if entry is None or entry[0] is not groups:
        prepared = _prepare(tuple(tuple(g) for g in groups))
        if type(groups) is not tuple:  # a list may change: not remembered
            return prepared
        if len(_PREPARED) > 64:
            _PREPARED.clear()
        entry = _PREPARED[id(groups)] = (groups, prepared)
    return entry[1]


def synonym_terms(text: str, groups: Sequence[Sequence[str]], most: int = 10) -> list[str]:
    """Extra spellings for every synonym group used in `text`, so that each spelling of the group
    occurs as often as the whole group does (up to `most`): any spelling then finds the sheet and
    ranks it as the one it uses (ホームページ eight times outranks once, for 「ウェブサイト」 too).
    """
    if not groups:
        return []
    text = normalize(text)
    synonyms = _synonyms(groups)
    found: list[str] = []
    # Only the groups that may occur are counted (a group that does not occur adds nothing).
    for g in synonyms.candidate_groups(text):
        spellings = synonyms.groups[g]
        counts = [_count(text, w) for w in spellings]
        total = min(most, sum(counts))
        if total:
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
    return [text for p in parts if p and (text := p.strip())]


def sheet_synonyms(sheet, groups: Sequence[Sequence[str]]) -> str:  # type: ignore[no-untyped-def]
    """The hidden synonym text of one sheet's page: the missing spellings, 「、」 between them."""
    return "、".join(synonym_terms("。".join(sheet_texts(sheet)), groups))


# ---------------------------------------------------------------------------------------------
# The index stage
#
# Pagefind's extended build segments Japanese with a dictionary it loads once per process
# (~330 MB), then holds every page of its index in memory (~0.28 MB a sheet page) and parses
# pages on one core. One run over 10,000 sheets took 58 s and 3.97 GB. So the index is split
# into shards (the sheet pages of one evaluation year, a year with more than SHARD_PAGES pages in
# parts), built by WORKERS Pagefind processes in service mode (one dictionary load each, both
# cores busy, memory bounded by the largest shard) and merged again in the browser with
# Pagefind's mergeIndex (assets/js/search.js). Generated parts of a sheet page (charts, number
# tables, links to other years) are left out of the index (EXCLUDE_SELECTORS): they halve the
# words Pagefind segments, and what a citizen types is in the sheet's own text (test_search.py
# checks that every piece of it is indexed).
#
# Measured on bench/generate.py corpora (one run each, old and new in turn, machine shared: the
# load average is given): 10,000 sheets, one Pagefind run over the site 119.9 s wall, 101 s CPU,
# 4.03 GB; these shards (13) 106.5 s wall, 78 s CPU, 1.13 GB with hyoka's own process (load 5).
# The CPU is what a quiet machine turns into wall time, over two cores here.

SHARD_PAGES = 1000
WORKERS = 2
# Charts (their summaries repeat the tables), the rows of number tables (their captions stay: they
# name the indicator inside a sentence, which the segmenter cuts better than a heading of kanji
# alone), the links to the program's other years.
EXCLUDE_SELECTORS = (".hy-chart", ".hy-table--numeric thead", ".hy-table--numeric tbody", ".hy-year-nav")
# What index_copy cuts out of a page before Pagefind reads it: the markup hyoka writes for the
# EXCLUDE_SELECTORS (htmlparts.py, templates/pages/sheet.html), as (start, end) pairs. Pagefind
# would skip those parts anyway, but parsing them was ≈ 40 % of its time (a sheet page is
# ≈ 55 KB, 2/3 of it SVG); the index is the same (tests/test_search.py compares the pages
# Pagefind records). Markup written differently (a template edited by a city) is left in:
# Pagefind still excludes it.
_INDEX_CUTS = (('<figure class="hy-chart ', "</figure>"), ('<figure class="hy-chart"', "</figure>"),
               ('<nav class="hy-year-nav"', "</nav>"))
_NUMERIC_TABLE = ('<table class="hy-table hy-table--numeric">', "</table>")
_TABLE_ROWS = (("<thead>", "</thead>"), ("<tbody>", "</tbody>"))
INDEX_MARK = "data-pagefind-body"  # the pages Pagefind indexes (others are skipped: no copy needed)
SHARDS_FILE = "shards.json"  # in the bundle: the shards in order, the first one's runtime loads all
SORTS_FILE = "sorts.json"  # in the bundle: per sort key and shard, the values in Pagefind's order
SHARD_FILTER = "_shard"  # a synthetic filter (mergeFilter) naming each page's shard in the browser
# Only the first shard's Pagefind runtime is loaded; merged shards need their index files only.
RUNTIME_FILES = ("pagefind.js", "pagefind-worker.js")
TIMEOUT = 1800  # seconds for the whole index stage
_SHEET_PAGE = re.compile(r"sheets/([^/]+)/(\d{4})/index\.html")
_SORT = re.compile(rb'data-pagefind-sort="([^"\[\]]+)"[^>]*>([^<]*)<')
_PROBE = ('<!DOCTYPE html><html lang="ja"><head><title>t</title></head>'
          "<body><main data-pagefind-body>補助金を交付する</main></body></html>")


@dataclass(frozen=True)
class ShardRecord:
    """A shard's bundle as one build wrote it, for the next build (hyoka/cache.py)."""

    pages: tuple[str, ...]
    first: bool  # the first shard keeps Pagefind's runtime files
    indexer: str  # the Pagefind binary: path, size, mtime
    files: tuple[tuple[str, PageRecord], ...]  # each file (path in the shard folder) as written


@dataclass(frozen=True)
class ShardReuse:
    """What lets index_site take a shard's bundle from the last build instead of indexing it again:
    the last bundle folder, its shards' records, and whether a page is unchanged since (the same
    bytes as in the last build's output, so its index copy is the same too)."""

    bundle: Path
    records: dict[str, ShardRecord]
    unchanged: Callable[[str], bool]


@dataclass(frozen=True)
class IndexStats:
    """What the index stage did: pages indexed, seconds taken, bundle size in bytes, shards."""

    pages: int
    seconds: float
    bundle_bytes: int
    shards: int = 1
    reused: int = 0  # shards taken from the last build
    records: dict[str, ShardRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class Shard:
    """Pages indexed together into pagefind/<name>/ (paths relative to the site folder)."""

    name: str
    pages: tuple[str, ...]
    sorts: dict[str, list[str]]  # data-pagefind-sort key → the values of its pages

    @property
    def glob(self) -> str:
        """The pages as one Pagefind glob (a year's sheets by their ids: a short pattern)."""
        matches = [_SHEET_PAGE.fullmatch(p) for p in self.pages]
        years = {m.group(2) for m in matches if m}
        if len(years) == 1 and all(matches):
            return "sheets/{" + ",".join(m.group(1) for m in matches if m) + "}/" + years.pop() + "/index.html"
        return "{" + ",".join(self.pages) + "}"


def index_copy(page: str) -> str:
    """What Pagefind needs of a built page: the page without the parts it excludes (charts, the
    rows of number tables, the year links), which hyoka's markup lets cut without parsing."""
    for start, end in _INDEX_CUTS:
        page = _cut(page, start, end)
    start, end = _NUMERIC_TABLE
    out, at = [], 0
    while (i := page.find(start, at)) >= 0 and (j := page.find(end, i)) >= 0:
        table = page[i:j]
        for cut in _TABLE_ROWS:
            table = _cut(table, *cut)
        out += (page[at:i], table)
        at = j
    return "".join(out) + page[at:] if out else page


def _cut(text: str, start: str, end: str) -> str:
    """`text` without each part from `start` to the first `end` after it (both included); a
    `start` without its `end` is kept."""
    out, at = [], 0
    while (i := text.find(start, at)) >= 0 and (j := text.find(end, i)) >= 0:
        out.append(text[at:i])
        at = j + len(end)
    return "".join(out) + text[at:] if out else text


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


def plan_shards(folder: Path, shard_pages: int = SHARD_PAGES) -> list[Shard]:
    """The shards of a built site: the pages with data-pagefind-body (as Pagefind indexes them),
    sheet pages by evaluation year (newest first; a year of more than `shard_pages` pages in
    near-equal parts by id), any other marked page in a last shard "pages"."""
    years: dict[str, list[tuple[str, str]]] = {}
    others: list[str] = []
    sorts: dict[str, dict[str, list[str]]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = Path(dirpath).relative_to(folder).as_posix()
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != BUNDLE_DIR]
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".html"):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            data = (Path(dirpath) / name).read_bytes()
            if INDEX_MARK.encode() not in data:
                continue
            sheet = _SHEET_PAGE.fullmatch(rel)
            if sheet:
                years.setdefault(sheet.group(2), []).append((sheet.group(1), rel))
            else:
                others.append(rel)
            sorts[rel] = {}
            for key, value in _SORT.findall(data):
                key_text, _, inline = key.decode("utf-8").partition(":")
                text = inline if inline else html.unescape(value.decode("utf-8")).strip()
                sorts[rel].setdefault(key_text.strip(), []).append(text)
    groups: list[tuple[str, list[str]]] = []
    for year in sorted(years, reverse=True):
        pages = [rel for _, rel in sorted(years[year])]
        parts = -(-len(pages) // max(1, shard_pages))
        for i in range(parts):
            part = pages[i * len(pages) // parts:(i + 1) * len(pages) // parts]
            groups.append((year if parts == 1 else f"{year}-{i + 1}", part))
    if others:
        groups.append(("pages", others))
    shards = []
    for name, pages in groups:
        values: dict[str, list[str]] = {}
        for rel in pages:
            for key, found in sorts[rel].items():
                values.setdefault(key, []).append(found[0])  # Pagefind keeps a page's first value
        shards.append(Shard(name, tuple(pages), values))
    return shards


def index_site(folder: Path, executable: Path | None = None, *, shard_pages: int = SHARD_PAGES,
               workers: int | None = None, pages: Path | None = None,
               reuse: ShardReuse | None = None) -> IndexStats:
    """Index `folder` (a built site) with Pagefind's extended build into `folder`/pagefind/: one
    bundle per shard (pagefind/<shard>/), listed in pagefind/shards.json for the search page.

    `pages`: a folder laid out like `folder` holding what Pagefind reads instead of the pages
    themselves, their `index_copy` (the build writes them while it renders). With `reuse`, a
    shard whose pages are all unchanged since the last build is linked from its bundle.
    """
    exe = executable or pagefind_executable()
    indexer = _indexer_stamp(exe)
    source = pages or folder
    start = time.perf_counter()
    bundle = folder / BUNDLE_DIR
    shutil.rmtree(bundle, ignore_errors=True)  # no shard of an earlier run is left to be merged
    services: list[_Service] = []
    watchdog = threading.Timer(TIMEOUT, lambda: [s.kill() for s in list(services)])
    watchdog.daemon = True
    shards: list[Shard] = []
    try:
        wanted = workers or min(WORKERS, os.cpu_count() or 1)
        if reuse is None:
            # The services load their dictionaries (on the probe) while the pages are read here; a
            # second one only when there will be shards for it (counted from the folder names).
            for _ in range(max(1, min(wanted, _likely_shards(source, shard_pages)))):
                services.append(_Service(exe))
        watchdog.start()
        probes = [_Thread(_check_extended, service) for service in services]
        shards = plan_shards(source, shard_pages)
        todo = [shard for i, shard in enumerate(shards)
                if reuse is None or not _reuse_shard(reuse, shard, i == 0, indexer, bundle)]
        for probe in probes:
            probe.result()
        if not services:
            services.append(_Service(exe))  # checked even when every shard is reused
            _check_extended(services[0])
        while len(services) < min(wanted, len(todo)):
            services.append(_Service(exe))
        indexed = _run_shards(services, todo, source, bundle)
    except BaseException:
        shutil.rmtree(bundle, ignore_errors=True)
        raise
    finally:
        watchdog.cancel()
        for service in services:
            service.close()
    _finish_bundle(bundle, shards)
    records = {shard.name: _shard_record(bundle, shard, i == 0, indexer) for i, shard in enumerate(shards)}
    size = sum(file[1] for record in records.values() for _, file in record.files)
    size += sum(p.stat().st_size for p in bundle.iterdir() if p.is_file())
    indexing = {id(shard) for shard in todo}
    reused = [shard for shard in shards if id(shard) not in indexing]
    return IndexStats(indexed + sum(len(shard.pages) for shard in reused), time.perf_counter() - start,
                      size, len(shards), len(reused), records)


def _indexer_stamp(exe: Path) -> str:
    """The Pagefind binary as a ShardRecord names it (another binary or version: index again)."""
    try:
        st = exe.stat()
    except OSError:
        return str(exe)  # starting it fails with its own message
    return f"{exe}:{st.st_size}:{st.st_mtime_ns}"


def _reuse_shard(reuse: ShardReuse, shard: Shard, first: bool, indexer: str, bundle: Path) -> bool:
    """Link the last build's bundle of `shard` into `bundle` when nothing it indexed has changed
    and its files are as that build left them; False (nothing linked) otherwise."""
    record = reuse.records.get(shard.name)
    if (record is None or record.pages != shard.pages or record.first != first or record.indexer != indexer
            or not all(reuse.unchanged(page) for page in shard.pages)):
        return False
    old = reuse.bundle / shard.name
    if not all(reusable(file, "", old / path) for path, file in record.files):
        return False
    try:
        for path, _ in record.files:
            target = bundle / shard.name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(old / path, target)
    except OSError:
        shutil.rmtree(bundle / shard.name, ignore_errors=True)
        return False
    return True


def _shard_record(bundle: Path, shard: Shard, first: bool, indexer: str) -> ShardRecord:
    folder = bundle / shard.name
    files = []
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            st = os.stat(os.path.join(dirpath, name))
            files.append((Path(dirpath, name).relative_to(folder).as_posix(), page_record("", st)))
    return ShardRecord(shard.pages, first, indexer, tuple(sorted(files, key=lambda f: f[0])))


class _Thread(threading.Thread):
    """fn(arg) in a thread; result() waits and returns its value or raises its exception."""

    def __init__(self, fn: Any, arg: Any):
        super().__init__(daemon=True)
        self._fn, self._arg = fn, arg
        self._value: Any = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._fn(self._arg)
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _likely_shards(folder: Path, shard_pages: int) -> int:
    """How many sheet-page shards plan_shards will make, from the folders sheets/<id>/<year>/."""
    per_year: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for program in os.scandir(folder / "sheets"):
            if program.is_dir():
                for year in os.scandir(program.path):
                    if year.name.isdigit() and len(year.name) == 4:
                        per_year[year.name] = per_year.get(year.name, 0) + 1
    return sum(-(-n // max(1, shard_pages)) for n in per_year.values())


def _check_extended(service: _Service) -> None:
    """Refuse a plain binary (e.g. through PAGEFIND_BINARY_PATH), which indexes Japanese as one word
    per chunk: the extended build cuts 「補助金を交付する」 into several words."""
    index = service.request({"type": "NewIndex", "config": {}})["index_id"]
    words = service.request({"type": "AddFile", "index_id": index, "file_path": "probe.html",
                             "url": None, "file_contents": _PROBE}).get("page_word_count", 0)
    service.request({"type": "DeleteIndex", "index_id": index})
    if words < 2:
        raise _no_extended()


def _run_shards(services: list[_Service], shards: list[Shard], folder: Path, bundle: Path) -> int:
    """Each service indexes shards in turn (largest first) until none is left; the page count."""
    queue = sorted(shards, key=lambda s: -len(s.pages))
    lock = threading.Lock()
    failed = threading.Event()

    def work(service: _Service) -> int:
        pages = 0
        while not failed.is_set():
            with lock:
                if not queue:
                    break
                shard = queue.pop(0)
            try:
                pages += _index_shard(service, shard, folder, bundle)
            except BaseException:
                failed.set()  # the other services stop after their current shard
                raise
        return pages

    threads = [_Thread(work, service) for service in services]
    counts = []
    for thread in threads:
        thread.join()
    for thread in threads:
        counts.append(thread.result())
    return sum(counts)


def _index_shard(service: _Service, shard: Shard, folder: Path, bundle: Path) -> int:
    config = {"exclude_selectors": list(EXCLUDE_SELECTORS)}
    index = service.request({"type": "NewIndex", "config": config})["index_id"]
    added = service.request({"type": "AddDir", "index_id": index, "path": str(folder.resolve()),
                             "glob": shard.glob})
    service.request({"type": "WriteFiles", "index_id": index, "output_path": str((bundle / shard.name).resolve())})
    service.request({"type": "DeleteIndex", "index_id": index})
    return int(added.get("page_count", 0))


def _finish_bundle(bundle: Path, shards: list[Shard]) -> None:
    """Drop the files the search page does not load; write the shard list and the sort values."""
    for i, shard in enumerate(shards):
        folder = bundle / shard.name
        for name in UNUSED_FILES + (RUNTIME_FILES if i else ()):
            (folder / name).unlink(missing_ok=True)
        if i:
            for wasm in folder.glob("wasm.*.pagefind"):
                wasm.unlink()
    bundle.mkdir(parents=True, exist_ok=True)
    layout = {"filter": SHARD_FILTER,
              "shards": [{"name": s.name, "path": f"{s.name}/", "pages": len(s.pages)} for s in shards]}
    (bundle / SHARDS_FILE).write_text(json.dumps(layout, ensure_ascii=False), encoding="utf-8")
    keys = sorted({key for s in shards for key in s.sorts})
    sorts = {key: {s.name: _pagefind_order(s.sorts.get(key, [])) for s in shards} for key in keys}
    (bundle / SORTS_FILE).write_text(json.dumps(sorts, ensure_ascii=False, separators=(",", ":")),
                                     encoding="utf-8")


def _pagefind_order(values: list[str]) -> list[int | float] | list[str]:
    """A shard's sort values in the order Pagefind ranks pages by: ascending, as numbers when every
    value is one (Pagefind's "processed as type: Number"), as text otherwise."""
    try:
        numbers = sorted(float(v) for v in values)
    except ValueError:
        return sorted(values)
    return [int(n) if n.is_integer() else n for n in numbers]


class _Service:
    """One Pagefind process in service mode (`--service`), spoken to as Pagefind's own Python and
    Node wrappers do (pagefind.service): a request or response is JSON in base64, then a comma.
    Synchronous: one request at a time, answered before the next (the wrapper's asyncio loop polls
    every 0.1 s, which would idle the indexer between the steps of every shard)."""

    def __init__(self, exe: Path):
        try:
            self.proc = subprocess.Popen([str(exe), "--service"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise BuildError(f"検索の索引を作れません: Pagefind を実行できません（{exc}）",
                             "python3 -m pip install -e . で pagefind[extended] を入れ直してください。") from None
        self._buffer = b""
        self._other: list[bytes] = []  # output that is not a response (a log line, an error text)
        self._next = 0

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._next += 1
        message = json.dumps({"message_id": self._next, "payload": payload}).encode("utf-8")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(base64.b64encode(message) + b",")
            self.proc.stdin.flush()
        except OSError:
            raise self._failed() from None
        while True:
            response = self._read()
            if response is None:
                raise self._failed()
            if response.get("message_id") == self._next:
                break
        answer: dict[str, Any] = response.get("payload") or {}
        if answer.get("type") == "Error":
            raise BuildError(f"検索の索引を作れません: Pagefind が失敗しました: {answer.get('message', '')}",
                             "--debug を付けて詳細を確かめるか、--no-search で検索なしに作ってください。")
        return answer

    def _read(self) -> dict[str, Any] | None:
        """The next response, or None when the process has ended."""
        assert self.proc.stdout is not None
        while True:
            while b"," not in self._buffer:
                chunk = self.proc.stdout.read1(1 << 16)
                if not chunk:
                    if self._buffer.strip():
                        self._other.append(self._buffer)
                    self._buffer = b""
                    return None
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b",", 1)
            try:
                decoded = json.loads(base64.b64decode(raw.strip(), validate=True))
            except ValueError:
                self._other.append(raw)
                continue
            if isinstance(decoded, dict):
                return decoded

    def _failed(self) -> BuildError:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        text = b",".join(self._other).decode("utf-8", errors="replace")
        tail = " / ".join(line.strip() for line in text.strip().splitlines()[-3:])
        return BuildError(f"検索の索引を作れません: Pagefind が失敗しました（終了コード {code}）"
                          + (f": {tail}" if tail else ""),
                          "--debug を付けて詳細を確かめるか、--no-search で検索なしに作ってください。")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        """End the service (it exits when its input closes) and wait for it."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
