"""Tiny HTML readers for tests: visible text, and tables as caption → rows of cell texts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Table:
    """One <table>: its caption and rows of (is_header, text) cells."""

    caption: str = ""
    rows: list[list[tuple[bool, str]]] = field(default_factory=list)

    def row(self, header_prefix: str) -> list[str]:
        """Cell texts of the first row whose first cell starts with `header_prefix`."""
        for r in self.rows:
            if r and r[0][1].startswith(header_prefix):
                return [text for _, text in r]
        raise KeyError(f"{header_prefix!r} not in table {self.caption!r}")


class PageText(HTMLParser):
    """Collects visible text (not <script>/<style>/<title>) and every table."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.tables: list[Table] = []
        self._skip = 0
        self._stack: list[Table] = []
        self._cell: list[str] | None = None
        self._cell_header = False
        self._in_caption = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        if tag in ("script", "style", "title"):
            self._skip += 1
        elif tag == "table":
            self._stack.append(Table())
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._stack:
            self._stack[-1].rows.append([])
        elif tag in ("td", "th") and self._stack:
            self._cell, self._cell_header = [], tag == "th"
        elif tag == "br":
            self.chunks.append(" ")
            if self._cell is not None:
                self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._stack:
            self._stack[-1].rows[-1].append((self._cell_header, _squash("".join(self._cell))))
            self._cell = None
        if tag in ("p", "li", "dd", "dt", "div", "td", "th", "h1", "h2", "h3", "h4", "caption", "tr"):
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_caption and self._stack:
            self._stack[-1].caption += data

    @property
    def text(self) -> str:
        """Visible text with runs of whitespace squashed to one space."""
        return _squash("".join(self.chunks))

    def table(self, caption_part: str) -> Table:
        """The first table whose caption contains `caption_part`."""
        for t in self.tables:
            if caption_part in t.caption:
                return t
        raise KeyError(caption_part)
