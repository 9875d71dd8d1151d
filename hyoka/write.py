"""Write pages and assets into a temporary folder, then swap it in for the output folder.

Failure safety: until the swap, only the temp folder (`.<output>.build-<pid>-*`) is touched, so a
crash or kill leaves the previous output whole. On Linux the swap is one atomic exchange of the two
folders (renameat2 RENAME_EXCHANGE): readers and a kill at any instant see the old or the new site,
never none. Elsewhere it is two renames; a kill between them leaves the previous site at
`.<output>.old-<pid>`, and the next build puts it back. Swaps hold a lock on the parent folder, so
concurrent builds finish one after the other (the last one wins) instead of mixing. Leftovers of
killed builds are removed by the next build.

With the build cache, the site the swap replaces is not removed but kept (`keep_old`, in
.hyoka-cache/), and the next build moves it in as its temp folder and updates it (`start_from`):
only the files that differ are written or linked, and none is removed and linked again. The
output is never written into: the kept site is private until it is swapped in whole. Files in it
may be hard links shared with the published site, so a file is never rewritten in place there
(write_file(…, replace=True) makes a new file).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .cache import Stat
from .kept import KeptListing, Listing, _folders_of, list_tree, mirror  # noqa: F401  (mirror: write's own before)
from .problems import BuildError
from .render import Page

KILL_ENV = "HYOKA_TEST_KILL_AT"


def kill_point(stage: str) -> None:
    """Test hook: HYOKA_TEST_KILL_AT=<stage> makes the build SIGKILL itself here (tests/test_kill.py).

    Stages: load, render, write (after the first page), index (after Pagefind), swap (mid-swap).
    """
    if os.environ.get(KILL_ENV) == stage:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _fail(action: str, path: Path, exc: OSError) -> BuildError:
    reasons = {
        errno.ENOSPC: ("ディスクの空きがありません", "空き容量を増やしてから、もう一度実行してください。"),
        errno.EDQUOT: ("ディスクの使用量の上限（クォータ）を超えました", "不要なファイルを消してから、もう一度実行してください。"),
        errno.EACCES: ("書き込みの権限がありません", "出力フォルダの権限を確認してください。"),
        errno.EPERM: ("書き込みの権限がありません", "出力フォルダの権限を確認してください。"),
        errno.EROFS: ("読み取り専用のディスクです", "書き込めるフォルダを output_dir に指定してください。"),
    }
    reason, hint = reasons.get(exc.errno or 0, (exc.strerror or str(exc), None))
    return BuildError(f"{path} を{action}できません: {reason}", hint)


def check_output_dir(output: Path, root: Path, content: Path) -> None:
    """Refuse an output folder that would replace the project or its content."""
    out = output.resolve()
    for guarded in (root.resolve(), content.resolve()):
        if out == guarded or guarded.is_relative_to(out):
            raise BuildError(f"出力フォルダ {output} はプロジェクトや content を含むため使えません",
                             "site_config.yaml の output_dir を _site などにしてください。")


def write_site(pages: Iterable[Page], assets: Path, output: Path,
               finalize: Callable[[Path], None] | None = None,
               on_page: Callable[[int], None] | None = None) -> int:
    """Write `pages` to a sibling temp folder and swap it in; on failure the old output stays.

    `finalize(tmp)` runs on the complete temp folder before the swap (the search index stage).
    """
    def fill(tmp: Path, updating: bool) -> int:
        assert not updating, "write_site always fills an empty folder"
        count = 0
        made: set[str] = set()
        seen: dict[str, str] = {}
        for page in pages:
            _check_page_path(page.path, seen)
            write_file(tmp, page.path, page.text, made)
            count += 1
            if on_page is not None:
                on_page(1)
            if count == 1:
                kill_point("write")
        return count

    return write_folder(fill, assets, output, finalize)


def write_folder(fill: Callable[[Path, bool], int], assets: Path, output: Path,
                 finalize: Callable[[Path], None] | None = None, *, start_from: Path | None = None,
                 keep_old: Path | None = None, remove_old: Callable[[Path], None] | None = None) -> int:
    """`fill(tmp, updating)` writes the pages into a sibling temp folder (returning how many); then
    the assets are copied, `finalize(tmp)` runs, and the folder is swapped in for `output`.

    `start_from`: a site kept by an earlier build, moved in as the temp folder when it can be
    (`updating` is then True: `fill` must make it the new site, removing what does not belong).
    `keep_old`: where the site the swap replaces is kept (instead of removed) for the next build.
    `remove_old`: how a replaced site (under a temp name of this build by then) is removed, when it
    is not kept (default: remove_tree, at once).
    """
    output = output.parent.resolve() / output.name  # a symlinked output is replaced, not followed
    parent = output.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(output)
        tmp = _claim(start_from, parent / f".{output.name}.build-{os.getpid()}-kept")
        updating = tmp is not None
        if tmp is None:
            tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.build-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise _fail("作成", parent, exc) from None
    try:
        if updating:
            # The assets are copied afresh into every site: copy2 keeps a file's mode, and a
            # read-only asset could not be overwritten in a kept site.
            remove_tree(tmp / "assets")
        count = fill(tmp, updating)
        if assets.is_dir():
            shutil.copytree(assets, tmp / "assets", dirs_exist_ok=True)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a web server must be able to read the folder
        if finalize is not None:
            finalize(tmp)
            kill_point("index")
        swap_in(tmp, output, keep_old, remove_old or remove_tree)
        return count
    except OSError as exc:
        remove_tree(tmp)
        raise _fail("書き込み", Path(exc.filename or tmp), exc) from None
    except BaseException:
        remove_tree(tmp)
        raise


def _claim(kept: Path | None, tmp: Path) -> Path | None:
    """Move a kept site to `tmp` (a temp folder's name: a killed build's is cleaned up as any).

    One rename: of two builds, one gets it. A kept site is never removed where it lies (see
    _keep_or_remove), so what is claimed is whole. Which build kept it does not matter for the
    result: each of its files is used only if it is the very file (inode) the cache recorded.
    """
    if kept is None:
        return None
    try:
        os.rename(kept, tmp)
    except OSError:  # gone, or taken by a build running beside this one
        return None
    return tmp


def remove_tree(path: Path) -> None:
    """Remove a file, link or folder; in a folder, read-only files and folders too (copied assets
    keep their mode). What cannot be removed is left (a leftover the next build tries again)."""
    def retry(func: Callable[..., Any], name: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            if not os.path.isdir(name) or os.path.islink(name):
                os.chmod(name, stat.S_IWRITE | stat.S_IREAD)
            func(name)
        except OSError:
            pass
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


def prune(folder: Path | str, paths: Iterable[str], listing: Listing | None = None) -> dict[str, Stat]:
    """Make a kept site hold only files at `paths`: everything else in `folder` is removed (files
    and folders the new site does not have, a folder where a file goes, links). Returns the
    stat_key of each file left, for the build cache's records to be checked against.

    `listing`: what list_tree gave for `folder` (walked beforehand, while the build loaded its
    content: pipeline._run); else the folder is walked here.
    """
    files = set(paths)
    folders = _folders_of(files)
    base = os.fspath(folder)
    entries = list_tree(base) if listing is None else listing
    # The usual kept site holds nothing else (after an edit: 35,000 entries at 10,000 sheets, read
    # at once, not one by one).
    present: dict[str, Stat] = {rel: st for rel, kind, st in entries if kind == "f" and rel in files}
    if len(present) + sum(kind == "d" and rel in folders for rel, kind, _ in entries) == len(entries):
        return present
    present = {}
    skip = None  # a folder removed whole: the entries under it follow it in the listing
    for rel, kind, st in entries:
        if skip is not None and rel.startswith(skip):
            continue
        skip = None
        if kind == "d":
            if rel not in folders:
                with contextlib.suppress(FileNotFoundError):  # a listing older than the folder
                    shutil.rmtree(f"{base}/{rel}")
                skip = rel + "/"
        elif kind == "f" and rel in files:
            assert st is not None
            present[rel] = st
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{base}/{rel}")
    return present


def prune_kept(folder: Path | str, paths: Iterable[str], records: dict[str, Any], kept: KeptListing) -> set[str]:
    """prune, from a KeptListing of `folder` against `records`: the same files and folders are
    removed. Returns the files at `paths` that are there as recorded (for the build to keep)."""
    files = set(paths)
    folders = _folders_of(files)
    intact = records.keys() - kept.not_intact
    unwanted = intact - files
    # The folders there: those above each file as recorded, and the others the walk found. Those
    # the new site has no file under are removed whole (the highest of them).
    gone = {d for d in _folders_of(unwanted) if d not in folders}
    gone.update(d for d in kept.dirs if d not in folders)
    base = os.fspath(folder)
    under: tuple[str, ...] = ()  # the folders removed, each with a slash
    for rel in sorted(gone):  # a folder before what it holds
        if under and rel.startswith(under):
            continue
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(f"{base}/{rel}")
        under += (f"{rel}/",)
    for rel in unwanted:
        if not under or not rel.startswith(under):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{base}/{rel}")
    for rel, kind, _ in kept.odd:
        if kind == "f" and rel in files:
            continue  # not as recorded: written anew
        if not under or not rel.startswith(under):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{base}/{rel}")
    return intact & files




def write_file(folder: Path | str, path: str, data: str | bytes | Sequence[Any], made: set[str], *,
               replace: bool = False) -> os.stat_result:
    """One file (text as UTF-8, line ends as they are; or a list of byte chunks written one after
    the other, never joined: the combined downloads are 100 MB at 10,000 sheets); `made`
    remembers the folders created. Its stat is what the build cache records. With `replace` (a
    kept site being updated), a file already there is unlinked first: it may be a hard link to a
    published file, which must not change.

    Written with os-level calls: a build writes tens of thousands of files, and a file object
    (buffer, text wrapper) and Path objects for each cost ≈ 40 µs more than the write itself.
    """
    target = f"{os.fspath(folder)}/{path}"
    if replace:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd = _create(target, made)
    try:
        return _write_bytes(fd, data) if isinstance(data, bytes) else _write_chunks(fd, data)
    finally:
        os.close(fd)


def _create(target: str, made: set[str]) -> int:
    """The file `target`, created (or emptied) and opened for writing; its folder made when it is
    missing. Opened first: most files go into a folder that is there (a sheet page beside its
    sheet.json, written by another span or worker), where a mkdir fails, then a stat tells a folder
    from a file (≈ 2 % of a clean build's CPU for 10,000 sheet pages)."""
    parent = target.rpartition("/")[0]
    if parent not in made:
        try:
            return os.open(target, _WRITE_FLAGS, 0o666)
        except FileNotFoundError:  # no folder there (yet)
            make_folder(parent)
            made.add(parent)
    return os.open(target, _WRITE_FLAGS, 0o666)


def make_folder(path: str) -> None:
    """os.makedirs(path, exist_ok=True), with one mkdir where the parent folder is there (the usual
    case: a page's own folder): makedirs first tests that the parent exists, a stat for each of the
    12,700 page folders at 10,000 sheets."""
    try:
        os.mkdir(path)
    except FileNotFoundError:  # its parent is missing
        os.makedirs(path, exist_ok=True)
    except OSError:
        if not os.path.isdir(path):  # as makedirs: there already (a file in its place fails)
            raise


def _write_bytes(fd: int, data: bytes) -> os.stat_result:
    """Write `data` to the new file `fd`; its stat."""
    view = memoryview(data)
    while view:  # a write may take only part of the bytes
        view = view[os.write(fd, view):]
    return os.fstat(fd)


def _write_chunks(fd: int, chunks: Sequence[Any]) -> os.stat_result:
    """Write the chunks (bytes-like) one after the other to the new file `fd`; its stat. Gathered
    by writev, up to IOV_MAX chunks a call, where the system has it."""
    writev = getattr(os, "writev", None)
    if writev is None:  # Windows: one write, not one a chunk (tens of thousands)
        return _write_bytes(fd, b"".join(chunks))
    views = [v for v in map(memoryview, chunks) if v.nbytes]
    i = 0
    while i < len(views):
        n = writev(fd, views[i:i + _IOV_MAX])
        while n and i < len(views):  # past the chunks written, into the one written in part
            size = views[i].nbytes
            if n >= size:
                n -= size
                i += 1
            else:
                views[i] = views[i][n:]
                n = 0
    return os.fstat(fd)


def _iov_max() -> int:
    try:
        return max(1, min(os.sysconf("SC_IOV_MAX"), 1024))
    except (AttributeError, ValueError, OSError):
        return 16


_IOV_MAX = _iov_max()


# O_BINARY: on Windows, a descriptor opened without it writes \n as \r\n.
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def check_paths(paths: Iterable[str]) -> None:
    """Every path inside the output folder, and no two in one file (see _check_page_path)."""
    seen: dict[str, str] = {}
    for path in paths:
        _check_page_path(path, seen)


def _check_page_path(path: str, seen: dict[str, str]) -> None:
    """Every page inside the output folder, and no two in one file (a page silently lost).

    Case is folded: on Windows and macOS disks 「DX推進課」 and 「dx推進課」 are one folder.
    """
    # As PurePosixPath(path).parts: none, or one of them "..". Split into parts only when the text
    # could be such (32,000 paths at 10,000 sheets).
    odd = ".." in path or not path.strip("./")
    if (path.startswith("/") or "\\" in path
            or (odd and (".." in (parts := [p for p in path.split("/") if p not in ("", ".")]) or not parts))):
        raise BuildError(f"ページの書き出し先が出力フォルダの外を指しています: {path}",
                         "開発者に知らせてください（名前から URL を作る処理の誤りです）。")
    key = path.casefold()
    if key in seen:
        raise BuildError(f"2つのページが同じ場所に書き出されます: {seen[key]} と {path}",
                         "大文字・小文字や記号だけが違う名前（課・分野など）がないか確かめてください。")
    seen[key] = path


def swap_in(tmp: Path, output: Path, keep_old: Path | None = None,
            remove: Callable[[Path], None] = remove_tree) -> None:
    """Replace `output` with `tmp`, so readers see the old or the new site, whole; the old one is
    removed (by `remove`), or moved to `keep_old`."""
    with _swap_lock(output.parent):
        if output.exists() and _exchange(tmp, output):
            kill_point("swap")
            _keep_or_remove(tmp, keep_old, output, remove)  # after the exchange, tmp holds the previous site
            return
        old = None
        if output.exists() or output.is_symlink():
            old = output.with_name(f".{output.name}.old-{os.getpid()}")
            if old.exists() or old.is_symlink():
                remove_tree(old)
            os.rename(output, old)
        kill_point("swap")
        try:
            os.rename(tmp, output)
        except OSError:
            if old is not None:
                os.rename(old, output)  # put the previous site back before reporting
            raise
        if old is not None:
            _keep_or_remove(old, keep_old, output, remove)


def _keep_or_remove(old: Path, keep: Path | None, output: Path, remove: Callable[[Path], None] = remove_tree) -> None:
    """Move the replaced site to `keep`, or remove it.

    A site already at `keep` is first renamed to a temp name of this build and removed there: a
    build claiming `keep` meanwhile (write._claim) gets it whole or not at all, never a folder
    being emptied under it.
    """
    if keep is None or not old.is_dir() or old.is_symlink():
        remove(old)
        return
    trash = None
    if os.path.lexists(keep):
        trash = output.with_name(f".{output.name}.build-{os.getpid()}-replaced")
        try:
            os.rename(keep, trash)
        except OSError:
            trash = None
    try:
        os.rename(old, keep)
    except OSError:  # the name is taken (by another build), or not on this disk after all
        remove(old)
    if trash is not None:
        remove(trash)


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>build|old)-(?P<pid>\d+)(?:-.*)?$")


def clean_leftovers(output: Path) -> None:
    """Remove the temp folders of killed builds; put back a previous site a killed swap left aside."""
    if os.name != "posix":  # no safe "is this process alive" test elsewhere (os.kill would end it)
        return
    with _swap_lock(output.parent):
        for path in sorted(output.parent.glob(f".{glob_escape(output.name)}.*-*")):
            m = _LEFTOVER.match(path.name)
            if not m or m["name"] != output.name or _alive(int(m["pid"])):
                continue
            if m["kind"] == "old" and not (output.exists() or output.is_symlink()):
                os.rename(path, output)  # killed between the two renames of a swap
            else:
                remove_tree(path)


def glob_escape(name: str) -> str:
    """A folder name as a literal glob pattern."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@contextlib.contextmanager
def _swap_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` (flock on the folder itself: no lock file to leave behind)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; swaps there are two renames, as before
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without renameat2 (glibc < 2.28, musl < 1.2.5?)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # the file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))
