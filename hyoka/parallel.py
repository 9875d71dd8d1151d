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
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .problems import BuildError

if TYPE_CHECKING:  # imported where a pool is made: a build after an edit makes none
    from concurrent.futures import Future, ProcessPoolExecutor

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
    """True where worker processes can inherit the parent's memory (multiprocessing's "fork"
    start method: not on Windows)."""
    return sys.platform != "win32" and hasattr(os, "fork")


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


# The first generation's threshold while a build runs (Python 3.11's default is 700).
YOUNG_THRESHOLD = 100_000


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """For a build: the cycle collector runs after YOUNG_THRESHOLD new objects, not after 700.

    Rendering makes millions of short-lived objects and no cycles (a page's strings, tuples and
    dicts are freed as it is written; tests/test_parallel.py checks that rendering the bundled
    site leaves nothing for the collector), so each of the thousands of collections found nothing,
    ≈ 2 % of rendering. Cycles are still collected, only later; forked workers inherit it. A
    threshold of 0 (automatic collection off) stays 0.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], YOUNG_THRESHOLD) if old[0] else 0, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


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
              span: int = 64, parent_helps: bool = False, ahead: int = 2,
              decode: Callable[[R], R] | None = None, in_order: bool = True) -> Iterator[R]:
    """fn(items[a:b]) for consecutive spans, results in order (but see `in_order`); over `jobs`
    forked processes.

    The workers start at once: the parent may do other work before it iterates over the results.

    With `parent_helps`, the parent is one of the `jobs`: while it iterates, it runs spans from
    the front itself, and the workers are given spans from the back, a few at a time, until the two
    meet. For a stage whose parent would otherwise only unpickle results: its own spans' results
    are never pickled (the load: ≈ 1 CPU-s of 10,000 sheets unpickled, on a core the workers
    need).

    `decode` is applied in the parent to each result a worker made (not to the parent's own); with
    `parent_helps`, between two of the parent's own spans once the result is there (so that it
    decodes while the workers still work, not all at the end). `ahead`: with `parent_helps`, the
    spans each worker is given ahead (more where one of the parent's spans may take long).
    Without `in_order` (with `parent_helps`), a worker's result is given once it is there (between
    two of the parent's own spans, then as the rest come), not after every span before it.
    """
    global _WORK
    parts = spans(len(items), span)
    workers = jobs - 1 if parent_helps else jobs
    if jobs <= 1 or len(parts) <= 1 or not can_fork():
        return (fn(items[a:b]) for a, b in parts)
    _WORK = (fn, items)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    try:
        executor = ProcessPoolExecutor(max_workers=min(workers, len(parts)),
                                       mp_context=multiprocessing.get_context("fork"),
                                       initializer=_die_with_parent)
        _widen_pipe(executor)
        # With fork, the executor starts every worker at the first submit: they inherit _WORK.
        try:
            if parent_helps:
                shared = _Shared(executor, parts, workers, ahead)
                shared.top_up()
            else:
                futures = [executor.submit(_run_span, part) for part in parts]
        except BrokenProcessPool:  # a worker died before every span was given out
            executor.shutdown(wait=True, cancel_futures=True)
            raise _broken() from None
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise
    finally:
        _WORK = None
    if parent_helps:
        return _Closing(shared.results(lambda i: fn(items[parts[i][0]:parts[i][1]]), decode, in_order), executor)
    return _Closing(_results(executor, futures, decode), executor)


def _widen_pipe(executor: ProcessPoolExecutor) -> None:
    """Let the workers' results pipe hold 1 MB (Linux; 64 KB by default). A result larger than the
    pipe (a span of 100 loaded sheets, pickled: ≈ 0.6 MB) kept its worker waiting, a chunk at a
    time, until this process's thread that reads them got its turn (while this process loads
    spans of its own: ≈ 2 % of loading 10,000 sheets). Left as it is where that cannot be done."""
    try:
        import fcntl
        fcntl.fcntl(executor._result_queue._writer.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def _results(executor: ProcessPoolExecutor, futures: list[Future[R]],
             decode: Callable[[R], R] | None = None) -> Iterator[R]:
    from concurrent.futures.process import BrokenProcessPool
    try:
        for i, future in enumerate(futures):
            futures[i] = None  # type: ignore[call-overload]  # (its result not held here once given)
            yield future.result() if decode is None else decode(future.result())
    except BrokenProcessPool:
        raise _broken() from None
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _Closing:
    """map_spans' results from its workers (`gen`, which stops them once the last result is taken
    or a result raises), with close() stopping them too, started or not: a caller that fails
    before it has taken them all closes it (a generator's `finally` runs only once it has
    started); as does dropping it (the spans not begun are dropped, those running let finish)."""

    def __init__(self, gen: Iterator[Any], executor: ProcessPoolExecutor) -> None:
        self._gen, self._executor = gen, executor

    def __iter__(self) -> _Closing:
        return self

    def __next__(self) -> Any:
        return next(self._gen)

    def close(self) -> None:
        try:
            self._gen.close()
        finally:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _broken() -> BuildError:
    """What a stage fails with when a worker died (killed, out of memory)."""
    return BuildError("作業用のプロセスが途中で終了しました（メモリ不足などが考えられます）",
                      "--jobs 1 で1つのプロセスだけで作るか、メモリの空きを確かめてください。")


class _Shared:
    """map_spans with the parent helping: the spans are handed out from both ends (the parent
    takes the front, the workers the back), all in the parent, so none is run twice."""

    def __init__(self, executor: ProcessPoolExecutor, parts: list[tuple[int, int]], workers: int,
                 ahead: int = 2) -> None:
        self.in_flight = ahead  # spans given to each worker ahead (2: one running, the next one queued)
        self.executor = executor
        self.parts = parts
        self.workers = workers
        self.front = 0  # spans before this one are the parent's
        self.back = len(parts)  # spans from this one on are the workers'
        self.futures: dict[int, Future[Any]] = {}
        # At first, no more than the workers' share of the spans, and one each when there are few:
        # the parent must not be left idle. Then `in_flight` each.
        share = max(1, len(parts) * workers // (workers + 1))
        few = len(parts) < 4 * (workers + 1)
        self.most = min(self.in_flight * workers, share, workers if few else share)

    def top_up(self) -> None:
        """Give the workers spans from the back until they have `most` not done, keeping at least
        one for the parent (it runs the front one next). Never more than the workers' share of
        what is left to do: near the end the parent would otherwise wait for spans given ahead."""
        pending = sum(not future.done() for future in self.futures.values())
        left = pending + self.back - self.front
        most = min(self.most, max(1, left * self.workers // (self.workers + 1)))
        while self.back - self.front > 1 and pending < most:
            self.back -= 1
            self.futures[self.back] = self.executor.submit(_run_span, self.parts[self.back])
            pending += 1
        self.most = self.in_flight * self.workers

    def results(self, here: Callable[[int], R], decode: Callable[[R], R] | None,
                in_order: bool = True) -> Iterator[R]:
        """The spans' results: the parent's own as it runs them, the workers' decoded between two
        of them once they are there (given then too, without `in_order`), the rest at the end (in
        order, or as they come). A worker's error is raised at the end, in its turn or (without
        `in_order`) as it comes."""
        decoded: dict[int, R] = {}
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool
        try:
            while self.front < self.back:
                i = self.front
                self.front += 1
                yield here(i)
                self.top_up()
                for j, future in list(self.futures.items()):
                    if j in decoded or not future.done() or future.exception() is not None:
                        continue  # (an error: raised below)
                    if in_order:
                        if decode is not None:
                            decoded[j] = decode(future.result())
                    else:
                        del self.futures[j]  # given: its result not held here any more
                        yield decode(future.result()) if decode is not None else future.result()
            if in_order:
                for i in range(self.front, len(self.parts)):
                    if i in decoded:
                        yield decoded.pop(i)
                    else:
                        result = self.futures[i].result()
                        yield decode(result) if decode is not None else result
                return
            while self.futures:
                done, _ = wait(self.futures.values(), return_when=FIRST_COMPLETED)
                for j in [j for j, future in self.futures.items() if future in done]:
                    result = self.futures.pop(j).result()
                    yield decode(result) if decode is not None else result
        except BrokenProcessPool:
            raise _broken() from None
        finally:
            self.executor.shutdown(wait=True, cancel_futures=True)


class Beside:
    """fn() run in a thread of this process while it goes on; result() waits for it and returns
    its value, or raises what it raised (with `jobs` of 1, fn runs when result() is first called).

    For work that is mostly system calls, which let the other thread run meanwhile (writing the
    combined downloads: 100 MB at 10,000 sheets). Unlike a forked process (Background),
    it shares this process's memory as it is: a process forked late in a build made this one copy
    each page it then wrote to (reference counts), ≈ 17,000 pages after an edit at 10,000 sheets.
    It cannot be stopped: cancel() and wait() wait for it to finish.
    """

    def __init__(self, fn: Callable[[], R], *, jobs: int = 2) -> None:
        self._fn: Callable[[], Any] | None = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if jobs > 1:
            self._thread = threading.Thread(target=self._run, name="hyoka-beside", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        fn, self._fn = self._fn, None
        assert fn is not None
        try:
            self._value = fn()
        except BaseException as exc:  # raised again by result()
            self._error = exc

    def result(self) -> Any:
        if self._thread is not None:
            self._thread.join()
        elif self._fn is not None:
            self._run()
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self) -> None:
        """Let it finish, whatever it gives (run here, it is not started any more)."""
        if self._thread is not None:
            self._thread.join()
        self._fn = None

    cancel = wait


class Background:
    """fn() run in a forked process while this one goes on; result() waits for it and returns its
    value (pickled back), or raises what it raised. Where a process cannot be forked (Windows, or
    the fork fails) or one process is asked for, fn runs in this process when result() is first
    called.

    For a part of a stage that only reads or writes files of its own (the walk of a kept site
    while the content is loaded): what fn changes in its process is not seen here. A process that
    is not waited for must be cancelled (or waited for): interrupted while waiting, result() kills
    it before it raises.
    """

    def __init__(self, fn: Callable[[], R], *, jobs: int = 2) -> None:
        self._fn: Callable[[], Any] | None = fn
        self._pid = 0  # the process, until it is reaped
        self._read = -1
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        if jobs <= 1 or not can_fork():
            return
        parent = os.getpid()
        try:
            read, write = os.pipe()
        except OSError:  # no file descriptors left: run it here
            return
        try:
            pid = os.fork()
        except OSError:  # no process can be made (a limit, no memory): run it here
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: never returns into the caller's code
            code = 0
            try:
                os.close(read)
                _die_with_parent()
                if os.getppid() != parent:  # the parent died before it could be told to
                    os._exit(1)
                try:
                    data = pickle.dumps((True, fn()), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:  # sent back as it is, raised in the parent
                    code = 1
                    try:
                        data = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
                    except Exception:  # an error that cannot be pickled: its text
                        data = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")),
                                            protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as f:
                    f.write(data)
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> Any:
        if not self._done:
            fn, self._fn = self._fn, None
            if self._pid:
                try:
                    with os.fdopen(self._read, "rb") as f:
                        self._read = -1
                        data = f.read()
                    os.waitpid(self._pid, 0)
                    self._pid = 0
                except BaseException:  # interrupted (Ctrl-C): the process is stopped, not left
                    self.cancel()
                    raise
                try:
                    ok, value = pickle.loads(data)
                except Exception:  # it died before it could answer, or in the middle of it
                    ok, value = False, _broken()
                if ok:
                    self._value = value
                else:
                    self._error = value
            else:
                assert fn is not None
                try:
                    self._value = fn()
                except Exception as exc:
                    self._error = exc
            self._done = True
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self) -> None:
        """Let its process finish, whatever it gives (a build failing elsewhere: no half-written
        file). Run in this process, it is not started any more."""
        if not self._pid:
            self._done = True
            self._fn = None
            return
        with contextlib.suppress(Exception):
            self.result()

    def cancel(self) -> None:
        """Stop the process (the result is not wanted) and reap it."""
        self._done = True
        self._fn = None
        if self._read >= 0:
            with contextlib.suppress(OSError):
                os.close(self._read)
            self._read = -1
        if self._pid:
            pid, self._pid = self._pid, 0
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
