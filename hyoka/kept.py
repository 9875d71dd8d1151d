"""The site a build keeps (.hyoka-cache/site/, hyoka/cache.py) as the next build finds it: listed,
and told against its files' records. Only the standard library and hyoka's cache: the command line
starts the walk (start_listing) before the rest of hyoka is imported, so that it is done by the
time the build needs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import CACHE_DIR, SPARE_DIR, Stat, cache_path, folder_token, load_cache, stat_key
from .parallel import Background, can_fork, job_count

# Each entry of a folder, every level, each folder before what it holds: (path in the folder,
# "d" folder / "f" regular file / "o" anything else (a link, a pipe), stat_key of a file).
Listing = list[tuple[str, str, "Stat | None"]]


def list_tree(folder: Path | str) -> Listing:
    """What prune reads of a folder (a link to a folder is an entry, not walked)."""
    out: Listing = []

    def visit(where: str, prefix: str) -> None:
        with os.scandir(where) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    out.append((rel, "d", None))
                    visit(entry.path, rel + "/")
                elif entry.is_file(follow_symlinks=False):
                    out.append((rel, "f", stat_key(entry.stat(follow_symlinks=False))))
                else:
                    out.append((rel, "o", None))

    visit(os.fspath(folder), "")
    return out


def _folders_of(paths: Iterable[str]) -> set[str]:
    """Every folder above each of `paths`."""
    folders: set[str] = set()
    for parent in {path.rpartition("/")[0] for path in paths}:
        while parent and parent not in folders:  # (its parents are there once it is)
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    return folders


@dataclass(frozen=True)
class KeptListing:
    """What list_tree found in a kept site, told against its files' records (summarize_listing):
    what differs from them, which is little. Made by the process that walks the site (it reads
    the records from the build cache itself): the build gets these few entries instead of 35,000
    at 10,000 sheets (unpickling them and going through them took ≈ 60 ms of a build after an
    edit)."""

    stamp: Any  # which records it was told against (pipeline._listed)
    not_intact: frozenset[str]  # recorded files that are not there with their recorded stat
    odd: tuple[tuple[str, str, Stat | None], ...]  # entries neither such a file nor a folder
    dirs: tuple[str, ...]  # folders above no recorded file that is there as recorded


def summarize_listing(listing: Listing, records: dict[str, Any], stamp: Any) -> KeptListing:
    """A kept site's listing against the records of its files (cache.PageRecord: a fingerprint,
    then the file's stat_key)."""
    intact: set[str] = set()
    odd = []
    dirs = []
    for rel, kind, st in listing:
        if kind == "f":
            record = records.get(rel)
            if record is not None and record[1:] == st:
                intact.add(rel)
                continue
            odd.append((rel, kind, st))
        elif kind == "d":
            dirs.append(rel)
        else:
            odd.append((rel, kind, st))
    above = _folders_of(intact)
    return KeptListing(stamp, frozenset(records.keys() - intact), tuple(odd),
                       tuple(d for d in dirs if d not in above))


def mirror_folder(keep_at: Path) -> Path:
    """Where this build's site of links is made (pipeline._mirrored, EarlyMirror): a name with its process id,
    which save_cache removes once that process is gone (killed, or failed before removing it)."""
    return keep_at.with_name(f".{keep_at.name}-{os.getpid()}-{os.urandom(4).hex()}")


def mirror(source: Path, paths: Iterable[str], folder: Path) -> Listing:
    """Make `folder` (new) a copy of `source`'s files at `paths` made of hard links (a site for a
    build to update, when none was kept: pipeline._run); what list_tree would give for it.

    The links share the published files' inodes: the build cache's records of those files are
    theirs too, and a file changed since it recorded one has another stat (its stat is taken
    from the link). Raises OSError when a file cannot be linked.
    """
    base, src = os.fspath(folder), os.fspath(source)
    os.mkdir(base)
    listing: Listing = []
    made = {""}
    for path in paths:
        parent = path.rpartition("/")[0]
        if parent not in made:
            missing = []
            while parent not in made:
                missing.append(parent)
                parent = parent.rpartition("/")[0]
            for where in reversed(missing):
                os.mkdir(f"{base}/{where}")
                made.add(where)
                listing.append((where, "d", None))
        target = f"{base}/{path}"
        os.link(f"{src}/{path}", target)
        listing.append((path, "f", stat_key(os.lstat(target))))
    return listing


def listed(folder: Path, root: Path | None = None) -> tuple[int, Listing | KeptListing]:
    """The kept site's listing (list_tree), and its folder's ctime taken before: the listing is
    used only if that is still the folder's ctime when the build claims it (moved by another build
    meanwhile and back, it has its inode but another ctime).

    With the project's `root`, the listing told against the records of the kept site its
    build.pickle holds (KeptListing), when they are of this very folder: stamped with that cache's
    start and the folder's token, which the build compares with its own (pipeline._kept_listing)."""
    ctime = os.lstat(folder).st_ctime_ns
    listing = list_tree(folder)
    cache = load_cache(root, content=False) if root is not None else None
    if cache is not None and cache.spare is not None:
        token = folder_token(folder)
        if token == cache.spare.token:
            return ctime, summarize_listing(listing, cache.spare.pages, ("spare", cache.started_ns, token))
    return ctime, listing


def mirror_told(output: Path, paths: Iterable[str], folder: Path, records: dict[str, Any],
                started: int) -> tuple[Path, KeptListing]:
    """mirror of the files at `paths` into `folder`, told against `records` (the last build's
    pages; `started`: its start), stamped for pipeline._kept_listing. Nothing is left when it fails."""
    try:
        listing = mirror(output, paths, folder)
        return folder, summarize_listing(listing, records, ("pages", started, folder_token(folder)))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@dataclass
class EarlyMirror:
    """A site of links to the published files being made by another process (early_mirror), in
    `folder`, for a build that finds no kept site: the build takes it (pipeline._run) or cancels it."""

    work: Background
    folder: Path

    def cancel(self) -> None:
        """Stop it and remove what it made (nothing is left once the build took the folder)."""
        self.work.cancel()
        shutil.rmtree(self.folder, ignore_errors=True)


def early_mirror(root: Path, folder: Path) -> tuple[Path, KeptListing] | None:
    """A site of links in `folder` to the files the last build published and recorded
    (build.pickle's pages), told against those records (mirror_told); None when
    build.pickle cannot be used or there is no published folder. Nothing is left when it fails."""
    cache = load_cache(root, content=False)
    if cache is None or not os.path.isdir(cache.output):
        return None
    return mirror_told(Path(cache.output), cache.pages, folder, cache.pages, cache.started_ns)


def start_listing(root: Path, jobs: int | None = None) -> Background | EarlyMirror | None:
    """The walk of the project's kept site (listed, told against build.pickle's records), started
    in another process now, for pipeline.run (`listing`). Where no site is kept but the last
    build's cache is there (the first build after a clean one), a site of links to be updated
    instead (EarlyMirror: ≈ 0.15 s sooner than the build could start it). None when there is
    neither, or no process can be forked."""
    kept_at = root / CACHE_DIR / SPARE_DIR
    try:
        if job_count(jobs) <= 1 or not can_fork():
            return None
        if kept_at.is_dir():
            return Background(lambda: listed(kept_at, root), jobs=2)
        if not cache_path(root).is_file():
            return None
    except OSError:  # the cache folder cannot be read: the build says so itself
        return None
    folder = mirror_folder(kept_at)
    return EarlyMirror(Background(lambda: early_mirror(root, folder), jobs=2), folder)
