"""The whole pipeline: a build writes the site; a failed build leaves the previous output as it was."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyoka.cli import main
from hyoka.pipeline import run
from hyoka.problems import BuildError, ProblemsFound
from hyoka.write import write_file

from .conftest import FIXTURES

GOOD = (FIXTURES / "invalid" / "consistency-warnings.md").read_text(encoding="utf-8").replace(
    "id: consistency-warnings ", "id: good-sheet ").replace("total: 2381,", "total: 2281,")
BAD = (FIXTURES / "invalid" / "cost-string-comma.md").read_text(encoding="utf-8")


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` with the hash of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(config) -> list[Path]:
    """Temporary build or swap folders left beside the output."""
    return sorted(config.output_dir.parent.glob(f".{config.output_dir.name}.*"))


def test_build_writes_pages(project) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    result = run(config, search=False)
    out = config.output_dir
    assert result.warnings == []
    page = (out / "sheets/good-sheet/2025/index.html").read_text(encoding="utf-8")
    assert '<html lang="ja">' in page
    assert "令和6年度（2024年度）" in page
    assert (out / "index.html").is_file() and (out / "404.html").is_file()
    assert (out / "assets/css/site.css").is_file()
    assert leftovers(config) == []


def test_failed_build_leaves_previous_output_untouched(project) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    run(config, search=False)
    before = tree_digest(config.output_dir)
    sheet = config.content_dir / "2025" / "good-sheet.md"
    sheet.write_text(GOOD.replace("title: スマートフォン", "title: 変更後"), encoding="utf-8")
    (config.content_dir / "2025" / "cost-string-comma.md").write_text(BAD, encoding="utf-8")
    with pytest.raises(ProblemsFound) as exc:
        run(config, search=False)
    assert [p.key for p in exc.value.problems] == ["costs.2024.total"]
    assert tree_digest(config.output_dir) == before
    assert leftovers(config) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_write_failure_leaves_previous_output(project, monkeypatch, jobs: int) -> None:
    """A full disk in this process or in a worker process (the error crosses back to the parent)."""
    config = project({"content/2025/good-sheet.md": GOOD})
    run(config, search=False)
    before = tree_digest(config.output_dir)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("hyoka.write._write_bytes", disk_full)
    with pytest.raises(BuildError) as exc:
        run(config, search=False, jobs=jobs)
    assert "ディスクの空きがありません" in exc.value.message
    assert tree_digest(config.output_dir) == before
    assert leftovers(config) == []


def test_strict_makes_warnings_fail(project) -> None:
    config = project({"content/2025/good-sheet.md": GOOD.replace("total: 2281,", "total: 2381,")})
    assert len(run(config, search=False).warnings) == 1
    with pytest.raises(ProblemsFound):
        run(config, strict=True, search=False)


def test_output_dir_cannot_be_project(project) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    with pytest.raises(BuildError):
        run(replace(config, output_dir=config.root), search=False)


def test_raw_html_in_body_is_escaped(project) -> None:
    body = GOOD + "\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n"
    config = project({"content/2025/good-sheet.md": body})
    run(config, search=False)
    page = (config.output_dir / "sheets/good-sheet/2025/index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'href="javascript:' not in page


def test_cli_exit_codes_and_messages(project, capsys, monkeypatch) -> None:
    config = project({"content/2025/cost-string-comma.md": BAD})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["build", "--no-search"]) == 1
    err = capsys.readouterr().err
    assert ('content/2025/cost-string-comma.md:28: costs.2024.total（事業費・令和6年度・総事業費）: '
            '数値ではありません: "2,281"') in err
    assert "エラー 1件。サイトは書き出していません" in err
    assert "Traceback" not in err
    assert not config.output_dir.exists()
    (config.content_dir / "2025" / "cost-string-comma.md").unlink()
    (config.content_dir / "2025" / "good-sheet.md").write_text(GOOD, encoding="utf-8")
    assert main(["check", "-q"]) == 0
    assert main(["-q", "build", "--no-search"]) == 0
    assert (config.output_dir / "index.html").is_file()


def test_cli_broken_config(project, capsys, monkeypatch) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    (config.root / "site_config.yaml").write_text("city: [\n", encoding="utf-8")
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["build", "--no-search"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("site_config.yaml:2: YAML の書き方に誤りがあります")
    assert "Traceback" not in err


def test_cli_default_command_is_build(project, monkeypatch) -> None:
    config = project({"content/2025/good-sheet.md": GOOD})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main([]) == 0
    assert (config.output_dir / "sheets/good-sheet/2025/index.html").is_file()


def test_write_file_writes_every_byte_when_a_write_takes_only_part(tmp_path, monkeypatch) -> None:
    """os.write may write fewer bytes than asked (a signal, a pipe-like file system): write_file
    goes on until all are written, and returns the file's stat."""
    real_write = os.write
    calls = []

    def short_write(fd, data):
        calls.append(len(data))
        return real_write(fd, bytes(data[:1000]))

    text = "評価シート\n" * 700  # 11,200 bytes in UTF-8
    made: set[str] = set()
    monkeypatch.setattr(os, "write", short_write)
    st = write_file(tmp_path, "a/b/index.html", text, made)
    monkeypatch.undo()
    assert (tmp_path / "a/b/index.html").read_bytes() == text.encode("utf-8")
    assert st.st_size == len(text.encode("utf-8")) and len(calls) == 12
    assert made == {f"{tmp_path}/a/b"}


@pytest.mark.parametrize("gathered", [True, False])
def test_write_file_writes_chunks_in_order_through_short_writes(tmp_path, monkeypatch, gathered) -> None:
    """A list of chunks (the combined downloads: bytes, memoryviews of the last build's mapped
    file) is written as their concatenation, also when writev (or write) takes only part of them,
    and without writev (Windows)."""
    import os

    from hyoka import write as write_mod
    from hyoka.write import write_file

    chunks = [b"head\n", memoryview(b"0123456789" * 300)[5:2900], b"", b",\n", bytearray(b"x" * 5000), b"tail"]
    expected = b"".join(bytes(c) for c in chunks)
    real_writev, real_write = getattr(os, "writev", None), os.write

    def short_writev(fd, buffers):
        return real_write(fd, b"".join(bytes(b) for b in buffers)[:777])

    def short_write(fd, data):
        return real_write(fd, bytes(data)[:777])

    if gathered and real_writev is not None:
        monkeypatch.setattr(os, "writev", short_writev)
    else:
        monkeypatch.delattr(os, "writev", raising=False)
        monkeypatch.setattr(os, "write", short_write)
    monkeypatch.setattr(write_mod, "_IOV_MAX", 2)  # several calls even without short writes
    st = write_file(tmp_path, "data/sheets.json", chunks, set())
    monkeypatch.undo()
    assert (tmp_path / "data/sheets.json").read_bytes() == expected and st.st_size == len(expected)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab./\\課 ", max_size=12))
def test_page_path_check_is_the_parts_rule(path: str) -> None:
    """write._check_page_path refuses what PurePosixPath's parts tell it to: no parts, "..", an
    absolute path or a backslash (it looks at the parts only when the text has "..")."""
    from pathlib import PurePosixPath

    from hyoka.write import _check_page_path
    parts = PurePosixPath(path).parts if path else ()
    bad = not [p for p in parts if p != "/"] or path.startswith("/") or ".." in parts or "\\" in path
    try:
        _check_page_path(path, {})
        refused = False
    except BuildError:
        refused = True
    assert refused == bad
