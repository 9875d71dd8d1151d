"""Progress of a long build: a live counter on a terminal, plain log lines in CI, nothing with -q."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

QUIET, NORMAL, VERBOSE = 0, 1, 2


class Progress:
    """Reports each stage's count and time; `live` redraws one line while a stage runs."""

    def __init__(self, stream: TextIO | None = None, *, level: int = NORMAL, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.level = level
        # A terminal gets a counter that redraws in place; a CI log gets one line per stage.
        self.live = self.stream.isatty() if live is None else live
        self.timings: list[tuple[str, int, float]] = []

    def log(self, text: str, *, verbose: bool = False) -> None:
        """One plain line (verbose-only lines need -v)."""
        if self.level >= (VERBOSE if verbose else NORMAL):
            print(text, file=self.stream, flush=True)

    @contextmanager
    def stage(self, label: str, total: int | None = None, unit: str = "件") -> Iterator[Callable[[int], None]]:
        """`with progress.stage("ページ生成", n, "ページ") as tick:` … `tick(done)`; logs the time at the end."""
        start = last = time.perf_counter()
        done = 0

        def tick(count: int = 1) -> None:
            nonlocal done, last
            done += count
            now = time.perf_counter()
            if self.live and self.level >= NORMAL and now - last > 0.1:
                last = now
                of = f"/{total}" if total else ""
                print(f"\r{label}: {done}{of}{unit}…", end="", file=self.stream, flush=True)

        yield tick
        took = time.perf_counter() - start
        count = done or (total or 0)
        self.timings.append((label, count, took))
        if self.level >= NORMAL:
            clear = "\r\x1b[K" if self.live else ""
            amount = f"{count}{unit}、" if count else ""
            print(f"{clear}{label}: {amount}{took:.2f}秒", file=self.stream, flush=True)
