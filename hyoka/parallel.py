"""Spread a stage over the CPU cores: forked worker processes, each given spans of one list.

Workers are forked (not spawned), so they inherit what the parent has already built (the loaded
site, the compiled templates) without pickling it; only the span bounds go to a worker and only
its small results come back. Where fork is not available (Windows) or one process is asked for,
the same function runs in this process, span by span, with the same results in the same order.

A worker that dies (killed, out of memory) fails the stage with a BuildError instead of hanging,
and workers die with their parent (Linux PR_SET_PDEATHSIG), so a killed build leaves no process
writing behind it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from .problems import BuildError

T = TypeVar("T")
R = TypeVar("R")

JOBS_ENV = "HYOKA_JOBS"

# What the workers run: set in the parent just before forking, inherited by the children.
_WORK: tuple[Callable[[Sequence[Any]], Any], Sequence[Any]] | None = None


def cpu_count() -> int:
    """Cores this process may run on (a CI container's CPU limit shows up in its affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def can_fork() -> bool:
    """True where worker processes can inherit the parent's memory."""
    return "fork" in multiprocessing.get_all_start_methods()


def job_count(requested: int | None = None) -> int:
    """Worker processes for a stage: `requested`, else $HYOKA_JOBS, else one per core (1 = no workers)."""
    if requested is None:
        env = os.environ.get(JOBS_ENV, "").strip()
        requested = int(env) if env.isdigit() else 0
    n = requested if requested > 0 else cpu_count()
    return max(1, n) if can_fork() else 1


def spans(total: int, size: int) -> list[tuple[int, int]]:
    """[0, total) cut into consecutive spans of at most `size` items."""
    size = max(1, size)
    return [(start, min(start + size, total)) for start in range(0, total, size)]


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """For objects that live as long as the build (sheets, the site): no cycle collection while
    they are made, and afterwards the collector leaves them alone (gc.freeze). Otherwise each full
    collection walks millions of objects, and in forked workers it would copy the shared memory."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    # A worker must not run the parent's Ctrl-C handling: the parent stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_span(span: tuple[int, int]) -> Any:
    assert _WORK is not None, "worker started without work"
    fn, items = _WORK
    return fn(items[span[0]:span[1]])


def map_spans(fn: Callable[[Sequence[T]], R], items: Sequence[T], *, jobs: int = 1,
              span: int = 64) -> Iterator[R]:
    """fn(items[a:b]) for consecutive spans, results in order; over `jobs` forked processes.

    The workers start at once: the parent may do other work before it iterates over the results.
    """
    global _WORK
    parts = spans(len(items), span)
    if jobs <= 1 or len(parts) <= 1 or not can_fork():
        return (fn(items[a:b]) for a, b in parts)
    _WORK = (fn, items)
    try:
        executor = ProcessPoolExecutor(max_workers=min(jobs, len(parts)),
                                       mp_context=multiprocessing.get_context("fork"),
                                       initializer=_die_with_parent)
        # With fork, the executor starts every worker at the first submit: they inherit _WORK.
        futures = [executor.submit(_run_span, part) for part in parts]
    finally:
        _WORK = None
    return _results(executor, futures)


def _results(executor: ProcessPoolExecutor, futures: list[Future[R]]) -> Iterator[R]:
    try:
        for future in futures:
            yield future.result()
    except BrokenProcessPool:
        raise BuildError("作業用のプロセスが途中で終了しました（メモリ不足などが考えられます）",
                         "--jobs 1 で1つのプロセスだけで作るか、メモリの空きを確かめてください。") from None
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
