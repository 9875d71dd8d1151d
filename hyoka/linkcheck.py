"""Internal link check of rendered pages, before anything is written: every href/src on the site
points at a page or asset that exists, and every #fragment at an id on that page."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import opendata
from .collect import Site
from .parallel import job_count, map_spans
from .problems import Problem
from .render import Page, PageJob, compile_templates, environment, plan_pages, render_job


class _Links:
    """The links (line, attribute, url) and every id of one page.

    Found without parsing the whole page: pages are mostly SVG and table markup without a single
    link or id (html.parser took most of `check` at 10,000 sheets). The names href, src, action
    and id are looked for in the page's bytes, lowercased (ASCII only, so the offsets stay); the
    start tag around each one is read as html.parser reads a start tag
    (names lowercased, values unquoted and unescaped); a name outside a start tag (in text, a
    comment, a script or style) is not an attribute. A page with a raw "<" inside an attribute
    value (which hyoka never writes: it escapes them) is read by html.parser instead. The same
    results as html.parser on every page hyoka writes, on hostile ones and on random markup
    (tests/test_check.py); ≈ 1 ms a sheet page instead of ≈ 10.
    """

    def __init__(self, text: str) -> None:
        self.links: list[tuple[int, str, str]] = []
        self.ids: set[str] = set()
        data = text.encode("utf-8", "surrogatepass")
        lowered = data.lower()
        if _RAW_LT_IN_VALUE.search(lowered):  # a "<" inside a value could pass for a tag's
            parsed = _ParsedLinks(text)
            self.links, self.ids = parsed.links, parsed.ids
            return
        hidden = _hidden_spans(lowered) if _MAY_HIDE.search(lowered) else ()
        line, counted = 1, 0
        covered = 0  # the end of the last tag read (a tag with an id and an href is found twice)
        for at in sorted(m.start() for name in _ATTRIBUTE_NAMES for m in name.finditer(lowered)):
            if at < covered:
                continue
            start = data.rfind(b"<", 0, at)
            tag = _START_TAG.match(data, start) if start >= covered else None
            if tag is None or tag.end() <= at or any(a <= start < b for a, b in hidden):
                continue
            covered = tag.end()
            line += data.count(b"\n", counted, start)
            counted = start
            name = tag[1].lower()
            for attr in _ATTRIBUTE.finditer(tag[2]):
                key, raw = attr[1].lower(), attr[3]
                if raw is None:
                    continue
                if raw[:1] in (b"'", b'"'):
                    raw = raw[1:-1]
                value = raw.decode("utf-8", "surrogatepass")
                if "&" in value:
                    value = unescape(value)
                if key == b"id":
                    self.ids.add(value)
                elif key in (b"href", b"src") or (name == b"form" and key == b"action"):
                    self.links.append((line, key.decode(), value))


class _ParsedLinks(HTMLParser):
    """_Links as html.parser reads the whole page: for the pages _Links does not read itself (hyoka
    escapes "<" in attribute values; a template may not), and the tests' reference."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str, str]] = []
        self.ids: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in ("href", "src") or (tag == "form" and name == "action"):
                self.links.append((self.getpos()[0], name, value))


# An attribute value holding a raw "<" (then the "<" before a name may not start its tag).
_RAW_LT_IN_VALUE = re.compile(rb"""=\s*(?:"[^"<]*<|'[^'<]*<|[^\s"'>]*<)""")
# Each name, then "=": one pattern per name (a pattern starting with a literal is searched for fast).
_ATTRIBUTE_NAMES = tuple(re.compile(name + rb"\s*=") for name in (rb"href", rb"src", rb"id", rb"action"))
# A start tag: its name, then attributes (quoted values may hold ">") up to the first ">" outside
# quotes; an attribute as html.parser's attrfind_tolerant reads it.
_START_TAG = re.compile(rb"<([a-zA-Z][^\t\n\r\f />\x00]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTRIBUTE = re.compile(rb"""((?<=['"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*('[^']*'|"[^"]*"|(?!['"])[^>\s]*))?""")
# Where html.parser reads no tags: comments, and the text of script and style elements (not of a
# self-closed <script/>). Searched for in the lowercased bytes.
_MAY_HIDE = re.compile(rb"<!--|<script|<style")
_HIDDEN = re.compile(rb"<!--.*?(?:-->|\Z)|<(script|style)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*(?<!/)>.*?(?=</\1|\Z)",
                     re.DOTALL)


def _hidden_spans(lowered: bytes) -> list[tuple[int, int]]:
    """Where a start tag is not one (comments; script and style text, after their own start tag)."""
    spans = []
    for m in _HIDDEN.finditer(lowered):
        spans.append((m.start() if m[1] is None else lowered.index(b">", m.start()) + 1, m.end()))
    return spans


def _target(page_path: str, url: str) -> tuple[str, str] | None:
    """Site-relative file a relative URL points at, and its fragment; None for other hosts."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("/"):
        return None  # absolute: another host, mailto:, or the 404 page's root-absolute links
    base = posixpath.dirname(page_path)
    path = posixpath.normpath(posixpath.join(base, unquote(parts.path))) if parts.path else page_path
    if parts.path.endswith("/") or parts.path in ("", "."):
        path = posixpath.join(path, "index.html") if parts.path else page_path
    return path.lstrip("./") if path != "." else "index.html", unquote(parts.fragment)


def check_links(pages: Iterable[Page], assets: Path, output_name: str = "_site") -> list[Problem]:
    """Problems for links to missing pages, assets or fragments (404.html is skipped: its links are absolute)."""
    pages = list(pages)
    found = {p.path: _Links(p.text) for p in pages if p.path.endswith(".html") and p.path != "404.html"}
    return check_found(found, {p.path for p in pages}, assets, output_name)


def check_found(found: dict[str, _Links], files: set[str], assets: Path, output_name: str = "_site") -> list[Problem]:
    """check_links of the links and ids `found` in each HTML page (but 404.html), with `files`
    the paths of every file of the site."""
    files = set(files)
    if assets.is_dir():
        files |= {f"assets/{f.relative_to(assets).as_posix()}" for f in assets.rglob("*") if f.is_file()}
    problems = []
    for path in sorted(found):
        for line, attr, url in found[path].links:
            target = _target(path, url)
            if target is None:
                continue
            file, fragment = target
            where = f"{output_name}/{path}"
            if file not in files and f"{file}/index.html" not in files:
                problems.append(Problem(where, line, attr, "リンク", f"リンク先がありません: {url}",
                                        "テンプレートのリンクか、リンク先のページを確認してください。"))
            elif fragment and file in found and fragment not in found[file].ids:
                problems.append(Problem(where, line, attr, "リンク", f"ページ内の位置（#{fragment}）がありません: {url}"))
    return problems


def site_links(site: Site, templates: Path, workers: int | None = None) -> tuple[dict[str, _Links], set[str]]:
    """What check_links needs of render_site(site, templates), without keeping the pages: the links
    and ids of each HTML page (but 404.html), found where the page is rendered (over `workers`
    forked processes, default one per core), and the paths of every file. The combined downloads
    are not made (only their paths count), as in `serve`. Equal to check_links of render_site's
    pages (tests/test_check.py)."""
    later: list[Callable[[], list[Page]]] = []
    data = opendata.data_files(site, deferred=later)
    jobs = [*plan_pages(site), opendata.data_page_job(site, data)]
    env = environment(site, templates)
    compile_templates(env, jobs, templates)  # once, before the workers fork

    def span(part: Sequence[PageJob]) -> list[_Links | None]:
        return [_Links(render_job(env, site, templates, job)) if job.path.endswith(".html") else None
                for job in part]

    found: dict[str, _Links] = {}
    size = 48  # pages a worker renders at a time
    for start, links in zip(range(0, len(jobs), size), map_spans(span, jobs, jobs=job_count(workers), span=size),
                            strict=True):
        for job, page_links in zip(jobs[start:start + size], links, strict=True):
            if page_links is not None and job.path != "404.html":
                found[job.path] = page_links
    files = {job.path for job in jobs} | {p.path for p in data.pages}
    files |= set(opendata.combined_paths(site.config)) | set(opendata.web_paths(site))
    return found, files
