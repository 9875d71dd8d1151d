"""The build as one straight line: load → validate → collect → render → write."""

from __future__ import annotations

import contextlib
import gc
import itertools
import mmap
import os
import pickle
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment

from . import htmlparts, opendata
from .cache import (
    CACHE_DIR,
    SPARE_DIR,
    BuildCache,
    LoadedSpan,
    PageRecord,
    SiteSnapshot,
    Spare,
    Stat,
    code_stamp,
    file_stat,
    folder_token,
    link_or_copy,
    load_cache,
    load_content,
    load_snapshot,
    merged,
    packed,
    page_record,
    reusable,
    save_cache,
    save_content,
    save_snapshot,
    spare_folder,
)
from .collect import Site, collect, collect_again
from .kept import EarlyMirror, KeptListing, Listing, listed, mirror_folder, mirror_told
from .load import content_listing, file_digest, load_source, rel_path
from .model import Sheet, SiteConfig, lazy_sheet, stub_of
from .parallel import Background, Beside, can_fork, few_collections, job_count, long_lived, map_spans
from .problems import BuildError, Problem, ProblemsFound, sort_problems
from .progress import QUIET, Progress
from .render import (
    PageJob,
    compile_templates,
    environment,
    fingerprint,
    job_keys,
    plan_pages,
    render_job,
    sheet_dep,
)
from .search import (
    BUNDLE_DIR,
    INDEX_MARK,
    ShardRecord,
    ShardReuse,
    index_copy,
    index_site,
    pagefind_executable,
)
from .validate import check_duplicates, validate_source
from .write import (
    check_output_dir,
    check_paths,
    kill_point,
    make_folder,
    mirror,
    prune,
    prune_kept,
    remove_tree,
    write_file,
    write_folder,
)

# A content file changed within this long before the last build began reading (or while it read)
# is read and hashed again even when its stat is the recorded one: a file's mtime moves in ticks
# of the kernel's clock, and a clock may be a little off (a network disk).
RACY_NS = 2_000_000_000

# Inside the temp folder: what Pagefind reads (search.index_copy of each indexed page); removed
# once the index is written, before the folder replaces the output.
INDEX_COPIES = ".hyoka-index"
# Where a worker puts the combined downloads' shares of the sheets of a span (SharesFile), inside
# the temp folder; each file is taken and removed by the build's process.
SHARES_DIR = ".hyoka-shares"
# Up to this many sheet.json files (then pages) to write are made by the build's own process (an
# edit): more are spread over the workers (produce).
FEW_ITEMS = 96
SPAN_ITEMS = 48  # what a worker is given at a time

SITEMAP = "sitemap.xml"
# What every build writes besides the pages, sheet.json files and combined downloads it records.
FIXED_PATHS = ("feed.xml", SITEMAP, "robots.txt", f"{opendata.DATA_DIR}sheet.schema.json", opendata.DATA_PAGE)


@dataclass(frozen=True)
class BuildResult:
    """What a build produced and the warnings it passed with."""

    site: Site
    pages: int
    warnings: list[Problem]
    rendered: int = 0  # pages and sheet.json files rendered (the others were reused from the last build)
    reused: int = 0  # files taken from the last build as they were


def load_sheet(path: Path, config: SiteConfig, rel: str | None = None) -> tuple[Sheet | None, list[Problem]]:
    """Read and validate one content file: its Sheet (None on errors) and every problem."""
    src, problems = load_source(path, rel or rel_path(path, config.root))
    if src is None:
        return None, problems
    sheet, more = validate_source(src, config)
    return sheet, problems + more


# What loading one file gave: its digest (None when unreadable), Sheet (None on errors), problems.
Loaded = tuple[str | None, Sheet | None, list[Problem]]


def load_and_validate(config: SiteConfig, *, jobs: int | None = None, on_file: Callable[[int], None] | None = None,
                      known: Sequence[LoadedSpan] | None = None,
                      record: list[LoadedSpan] | None = None,
                      trust_before: int | None = None,
                      scanned: Background | None = None,
                      snapshot: dict[str, Sheet] | None = None) -> tuple[list[Sheet], list[Problem]]:
    """Read and check every content file (over `jobs` processes); nothing is written.

    `known` (the build cache) holds earlier results, pickled by spans of files: a span whose files
    all have the same bytes is not parsed again. `record` receives the spans of this load, for the
    next build (the workers' pickles are kept as they are: nothing is pickled twice). A cached
    file whose stat (size, mtime, inode) is the recorded one is taken as unchanged without being
    read, when its mtime is before `trust_before` (ns): a file written just before or while the
    last build read it could have changed within one tick of the file system's clock.

    `scanned`: scan_content's result, made by another process while this one read the cache.
    `snapshot`: the sheets of the build cache's site snapshot by file, taken where they are the
    files' sheets (_reuse).
    """
    stats_now: list[Stat | None] | None = None
    if scanned is not None:
        files, rels, stats_now = scanned.result()
    else:
        files, rels = content_listing(config.content_dir, config.root)
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(rel_path(config.content_dir, config.root), 0, "", "内容フォルダ",
                                "シート（.md ファイル）が1つもありません",
                                "content/<評価年度>/<id>.md を作るか、python build.py import で取り込んでください。"))
    results: list[Loaded | None] = [None] * len(files)
    spans: list[LoadedSpan] = []
    if known:
        _reuse(known, files, rels, results, spans, trust_before, stats_now, snapshot)
    todo = [i for i, r in enumerate(results) if r is None]
    parent = os.getpid()

    Part = tuple[tuple[bytes, bytes, dict[int, list[Problem]]], list[Loaded] | None, list[Stat | None]]

    def load_span(indexes: Sequence[int]) -> Part:
        out: list[Loaded] = []
        stats = []
        for i in indexes:
            stats.append(file_stat(files[i]))  # before the read: a later change shows in the next stat
            sheet, file_problems = load_sheet(Path(files[i]), config, rels[i])
            out.append((sheet.source.digest if sheet is not None else None, sheet, file_problems))
        # A worker sends the pickles only. No stubs when none was cached (a clean build): the site
        # snapshot it writes has them.
        return _pickles(out, stubs=bool(known)), (out if os.getpid() == parent else None), stats

    def decode(result: Part) -> Part:
        pickles, _, stats = result  # a worker's: the pickles only
        return pickles, _unpickled(pickles[0]), stats

    done = len(files) - len(todo)
    if on_file is not None and done:
        on_file(done)
    for start, ((blob, stubs, span_problems), loaded, stats) in zip(
            range(0, len(todo), 100),
            map_spans(load_span, todo, jobs=job_count(jobs) if len(todo) >= 200 else 1, span=100,
                      parent_helps=True, decode=decode), strict=True):
        assert loaded is not None  # the parent's own, or decoded
        indexes = todo[start:start + len(loaded)]
        for i, result in zip(indexes, loaded, strict=True):
            results[i] = result
        spans.append(LoadedSpan(tuple((rels[i], r[0]) for i, r in zip(indexes, loaded, strict=True)), blob,
                                tuple(stats), stubs, span_problems))
        if on_file is not None:
            on_file(len(loaded))
    sheets: list[Sheet] = []
    for result in results:
        assert result is not None
        _, sheet, file_problems = result
        problems += file_problems
        if sheet is not None:
            sheets.append(sheet)
    if record is not None:
        record += spans
    problems += check_duplicates(sheets)
    return sheets, sort_problems(problems)


def scan_content(config: SiteConfig) -> tuple[list[str], list[str], list[Stat | None]]:
    """The content files (load.content_listing) and the stat_key of each, taken before any is read."""
    files, rels = content_listing(config.content_dir, config.root)
    return files, rels, [file_stat(f) for f in files]


def _reuse(known: Sequence[LoadedSpan], files: Sequence[str], rels: Sequence[str],
           results: list[Loaded | None], spans: list[LoadedSpan], trust_before: int | None = None,
           stats_now: Sequence[Stat | None] | None = None, snapshot: dict[str, Sheet] | None = None) -> None:
    """Fill `results` from the cached spans whose files are all unchanged (and loaded without error).

    A file is unchanged when its stat is the recorded one and older than `trust_before`, or else
    when its bytes have the recorded hash. `snapshot`: the site snapshot's sheets by file
    (cache.SiteSnapshot), taken for unchanged spans whose files all have the same hash there.
    """
    index = {rel: i for i, rel in enumerate(rels)}
    stats: dict[int, Stat | None] = {}

    def same(i: int, digest: str | None, recorded: Stat | None) -> bool:
        if digest is None:
            return False
        # Before a read: what the next build compares with.
        now = stats[i] = stats_now[i] if stats_now is not None else file_stat(files[i])
        if now is not None and now == recorded and trust_before is not None and recorded[1] < trust_before:
            return True
        return _file_digest(files[i]) == digest

    for span in known:
        where = [index.get(rel) for rel, _ in span.files]
        recorded = span.stats or (None,) * len(where)
        now = tuple([stats_now[i] for i in where]) if stats_now is not None and None not in where else None
        if (now is not None and now == recorded and trust_before is not None and None not in now
                and all(st[1] < trust_before for st in now) and all(results[i] is None for i in where)):
            # Every file as recorded (the usual span after an edit): compared at once, not one by one.
            stats.update(zip(where, now, strict=True))
            unchanged = [digest is not None for _, digest in span.files]
        else:
            unchanged = [i is not None and results[i] is None and same(i, digest, st)
                         for i, (_, digest), st in zip(where, span.files, recorded, strict=True)]
        if not any(unchanged):
            continue
        whole = _WholeSheets(span.blob)
        if all(unchanged):
            snapped = _snapshot_sheets(span, snapshot) if snapshot is not None else None
            if snapped is not None:
                # The site snapshot's sheets themselves (the same objects collect_again keeps),
                # given the loader of their file's sheet for a page that reads one whole.
                problems = span.problems
                for k, (i, sheet, (_, digest)) in enumerate(zip(where, snapped, span.files, strict=True)):
                    sheet.__dict__["_full"] = partial(whole.sheet, k)
                    results[i] = (digest, sheet, problems.get(k, []))
                spans.append(_restated(span, tuple(stats[i] for i in where)))
                continue
            if span.stubs:
                stubs = pickle.loads(span.stubs)
                if all(stub is not None for _, stub, _ in stubs):
                    for k, (i, (digest, stub, problems)) in enumerate(zip(where, stubs, strict=True)):
                        results[i] = (digest, lazy_sheet(stub, partial(whole.sheet, k)), problems)
                    spans.append(_restated(span, tuple(stats[i] for i in where)))
                    continue
        # Some files changed (or failed to load): the others' results are taken (the snapshot's
        # sheets where it has them), only those are read again (a span holds 100 files), and the
        # taken ones make a span of their own (of their pickles as they were).
        kept = [(k, i) for k, (i, same_file) in enumerate(zip(where, unchanged, strict=True)) if same_file]
        if not kept:
            continue
        for k, i in kept:
            rel, digest = span.files[k]
            sheet = snapshot.get(rel) if snapshot is not None else None
            if sheet is not None and sheet.source.digest == digest:
                sheet.__dict__["_full"] = partial(whole.sheet, k)
                results[i] = (digest, sheet, span.problems.get(k, []))
            else:
                results[i] = whole.result(k)
        items = whole.items()
        stubs = pickle.loads(span.stubs) if span.stubs else None
        spans.append(LoadedSpan(
            tuple(span.files[k] for k, _ in kept),
            pickle.dumps([items[k] for k, _ in kept], protocol=pickle.HIGHEST_PROTOCOL),
            tuple(stats[i] for _, i in kept),
            pickle.dumps([stubs[k] for k, _ in kept], protocol=pickle.HIGHEST_PROTOCOL) if stubs else b"",
            {n: span.problems[k] for n, (k, _) in enumerate(kept) if k in span.problems}))


def _restated(span: LoadedSpan, stats: tuple[Stat | None, ...]) -> LoadedSpan:
    """The span with its files' stats now: itself when they are the recorded ones (the build
    cache then keeps it where it is: _build)."""
    return span if stats == span.stats else replace(span, stats=stats)


def _snapshot_sheets(span: LoadedSpan, snapshot: dict[str, Sheet]) -> list[Sheet] | None:
    """The snapshot's sheets of a span's files, when it has each with the same file hash."""
    sheets = []
    for rel, digest in span.files:
        sheet = snapshot.get(rel)
        if sheet is None or sheet.source.digest != digest:
            return None
        sheets.append(sheet)
    return sheets


def _pickles(loaded: list[Loaded], stubs: bool = True) -> tuple[bytes, bytes, dict[int, list[Problem]]]:
    """A span's pickles for the cache: its results whole (a pickle of each's, so that one sheet
    is unpickled without the 99 others: _WholeSheets), and (with `stubs`) with each sheet's stub
    (LazySheet); and the problems of its files that have any, by place."""
    return (pickle.dumps([pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL) for result in loaded],
                         protocol=pickle.HIGHEST_PROTOCOL),
            pickle.dumps([(digest, stub_of(sheet) if sheet is not None else None, problems)
                          for digest, sheet, problems in loaded], protocol=pickle.HIGHEST_PROTOCOL)
            if stubs else b"",
            {k: problems for k, (_, _, problems) in enumerate(loaded) if problems})


class _WholeSheets:
    """A cached span's results (_pickles), each unpickled when first asked for (a LazySheet of it
    read beyond its stub)."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self._items: list[bytes] | None = None

    def items(self) -> list[bytes]:
        """Each file's result, pickled."""
        if self._items is None:
            self._items = pickle.loads(self.blob)
        return self._items

    def result(self, k: int) -> Loaded:
        loaded: Loaded = pickle.loads(self.items()[k])
        return loaded

    def sheet(self, k: int) -> Sheet:
        sheet = self.result(k)[1]
        assert sheet is not None
        return sheet


def _unpickled(blob: bytes) -> list[Loaded]:
    """Every result of a span's pickle (_pickles)."""
    return [pickle.loads(item) for item in pickle.loads(blob)]


def _file_digest(path: str) -> str | None:
    """The hash load.load_source gives a file's bytes (None when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return file_digest(f.read())
    except OSError:
        return None


def check(config: SiteConfig, *, strict: bool = False) -> tuple[list[Sheet], list[Problem]]:
    """Validate everything; raise ProblemsFound on errors (or on warnings when strict)."""
    sheets, problems = load_and_validate(config)
    if any(p.is_error or strict for p in problems):
        raise ProblemsFound(problems)
    return sheets, problems


def check_site(config: SiteConfig, *, strict: bool = False) -> tuple[list[Sheet], list[Problem]]:
    """`check`: validation, consistency warnings, and the internal links of the rendered site
    (rendered in memory only: nothing is written)."""
    sheets, warnings = check(config, strict=strict)
    from .linkcheck import check_found, site_links  # check only
    found, files = site_links(collect(sheets, config), config.root / "templates")
    links = check_found(found, files, config.root / "assets", rel_path(config.output_dir, config.root))
    problems = sort_problems(warnings + links)
    if links or (strict and problems):
        raise ProblemsFound(problems)
    return sheets, problems


@dataclass(frozen=True)
class KeptSite:
    """A site kept by the build cache, being updated into the new one (see hyoka/cache.py)."""

    records: dict[str, PageRecord]  # its files as the build that wrote them recorded them
    intact: set[str]  # those of its files the new site has that are still as recorded (write.prune)


class SharesFile(NamedTuple):
    """The shares of a worker's span of sheets, in a file it wrote (SHARES_DIR) instead of in its
    result: sent through a pipe, 100 MB at 10,000 sheets were pickled, copied in chunks through
    the pipe (the worker waiting while this process, busy elsewhere, had not read them) and
    unpickled, ≈ 4 % of a clean build. The pieces follow one another in the file, a share's
    pieces in turn (ShareBytes' order); `entries`: each sheet's key, its pieces' lengths and its
    rows."""

    path: str
    entries: list[tuple[tuple[str, int, str], tuple[int, ...], tuple[int, ...]]]

    @classmethod
    def put(cls, folder: str, shares: list[tuple[tuple[str, int, str], opendata.ShareBytes]],
            made: set[str]) -> SharesFile:
        """Write the shares into a new file of `folder` (in a worker)."""
        name = f"{os.getpid()}-{next(_SHARES_FILES)}"
        write_file(folder, name, [piece for _, (pieces, _) in shares for piece in pieces], made)
        return cls(f"{folder}/{name}", [(key, tuple(map(len, pieces)), rows) for key, (pieces, rows) in shares])

    def take(self) -> list[tuple[tuple[str, int, str], opendata.ShareBytes]]:
        """The shares (pieces: views of the file's bytes, read at once); the file is removed."""
        with open(self.path, "rb") as f:
            view = memoryview(f.read())
        os.unlink(self.path)
        shares = []
        at = 0
        for key, lengths, rows in self.entries:
            pieces = []
            for n in lengths:
                pieces.append(view[at:at + n])
                at += n
            shares.append((key, (tuple(pieces), rows)))
        if at != len(view):
            raise BuildError(f"作業用のファイルが途中で変わりました: {self.path}",
                             "同じ出力フォルダに別のビルドが書いていないか確かめてください。")
        return shares


_SHARES_FILES = itertools.count()


@dataclass
class Produced:
    """What `produce` wrote: how many files, how many rendered (not reused), and their records."""

    files: int = 0
    rendered: int = 0
    pages: dict[str, PageRecord] = field(default_factory=dict)  # for the next build's cache
    shares: dict[tuple[str, int, str], opendata.ShareBytes] = field(default_factory=dict)  # the new ones
    index: opendata.ShareIndex | None = None  # where every share is in the combined downloads
    combined: dict[str, PageRecord] = field(default_factory=dict)
    # Files with the same bytes as in the last build's output (linked from it, or rendered again
    # to the same text; the latter only looked for in a build with search, its one use).
    same: set[str] = field(default_factory=set)
    kept_web: int = 0  # web files kept from the last build instead of written anew (the sitemap)

    @property
    def reused(self) -> int:
        """Files taken from the last build as they were."""
        return len(self.pages) - self.rendered - (SITEMAP in self.pages and not self.kept_web)


def produce(site: Site, templates: Path, folder: Path, *, jobs: int = 1,
            on_files: Callable[[int], None] | None = None, previous: BuildCache | None = None,
            old_output: Path | None = None, page_jobs: list[PageJob] | None = None,
            index_pages: Path | None = None, kept: KeptSite | None = None,
            keys: list[str] | None = None, texts: dict[str, str] | None = None,
            env: Environment | None = None) -> Produced:
    """Render every page and data file of `site` into `folder` over `jobs` processes (this one and
    jobs - 1 forked workers).

    Each renders and writes its spans of the pages and each sheet's sheet.json, and makes each
    sheet's share of the combined downloads (its CSV lines and JSON, encoded once; a worker's in
    a file: SharesFile); this process also writes the feed and sitemap, and once every share is
    in, a thread of it writes the combined downloads; then the /data/ page. The files are the
    same bytes `render_site` gives (tests/test_parallel.py).

    With `previous` (the build cache) and `old_output` (the folder it describes), a page whose
    fingerprint did not change is linked from the old folder instead of rendered again, and an
    unchanged sheet's share of the combined downloads is copied from the old files.

    With `index_pages` (a build with search), each page Pagefind will index is also written there,
    as search.index_copy makes it (a reused page is linked as it is), for search.index_site.

    With `kept`, `folder` is a site kept by the cache, already pruned to the files of this one: a
    file there whose record has this build's fingerprint and whose stat is still the recorded one
    stays as it is; every other file is linked or written anew (never rewritten in place: it may
    be a hard link to a published file).

    `texts`: pages already rendered (_prerendered), by path: written as they are; `env`: the
    environment they were rendered with.
    """
    page_jobs = plan_pages(site) if page_jobs is None else page_jobs
    salt = code_stamp()
    keys = job_keys(site, templates, page_jobs, salt) if keys is None else keys
    base_key = fingerprint(salt, repr(site.config))
    env = env or environment(site, templates, bytecode=site.config.root / CACHE_DIR / "templates")
    site_tables = opendata.tables(site.config)
    base = opendata.site_url(site.config)
    out = Produced()
    dest = os.fspath(folder)
    made: set[str] = set()
    old = os.fspath(old_output) if previous is not None and old_output is not None else None
    updating = kept is not None

    # The kept site's files: a file there is kept when its record has this build's fingerprint and
    # its stat is still the recorded one (the file is as the build that wrote it recorded it).
    kept_record = kept.records.get if kept is not None else {}.get
    kept_intact = kept.intact if kept is not None else set()
    old_pages = previous.pages if previous is not None else {}

    def intact_ones(paths: Iterable[str], keys: Iterable[str | None]) -> dict[str, PageRecord]:
        """The kept site's files at `paths` that stay as they are, for these fingerprints: their
        records. At once (22,700 pages and 10,000 sheet.json at 10,000 sheets), not a call of keep
        each; only where keep would do no more than take the record (no search index copies)."""
        if kept is None or index_pages is not None:
            return {}
        return {path: record for path, key in zip(paths, keys, strict=True)
                if path in kept_intact and (record := kept_record(path)) is not None and record[0] == key}

    def keep(path: str, key: str) -> bool:
        """Keep the kept site's file, or link the previous build's, when its fingerprint is `key`;
        True if one was."""
        record = kept_record(path)
        if record is not None and record[0] == key and path in kept_intact:
            out.pages[path] = record
            if index_pages is not None:  # what the search index is made of and may reuse
                if path.endswith(".html"):
                    link(f"{dest}/{path}", f"{index_pages}/{path}")
                last = old_pages.get(path)
                if last is not None and last[0] == key:
                    out.same.add(path)  # the published file has this text too
            return True
        assert previous is not None and old is not None
        record = previous.pages.get(path)
        source = f"{old}/{path}"
        if record is None or not reusable(record, key, source):
            return False
        target = f"{dest}/{path}"
        if updating:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        if not link(source, target):
            record = page_record(key, os.stat(target))  # a copy: its own inode
        if index_pages is not None and path.endswith(".html"):
            link(target, f"{index_pages}/{path}")
        out.pages[path] = record
        out.same.add(path)
        return True

    def link(source: str, target: str) -> bool:
        parent = os.path.dirname(target)
        if parent not in made:
            make_folder(parent)
            made.add(parent)
        return link_or_copy(source, target)

    def same_as_before(path: str, text: str) -> bool:
        """True when the last build wrote `text` to `path` (and the file is still as it was written)."""
        record = previous.pages.get(path) if previous is not None else None
        if record is None or not reusable(record, record[0], f"{old}/{path}"):
            return False
        with open(f"{old}/{path}", "rb") as f:
            return f.read() == text.encode("utf-8")

    parent = os.getpid()
    old_combined = _old_combined(site, previous, old)
    # The sheets' JSON first: once every share is in, a thread of this process writes the combined
    # downloads while the pages are rendered (not alone at the end, one core idle).
    items: list[tuple[PageJob | Sheet, str]] = []
    # Unchanged sheets' shares, as the cache has them (their byte ranges in old_combined): cut
    # from those files where the downloads are written (by a thread, in an edit build). A
    # sheet's share is the same bytes while its file and the configuration are.
    reused_shares: dict[tuple[str, int, str], int] = {}  # key → its place in old_index
    old_index: opendata.ShareIndex | None = (previous.shares if previous is not None and old_combined is not None
                                             else None)
    # A sheet.json's fingerprint is the last build's when its file has the same bytes, and code
    # and configuration are the same: then it is not computed again (10,000 hashes).
    same_base = previous is not None and previous.config == repr(site.config)
    position = old_index.positions().get if old_index is not None and same_base else {}.get
    unchanged: list[Sheet] = []  # their sheet.json kept, or written again (the same bytes)
    for sheet in site.sheets:
        k = share_key(sheet)
        j = position(k)
        if j is not None:
            reused_shares[k] = j
            unchanged.append(sheet)
        else:
            path = f"{sheet.url}{opendata.SHEET_JSON}"
            items.append((sheet, fingerprint(base_key, path, sheet_dep(sheet))))

    def keep_sheets() -> None:
        """The unchanged sheets' sheet.json kept (or linked); those that cannot be, to write."""
        paths = [f"{sheet.url}{opendata.SHEET_JSON}" for sheet in unchanged]
        olds = list(map(old_pages.get, paths))
        same = intact_ones(paths, [record[0] if record is not None else None for record in olds])
        out.pages.update(same)
        for sheet, path, record in zip(unchanged, paths, olds, strict=True):
            if path in same:
                continue
            key = record[0] if record is not None else fingerprint(base_key, path, sheet_dep(sheet))
            if not keep(path, key):
                items.append((sheet, key))

    def span(part: Sequence[tuple[PageJob | Sheet, str]]
             ) -> tuple[list[tuple[str, PageRecord]], list[Any], list[str], list[Any]]:
        made_here: set[str] = set()
        rows_before = htmlparts.list_rows_count()
        made_copies: set[str] = set()
        records = []
        shares = []
        same = []
        for item, key in part:
            if isinstance(item, Sheet):
                data = opendata.sheet_data(item, site_tables, base)
                path = f"{item.url}{opendata.SHEET_JSON}"
                raw = data.json.encode("utf-8")  # written, and nested in sheets.json
                st = write_file(folder, path, raw, made_here, replace=updating)
                shares.append((share_key(item), opendata.share_bytes(data, raw)))
            else:
                path = item.path
                text = texts.pop(path) if texts and path in texts else render_job(env, site, templates, item)
                st = write_file(folder, path, text, made_here, replace=updating)
                if index_pages is not None and INDEX_MARK in text:
                    write_file(index_pages, path, index_copy(text), made_copies)
                    if old is not None and same_as_before(path, text):
                        same.append(path)  # its search index shard may still be reused
            records.append((path, page_record(key, st)))
        if os.getpid() == parent:
            return records, shares, same, []
        # A worker's new list rows go back with its results, for the build cache; its shares in a file.
        put = SharesFile.put(f"{dest}/{SHARES_DIR}", shares, made_here) if shares else shares
        return records, put, same, htmlparts.list_rows_since(rows_before)

    def taken(result: tuple[Any, Any, Any, Any]) -> tuple[Any, Any, Any, Any]:
        """A worker's span result with its shares read from their file (map_spans' decode)."""
        records, shares, same, rows = result
        return records, shares.take() if isinstance(shares, SharesFile) else shares, same, rows

    folder_made: set[str] = set()
    job_paths = [job.path for job in page_jobs]
    html_paths = [*job_paths, opendata.DATA_PAGE]

    sitemap_key = fingerprint(base_key, SITEMAP, *html_paths)

    def keep_sitemap() -> bool:
        """The sitemap is the last build's while the pages' paths and the site's address are the
        same (12,700 addresses at 10,000 sheets): True when it is kept so."""
        kept_map = old is not None and keep(SITEMAP, sitemap_key)
        out.kept_web = int(kept_map)
        return kept_map

    def web_files_written(kept_map: bool) -> PageRecord | None:
        """The feed, robots.txt and (unless kept) the sitemap; the sitemap's record."""
        record = None
        for page in opendata.web_files(site, html_paths, with_sitemap=not kept_map, encoded=True):
            st = write_file(folder, page.path, page.text, folder_made, replace=updating)
            if page.path == SITEMAP:
                record = page_record(sitemap_key, st)
        return record

    def write_web_files() -> None:
        record = web_files_written(keep_sitemap())
        if record is not None:
            out.pages[SITEMAP] = record

    Combined = tuple[list[tuple[str, list[Any]]], opendata.ShareIndex, list[opendata.Download]]

    def spliced(shares: dict[Any, opendata.ShareBytes]) -> Combined | None:
        """The last build's combined downloads with the new shares put in (an edit), when they can be."""
        if not same_base or old_index is None or old_combined is None:
            return None
        return opendata.spliced_files(site, old_index, old_combined, shares)

    def combined_anew(shares: dict[Any, opendata.ShareBytes]) -> Combined:
        """The combined downloads made of every share (the unchanged ones cut from the last ones)."""
        assert (old_index is not None and old_combined is not None) or not reused_shares
        shares = {**{k: _cut(old_combined, old_index, j) for k, j in reused_shares.items() if k not in shares},
                  **shares}
        return opendata.combined_files(site, shares)

    def write_downloads(combined: Combined) -> dict[str, PageRecord]:
        """The combined downloads; their records."""
        files, _, _ = combined
        return {path: page_record("", write_file(folder, path, chunks, folder_made, replace=updating))
                for path, chunks in files}

    def write_data_page(downloads: list[opendata.Download]) -> None:
        """The /data/ page, listing the combined downloads (rendered by this thread: the Jinja
        environment's template cache holds a lock, which a process forked meanwhile would inherit
        held)."""
        data_page = opendata.data_page_job(site, opendata.DataFiles([], downloads))
        write_file(folder, data_page.path, render_job(env, site, templates, data_page), folder_made,
                   replace=updating)

    def downloads_written(records: dict[str, PageRecord], index: opendata.ShareIndex,
                          downloads: list[opendata.Download]) -> None:
        write_data_page(downloads)
        out.combined = records
        out.index = index  # for the next build

    def downloads_made(shares: dict[Any, opendata.ShareBytes]
                       ) -> tuple[dict[str, PageRecord], opendata.ShareIndex, list[opendata.Download]]:
        combined = spliced(shares) or combined_anew(shares)
        return write_downloads(combined), combined[1], combined[2]

    # Few sheets changed (an edit): their shares first; then a thread writes the downloads
    # (100 MB at 10,000 sheets; after an edit, the last ones with the new shares put in) while
    # this one finds the pages to render, renders them and writes the feed and the sitemap.
    # The unchanged sheets' sheet.json are kept after that thread is started (10,000 at 10,000
    # sheets): one that cannot be is written again with the pages (its share is the last one).
    downloads: Beside | None = None
    if len(items) <= FEW_ITEMS:
        records, shares, _, _ = span(items)
        out.pages.update(records)
        out.shares.update(shares)
        out.rendered += len(records)
        items = []
        # (The shares as they are now, a copy: the pages' results add to out.shares meanwhile; the
        # sheets kept later have their last ones.)
        downloads = Beside(partial(downloads_made, dict(out.shares)), jobs=jobs)
    results: Iterable[Any] = ()
    try:  # from here on, a failure stops that process and the workers (finally)
        keep_sheets()
        shares_due = 0 if downloads is not None else sum(isinstance(item, Sheet) for item, _ in items)
        if old is None:
            items += zip(page_jobs, keys, strict=True)
        else:
            same = intact_ones(job_paths, keys)
            out.pages.update(same)
            items += [(job, key) for job, path, key in zip(page_jobs, job_paths, keys, strict=True)
                      if path not in same and not keep(path, key)]
        items = _in_turn(items)
        if on_files is not None and out.pages:
            on_files(len(out.pages))
        if out.pages:
            kill_point("write")  # test hook: after the first files
        if any(isinstance(item, PageJob) for item, _ in items):
            compile_templates(env, page_jobs, templates)  # once, before the workers fork
        if downloads is not None and len(items) <= FEW_ITEMS:  # few pages too: rendered here
            results = [span(items)]
        else:
            # This process renders spans too (from the front; the workers from the back): at
            # 10,000 sheets, 6 % less CPU than two workers beside an idle process (half the
            # results pickled, the other half's shares not in files, one process fewer copying
            # pages of memory). Eight spans given ahead to each worker: this process's own spans
            # are longer now and then (its first one, the feed and the sitemap, the decoding).
            # The workers' results are taken as they come: the downloads are made once every
            # share is in.
            results = map_spans(span, items, jobs=jobs, span=SPAN_ITEMS, decode=taken, parent_helps=True,
                                ahead=8, in_order=False)
        web_due = True  # the feed and the sitemap: after this process's first span (the workers have theirs)
        for records, shares, same, rows in results:
            if web_due:
                write_web_files()
                web_due = False
            htmlparts.keep_list_rows(rows)
            out.pages.update(records)
            out.shares.update(shares)
            out.same.update(same)
            out.rendered += len(records)
            if on_files is not None:
                on_files(len(records))
            kill_point("write")  # test hook: after the first files
            if shares and shares_due:
                shares_due -= len(shares)
                if not shares_due:  # written by a thread while the pages are rendered
                    downloads = Beside(partial(downloads_made, dict(out.shares)), jobs=jobs)
        if web_due:
            write_web_files()
        if downloads is None:  # (every share is in: each sheet's JSON gave one)
            downloads = Beside(partial(downloads_made, dict(out.shares)), jobs=1)
        downloads_written(*downloads.result())
    finally:
        if downloads is not None:
            downloads.cancel()
        close = getattr(results, "close", None)  # the workers' (map_spans): stopped before the
        if close is not None:  # folder of their shares is removed (a failure here: none is left)
            close()
        shutil.rmtree(f"{dest}/{SHARES_DIR}", ignore_errors=True)  # (empty unless the build failed)
    out.files = len(out.pages) + len(out.combined) + 1 + sum(p not in out.pages for p in opendata.web_paths(site))
    return out


# The templates of the pages there is one of per sheet or program: many, each quick to render.
_PER_SHEET = frozenset({"pages/sheet.html", "pages/program.html"})


def _in_turn(items: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """The items in the order they are given out: the sheets' JSON first (the combined downloads
    are made of them), then the sheet and program pages, then the others (the lists: few, and a
    span of them takes long; the workers take the spans from the back, the build's own process
    from the front: map_spans' `parent_helps`)."""
    first, pages, others = [], [], []
    for item in items:
        if isinstance(item[0], Sheet):
            first.append(item)
        elif item[0].template in _PER_SHEET:
            pages.append(item)
        else:
            others.append(item)
    return first + pages + others


def share_key(sheet: Sheet) -> tuple[str, int, str]:
    """A sheet's share of the downloads changes with its file's bytes."""
    return (sheet.id, sheet.evaluation_year, sheet.source.digest)


def _old_combined(site: Site, previous: BuildCache | None, old: str | None) -> list[Any] | None:
    """The previous build's combined downloads, when every one is as it wrote them: mapped into
    memory (not read: 100 MB at 10,000 sheets, of which an edit build writes all but a few KB
    into the new files as they are)."""
    if previous is None or old is None:
        return None
    files: list[Any] = []
    for path in opendata.combined_paths(site.config):
        record = previous.combined.get(path)
        if record is None or not reusable(record, "", f"{old}/{path}"):
            return None
        with open(f"{old}/{path}", "rb") as f:
            mapped = None
            if os.name == "posix" and record[1]:  # (its size) Windows: a mapped file cannot be removed
                try:
                    mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError):  # a file system that cannot map files (some network disks)
                    pass
            files.append(mapped if mapped is not None else f.read())
    return files


def _cut(old_combined: list[Any] | None, index: opendata.ShareIndex | None, j: int) -> opendata.ShareBytes:
    """The encoded share at place `j` of the previous build's combined downloads."""
    assert old_combined is not None and index is not None
    return (tuple(memoryview(data)[a:b] for data, (a, b) in zip(old_combined, index.ranges(j), strict=True)),
            index.rows[j])


def output_paths(site: Site, page_jobs: Sequence[PageJob] | None = None) -> list[str]:
    """Every file `produce` writes (checked before anything is rendered)."""
    return ([job.path for job in (plan_pages(site) if page_jobs is None else page_jobs)] + [f"{s.url}{opendata.SHEET_JSON}" for s in site.sheets]
            + opendata.data_paths(site) + opendata.web_paths(site))


def run(config: SiteConfig, *, strict: bool = False, search: bool = True,
        progress: Progress | None = None, jobs: int | None = None, cache: bool = True,
        retain: list[object] | None = None, listing: Background | EarlyMirror | None = None) -> BuildResult:
    """Build the site; the previous output stays untouched unless every stage succeeds.

    `jobs` worker processes load and render (default: one per core). With `cache`, only what
    changed since the last build is parsed and rendered (hyoka/cache.py); either way the cache
    is written for the next build. With `search`, Pagefind
    indexes the complete temp folder before it replaces the output.

    `retain` (a list of the caller's, for this build): what the build read and made is appended to
    it once the build has succeeded, instead of being freed object by object on return (the CLI
    leaves it to the end of the process: at 10,000 sheets, freeing the cache's records, stubs and
    memo took 25 ms of a build after one edit).

    `listing`: the walk of the project's kept site, or the site of links being made where none is
    kept, started by the caller (kept.start_listing, for this config's root and the cache): the
    build takes it over (waits for it, or stops it and removes what it made).
    """
    held: list[object] = []
    try:
        with few_collections():
            result = _run(config, strict=strict, search=search, progress=progress, jobs=jobs, cache=cache,
                          retain=held if retain is not None else None, listing=listing)
    finally:
        gc.unfreeze()  # what the build froze (parallel.long_lived) is collectable again
    if retain is not None:
        retain += held
    return result


def _run(config: SiteConfig, *, strict: bool, search: bool, progress: Progress | None, jobs: int | None,
         cache: bool, retain: list[object] | None, listing: Background | EarlyMirror | None) -> BuildResult:
    progress = progress or Progress(level=QUIET)
    workers = job_count(jobs)
    output = config.output_dir.parent.resolve() / config.output_dir.name
    # The content folder is listed and its files' stats taken by another process while this one
    # reads the cache (at 10,000 sheets, 0.08 s); `started` is before the first of those stats.
    started = time.time_ns()
    scanned = Background(partial(scan_content, config), jobs=workers)
    # The site kept by the last build (if it is the one its cache recorded: checked once that is
    # read) is listed by another process too, started now: forked once the cache is loaded, the
    # process would make this one copy each page of memory it then writes (Python writes the
    # reference count of each object it reads).
    mirrored: Background | None = None
    mirror_at: Path | None = None
    kept_at = config.root / CACHE_DIR / SPARE_DIR
    early = listing if isinstance(listing, EarlyMirror) else None  # taken below, or cancelled
    if early is not None:
        listing = None
    if early is not None and not cache:
        early.cancel()
        early = None
    if listing is not None and not cache:  # told against the records of a cache not used
        listing.cancel()
        listing = None
    if listing is None and workers > 1 and can_fork() and kept_at.is_dir():
        listing = Background(partial(_listed, kept_at, config.root if cache else None), jobs=workers)
    # Backgrounds and processes (Popen) waited for at the end, the build failed or not: the content
    # file, the site snapshot (_Unnamed), the removal of the replaced site.
    pending: list[Any] = []
    try:
        with long_lived():
            # build.pickle first: a process can then be started on what it says (_mirrored)
            # while this one reads the content file (60 MB at 10,000 sheets).
            previous = load_cache(config.root, content=False) if cache else None
        old_output = output if previous is not None and previous.output == str(output) and output.is_dir() else None
        # The site this build replaces is kept for the next one (when its files' records are
        # known), and the one the last build replaced is updated into this one (when it is the one
        # recorded).
        spare_at = spare_folder(config.root, output) if old_output is not None else None
        spare = previous.spare if previous is not None and spare_at is not None else None
        if spare is not None and folder_token(spare_at) != spare.token:
            spare = None
        claim = spare_at if spare is not None else None
        if spare is None and spare_at is not None and previous is not None and workers > 1 and can_fork():
            # No site kept, but the output is the one the cache describes (the first build after
            # a clean one): another process makes one of links to its files while this one loads
            # the content (at 10,000 sheets, linking 22,700 files took 0.3 s of such a build).
            if early is not None and spare_at == kept_at:  # started by the command line already
                mirror_at, mirrored, early = early.folder, early.work, None
            else:
                mirror_at = mirror_folder(spare_at)
                mirrored = Background(partial(_mirrored, output, previous.pages, mirror_at, previous.pages,
                                              previous.started_ns), jobs=workers)
            pending.append(mirrored)
        elif spare is None and kept_at.is_dir() and spare_folder(config.root, output) == kept_at:
            # A kept site whose files' records are not known (a clean build's): it is the folder
            # this build writes its site into, every file anew (the published site keeps its
            # own), instead of being removed (22,700 files at 10,000 sheets: 0.4 s).
            token = folder_token(kept_at)
            if token is not None:
                spare, claim = Spare(token, {}), kept_at
        # What that site holds is read by another process while this one loads the content (at
        # 10,000 sheets, walking its 12,700 folders took 0.2 s of a 2 s build after one edit);
        # else prune walks it.
        if listing is not None and claim != kept_at:
            listing.cancel()
            listing = None
        if early is not None:  # a site of links not wanted (this build keeps or mirrors otherwise)
            early.cancel()
            early = None
        if previous is not None:
            with long_lived():
                previous = load_content(config.root, previous)
            if previous is None:  # its content file cannot be used: a clean build
                old_output = spare_at = spare = claim = None
                if mirrored is not None:
                    mirrored.cancel()
                    mirrored = None
                if listing is not None:  # no kept site is claimed: its walk is not wanted
                    listing.cancel()
                    listing = None
        config_text = repr(config)
        known = previous.spans if previous is not None and previous.config == config_text else None
        # The last build's rows and feed entries (none when its cache is not used: not those of
        # an earlier build in this process), before the workers fork: they have them too.
        last = previous if known is not None else None
        htmlparts.keep_packed_rows(last.rows if last is not None else {})
        opendata.keep_feed_entries(last.feed if last is not None else {})
        return _build(config, strict=strict, search=search, progress=progress, workers=workers,
                      previous=previous, known=known, old_output=old_output, spare_at=spare_at,
                      spare=spare, claim=claim, listing=listing, mirrored=mirrored, pending=pending,
                      scanned=scanned, started=started, output=output, config_text=config_text,
                      retain=retain, cache=cache)
    finally:
        scanned.cancel()
        if listing is not None:
            listing.cancel()
        if early is not None:  # not taken: stopped, and what it made removed
            early.cancel()
        for work in pending:  # the cache's content file when the build failed after it began, and
            work.wait()  # the removal of the replaced site (_remove_later)
        if mirror_at is not None and os.path.lexists(mirror_at):  # made, not taken: the build failed
            shutil.rmtree(mirror_at, ignore_errors=True)


class _Unnamed:
    """The site snapshot being written by another process (cache.save_snapshot), in _run's
    `pending`: waited for there whatever happens (no half-written file), and its file removed unless
    the build got as far as naming it in build.pickle (`named`): a build that failed after it began
    leaves no snapshot that no build names."""

    def __init__(self, work: Background, root: Path) -> None:
        self.work, self.root, self.named = work, root, False

    def wait(self) -> None:
        if self.named:
            return
        try:
            name = self.work.result()
        except Exception:  # not written
            return
        if name:
            (self.root / CACHE_DIR / name).unlink(missing_ok=True)


def _remove_later(pending: list[Any], folder: Path) -> None:
    """A replaced site (under a temp name of this build), removed by an `rm -rf` of its own while
    this build writes its cache, and waited for before it returns (_run: `pending`): removing
    22,700 files at 10,000 sheets took 0.7 s at the end of a clean build. At once where there is
    no `rm` (Windows)."""
    rm = shutil.which("rm") if os.name == "posix" else None
    if rm is not None:
        try:
            pending.append(subprocess.Popen([rm, "-rf", "--", os.fspath(folder)], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            return
        except OSError:  # no process could be started
            pass
    remove_tree(folder)


def _recorded(previous: BuildCache) -> set[str]:
    """The paths of the files the last build wrote and recorded, and of those every build writes."""
    return {*previous.pages, *previous.combined, *FIXED_PATHS}


def _mirrored(output: Path, paths: Iterable[str], folder: Path, records: dict[str, PageRecord] | None = None,
              started: int | None = None) -> tuple[Path, Listing | KeptListing]:
    """write.mirror into `folder` (mirror_folder's); the folder and its listing. Nothing is left
    when it fails. With `records` (the last build's pages, which `paths` are) and `started` (its
    start): the listing told against them (kept.KeptListing), stamped for _kept_listing."""
    if records is not None and started is not None:
        return mirror_told(output, paths, folder, records, started)
    try:
        return folder, mirror(output, paths, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _prerendered(site: Site, templates: Path, page_jobs: list[PageJob], keys: list[str],
                 previous: BuildCache | None, spare: Spare | None, mirroring: bool
                 ) -> tuple[Environment | None, dict[str, str]]:
    """After an edit: the text of each page whose fingerprint is neither that of the kept site's
    file (`spare`'s; the last build's pages for a site of links being made: `mirroring`) nor that
    of the published one. produce renders those whatever the kept site holds: rendered here, while
    the kept site is walked by another process (the walk is waited for before that site is claimed;
    at 10,000 sheets, 17 pages took 0.06 s); and the environment they were rendered with. None for
    many pages (the workers render them)."""
    if previous is None or not previous.pages:
        return None, {}
    kept = spare.pages if spare is not None else previous.pages if mirroring else {}
    published = previous.pages
    due = [job for job, key in zip(page_jobs, keys, strict=True)
           if ((record := kept.get(job.path)) is None or record[0] != key)
           and ((record := published.get(job.path)) is None or record[0] != key)]
    if not due or len(due) > 48:
        return None, {}
    env = environment(site, templates, bytecode=site.config.root / CACHE_DIR / "templates")
    compile_templates(env, page_jobs, templates)  # all of them, as produce does (once)
    return env, {job.path: render_job(env, site, templates, job) for job in due}


def _listed(folder: Path, root: Path | None = None) -> tuple[int, Listing | KeptListing]:
    """kept.listed (its process is started here when the caller started none: pipeline.run)."""
    return listed(folder, root)


def _kept_listing(listed: Listing | KeptListing | None, previous: BuildCache | None,
                  spare: Spare) -> Listing | KeptListing | None:
    """The listing of the kept site, if it is of `spare` (a KeptListing: told against its records,
    the last kept site's in build.pickle or the last build's own pages)."""
    if not isinstance(listed, KeptListing):
        return listed
    if previous is not None:
        if spare is previous.spare and listed.stamp == ("spare", previous.started_ns, spare.token):
            return listed
        if spare.pages is previous.pages and listed.stamp == ("pages", previous.started_ns, spare.token):
            return listed
    return None


def _build(config: SiteConfig, *, strict: bool, search: bool, progress: Progress, workers: int,
           previous: BuildCache | None, known: list[LoadedSpan] | None, old_output: Path | None,
           spare_at: Path | None, spare: Spare | None, claim: Path | None, listing: Background | None,
           mirrored: Background | None,
           pending: list[Any], scanned: Background, started: int, output: Path,
           config_text: str, retain: list[object] | None, cache: bool = True) -> BuildResult:
    record: list[LoadedSpan] = []
    trust_before = previous.started_ns - RACY_NS if previous is not None else None
    snapshot = None
    if previous is not None and known is not None and previous.snapshot:  # made with this configuration (known)
        with long_lived():
            snapshot = load_snapshot(config.root, previous.snapshot)
    by_file = {s.source.path: s for s in snapshot.site.sheets} if snapshot is not None else None
    with progress.stage("検査") as tick, long_lived():
        sheets, warnings = load_and_validate(config, jobs=workers, known=known, record=record,
                                             trust_before=trust_before, scanned=scanned, snapshot=by_file)
        if any(p.is_error or strict for p in warnings):
            raise ProblemsFound(warnings)
        tick(len(sheets))
    kill_point("load")  # test hook (HYOKA_TEST_KILL_AT); the other stages' are in write.py
    check_output_dir(config.output_dir, config.root, config.content_dir)
    # What the cache keeps of the content is known now: another process writes it while this one
    # renders (at 10,000 sheets, 60 MB: 0.15 s of pickling after an edit).
    current = {share_key(s) for s in sheets}  # what the rows and feed entries are kept by
    rows_mark, feed_mark = htmlparts.list_rows_count(), opendata.feed_entry_count()  # made after: in build.pickle
    # Not in a build that parsed everything: see content_at_end.
    # After an edit, the spans that are not the cache's content file's as they were (the edited
    # files' and the rest of their spans) go into build.pickle, and that file is kept, unless they
    # are many: the file is then written anew.
    delta = _content_delta(previous, record) if known is not None else None
    content = None
    if delta is None and known is not None:
        content = Background(partial(_save_content, config.root, record, current), jobs=workers)
        pending.append(content)
    templates = config.root / "templates"
    with long_lived():
        site, memo, edits = _collected(sheets, config, snapshot, by_file)
        page_jobs = plan_pages(site, memo)
        keys = job_keys(site, templates, page_jobs, code_stamp(), memo)
    # A snapshot of this site for the next builds, unless they can go on from the last one: written
    # by another process while the pages are rendered (at the end of a clean build, by this one, it
    # was the last thing the build waited for: 2 % of it at 10,000 sheets).
    snapshot_name = previous.snapshot if previous is not None and edits is not None else ""
    snapshot_saved = None
    if edits is None or edits > SNAPSHOT_EDITS:
        snapshot_saved = Background(partial(save_snapshot, config.root, SiteSnapshot(site, memo)), jobs=workers)
        pending.append(unnamed := _Unnamed(snapshot_saved, config.root))
    paths = output_paths(site, page_jobs)
    # Checked unless each was a file of the last build's (which checked them all: a path that
    # escapes the folder or two in one file are about the paths alone).
    if previous is None or not all(map(_recorded(previous).__contains__, paths)):
        check_paths(paths)
    kill_point("render")
    index = None
    shards: dict[str, ShardRecord] = {}  # the index's shards as written, for the next build
    if search:
        exe = pagefind_executable()  # fail before writing anything when the extended build is missing

        def index(folder: Path) -> None:
            nonlocal shards
            copies = folder / INDEX_COPIES
            reuse = None
            if old_output is not None and previous is not None and previous.shards:
                reuse = ShardReuse(old_output / BUNDLE_DIR, previous.shards, produced.same.__contains__)
            try:
                with progress.stage("検索索引", unit="ページ") as tick:
                    stats = index_site(folder, exe, pages=copies, reuse=reuse)
                    tick(stats.pages)
            finally:
                shutil.rmtree(copies, ignore_errors=True)
            shards = stats.records
            if stats.reused:
                progress.log(f"  前回から変わらない検索索引の部分 {stats.reused}/{stats.shards}件はそのまま使いました",
                             verbose=True)
            progress.log(f"  検索索引の大きさ: {stats.bundle_bytes / 1_000_000:.2f} MB", verbose=True)

    produced = Produced()

    def fill(folder: Path, updating: bool) -> int:
        nonlocal produced
        kept = None
        if updating:
            assert spare is not None
            # The listing is of the folder claimed only if it is the very folder walked.
            walked = _kept_listing(listed, previous, spare) if folder_token(folder) == spare.token else None
            wanted = [*paths, *asset_paths(assets)]
            if isinstance(walked, KeptListing):
                intact = prune_kept(folder, wanted, spare.pages, walked)
            else:
                present = prune(folder, wanted, walked)
                records = spare.pages
                intact = {p for p, st in present.items() if (r := records.get(p)) is not None and r[1:] == st}
            kept = KeptSite(spare.pages, intact)
        with progress.stage("ページ生成と書き出し", unit="ファイル") as tick:
            produced = produce(site, templates, folder, jobs=workers, on_files=tick, previous=previous,
                               old_output=old_output, page_jobs=page_jobs, keys=keys,
                               index_pages=folder / INDEX_COPIES if search else None, kept=kept,
                               texts=texts, env=env)
        if produced.reused:
            progress.log(f"  前回から変わらないファイル {produced.reused}件は"
                         "生成し直さずに使いました", verbose=True)
        return produced.files

    assets = config.root / "assets"
    # The walk must be over before the folder is claimed (moved): it is taken only if it went
    # through; else prune walks the claimed folder itself.
    env, texts = _prerendered(site, templates, page_jobs, keys, previous, spare, mirrored is not None)
    listed = None
    if mirrored is not None:  # the site of links made meanwhile (write.mirror), to update
        try:
            made = mirrored.result()  # (None: the command line's found nothing to link)
            token = None
            if made is not None:
                folder, listed = made
                token = folder_token(folder)
        except (OSError, BuildError):
            token = None
        if token is not None and previous is not None:
            spare, claim = Spare(token, previous.pages), folder
    if listing is not None:
        try:
            ctime, listed = listing.result()
            if claim is None or os.lstat(claim).st_ctime_ns != ctime:
                listed = None
        except (OSError, BuildError):
            listed = None
    count = write_folder(fill, assets, config.output_dir, finalize=index, start_from=claim, keep_old=spare_at,
                         remove_old=partial(_remove_later, pending))
    token = folder_token(spare_at) if spare_at is not None else None
    assert previous is not None or token is None
    kept_pages = previous.pages if previous is not None and token else None
    # A build that loaded every sheet: its content file is written now by another process (it
    # holds the list rows and feed entries the pages were rendered with; forked while the pages
    # are rendered, the process would make this one copy each page of memory it then writes: ≈ 5 %
    # of a clean build at 10,000 sheets).
    content_at_end = known is None
    if content_at_end:
        content = Background(partial(_save_content, config.root, record, current), jobs=workers)
        pending.append(content)
    if snapshot_saved is not None:
        try:
            snapshot_name = snapshot_saved.result()
        except Exception:  # not written: the next build collects anew
            snapshot_name = ""
    name = ""
    if content is not None:
        try:
            name = content.result()
        except Exception:  # it could not be written: all of it goes into build.pickle (the site is built)
            name = ""
    spans: list[LoadedSpan] = [] if name else record
    content_spans = None
    if delta is not None:  # the last content file kept, with what changed since it
        assert previous is not None
        name, (content_spans, spans) = previous.content, delta
        # The rows and entries of the sheets of those spans (the file has the others'), and those
        # the last build.pickle held or this build made of the current sheets (the file may not
        # have them: made after it was written).
        digests = {digest for span in spans for _, digest in span.files}
        beside = {k for k in current if k[2] in digests}
        own_rows, own_feed = previous.own
        rows = merged(packed(own_rows, {}, current),
                      htmlparts.packed_rows(_made_since(htmlparts.list_rows_since(rows_mark), current) | beside))
        feed = merged(packed(own_feed, {}, current),
                      opendata.packed_feed(_made_since(opendata.feed_entries_since(feed_mark), current) | beside))
    elif name and content_at_end:  # written just now: with every row and entry
        rows, feed = {}, {}
    elif name:  # the rows and entries this build made since the content file's were taken
        rows = htmlparts.packed_rows(_made_since(htmlparts.list_rows_since(rows_mark), current))
        feed = opendata.packed_feed(_made_since(opendata.feed_entries_since(feed_mark), current))
    else:
        rows, feed = htmlparts.packed_rows(current), opendata.packed_feed(current)
    save_cache(config.root, BuildCache(
        code_stamp(), config_text, spans, str(output), produced.pages, produced.index,
        produced.combined, shards, spare=Spare(token, kept_pages) if kept_pages is not None and token else None,
        started_ns=started, rows=rows, feed=feed, content=name, content_spans=content_spans,
        snapshot=snapshot_name))
    if snapshot_saved is not None:
        unnamed.named = True  # (in build.pickle now)
    if retain is not None:  # everything this build holds (run: `retain`), but that list
        retain.append({name: value for name, value in locals().items() if name != "retain"})
    return BuildResult(site, count, warnings, produced.rendered, produced.reused)


# A build goes on from the site snapshot of an earlier one with up to this many sheets changed since;
# with more, it writes a new one (each change costs the next builds a little: their programs and
# groups are planned again).
SNAPSHOT_EDITS = 200


def _collected(sheets: list[Sheet], config: SiteConfig, snapshot: SiteSnapshot | None,
               by_file: dict[str, Sheet] | None) -> tuple[Site, dict[str, Any], int | None]:
    """The site of `sheets`, the memo to plan its pages with, and how many sheets changed since
    the snapshot it was made from (None when collected anew).

    From the snapshot when it has the same files and every changed sheet stays in its place
    (collect.collect_again: the sheets not swapped are the snapshot's own, _reuse gave them).
    """
    if snapshot is not None and by_file is not None and len(by_file) == len(sheets):
        taken = {id(s) for s in snapshot.site.sheets}
        edits = []
        for sheet in sheets:
            if id(sheet) in taken:
                continue
            old = by_file.get(sheet.source.path)
            if old is None:  # a file the snapshot did not have
                break
            edits.append((old, sheet))
        else:  # as many files, each the snapshot's sheet or a sheet of a file it had: the same files
            site = collect_again(snapshot.site, edits)
            if site is not None:
                return site, snapshot.memo, len(edits)
    return collect(sheets, config), {}, None


# An edit build keeps the cache's content file while the files loaded since it (build.pickle's
# spans, with their list rows and feed entries) are at most this many; with more, it writes the
# file anew (a span of 100 files is 0.6 MB: build.pickle is written by every build).
CONTENT_FILES = 800


def _content_delta(previous: BuildCache | None, record: list[LoadedSpan]
                   ) -> tuple[tuple[int, ...], list[LoadedSpan]] | None:
    """(The places of the content file's spans still taken as they are, the spans beside them)
    when the file can be kept (see CONTENT_FILES); None when it is to be written anew."""
    if previous is None or not previous.content:
        return None
    in_file = previous.from_file
    taken = [in_file[id(span)] for span in record if id(span) in in_file]
    beside = [span for span in record if id(span) not in in_file]
    if sum(len(span.files) for span in beside) > CONTENT_FILES:
        return None
    return tuple(taken), beside


def _save_content(root: Path, record: list[LoadedSpan], current: set[tuple[str, int, str]]) -> str:
    """cache.save_content with the rows and feed entries of the current sheets kept so far."""
    return save_content(root, record, htmlparts.packed_rows(current), opendata.packed_feed(current))


def _made_since(made: list[tuple[Any, Any]], current: set[tuple[str, int, str]]) -> set[tuple[str, int, str]]:
    """The current sheets of these rows or feed entries (list_rows_since, feed_entries_since)."""
    return {key[:3] for key, _ in made} & current


def asset_paths(assets: Path) -> list[str]:
    """The files write.write_folder copies from `assets` into a site (as its paths there)."""
    if not assets.is_dir():
        return []
    base = os.fspath(assets)
    return [f"assets/{os.path.relpath(os.path.join(where, name), base).replace(os.sep, '/')}"
            for where, _, names in os.walk(base) for name in names]
