"""The one Markdown parser: markdown-it "js-default" preset, raw HTML off."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token


def make_markdown() -> MarkdownIt:
    """A parser for sheet bodies: CommonMark + tables, raw HTML shown as text (untrusted input)."""
    # js-default keeps html=False, so <script> in a body is escaped, and its validateLink
    # refuses javascript:, vbscript:, file: and data: (non-image) URLs.
    md = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})
    # No images: an image from another host would be fetched by every reader's browser (the site
    # promises no outside requests; the CSP blocks it too). `![x](url)` stays a plain link.
    md.disable("image")
    # No data: links at all (js-default lets data:image/... through).
    default_validate = md.validateLink
    md.validateLink = lambda url: default_validate(url) and not url.strip().lower().startswith("data:")
    md.core.ruler.push("hyoka_shift_headings", _shift_headings)
    md.core.ruler.push("hyoka_align_classes", _align_classes)
    return md


_SHIFTED = {f"h{level}": f"h{min(level + 1, 6)}" for level in range(1, 7)}


def _shift_headings(state) -> None:  # type: ignore[no-untyped-def]
    """Body headings sit under the page's own h2 sections: ## becomes h3 (WCAG 1.3.1 order)."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _SHIFTED[token.tag]


def _align_classes(state) -> None:  # type: ignore[no-untyped-def]
    """Table column alignment as a class, not a style attribute (the CSP allows no inline styles)."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrGet("style")
            if style and style.startswith("text-align:"):
                del token.attrs["style"]
                token.attrSet("class", f"hy-align-{style.removeprefix('text-align:')}")


_MD = make_markdown()

# The same parser without the rules that can only start at one of these characters (tables |,
# code spans and fences ` ~, strikethrough ~, block quotes >, links and references [, escapes \,
# autolinks and raw HTML <, entities &) and the ones the options switch off (linkify, raw HTML,
# typographer). A body without any of these characters gives the same HTML with either parser
# (tests/test_render_parts.py), and most bodies — headings, paragraphs, lists — have none: the
# lean parser tries fewer rules at every line and character.
_LEAN_BLOCKERS = re.compile(r"[|`~>\[\\<&]")
_LEAN = make_markdown()
_LEAN.disable(["table", "fence", "blockquote", "reference", "html_block"])
_LEAN.disable(["linkify", "escape", "backticks", "strikethrough", "link", "autolink", "html_inline", "entity"])
_LEAN.disable(["linkify", "replacements", "smartquotes"])
_LEAN.core.ruler.disable("hyoka_align_classes")  # no tables, so no th/td to align


def render_markdown(text: str) -> str:
    """Markdown body → safe HTML."""
    return (_MD if _LEAN_BLOCKERS.search(text) else _LEAN).render(text)


def tokens(text: str) -> list[Token]:
    """Parse without rendering (for tests and text extraction)."""
    return _MD.parse(text)
