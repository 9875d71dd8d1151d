"""Build progress: one plain line per stage in a log, a redrawn counter on a terminal, none with -q."""

from __future__ import annotations

import io
import re

from hyoka.cli import main
from hyoka.progress import NORMAL, QUIET, VERBOSE, Progress

from .conftest import ROOT


def test_plain_lines_in_a_log() -> None:
    out = io.StringIO()
    p = Progress(out, level=NORMAL, live=False)
    with p.stage("ページ生成", 3, "ページ") as tick:
        for _ in range(3):
            tick()
    p.log("詳細", verbose=True)
    assert re.fullmatch(r"ページ生成: 3ページ、\d+\.\d\d秒\n", out.getvalue())
    assert p.timings[0][:2] == ("ページ生成", 3)


def test_live_counter_on_a_terminal(monkeypatch) -> None:
    out = io.StringIO()
    clock = iter(range(0, 1000))
    monkeypatch.setattr("hyoka.progress.time.perf_counter", lambda: next(clock) * 0.2)
    p = Progress(out, level=NORMAL, live=True)
    with p.stage("書き出し", 2, "ファイル") as tick:
        tick()
        tick()
    text = out.getvalue()
    assert "\r書き出し: 1/2ファイル…" in text and text.endswith("\r\x1b[K書き出し: 2ファイル、0.60秒\n")


def test_quiet_and_verbose() -> None:
    quiet, verbose = io.StringIO(), io.StringIO()
    for stream, level in ((quiet, QUIET), (verbose, VERBOSE)):
        p = Progress(stream, level=level, live=False)
        with p.stage("検査") as tick:
            tick(12)
        p.log("  詳細", verbose=True)
    assert quiet.getvalue() == ""
    assert verbose.getvalue().startswith("検査: 12件、") and verbose.getvalue().endswith("  詳細\n")


def test_build_logs_each_stage(project, monkeypatch, capsys) -> None:
    config = project({"content/2025/ai-rpa.md": (ROOT / "content/2025/ai-rpa.md").read_text(encoding="utf-8")})
    monkeypatch.setattr("hyoka.cli.ROOT", config.root)
    assert main(["build", "--no-search"]) == 0
    err = capsys.readouterr().err
    assert [line.split(":")[0] for line in err.splitlines()] == ["検査", "ページ生成と書き出し"]
    assert main(["-q", "build", "--no-search"]) == 0
    assert capsys.readouterr() == ("", "")
