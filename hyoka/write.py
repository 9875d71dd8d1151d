"""Write pages and assets into a temporary folder, then swap it in for the output folder.

Failure safety: until the swap, only the temp folder (`.<output>.build-<pid>-*`) is touched, so a
crash or kill leaves the previous output whole. On Linux the swap is one atomic exchange of the two
folders (renameat2 RENAME_EXCHANGE): readers and a kill at any instant see the old or the new site,
never none. Elsewhere it is two renames; a kill between them leaves the previous site at
`.<output>.old-<pid>`, and the next build puts it back. Swaps hold a lock on the parent folder, so
concurrent builds finish one after the other (the last one wins) instead of mixing. Leftovers of
killed builds are removed by the next build.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

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
    def fill(tmp: Path) -> int:
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


def write_folder(fill: Callable[[Path], int], assets: Path, output: Path,
                 finalize: Callable[[Path], None] | None = None) -> int:
    """`fill(tmp)` writes the pages into a sibling temp folder (returning how many); then the
    assets are copied, `finalize(tmp)` runs, and the folder is swapped in for `output`."""
    output = output.parent.resolve() / output.name  # a symlinked output is replaced, not followed
    parent = output.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(output)
        tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.build-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise _fail("作成", parent, exc) from None
    try:
        count = fill(tmp)
        if assets.is_dir():
            shutil.copytree(assets, tmp / "assets", dirs_exist_ok=True)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a web server must be able to read the folder
        if finalize is not None:
            finalize(tmp)
            kill_point("index")
        swap_in(tmp, output)
        return count
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _fail("書き込み", Path(exc.filename or tmp), exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_file(folder: Path | str, path: str, data: str | bytes, made: set[str]) -> os.stat_result:
    """One file (text as UTF-8, line ends as they are); `made` remembers the folders already
    created. Its stat is what the build cache records.

    Written with os-level calls: a build writes tens of thousands of files, and a file object
    (buffer, text wrapper) and Path objects for each cost ≈ 40 µs more than the write itself.
    """
    target = f"{os.fspath(folder)}/{path}"
    parent = target.rpartition("/")[0]
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    return _write_bytes(target, data if isinstance(data, bytes) else data.encode("utf-8"))


def _write_bytes(target: str, data: bytes) -> os.stat_result:
    """Create or replace the file `target` with `data`; its stat."""
    fd = os.open(target, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:  # a write may take only part of the bytes
            view = view[os.write(fd, view):]
        return os.fstat(fd)
    finally:
        os.close(fd)


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
    parts = [p for p in path.split("/") if p not in ("", ".")]  # as PurePosixPath(path).parts
    if not parts or path.startswith("/") or ".." in parts or "\\" in path:
        raise BuildError(f"ページの書き出し先が出力フォルダの外を指しています: {path}",
                         "開発者に知らせてください（名前から URL を作る処理の誤りです）。")
    key = path.casefold()
    if key in seen:
        raise BuildError(f"2つのページが同じ場所に書き出されます: {seen[key]} と {path}",
                         "大文字・小文字や記号だけが違う名前（課・分野など）がないか確かめてください。")
    seen[key] = path


def swap_in(tmp: Path, output: Path) -> None:
    """Replace `output` with `tmp`, so readers see the old or the new site, whole."""
    with _swap_lock(output.parent):
        if output.exists() and _exchange(tmp, output):
            kill_point("swap")
            _remove(tmp)  # after the exchange, tmp holds the previous site
            return
        old = None
        if output.exists() or output.is_symlink():
            old = output.with_name(f".{output.name}.old-{os.getpid()}")
            if old.exists() or old.is_symlink():
                _remove(old)
            os.rename(output, old)
        kill_point("swap")
        try:
            os.rename(tmp, output)
        except OSError:
            if old is not None:
                os.rename(old, output)  # put the previous site back before reporting
            raise
        if old is not None:
            _remove(old)


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
                _remove(path)


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


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


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
