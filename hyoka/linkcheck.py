"""Internal link check of rendered pages, before anything is written: every href/src on the site
points at a page or asset that exists, and every #fragment at an id on that page."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .problems import Problem
from .render import Page


class _Links(HTMLParser):
    """Collects (line, attribute, url) for links and every id on one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in ("href", "src") or (tag == "form" and name == "action"):
                self.links.append((self.getpos()[0], name, value))


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
    html = {p.path: p for p in pages if p.path.endswith(".html")}
    files = {p.path for p in pages}
    if assets.is_dir():
        files |= {f"assets/{f.relative_to(assets).as_posix()}" for f in assets.rglob("*") if f.is_file()}
    parsed: dict[str, _Links] = {}

    def links_of(path: str) -> _Links:
        if path not in parsed:
            parser = _Links()
            parser.feed(html[path].text)
            parsed[path] = parser
        return parsed[path]

    problems = []
    for path in sorted(html):
        if path == "404.html":
            continue
        for line, attr, url in links_of(path).links:
            target = _target(path, url)
            if target is None:
                continue
            file, fragment = target
            where = f"{output_name}/{path}"
            if file not in files and f"{file}/index.html" not in files:
                problems.append(Problem(where, line, attr, "リンク", f"リンク先がありません: {url}",
                                        "テンプレートのリンクか、リンク先のページを確認してください。"))
            elif fragment and file in html and fragment not in links_of(file).ids:
                problems.append(Problem(where, line, attr, "リンク", f"ページ内の位置（#{fragment}）がありません: {url}"))
    return problems
