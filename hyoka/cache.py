"""The build cache (`.hyoka-cache/` beside site_config.yaml): what the last build read and wrote.

With it, the next `build` parses only the content files whose bytes changed, and renders only the
pages whose fingerprint changed; every other page is hard-linked (or copied) from the current
output folder into the new one. A fingerprint covers everything a page's text depends on: the
hash of hyoka's code and library versions, of every template and of the configuration, the
page's path, and the hashes of the sheets it shows and the names and addresses of the groups it
links (render.plan_pages lists them). The result is byte-identical to a clean build
(tests/test_cache.py). `build --no-cache` ignores the cache and rewrites it; deleting the folder
is always safe.

A page is reused only if its file in the output folder still has the size and modification time
the last build recorded, so an output folder edited or replaced by hand is rendered again. An
unreadable, old or foreign cache file is ignored (a clean build follows).

The cache is three files: build.pickle (the output's records), a content-<random>.pickle it names
(the loaded spans, list rows and feed entries: 60 MB at 10,000 sheets), which a build writes from
another process as soon as its content is loaded, while it renders (save_content), and which the
builds after an edit keep (what changed since goes into build.pickle); and a
snapshot-<random>.pickle (SiteSnapshot: the collected site and the plan of its pages), which the
builds after an edit go on from.

The site a build replaces is kept in `.hyoka-cache/site/` (when it is on the output's disk), with
the records of its files (`Spare`). The next build updates that folder into the new site and
swaps it in (hyoka/write.py): at 10,000 sheets, linking 22,000 unchanged files into an empty
folder and removing the replaced site took ≈ 1.5 s of a 4 s build after one edit. Most of its
files are hard links to the published ones, so it takes little room; deleting it is safe too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import mmap
import os
import pickle
import shutil
import stat
import struct
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

CACHE_DIR = ".hyoka-cache"
CACHE_FILE = "build.pickle"
CONTENT_PREFIX = "content-"  # save_content's files
SNAPSHOT_PREFIX = "snapshot-"  # save_snapshot's files
SPARE_DIR = "site"  # the replaced site, kept for the next build to update
FORMAT = 18


# A file of the last build's output: (its fingerprint, size, mtime_ns, inode) when written. The
# inode too: a file's mtime is only as fine as the kernel's clock tick (4 ms here), so another
# build's file of the same size, written in the same tick, matched on size and mtime alone (two
# projects built at once into one folder: tests/test_kill.py). A plain tuple: the cache holds
# 45,000 at 10,000 sheets, and as objects of a class (pickled by a call each) they took 3 times
# as long to pickle and 1.6 times as long to load, 30 ms of a build after one edit.
PageRecord = tuple[str, int, int, int]


def page_record(key: str, st: os.stat_result) -> PageRecord:
    """A file's PageRecord from its stat."""
    return (key, *stat_key(st))


Stat = tuple[int, int, int]  # (size, mtime_ns, inode): what tells a file from another or its edit


def stat_key(st: os.stat_result) -> Stat:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def file_stat(path: str | Path) -> Stat | None:
    """A file's stat_key, None when it cannot be read."""
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


@dataclass(frozen=True)
class LoadedSpan:
    """Content files loaded together: (path, hash of its bytes) of each, and the pickled results."""

    files: tuple[tuple[str, str | None], ...]
    blob: bytes  # pickle of [(digest, Sheet, problems), …] (pipeline.load_and_validate)
    # (size, mtime_ns, inode) of each file, taken before it was read: a file whose stat is the same
    # and older than the build that read it is not read and hashed again (pipeline._reuse).
    stats: tuple[Stat | None, ...] = ()
    # pickle of [(digest, model.stub_of(sheet) or None, problems), …]: what an unchanged span gives
    # a build (model.LazySheet), without unpickling `blob` unless a page needs a sheet whole.
    # Empty in a clean build's spans: the site snapshot it writes has the stubs.
    stubs: bytes = b""
    # The problems (warnings) of its files that have any, by place in the span: what a file whose
    # sheet is taken from the site snapshot (SiteSnapshot) reported.
    problems: dict[int, list[Any]] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, ...]:
        # The pickles as buffers: written apart from the rest by save_content (and read back as
        # views of the file mapped into memory, not copied: 40 MB at 10,000 sheets, of which a
        # build after an edit reads a few KB); in the pickle, like bytes, anywhere else.
        return (LoadedSpan, (self.files, pickle.PickleBuffer(self.blob), self.stats,
                             pickle.PickleBuffer(self.stubs), self.problems))


@dataclass(frozen=True)
class Spare:
    """The site kept in .hyoka-cache/site/: which folder it is, and its files' records."""

    token: tuple[int, int]  # (device, inode) of the folder when it was put there
    pages: dict[str, PageRecord]  # as the build that wrote them recorded them


# The list rows and feed entries the cache keeps (htmlparts.sheet_list_rows, opendata.atom_feed):
# by the rest of their key (a tuple: a list's root and show_year; the feed's address), each sheet's as UTF-8
# by its (id, evaluation year, file hash), each such key pickled once. At 10,000 sheets, 32,000
# rows and 10,000 entries as strings with keys of their own took 40 ms of a build after one edit to
# unpickle; so 16 ms (a list or the feed decodes only what it shows).
Packed = dict[tuple[Any, ...], dict[tuple[str, int, str], bytes]]


@dataclass
class BuildCache:
    """What one build leaves for the next."""

    stamp: str  # code_stamp(): a cache made by other code is not used
    config: str  # repr of the configuration the sheets were validated with
    spans: list[LoadedSpan] = field(default_factory=list)  # the content files as loaded
    output: str = ""  # the output folder `pages` are in
    pages: dict[str, PageRecord] = field(default_factory=dict)
    # Where each sheet's share of the combined downloads is in them, and its CSV rows
    # (opendata.ShareIndex).
    shares: Any = None
    combined: dict[str, PageRecord] = field(default_factory=dict)  # those files as written
    shards: dict[str, Any] = field(default_factory=dict)  # the search index's shards (search.ShardRecord)
    spare: Spare | None = None  # the site the build replaced, kept for the next one
    started_ns: int = 0  # when the build began reading the content files (time.time_ns())
    # The list pages' rows by sheet (htmlparts.sheet_list_rows; packed by htmlparts.packed_rows): an
    # edit renders the lists that show the edited sheet, thousands of rows each, of which only that
    # sheet's row is new.
    rows: Packed = field(default_factory=dict)
    feed: Packed = field(default_factory=dict)  # feed.xml's entries by sheet (opendata._feed_entry)
    # The file with the spans, and the rows and entries known when the content was loaded
    # (save_content); "" when they are all in this one. load_cache puts them together: the file's
    # spans (those at `content_spans`, or all of them when None) and then this one's `spans`, its
    # rows and entries over the file's. An edit build keeps the file and writes only what changed
    # since it into build.pickle (pipeline._build), until that is much.
    content: str = ""
    content_spans: tuple[int, ...] | None = None
    # The file with the site as a build collected it and the plan of its pages (save_snapshot),
    # "" when there is none; made with `config` (a build with another writes its own).
    snapshot: str = ""
    # Set by load_cache, not saved: where each span taken from the content file is in it (by the
    # span's id), and build.pickle's own rows and feed entries (before the file's were added).
    from_file: dict[int, int] = field(default_factory=dict)
    own: tuple[Packed, Packed] = ({}, {})


@dataclass
class SiteSnapshot:
    """The collected Site (collect.Site) of a build and the memo of render.plan_pages and
    render.job_keys for it, its sheets as stubs (model.snapshot_pickler): what the next build
    takes instead of collecting 10,000 sheets and planning and fingerprinting 12,700 pages again.

    That build swaps in the sheets whose files changed since (collect.collect_again: where every
    one stays in its place), and plans with the memo: only the pages of changed programs and
    groups are planned and fingerprinted again. A snapshot is kept over several builds: each
    works from the same one, until its changes are many or move a sheet (then the build collects
    anew and writes one).
    """

    site: Any
    memo: dict[str, Any]


@lru_cache(maxsize=1)
def code_stamp() -> str:
    """A hash of hyoka's own code and the versions of what renders: Python and the libraries."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT}\0{sys.version}\0".encode())
    for module, dist in (("jinja2", "jinja2"), ("markupsafe", "markupsafe"), ("markdown_it", "markdown_it_py"),
                         ("mdurl", "mdurl"), ("yaml", "pyyaml")):
        h.update(f"{dist}={_installed(module, dist)}\0".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _installed(module: str, dist: str) -> str:
    """The version of the distribution that installed `module`, read from the name of its
    dist-info (or egg-info) folder beside the module (importlib.metadata took 15 ms to import on
    every build); all of them when there are several, "?" when there is none."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return "?"
    where = Path(spec.origin).parent.parent
    try:
        names = os.listdir(where)
    except OSError:
        return "?"
    found = []
    for name in sorted(names):
        if name.endswith((".dist-info", ".egg-info")):
            stem, _, version = name.rpartition(".")[0].partition("-")
            if stem.lower().replace("-", "_").replace(".", "_") == dist:
                found.append(version)
    return ",".join(found) or "?"  # every one found (a leftover of an upgrade beside the new one)


def cache_path(root: Path) -> Path:
    """Where a project's build cache is."""
    return root / CACHE_DIR / CACHE_FILE


def load_cache(root: Path, *, content: bool = True) -> BuildCache | None:
    """The project's build cache, or None when there is none or it cannot be used. Without
    `content`, only build.pickle (load_content then adds the content file's part)."""
    path = cache_path(root)
    try:
        with open(path, "rb") as f:
            cache = pickle.load(f)
        if not isinstance(cache, BuildCache) or cache.stamp != code_stamp():
            return None
    except Exception:  # none, or a broken or foreign cache: a clean build
        return None
    return load_content(root, cache) if content else cache


def load_content(root: Path, cache: BuildCache) -> BuildCache | None:
    """`cache` (build.pickle as load_cache(content=False) read it) with its content file's spans,
    rows and feed entries; None when that file cannot be used."""
    try:
        if cache.content:  # the spans, rows and feed entries of a file of their own
            stamp, spans, rows, feed = _read_content(root / CACHE_DIR / cache.content)
            if stamp != cache.stamp:
                return None
            taken = range(len(spans)) if cache.content_spans is None else cache.content_spans
            cache.from_file = {id(spans[i]): i for i in taken}
            cache.own = (cache.rows, cache.feed)
            cache.spans = [spans[i] for i in taken] + cache.spans
            cache.rows = merged(rows, cache.rows)  # the build's own after those it wrote early
            cache.feed = merged(feed, cache.feed)
    except Exception:  # gone, broken or foreign: a clean build
        return None
    return cache


def packed(cached: Packed, made: dict[Any, str], sheets: set[tuple[str, int, str]]) -> Packed:
    """What `cached` (as the cache had it) and `made` (texts by full key: the sheet key, then the
    rest) hold of these sheets, in the cache's form."""
    out: Packed = {}
    for rest, texts in cached.items():
        if len(sheets) < len(texts):
            kept = {k: texts[k] for k in sheets if k in texts}
        else:
            kept = {k: v for k, v in texts.items() if k in sheets}
        if kept:
            out[rest] = kept
    for key, text in made.items():
        sheet = key[:3]
        if sheet in sheets:
            out.setdefault(key[3:], {})[sheet] = text.encode()
    return out


def merged(first: Packed, then: Packed) -> Packed:
    """Two Packed, the second's texts over the first's."""
    return {rest: {**first.get(rest, {}), **then.get(rest, {})} for rest in {*first, *then}}


def unpacked(texts: Packed) -> dict[Any, str]:
    """Packed texts by full key (tests)."""
    return {(*sheet, *rest): text.decode() for rest, by_sheet in texts.items() for sheet, text in by_sheet.items()}


_CONTENT_MAGIC = b"HYOKA\x00C1"


def _read_content(path: Path) -> Any:
    """What save_content wrote: its spans' pickles are views of the file mapped into memory (read
    where a mapped file cannot be removed: Windows)."""
    with open(path, "rb") as f:
        data: Any
        if os.name == "posix":
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            data = f.read()
    view = memoryview(data)
    magic = len(_CONTENT_MAGIC)
    if bytes(view[:magic]) != _CONTENT_MAGIC:
        raise ValueError("not a content file")
    size, count = struct.unpack_from("<QQ", view, magic)
    lengths = struct.unpack_from(f"<{count}Q", view, magic + 16)
    start = magic + 16 + 8 * count
    buffers, at = [], start + size
    for n in lengths:
        buffers.append(view[at:at + n])
        at += n
    return pickle.loads(view[start:start + size], buffers=buffers)


def save_content(root: Path, spans: list[LoadedSpan], rows: Packed, feed: Packed) -> str:
    """Write what the build cache holds of the content (the loaded spans, list rows and feed
    entries: 60 MB at 10,000 sheets) to a file of its own, content-<random>.pickle; its name.

    A build knows all of it once the content is loaded, and writes it in another process while
    it renders (pipeline._build); rows and entries made later go into build.pickle, which names
    this file (BuildCache.content). Raises OSError when it cannot be written.
    """
    buffers: list[pickle.PickleBuffer] = []
    body = pickle.dumps((code_stamp(), spans, rows, feed), protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]

    def write(f: BinaryIO) -> None:
        f.write(_CONTENT_MAGIC + struct.pack(f"<QQ{len(raws)}Q", len(body), len(raws), *(r.nbytes for r in raws)))
        f.write(body)
        for raw in raws:
            f.write(raw)

    return _write_named(root, CONTENT_PREFIX, write)


def _write_named(root: Path, prefix: str, write: Callable[[BinaryIO], None]) -> str:
    """A new file <prefix><random>.pickle in the cache folder, written by `write` to a temp file
    renamed into place (none left when it fails); its name. Raises OSError."""
    folder = root / CACHE_DIR
    _make_folder(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{prefix}", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        name = f"{prefix}{os.urandom(8).hex()}.pickle"
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return name


def save_snapshot(root: Path, snapshot: SiteSnapshot) -> str:
    """Write a SiteSnapshot to snapshot-<random>.pickle in the cache folder; its name. Its sheets
    are pickled as their stubs (model.snapshot_pickler). Raises OSError when it cannot be written."""
    from .model import snapshot_pickler
    return _write_named(root, SNAPSHOT_PREFIX, lambda f: snapshot_pickler(f).dump((code_stamp(), snapshot)))


def load_snapshot(root: Path, name: str) -> SiteSnapshot | None:
    """The SiteSnapshot save_snapshot wrote to `name`; None when it cannot be read or is foreign."""
    try:
        with open(root / CACHE_DIR / name, "rb") as f:
            stamp, snapshot = pickle.load(f)
    except Exception:  # a broken or foreign file only means collecting anew
        return None
    if stamp != code_stamp() or not isinstance(snapshot, SiteSnapshot):
        return None
    return snapshot


def save_cache(root: Path, cache: BuildCache) -> None:
    """Write the cache atomically; a failure to write it never fails the build (it was built).

    Then the content files (save_content) and site snapshots (save_snapshot) older than the ones
    `cache` names are removed (a newer one may be a build's running beside this one, a slower
    one's is then lost: the next build is a clean one), temp files not written to since this
    build began, and sites of links whose build is gone (kept.mirror_folder).
    """
    folder = root / CACHE_DIR
    try:
        _make_folder(folder)
        fd, tmp = tempfile.mkstemp(prefix=f".{CACHE_FILE}.", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(cache, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / CACHE_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        named = {CONTENT_PREFIX: cache.content, SNAPSHOT_PREFIX: cache.snapshot}
        ours = {prefix: os.stat(folder / name).st_mtime_ns if name else None for prefix, name in named.items()}
        for entry in os.scandir(folder):
            name = entry.name
            prefix = name[:name.find("-") + 1]
            if prefix in named and name != named[prefix]:
                if ours[prefix] is None or entry.stat().st_mtime_ns <= ours[prefix]:
                    Path(entry.path).unlink(missing_ok=True)
            elif name.startswith((f".{CONTENT_PREFIX}", f".{SNAPSHOT_PREFIX}", f".{CACHE_FILE}.")):
                # A temp file of a build killed while it wrote (60 MB at 10,000 sheets): one not
                # written to since this build began is no other build's at work.
                if entry.stat(follow_symlinks=False).st_mtime_ns < cache.started_ns:
                    Path(entry.path).unlink(missing_ok=True)
            elif name.startswith(f".{SPARE_DIR}-"):
                # A site of links a build was making (kept.mirror_folder: .site-<pid>-…): left
                # by one killed. Its mtime stops moving once its first folders are made, so it is
                # taken as abandoned only when that process is gone.
                pid = name[len(SPARE_DIR) + 2:].partition("-")[0]
                if not pid.isdigit() or not _alive(int(pid)):
                    shutil.rmtree(entry.path, ignore_errors=True)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    """Whether a process is running (this one is). Taken as running where there is no safe test
    (Windows: os.kill would end it)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's
        return True
    return True


def spare_folder(root: Path, output: Path) -> Path | None:
    """Where the replaced site is kept: .hyoka-cache/site when the cache folder is on the output
    folder's disk (the site is moved, never copied); None when it is not, or cannot be made.

    Not on Windows: there a file's other name (a hard link shared with the published site) cannot
    be removed while a reader (a web server, a virus scanner) has the file open.
    """
    if os.name != "posix":
        return None
    folder = root / CACHE_DIR
    try:
        _make_folder(folder)
        if os.stat(folder).st_dev != os.stat(output.parent).st_dev:
            return None
    except OSError:
        return None
    return folder / SPARE_DIR


def folder_token(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder: the kept site is the one the cache describes only if it matches."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _make_folder(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# hyoka のビルド用キャッシュ（消してもかまいません）\n*\n", encoding="utf-8")


def clear_cache(root: Path) -> None:
    """Forget the last build (`build --no-cache`)."""
    cache_path(root).unlink(missing_ok=True)


def reusable(record: PageRecord | None, key: str, old: str | Path) -> bool:
    """True when the last build wrote this very page text to `old` and the file is unchanged."""
    if record is None or record[0] != key:
        return False
    stat = file_stat(old)
    return stat is not None and record[1:] == stat


def link_or_copy(old: str | Path, new: str | Path) -> bool:
    """Put the last build's file into the new output: a hard link where the disk allows it (True),
    else a copy (False: another inode, to be recorded anew)."""
    try:
        os.link(old, new)
        return True
    except OSError:
        import shutil
        shutil.copy2(old, new)
        return False
