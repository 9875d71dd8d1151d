"""`python build.py serve`: live preview on 127.0.0.1, rebuilt in memory on every edit.

Pages are rendered into memory (nothing is written to the output folder, which stays what the
last `build` made) and served by a small WSGI app inside livereload, which reloads the browser
after each rebuild. Only what an edit touches is parsed and rendered again: unchanged files keep
their parsed sheet, unchanged pages their text (hyoka.render.RenderCache). An edit that leaves a
sheet on the same lists swaps it into the last site (collect.collect_again) instead of collecting
every sheet again, and unchanged programs keep their planned pages and fingerprints (the
RenderCache's memo); a rebuild with nothing changed keeps every page. The result is always
byte for byte what a clean render_site makes (tests/test_serve_incremental.py). A broken file does
not stop the server: every page then shows the problem list, in the same words as the command line.
"""

from __future__ import annotations

import contextlib
import gc
import html
import mimetypes
import os
import posixpath
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .collect import Site, collect, collect_again
from .config import load_config
from .load import content_entries, rel_path
from .model import Sheet, SiteConfig
from .opendata import DataCache, build_time, combined_paths
from .parallel import job_count, map_spans
from .pipeline import load_sheet
from .problems import BuildError, Problem, ProblemsFound, sort_problems, summary
from .render import Page, RenderCache, render_site, templates_digest
from .search import index_site
from .validate import check_duplicates

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Pagefind's WebAssembly must be served as application/wasm; some systems' tables lack it.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")
# The published pages forbid inline scripts (templates/base.html); livereload injects one into
# every page to reload it, so the preview serves pages without that meta element.
_CSP_META = re.compile(rb'<meta http-equiv="Content-Security-Policy"[^>]*>\n?')


Signature = tuple[int, int, int]  # (mtime_ns, size, inode) of a content file


@dataclass
class _Parsed:
    """One content file as last read: its stat signature, sheet and problems."""

    signature: Signature
    sheet: Sheet | None
    problems: list[Problem]


def scan_content(content_dir: Path) -> list[tuple[str, Signature]]:
    """Every sheet file with its stat signature: the files `load.find_content` lists (the same
    walk, load.content_entries), in the order of the walk (what is made of them does not depend
    on it).

    Strings, not Path objects, and no sorting: this runs on every save (at 10,000 sheets, the
    10,000 stat calls are most of its 40 ms). A file that cannot be stat'ed gets the signature
    (-1, -1, -1): reading it then reports why.
    """
    top = os.path.normpath(os.fspath(content_dir))
    out: list[tuple[str, Signature]] = []
    stat, join = os.stat, os.path.join
    for parts, _ in content_entries(Path(top), ordered=False):
        path = join(top, *parts)
        try:
            st = stat(path)
            signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            signature = (-1, -1, -1)
        out.append((path, signature))
    return out


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cycle collection during a rebuild: it only creates objects that live on (a collection
    then walked the whole site again and again, a tenth of a second per save at 10,000 sheets).
    The few cycles a rebuild leaves are collected afterwards as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Result:
    """What the last successful rebuild was made from, to tell what the next one may reuse."""

    site: Site
    inputs: tuple[str, str | None]  # the templates' digest and SOURCE_DATE_EPOCH (the feed's date)
    pages: int


@dataclass
class Preview:
    """The previewed site in memory, rebuilt from the project folder on demand."""

    root: Path
    config_path: Path | None = None
    log: Callable[[str], None] = print
    pages: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False
    cache: RenderCache = field(default_factory=RenderCache)
    data_cache: DataCache = field(default_factory=DataCache)
    _texts: dict[str, str] = field(default_factory=dict)  # the text each of `pages` was encoded from
    _later: dict[str, Callable[[], list[Page]]] = field(default_factory=dict)  # made on first request
    parsed: dict[str, _Parsed] = field(default_factory=dict)  # content file path → what it gave
    config: SiteConfig | None = None
    edits: list[tuple[Sheet | None, Sheet | None]] = field(default_factory=list)  # (old, new) of the last load
    _last: _Result | None = None
    _unique: bool = False  # no two sheets of the last load had one id and year
    rebuilds: int = 0
    search: bool = True
    search_files: dict[str, bytes] = field(default_factory=dict)  # the Pagefind bundle, when built
    _indexing: threading.Lock = field(default_factory=threading.Lock)

    def rebuild(self, *_: Any) -> None:
        """Re-read what changed and re-render what depends on it; keep serving on failure."""
        start = time.perf_counter()
        self.rebuilds += 1
        with _gc_paused():
            self._rebuild(start)

    def _rebuild(self, start: float) -> None:
        try:
            config = load_config(self.root, self.config_path)
        except ProblemsFound as exc:
            self._fail(exc.problems)
            return
        if config != self.config:
            self.parsed.clear()  # choice lists or ranges may have changed: validate again
            self.config = config
            self._last = None
        sheets, problems = self._load(config)
        last, self._last = self._last, None  # what `edits` are relative to; set again on success
        if any(p.is_error for p in problems):
            self._fail(problems)
            return
        templates = config.root / "templates"
        inputs = (templates_digest(templates), build_time())
        if last is not None and not self.failed and not self.edits and last.inputs == inputs:
            # Nothing the pages show has changed: keep every page (and the search index).
            self.cache.rendered = []
            self._last = last
            self._done(start, last.pages, problems)
            return
        site = None
        swaps = [(old, new) for old, new in self.edits if old is not None and new is not None]
        if last is not None and len(swaps) == len(self.edits):  # no sheet added, removed, broken or fixed
            site = collect_again(last.site, swaps)
        if site is None:
            site = collect(sheets, config)
        try:
            deferred: list[Callable[[], list[Page]]] = []
            pages = render_site(site, templates, self.cache, data_cache=self.data_cache, deferred=deferred)
        except ProblemsFound as exc:  # a template mistake: show it like a sheet problem
            self._fail(exc.problems)
            return
        # Encode only the texts that changed (a cached page's text is the very same object). New
        # dicts, not updated ones: the search indexing thread may be reading the previous ones.
        old_texts = self._texts
        texts, encoded = dict(old_texts), dict(self.pages)
        for p in pages:
            if old_texts.get(p.path) is not p.text:
                texts[p.path] = p.text
                encoded[p.path] = p.text.encode("utf-8")
        if len(texts) != len(pages):  # pages gone (a sheet removed, a list emptied)
            live = {p.path for p in pages}
            for gone in [path for path in texts if path not in live]:
                del texts[gone]
                encoded.pop(gone, None)
        self.pages, self._texts = encoded, texts
        # The combined downloads (CSV, sheets.json) are made when one is first asked for.
        self._later = {path: make for make in deferred for path in combined_paths(config)}
        for path in self._later:
            self.pages.pop(path, None)
        self._last = _Result(site, inputs, len(pages))
        if self.search and self.cache.rendered:
            threading.Thread(target=self._index, args=(self.rebuilds,), daemon=True).start()
        self._done(start, len(pages), problems)

    def _done(self, start: float, pages: int, problems: list[Problem]) -> None:
        self.problems, self.failed = problems, False
        took = time.perf_counter() - start
        self.log(f"更新しました: {len(self.cache.rendered)}/{pages}ページを生成（{took:.2f}秒）"
                 + (f"。{summary(problems)}" if problems else ""))
        for p in problems:
            self.log(p.format())

    def make_later(self, *paths: str) -> None:
        """Make the deferred downloads among `paths` (all of them when none is named)."""
        for path in paths or list(self._later):
            make = self._later.pop(path, None)
            if make is not None:
                made = make()
                done = {page.path for page in made}
                self._later = {p: m for p, m in self._later.items() if p not in done}
                self.pages.update((page.path, page.text.encode("utf-8")) for page in made)

    def _index(self, generation: int) -> None:
        """Build the search index in the background (pages are served meanwhile); the newest wins."""
        with self._indexing:
            if generation != self.rebuilds:
                return  # a newer rebuild has started its own indexing
            pages = self.pages
            with tempfile.TemporaryDirectory(prefix="hyoka-preview-") as tmp:
                folder = Path(tmp)
                for path, data in pages.items():
                    if path.endswith(".html"):
                        (folder / path).parent.mkdir(parents=True, exist_ok=True)
                        (folder / path).write_bytes(data)
                try:
                    index_site(folder)
                except BuildError as exc:
                    self.log(f"検索の索引を作れませんでした（プレビューの検索は使えません）: {exc.message}")
                    return
                bundle = folder / "pagefind"
                files = {f"pagefind/{f.relative_to(bundle).as_posix()}": f.read_bytes()
                         for f in bundle.rglob("*") if f.is_file()}
            if generation == self.rebuilds:
                self.search_files = files
                self.log(f"検索の索引を更新しました（{len(files)}ファイル）")

    def _load(self, config: SiteConfig) -> tuple[list[Sheet], list[Problem]]:
        """Parse only files whose size, modification time or inode changed since the last rebuild.

        Sets `edits`: (old sheet, new sheet) of each file read again, added (old None) or removed
        (new None); the sheet of a file with errors is None too.
        """
        files = scan_content(config.content_dir)
        seen = {path for path, _ in files}
        edits: list[tuple[Sheet | None, Sheet | None]] = []
        for stale in [p for p in self.parsed if p not in seen]:
            edits.append((self.parsed.pop(stale).sheet, None))
        changed = [(path, signature) for path, signature in files
                   if (cached := self.parsed.get(path)) is None or cached.signature != signature]

        def load_span(part: Sequence[tuple[str, Signature]]) -> list[_Parsed]:
            return [_Parsed(sig, *load_sheet(Path(path), config, rel_path(Path(path), config.root)))
                    for path, sig in part]

        # The first rebuild (every file) forks workers; later ones, with the server's threads running,
        # parse the few changed files here (forking a threaded process is not safe).
        jobs = job_count() if len(changed) >= 200 and threading.active_count() == 1 else 1
        parsed = [p for part in map_spans(load_span, changed, jobs=jobs, span=100, parent_helps=True) for p in part]
        if len(changed) >= 200:
            # What a large load made lives as long as its files: the collector leaves it alone from
            # now on (parallel.long_lived). Replaced sheets are still freed (they hold no cycles).
            gc.freeze()
        for (path, _), result in zip(changed, parsed, strict=True):
            old = self.parsed.get(path)
            edits.append((old.sheet if old is not None else None, result.sheet))
            self.parsed[path] = result
        self.edits = edits
        sheets = [p.sheet for p in self.parsed.values() if p.sheet is not None]
        problems = [q for p in self.parsed.values() for q in p.problems]
        if not files:
            problems.append(Problem(rel_path(config.content_dir, config.root), 0, "", "内容フォルダ",
                                    "シート（.md ファイル）が1つもありません"))
        # Two sheets with one id and year are rare: name them only when there are any (none can be
        # new when the last load had none and every edit kept its sheet's id and year).
        kept = self._unique and all(old is not None and new is not None and (old.id, old.evaluation_year)
                                    == (new.id, new.evaluation_year) for old, new in edits)
        self._unique = kept or len({(s.id, s.evaluation_year) for s in sheets}) == len(sheets)
        if not self._unique:
            problems += check_duplicates(sheets)
        return sheets, sort_problems(problems)

    def _fail(self, problems: list[Problem]) -> None:
        self.problems, self.failed = sort_problems(problems), True
        self.log(f"問題があります（{summary(self.problems)}）。直すと自動で更新します:")
        for p in self.problems:
            self.log(p.format())

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = unquote(environ.get("PATH_INFO", "/"))
        rel = posixpath.normpath(path).lstrip("/")
        rel = "" if rel == "." else rel
        if self.failed or self.config is None:
            return self._respond(start_response, "500 Internal Server Error", "text/html; charset=utf-8",
                                 self.problem_page())
        if rel.startswith("assets/") and self.config is not None:
            asset = (self.config.root / rel).resolve()
            assets = (self.config.root / "assets").resolve()
            if asset.is_file() and asset.is_relative_to(assets):
                ctype = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
                return self._respond(start_response, "200 OK", ctype, asset.read_bytes())
        if rel.startswith("pagefind/") and rel in self.search_files:
            ctype = mimetypes.guess_type(rel)[0] or "application/octet-stream"
            return self._respond(start_response, "200 OK", ctype, self.search_files[rel])
        if rel in self._later:
            self.make_later(rel)
        for candidate in (rel, posixpath.join(rel, "index.html") if rel else "index.html"):
            if candidate in self.pages:
                if candidate != rel and path and not path.endswith("/"):
                    start_response("301 Moved Permanently", [("Location", path + "/")])
                    return [b""]
                ctype = mimetypes.guess_type(candidate)[0] or "application/octet-stream"
                if ctype.startswith("text/") or ctype in ("application/json", "application/xml"):
                    ctype += "; charset=utf-8"
                body = self.pages[candidate]
                if ctype.startswith("text/html"):
                    body = _CSP_META.sub(b"", body, count=1)
                return self._respond(start_response, "200 OK", ctype, body)
        return self._respond(start_response, "404 Not Found", "text/html; charset=utf-8",
                             _CSP_META.sub(b"", self.pages.get("404.html", b"<!DOCTYPE html><title>404</title>"),
                                           count=1))

    @staticmethod
    def _respond(start_response: Callable[..., Any], status: str, ctype: str, body: bytes) -> list[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store")])
        return [body]

    def problem_page(self) -> bytes:
        """Every problem, as on the command line, as a page that reloads when they are fixed."""
        items = "\n".join(f"<li><pre>{html.escape(p.format())}</pre></li>" for p in self.problems)
        text = f"""<!DOCTYPE html>
<html lang="ja">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>問題があります - hyoka プレビュー</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;line-height:1.6;color:#1a1a1c}}
h1{{color:#b3261e;font-size:1.5rem}}pre{{white-space:pre-wrap;margin:0;font-size:1rem}}
li{{margin:0 0 1rem;padding:.5rem .75rem;border-left:4px solid #b3261e;background:#fdf3f2;list-style:none}}
ul{{padding:0}}</style></head>
<body><main>
<h1>シートに問題があるため、プレビューを更新できません</h1>
<p>{html.escape(summary(self.problems))}。ファイルを直して保存すると、このページは自動で更新されます。</p>
<ul>
{items}
</ul>
</main></body></html>
"""
        return text.encode("utf-8")


def serve(root: Path, config_path: Path | None, host: str, port: int, *, open_browser: bool = False) -> int:
    """Run the preview server until interrupted."""
    from livereload import Server

    preview = Preview(root, config_path, log=lambda line: print(line, file=sys.stderr, flush=True))
    preview.rebuild()
    if host not in LOOPBACK:
        print(f"注意: {host} で待ち受けます。同じネットワークの他の端末からも見えます。", file=sys.stderr)
    server = Server(app=preview)
    config = preview.config
    watched = [root / "templates", root / "assets", config_path or root / "site_config.yaml"]
    if config is not None:
        watched.insert(0, config.content_dir)
    for target in watched:
        server.watch(str(target), preview.rebuild, delay=0.2)
    print(f"プレビュー: http://{'127.0.0.1' if host == 'localhost' else host}:{port}/ （終了は Ctrl+C）",
          file=sys.stderr, flush=True)
    server.serve(host=host, port=port, debug=False, open_url_delay=1 if open_browser else None,
                 restart_delay=0)
    return 0
