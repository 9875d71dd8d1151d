"""Write pages and assets into a temporary folder, then swap it in for the output folder."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .problems import BuildError
from .render import Page


def _fail(action: str, path: Path, exc: OSError) -> BuildError:
    reasons = {
        errno.ENOSPC: ("ディスクの空きがありません", "空き容量を増やしてから、もう一度実行してください。"),
        errno.EACCES: ("書き込みの権限がありません", "出力フォルダの権限を確認してください。"),
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


def write_site(pages: Iterable[Page], assets: Path, output: Path) -> int:
    """Write everything to a sibling temp folder and swap it in; on failure the old output stays."""
    parent = output.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.build-", dir=parent))
    except OSError as exc:
        raise _fail("作成", parent, exc) from None
    try:
        count = 0
        made: set[Path] = set()
        for page in pages:
            target = tmp / page.path
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_text(page.text, encoding="utf-8", newline="\n")
            count += 1
        if assets.is_dir():
            shutil.copytree(assets, tmp / "assets", dirs_exist_ok=True)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a web server must be able to read the folder
        swap_in(tmp, output)
        return count
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _fail("書き込み", Path(exc.filename or tmp), exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_in(tmp: Path, output: Path) -> None:
    """Replace `output` with `tmp` using renames, so readers see the old or the new site, whole."""
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.rename(output, old)
    try:
        os.rename(tmp, output)
    except OSError:
        if old is not None:
            os.rename(old, output)  # put the previous site back before reporting
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
