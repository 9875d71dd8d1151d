"""Is a built page inert? Elements and attributes only from the templates, no script but the site's own.

`unsafe(html)` lists what a page must not contain: an element or attribute no template (or the
Markdown renderer) writes, any on* attribute, a style attribute or element, a script other than
the search page's external module, a javascript:/vbscript:/data: URL, a Content-Security-Policy
other than the site's, and unbalanced tags (injected markup that broke out of its element).
Used by tests/test_hostile.py, tests/test_properties.py and tests/browser/test_xss.py.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
# Components whose markup is written in Python (the sheet page's charts and tables).
PYTHON_MARKUP = ROOT / "hyoka" / "htmlparts.py"
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'")
# What hyoka/markdown.py can write for a sheet body (CommonMark + tables, no raw HTML, no images).
MARKDOWN_TAGS = frozenset({"p", "h3", "h4", "h5", "h6", "ul", "ol", "li", "em", "strong", "code", "pre",
                           "blockquote", "a", "hr", "br", "s", "table", "thead", "tbody", "tr", "th", "td"})
MARKDOWN_ATTRS = frozenset({"href", "title", "start", "class"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                  "track", "wbr"})
# SVG elements may close themselves (<rect .../>).
URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcset",
                       "background", "cite", "longdesc", "ping"})
_BAD_SCHEME = re.compile(r"^(?:javascript|vbscript|data|file):")
SEARCH_SCRIPT = re.compile(r"^(?:\.\./)*assets/js/search\.js$")


@functools.cache
def template_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """Every element and attribute name written in templates/ (Jinja stripped out)."""
    tags: set[str] = set()
    attrs: set[str] = set()
    for path in [*TEMPLATES.rglob("*.html"), PYTHON_MARKUP]:
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{#.*?#\}", " ", text, flags=re.S)
        text = re.sub(r"\{\{.*?\}\}", "X", text, flags=re.S)
        text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
        for m in re.finditer(r"<([a-zA-Z][\w-]*)([^<>]*)>", text):
            tags.add(m.group(1).lower())
            inside = re.sub(r"\"[^\"]*\"|'[^']*'", "", m.group(2))
            attrs.update(a.lower() for a in re.findall(r"([a-zA-Z_:][-\w:.]*)", inside))
    return frozenset(tags | MARKDOWN_TAGS), frozenset(attrs | MARKDOWN_ATTRS)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs = template_vocabulary()
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)
        self.in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open <{self.stack[-1] if self.stack else ''}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]!r}")

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.tags:
            self.problems.append(f"element <{tag}> is not in any template")
        values = {name: value or "" for name, value in attrs}
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name}={value!r} on <{tag}>")
            elif name == "style":
                self.problems.append(f"style attribute on <{tag}>: {value!r}")
            elif name not in self.attrs:
                self.problems.append(f"attribute {name!r} on <{tag}> is not in any template")
            if name in URL_ATTRS and value is not None:
                squeezed = re.sub(r"[\x00-\x20\x7f]+", "", value).lower()
                if _BAD_SCHEME.match(squeezed):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
        if tag == "script" and not (SEARCH_SCRIPT.match(values.get("src", ""))
                                    and values.get("type") == "module"):
            self.problems.append(f"script other than the search script: {values}")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "meta" and "http-equiv" in values:
            if values["http-equiv"].lower() != "content-security-policy" or values.get("content") != CSP:
                self.problems.append(f"meta http-equiv {values}")
        if tag in ("base", "iframe", "object", "embed", "frame", "frameset"):
            self.problems.append(f"<{tag}>")


def unsafe(html: str) -> list[str]:
    """Everything in `html` that no template writes or that could run or load something."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    if checker.stack and checker.stack != ["html"]:
        checker.problems.append(f"unclosed elements: {checker.stack}")
    if html.count('http-equiv="Content-Security-Policy"') != 1:
        checker.problems.append("the page has not exactly one Content-Security-Policy")
    return checker.problems
