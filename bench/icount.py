"""Instructions a stage of the build takes, counted by valgrind's callgrind: the same count run
after run, whatever else the machine is doing (its wall times vary by up to half here).

    python3 bench/icount.py [--corpus DIR | --sheets 400] [--stages load render data] [--code DIR ...]

For each code tree (default: this one) and stage, a child process imports hyoka from that tree,
loads and collects the corpus (not counted), runs the stage once to fill its caches, then runs it
again inside functools.reduce: only instructions inside that C function are counted
(`--toggle-collect=functools_reduce`). Stages:

- load: read and validate every content file (pipeline.load_sheet), one process;
- render: render every page of the site (render.render_job, one environment);
- data: each sheet's share of the open data (opendata.sheet_data and share_bytes).

Compare two trees, e.g. the last commit in a worktree against the working tree:

    git worktree add /tmp/base HEAD --detach
    python3 bench/icount.py --code /tmp/base . --stages render

Python compiles each tree's modules first (compileall), so that both start alike. Needs valgrind
(Debian: apt-get install valgrind); one stage of 400 sheets takes about a minute. Instructions are
not time (a cache miss costs more than an add), but for Python code the interpreter's work is
most of it: a change that removes 5 % of a stage's instructions took about that off its CPU time.
`--no-valgrind` runs the same stages and prints their CPU time instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STAGES = ("load", "render", "data")


def child(code: Path, corpus: Path, stage: str, count: bool) -> None:
    """Run `stage` twice on `corpus` with hyoka from `code`; the second run inside functools.reduce."""
    sys.path.insert(0, str(code))
    import functools
    import gc
    import time

    from hyoka import opendata, pipeline, render
    from hyoka.collect import collect
    from hyoka.config import load_config

    config = load_config(corpus, corpus / "site_config.yaml")
    sheets, _ = pipeline.load_and_validate(config, jobs=1)
    site = collect(sheets, config)
    gc.freeze()
    templates = config.root / "templates"
    items: list
    if stage == "load":
        items = sorted(config.content_dir.rglob("*.md"))

        def step(acc: int, path: Path) -> int:
            pipeline.load_sheet(path, config)
            return acc
    elif stage == "render":
        items = render.plan_pages(site)
        env = render.environment(site, templates)
        render.compile_templates(env, items, templates)

        def step(acc: int, job: render.PageJob) -> int:
            render.render_job(env, site, templates, job)
            return acc
    else:
        items = list(site.sheets)
        tables, base = opendata.tables(config), opendata.site_url(config)

        def step(acc: int, sheet) -> int:  # type: ignore[no-untyped-def]
            opendata.share_bytes(opendata.sheet_data(sheet, tables, base))
            return acc
    functools.reduce(step, items, 0)  # caches filled, first-time costs paid
    start = time.process_time()
    functools.reduce(step, items, 0)  # what callgrind counts
    if not count:
        print(f"{time.process_time() - start:.3f}")


def measure(code: Path, corpus: Path, stage: str, valgrind: bool) -> str:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "hyoka")], check=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", str(code), str(corpus), stage]
    if not valgrind:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip() + " s CPU"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
                        f"--callgrind-out-file={out}", os.path.realpath(sys.executable), *cmd[1:], "count"],
                       check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return f"{int(line.split()[1]):,} instructions"
    raise RuntimeError("callgrind wrote no total")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "_child":
        child(Path(argv[1]), Path(argv[2]), argv[3], count=len(argv) > 4)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, help="a project folder (bench/generate.py makes one)")
    p.add_argument("--sheets", type=int, default=400, help="without --corpus: generate this many sheets")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    p.add_argument("--code", type=Path, nargs="+", default=[ROOT], help="code trees to compare (hyoka/ in each)")
    p.add_argument("--no-valgrind", action="store_true", help="print CPU seconds instead (noisy)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(tmp) / "corpus"
            subprocess.run([sys.executable, str(BENCH / "generate.py"), str(args.sheets), str(corpus)],
                           check=True, capture_output=True)
        for stage in args.stages:
            for code in args.code:
                print(f"{stage:7s} {code.resolve()}: {measure(code.resolve(), corpus.resolve(), stage, not args.no_valgrind)}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
