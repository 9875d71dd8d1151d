"""The one Markdown parser: markdown-it "js-default" preset, raw HTML off (plain bodies: its HTML
written directly, see `_plain_html`)."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
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
    if _LEAN_BLOCKERS.search(text):
        return _MD.render(text)
    html = _plain_html(text)
    return _LEAN.render(text) if html is None else html


# The plain bodies most sheets have (headings, paragraphs, tight lists of one line per item; no
# emphasis, links or code) written without the parser, ≈ 10× faster. `_plain_html` takes only
# lines whose reading is certain and gives None for anything else (emphasis characters, a list
# item continued on the next line or followed by a blank line and another item, a list or a
# setext underline right after a paragraph, leading or trailing white space, tabs…), which the
# parser then reads. tests/test_render_parts.py holds the result equal to the parser's on random
# bodies made of the pieces of Markdown syntax.
_NOT_PLAIN = re.compile(r"[*_\t\r\0|`~>\[\\<&]")  # emphasis, tabs, CR, NUL and the lean parser's blockers
_LINE_START = frozenset("#-+*=>_`~<|[\\")  # a line starting with one of these may be syntax
_ORDERED_ITEM = re.compile(r"(\d{1,9})\. (?=\S)")
_LIST_MARKER = re.compile(r"\d{1,9}[.)](?: |$)")  # an ordered list item (perhaps empty)
_HEADING = re.compile(r"(#{1,6}) (\S(?:.*\S)?)")


def _plain_line(line: str) -> bool:
    """A line that is text only: not syntax, nothing stripped from either end."""
    if not line:
        return False  # an empty item
    first = line[0]
    return not (first in _LINE_START or first.isspace() or line[-1].isspace() or _LIST_MARKER.match(line))


def _plain_html(text: str) -> str | None:
    """The parser's HTML for a plain body (see above); None when the body is not one."""
    if _NOT_PLAIN.search(text):
        return None
    out: list[str] = []
    paragraph: list[str] = []
    open_list = ""  # "ul" or "ol" while a list is open
    last = ""  # what the previous line was: "", "heading", "text" or "item"

    def close_paragraph() -> None:
        if paragraph:
            out.append(f"<p>{escapeHtml(chr(10).join(paragraph))}</p>\n")
            paragraph.clear()

    for line in text.split("\n"):
        if not line:
            close_paragraph()
            last = ""
            continue
        if line.startswith("- "):
            kind, item, start = "ul", line[2:], 1
        elif (marker := _ORDERED_ITEM.match(line)) is not None:
            kind, item, start = "ol", line[marker.end():], int(marker.group(1))
        else:
            kind = ""
        if kind:
            if last == "text" or not _plain_line(item):
                return None  # a list interrupting a paragraph; an item starting with syntax
            if open_list:
                if last != "item" or kind != open_list:
                    return None  # a loose list, or two lists next to each other
            else:
                out.append(f"<{kind}>\n" if start == 1 else f'<ol start="{start}">\n')
                open_list = kind
            out.append(f"<li>{escapeHtml(item)}</li>\n")
            last = "item"
            continue
        if last == "item":
            return None  # a lazy continuation line of the item
        if open_list:
            out.append(f"</{open_list}>\n")
            open_list = ""
        if line[0] == "#":
            heading = _HEADING.fullmatch(line)
            if heading is None or heading[2].endswith("#"):
                return None
            close_paragraph()
            tag = _SHIFTED[f"h{len(heading[1])}"]
            out.append(f"<{tag}>{escapeHtml(heading[2])}</{tag}>\n")
            last = "heading"
        elif _plain_line(line):
            paragraph.append(line)
            last = "text"
        else:
            return None
    close_paragraph()
    if open_list:
        out.append(f"</{open_list}>\n")
    return "".join(out)


def tokens(text: str) -> list[Token]:
    """Parse without rendering (for tests and text extraction)."""
    return _MD.parse(text)
