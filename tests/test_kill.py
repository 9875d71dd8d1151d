"""Failure safety: a build killed at any stage leaves the previous output whole; builds at once do not mix.

`python build.py` runs in a subprocess with HYOKA_TEST_KILL_AT=<stage> (hyoka/write.py kill_point),
so it SIGKILLs itself there: no cleanup code runs, as after a power cut or `kill -9`. Stages: load
(everything read and validated), render (every page in memory), write (first page on disk), index
(Pagefind done), swap (mid-swap). Pagefind is also killed from outside while it runs. The swap is one
atomic exchange on Linux; the two-rename fallback (other systems) is tested for its recovery.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from hyoka.pipeline import run
from hyoka.write import KILL_ENV, clean_leftovers, swap_in

from .conftest import ROOT, make_project
from .test_build import GOOD, leftovers, tree_digest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and renameat2 tests need a POSIX system")

SHEET = "content/2025/good-sheet.md"
NEW_TITLE = "title: 変更後の事業名"


def _digest_without_index(folder: Path) -> dict[str, str]:
    """The tree digest without Pagefind's bundle (its file names differ from run to run)."""
    return {k: v for k, v in tree_digest(folder).items() if not k.startswith("pagefind/")}


def _build_command(config, *args: str) -> list[str]:
    return [sys.executable, str(ROOT / "build.py"), "--config", str(config.root / "site_config.yaml"),
            "build", "-q", *args]


def _build(config, *args: str, kill_at: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    if kill_at:
        env[KILL_ENV] = kill_at
    return subprocess.run(_build_command(config, *args), env=env, capture_output=True, text=True,
                          timeout=300, check=False, **kwargs)


@pytest.fixture
def site(tmp_path: Path):
    """A project built once (without search, for speed), then edited: a finished build would change it.

    Returns (config, digest of the built output, digest the edited content builds to).
    """
    (tmp_path / "project").mkdir()
    config = make_project(tmp_path / "project", {SHEET: GOOD})
    run(config, search=False)
    before = tree_digest(config.output_dir)
    sheet = config.content_dir / "2025" / "good-sheet.md"
    sheet.write_text(GOOD.replace("title: スマートフォン購入補助事務", NEW_TITLE, 1), encoding="utf-8")
    reference = tmp_path / "reference"
    run(replace(config, output_dir=reference), search=False)
    return config, before, _digest_without_index(reference)


@pytest.mark.parametrize("stage", ["load", "render", "write", "index"])
def test_kill_at_stage_leaves_previous_output(site, stage: str) -> None:
    config, before, _ = site
    result = _build(config, *(() if stage == "index" else ("--no-search",)), kill_at=stage)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert tree_digest(config.output_dir) == before
    # From the write stage on, the killed build's half-made folder is there (and only that).
    assert bool(leftovers(config)) == (stage in ("write", "index"))


def test_kill_while_pagefind_runs(site) -> None:
    """The build and Pagefind killed together (process group) while the index is being written."""
    config, before, _ = site
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    proc = subprocess.Popen(_build_command(config), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(config.output_dir.parent.glob(f".{config.output_dir.name}.build-*/pagefind")):
            assert proc.poll() is None, "the build finished before Pagefind was seen running"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert tree_digest(config.output_dir) == before


def test_kill_mid_swap_leaves_a_whole_site(site) -> None:
    """Killed right after the atomic exchange: the new site is in place, whole; the next build
    removes the old one the killed build left aside."""
    config, _, after = site
    result = _build(config, "--no-search", kill_at="swap")
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert tree_digest(config.output_dir) == after
    assert len(leftovers(config)) == 1
    run(config, search=False)
    assert leftovers(config) == [] and tree_digest(config.output_dir) == after


def test_kill_mid_swap_without_exchange_is_recovered(site) -> None:
    """Where the swap is two renames (no renameat2), a kill between them leaves the previous site
    whole beside the output; the next build puts it back before going on."""
    config, before, after = site
    code = ("import sys, hyoka.write as w; w._exchange = lambda a, b: False; from hyoka.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    env = {**{k: v for k, v in os.environ.items() if k != KILL_ENV}, KILL_ENV: "swap"}
    cmd = [sys.executable, "-c", code, *_build_command(config, "--no-search")[2:]]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert not config.output_dir.exists()
    aside = [p for p in leftovers(config) if ".old-" in p.name]
    assert len(aside) == 1 and tree_digest(aside[0]) == before
    clean_leftovers(config.output_dir)  # what the next build does first
    assert tree_digest(config.output_dir) == before and leftovers(config) == []
    run(config, search=False)
    assert tree_digest(config.output_dir) == after and leftovers(config) == []


def test_next_build_cleans_up_after_a_kill(site) -> None:
    config, _, after = site
    assert _build(config, "--no-search", kill_at="write").returncode == -signal.SIGKILL
    assert leftovers(config)
    result = _build(config, "--no-search")
    assert result.returncode == 0, result.stderr
    assert leftovers(config) == [] and tree_digest(config.output_dir) == after


def test_kill_while_updating_the_kept_site(site, tmp_path: Path) -> None:
    """The site a build replaced is kept (.hyoka-cache/site) and the next build updates it: killed
    then, the published site is untouched, the half-updated folder is a leftover like any temp
    folder, and the build after it is right."""
    config, _, _ = site
    run(config, search=False)
    run(config, search=False)  # the site just replaced is kept, described by the cache
    kept = config.root / ".hyoka-cache" / "site"
    assert kept.is_dir()
    before = tree_digest(config.output_dir)
    sheet = config.content_dir / "2025" / "good-sheet.md"
    sheet.write_text(sheet.read_text(encoding="utf-8") + "\n追記しました。\n", encoding="utf-8")
    result = _build(config, "--no-search", kill_at="write")
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert tree_digest(config.output_dir) == before
    assert [p.name.endswith("-kept") for p in leftovers(config)] == [True] and not kept.exists()
    result = _build(config, "--no-search")
    assert result.returncode == 0, result.stderr
    assert leftovers(config) == []
    reference = tmp_path / "reference-2"
    run(replace(config, output_dir=reference), search=False, cache=False)
    assert tree_digest(config.output_dir) == tree_digest(reference)


def test_leftovers_of_a_running_build_are_kept(site) -> None:
    """Cleaning removes only folders of dead processes: a build running beside it keeps its own."""
    config, _, _ = site
    mine = config.output_dir.parent / f".{config.output_dir.name}.build-{os.getppid()}-abc"
    mine.mkdir()
    dead = config.output_dir.parent / f".{config.output_dir.name}.build-999999999-abc"
    dead.mkdir()
    clean_leftovers(config.output_dir)
    assert mine.is_dir() and not dead.exists()
    mine.rmdir()


def test_concurrent_builds_do_not_mix(tmp_path: Path) -> None:
    """Two projects built at once into one output folder: the result is one of them, whole."""
    out = tmp_path / "shared" / "_site"
    configs, digests = [], []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        text = GOOD.replace("title: スマートフォン購入補助事務", f"title: 事業{name.upper()}", 1)
        config = make_project(tmp_path / name, {SHEET: text})
        ref = tmp_path / f"ref-{name}"
        run(replace(config, output_dir=ref), search=False)
        configs.append(config)
        digests.append(tree_digest(ref))
    assert digests[0] != digests[1]
    for _ in range(2):
        procs = [subprocess.Popen(_build_command(c, "--no-search", "--out", str(out)), stderr=subprocess.PIPE,
                                  text=True) for c in configs]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
        assert tree_digest(out) in digests
        assert sorted(p.name for p in out.parent.iterdir()) == ["_site"]


def test_swaps_from_many_threads_always_leave_one_whole_site(tmp_path: Path) -> None:
    """20 swaps from 4 threads while a reader checks: the output never goes missing, ends whole."""
    out = tmp_path / "_site"
    out.mkdir()
    (out / "v.json").write_text(json.dumps({"version": -1, "files": 0}), encoding="utf-8")
    errors: list[BaseException] = []
    missing: list[float] = []
    done = threading.Event()

    def make(version: int) -> Path:
        folder = tmp_path / f".{out.name}.build-{os.getpid()}-{version}"
        folder.mkdir()
        for i in range(30):
            (folder / f"{i}.txt").write_text(str(version), encoding="utf-8")
        (folder / "v.json").write_text(json.dumps({"version": version, "files": 30}), encoding="utf-8")
        return folder

    def worker(versions: range) -> None:
        try:
            for v in versions:
                swap_in(make(v), out)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def reader() -> None:
        while not done.is_set():
            if not out.is_dir():
                missing.append(time.monotonic())

    threads = [threading.Thread(target=worker, args=(range(k * 5, k * 5 + 5),)) for k in range(4)]
    watch = threading.Thread(target=reader)
    watch.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watch.join()
    assert errors == [] and missing == []
    meta = json.loads((out / "v.json").read_text(encoding="utf-8"))
    texts = {(out / f"{i}.txt").read_text(encoding="utf-8") for i in range(30)}
    assert texts == {str(meta["version"])}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]
