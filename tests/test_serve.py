"""`serve`: the preview rebuilds what an edit touches, shows problems as a page, and recovers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hyoka.serve import Preview

from .conftest import ROOT

SHEETS = ("ai-rpa", "smartphone-subsidy", "my-number")


def _files() -> dict[str, str]:
    return {f"content/2025/{name}.md": (ROOT / f"content/2025/{name}.md").read_text(encoding="utf-8")
            for name in SHEETS}


def _get(app: Preview, path: str) -> tuple[str, str]:
    got: dict[str, object] = {}

    def start_response(status, headers):
        got["status"] = status

    body = b"".join(app({"PATH_INFO": path}, start_response))
    return str(got["status"]), body.decode("utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    st = path.stat()  # make sure the signature changes even within one mtime tick
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_preview_makes_the_combined_downloads_on_request(project) -> None:
    """sheets.csv, sheets.json…: made when first asked for, the same bytes as a clean render."""
    from hyoka.collect import collect
    from hyoka.opendata import combined_paths
    from hyoka.pipeline import check
    from hyoka.render import render_site

    config = project(_files())
    app = Preview(config.root, log=lambda _: None, search=False)
    app.rebuild()
    paths = combined_paths(config)
    assert not any(p in app.pages for p in paths)
    status, body = _get(app, "/data/sheets.json")
    assert status.startswith("200") and '"id": "ai-rpa"' in body
    assert all(p in app.pages for p in paths)  # one request made all of them
    sheet = config.content_dir / "2025" / "ai-rpa.md"
    _edit(sheet, "無償の生成AIが利用可", "無償の生成AIを試行中")
    app.rebuild()
    assert "無償の生成AIを試行中" in _get(app, "/data/sheets.csv")[1]
    app.make_later()
    clean = render_site(collect(check(config)[0], config), config.root / "templates")
    assert app.pages == {p.path: p.text.encode("utf-8") for p in clean}


def test_preview_in_memory(project) -> None:
    config = project(_files())
    logs: list[str] = []
    app = Preview(config.root, log=logs.append, search=False)
    app.rebuild()
    status, body = _get(app, "/sheets/ai-rpa/2025/")
    assert status.startswith("200") and "AI・RPA利用推進事務" in body
    assert _get(app, "/assets/css/site.css")[0].startswith("200")
    assert _get(app, "/no/such/page/")[0].startswith("404")
    assert _get(app, "/sheets/ai-rpa")[0].startswith("301")
    total = len(app.pages)

    sheet = config.content_dir / "2025" / "ai-rpa.md"
    _edit(sheet, "無償の生成AIが利用可", "無償の生成AIを試行中")
    app.rebuild()
    assert "無償の生成AIを試行中" in _get(app, "/sheets/ai-rpa/2025/")[1]
    assert 0 < len(app.cache.rendered) < total
    assert "sheets/smartphone-subsidy/2025/index.html" not in app.cache.rendered

    _edit(sheet, "title: AI・RPA利用推進事務", "title: [AI")
    app.rebuild()
    status, body = _get(app, "/sheets/smartphone-subsidy/2025/")
    assert status.startswith("500")
    assert "content/2025/ai-rpa.md:7: YAML の書き方に誤りがあります" in body
    assert any("直すと自動で更新します" in line for line in logs)

    _edit(sheet, "title: [AI", "title: AI・RPA利用推進事務")
    app.rebuild()
    assert _get(app, "/sheets/smartphone-subsidy/2025/")[0].startswith("200")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll(url: str, want, timeout: float = 20.0) -> tuple[int, str]:
    """GET `url` until want(status, body) holds."""
    deadline = time.monotonic() + timeout
    last: tuple[int, str] = (0, "")
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                last = (r.status, r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            last = (e.code, e.read().decode("utf-8"))
        except OSError:
            last = (0, "")
        if want(*last):
            return last
        time.sleep(0.2)
    pytest.fail(f"{url}: still {last[0]} after {timeout}s:\n{last[1][:500]}")


def test_serve_process_rebuilds_and_recovers(project) -> None:
    config = project(_files())
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--config", str(config.root / "site_config.yaml"),
                             "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}/sheets/ai-rpa/2025/"
    try:
        _, body = _poll(url, lambda s, b: s == 200)
        assert "livereload.js" in body  # the browser reloads itself after each rebuild
        # The search index is built in the background and served from memory too.
        _poll(f"http://127.0.0.1:{port}/pagefind/shards.json", lambda s, b: s == 200)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/pagefind/shards.json") as r:
            first = json.loads(r.read())["shards"][0]["path"]  # each shard is a Pagefind bundle
        _poll(f"http://127.0.0.1:{port}/pagefind/{first}pagefind.js", lambda s, b: s == 200)
        sheet = config.content_dir / "2025" / "ai-rpa.md"
        _edit(sheet, "無償の生成AIが利用可", "無償の生成AIを試行中")
        _poll(url, lambda s, b: s == 200 and "無償の生成AIを試行中" in b)
        _edit(sheet, "title: AI・RPA利用推進事務", "title: [AI")
        _poll(url, lambda s, b: s == 500 and "content/2025/ai-rpa.md:7" in b)
        _edit(sheet, "title: [AI", "title: AI・RPA利用推進事務")
        _poll(url, lambda s, b: s == 200 and "AI・RPA利用推進事務" in b)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert "Traceback" not in out, out
    assert "更新しました" in out and "問題があります" in out
