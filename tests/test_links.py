"""Links in the built site, without a browser: every internal target and #fragment exists, every page
is reachable from the top page, and nothing is loaded from another host.

The policy on other hosts (README: the site connects to no other server):
- Anything the browser LOADS by itself — `src`, `srcset`, `poster`, `<object data>`, `<link href>`
  (stylesheet, icon, preload, …), CSS `url()` and `@import` in `<style>`, `style=""` and the
  stylesheets — must be inside the site. Only `data:` URLs are allowed besides.
- A link a person FOLLOWS — `<a href>`, `<area href>`, `<form action>`, and `<link>` with a rel that
  loads nothing (canonical, alternate, …) — may point to another site; there are none today.
  An absolute URL under the configured `base_url` counts as internal and is checked like any other.
The browser tests (tests/browser/) also abort and report any request to another host at run time,
which covers what scripts load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from .browser import BuiltSite, built_output, page_url_path

FAKE_ORIGIN = "http://site.invalid"  # page URLs are resolved as if served here, under the sub-path
NON_LOADING_RELS = {"canonical", "alternate", "author", "license", "help", "bookmark", "next", "prev",
                    "me", "external", "nofollow", "noopener", "noreferrer", "tag", "search"}
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')""")
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


@dataclass
class Ref:
    source: str  # "page.html:12 <a href>"
    url: str
    loads: bool  # True: the browser fetches it by itself; False: a person follows it


@dataclass
class Page:
    ids: set[str] = field(default_factory=set)
    refs: list[Ref] = field(default_factory=list)
    base: str | None = None


def css_urls(css: str) -> Iterator[str]:
    for m in CSS_URL.finditer(CSS_COMMENT.sub("", css)):
        url = next((g for g in m.groups() if g is not None), "")
        if url:
            yield url.strip()


class _Parser(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.page = Page()
        self._in_style = False

    def _add(self, tag: str, attr: str, url: str, loads: bool) -> None:
        line = self.getpos()[0]
        self.page.refs.append(Ref(f"{self.name}:{line} <{tag} {attr}>", url.strip(), loads))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        if "id" in a:
            self.page.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.page.ids.add(a["name"])
        if tag == "base" and "href" in a:
            self.page.base = a["href"]
        for attr in ("href", "xlink:href"):
            if attr not in a:
                continue
            if tag in ("a", "area"):
                self._add(tag, attr, a[attr], loads=False)
            elif tag == "link":
                rels = set(a.get("rel", "").lower().split())
                self._add(tag, attr, a[attr], loads=not rels or not rels <= NON_LOADING_RELS)
            elif tag != "base":
                self._add(tag, attr, a[attr], loads=True)  # svg <use>, <image>
        for attr in ("src", "poster", "data" if tag == "object" else ""):
            if attr and attr in a:
                self._add(tag, attr, a[attr], loads=True)
        for attr in ("srcset", "imagesrcset"):
            for candidate in a.get(attr, "").split(","):
                if candidate.strip():
                    self._add(tag, attr, candidate.split()[0], loads=True)
        for attr in ("action", "formaction"):
            if attr in a:
                self._add(tag, attr, a[attr], loads=False)
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url\s*=\s*['\"]?([^'\";]+)", a.get("content", ""), re.I)
            if m:
                self._add(tag, "http-equiv=refresh", m.group(1), loads=False)
        for url in css_urls(a.get("style", "")):
            self._add(tag, "style url()", url, loads=True)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            for url in css_urls(data):
                self._add("style", "url()", url, loads=True)


@dataclass
class Site:
    built: BuiltSite
    pages: dict[str, Page]  # relative file path ("sheets/x/2025/index.html") → what it contains
    css: dict[str, list[Ref]]

    def page_url(self, rel: str) -> str:
        return f"{FAKE_ORIGIN}{self.built.subpath}{page_url_path(rel)}"


@pytest.fixture(scope="module")
def site() -> Site:
    built = built_output()
    pages = {}
    for rel in built.html_files():
        parser = _Parser(rel)
        parser.feed((built.output / rel).read_text(encoding="utf-8"))
        parser.close()
        pages[rel] = parser.page
    css = {}
    for path in sorted(built.output.rglob("*.css")):
        rel = path.relative_to(built.output).as_posix()
        css[rel] = [Ref(f"{rel} url()", u, True) for u in css_urls(path.read_text(encoding="utf-8"))]
    return Site(built, pages, css)


@dataclass
class Target:
    file: str | None     # relative path of the file it reaches inside the site, if internal
    fragment: str
    external: bool       # another host (or scheme) than the site
    problem: str | None  # why it is broken


def resolve(site: Site, base_url: str, url: str) -> Target:
    """Where `url`, found in a document at `base_url`, leads."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("mailto", "tel", "data"):
        return Target(None, "", external=scheme != "data", problem=None)
    if scheme == "javascript":
        return Target(None, "", external=False, problem="javascript: URL")
    absolute = urljoin(base_url, url)
    parts = urlsplit(absolute)
    origin = f"{parts.scheme}://{parts.netloc}"
    configured = urlsplit(site.built.base_url or "")
    if origin == f"{configured.scheme}://{configured.netloc}" and parts.path.startswith(site.built.subpath):
        origin = FAKE_ORIGIN  # an absolute URL to the published site itself
    if origin != FAKE_ORIGIN:
        return Target(None, parts.fragment, external=True, problem=None)
    if not parts.path.startswith(site.built.subpath):
        return Target(None, parts.fragment, external=False,
                      problem=f"leaves the site's folder {site.built.subpath} (resolves to {parts.path})")
    rel = unquote(parts.path[len(site.built.subpath):])
    out = site.built.output
    if rel == "" or rel.endswith("/"):
        file = f"{rel}index.html"
        if not (out / file).is_file():
            return Target(None, parts.fragment, False, f"no page at {parts.path} ({file} does not exist)")
    elif (out / rel).is_file():
        file = rel
    elif (out / rel).is_dir():
        return Target(None, parts.fragment, False,
                      f"{parts.path} is a folder: end the link with '/' so relative links inside work")
    else:
        return Target(None, parts.fragment, False, f"{parts.path} does not exist in the built site")
    return Target(file, unquote(parts.fragment), external=False, problem=None)


def all_refs(site: Site) -> Iterator[tuple[str, Ref]]:
    """(base URL, reference) for every reference in every page and stylesheet."""
    for rel, page in site.pages.items():
        base = urljoin(site.page_url(rel), page.base) if page.base else site.page_url(rel)
        for ref in page.refs:
            yield base, ref
    for rel, refs in site.css.items():
        for ref in refs:
            yield f"{FAKE_ORIGIN}{site.built.subpath}{rel}", ref


def test_site_has_pages_and_links(site: Site) -> None:
    assert "index.html" in site.pages and "404.html" in site.pages
    assert sum(len(p.refs) for p in site.pages.values()) > len(site.pages)


def test_every_internal_link_and_fragment_exists(site: Site) -> None:
    broken = []
    for base, ref in all_refs(site):
        target = resolve(site, base, ref.url)
        if target.problem:
            broken.append(f"{ref.source} {ref.url!r}: {target.problem}")
        elif target.file and target.fragment and target.file.endswith(".html"):
            if target.fragment not in site.pages[target.file].ids:
                broken.append(f"{ref.source} {ref.url!r}: no id=\"{target.fragment}\" in {target.file}")
    assert not broken, f"{len(broken)} broken link(s):\n  " + "\n  ".join(broken)


def test_nothing_is_loaded_from_another_host(site: Site) -> None:
    offending = [f"{ref.source} {ref.url!r}" for base, ref in all_refs(site)
                 if ref.loads and resolve(site, base, ref.url).external
                 and not ref.url.lower().startswith("data:")]
    assert not offending, ("the site must make no request to another host (README); these would:\n  "
                           + "\n  ".join(offending))


def test_every_page_is_reachable_from_the_top_page(site: Site) -> None:
    seen, todo = {"index.html"}, ["index.html"]
    while todo:
        rel = todo.pop()
        page = site.pages[rel]
        base = urljoin(site.page_url(rel), page.base) if page.base else site.page_url(rel)
        for ref in page.refs:
            target = resolve(site, base, ref.url)
            if not ref.loads and target.file in site.pages and target.file not in seen:
                seen.add(target.file)
                todo.append(target.file)
    orphans = sorted(set(site.pages) - seen - {"404.html"})
    assert not orphans, "pages no link leads to (from the top page on):\n  " + "\n  ".join(orphans)


def test_resolve_follows_the_policy(site: Site) -> None:
    """The checker itself: what counts as internal, broken or external."""
    page = site.page_url("sheets/smartphone-subsidy/2025/index.html")
    assert resolve(site, page, "../../../").file == "index.html"
    assert resolve(site, page, "../../../index.html#main").fragment == "main"
    assert resolve(site, page, "../../../nothing-here/").problem
    assert resolve(site, page, "../../../../").problem  # above the sub-path
    assert resolve(site, page, "https://cdn.example.com/x.css").external
    assert resolve(site, page, "//cdn.example.com/x.css").external
    assert not resolve(site, page, "data:image/png;base64,AAAA").problem
    if site.built.base_url:
        assert resolve(site, page, site.built.base_url).file == "index.html"
    assert list(css_urls("a{background:url( 'x.png' )} /* url(no.png) */ @import \"y.css\";")) == [
        "x.png", "y.css"]

