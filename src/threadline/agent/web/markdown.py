"""HTML to readable Markdown, on the standard library's tolerant ``html.parser``.

What a reader sees is kept: headings, paragraphs, lists (nested), links (made absolute), emphasis,
code and preformatted blocks, quotes, simple tables, image alt texts. What a reader does not see or
does not read is dropped: scripts, styles, templates, forms' controls, ``hidden`` elements, and the
page's chrome (``nav``, ``aside``, ``footer``). When the page marks its content (``<main>``, else
``<article>``), only that is returned. Malformed HTML is closed as browsers would, well enough:
an end tag closes whatever was left open inside it, and a new ``li``, ``tr``, ``td`` or block closes
the one it cannot sit in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
                     "select", "button", "textarea", "input", "nav", "aside", "footer", "head", "dialog", "map"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
BLOCKS = frozenset({"p", "div", "section", "article", "main", "header", "figure", "figcaption", "address",
                    "details", "summary", "dl", "dt", "dd", "fieldset", "legend", "center", "form", "body", "html"})
HEADINGS = {f"h{n}": n for n in range(1, 7)}
INLINE_MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "del": "~~", "s": "~~", "strike": "~~"}
CONTENT = ("main", "article")
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_MARKER = re.compile(r"\n *(-|\d+\.) $")
_LIST_LINE = re.compile(r"\s*(-|\d+\.) ")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none")
# Dropped before parsing (the parser is pure Python; pages carry megabytes of inline scripts and SVG).
_UNREAD = re.compile(r"<!--.*?-->|<(script|style|svg|template|noscript)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(eq=False)
class _Open:
    tag: str
    parts: list[str] = field(default_factory=list)  # the element's converted content, when it is captured
    href: str | None = None
    ordered: bool = False
    count: int = 0  # a list's items, a row's cells, a table's rows
    header: bool = False  # a row of th cells
    captured: bool = False
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class Converted:
    title: str
    markdown: str


def to_markdown(html: str, base_url: str = "") -> Converted:
    """The page's title and its readable content as Markdown (see the module's docstring)."""
    parser = _Converter(base_url)
    parser.feed(_UNREAD.sub(" ", html))
    parser.close()
    return parser.result()


class _Converter(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.stack: list[_Open] = []
        self.out: list[str] = []
        self.skipping = 0
        self.title: list[str] = []
        self.in_title = False
        self.pre = 0
        self.lists: list[_Open] = []
        self.content: dict[str, list[str]] = {tag: [] for tag in CONTENT}
        self.content_depth = 0

    # -- output -------------------------------------------------------------------------------

    def sink(self) -> list[str]:
        for item in reversed(self.stack):
            if item.captured:
                return item.parts
        return self.out

    def emit(self, text: str) -> None:
        if not self.skipping:
            self.sink().append(text)

    def block(self, gap: str = "\n\n") -> None:
        sink = self.sink()
        if sink and _MARKER.search(sink[-1]):
            return  # a paragraph that starts a list item stays on the marker's line
        self.emit(gap)

    # -- parsing ------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "base" and values.get("href") and not self.stack_has("body"):
            self.base = urljoin(self.base, values["href"])
        if tag == "title":
            self.in_title = True
            return
        self.implicit_close(tag)
        if tag in VOID:
            self.void(tag, values)
            return
        item = _Open(tag)
        hidden = "hidden" in values or values.get("aria-hidden") == "true" or \
            _HIDDEN_STYLE.search(values.get("style", "")) is not None
        if tag in SKIPPED or hidden:
            item.skipped = True
            self.skipping += 1
        self.stack.append(item)
        if item.skipped:
            return
        self.open(item, values)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            self.handle_starttag(tag, attrs)
        else:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            return
        if not any(item.tag == tag for item in self.stack):
            return  # a stray end tag
        while self.stack:
            item = self.stack.pop()
            self.close_item(item)
            if item.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
            return
        if self.skipping:
            return
        self.emit(data if self.pre else _SPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        while self.stack:
            self.close_item(self.stack.pop())

    def stack_has(self, tag: str) -> bool:
        return any(item.tag == tag for item in self.stack)

    def implicit_close(self, tag: str) -> None:
        """Close what ``tag`` cannot sit in: a ``p`` before a block, an ``li`` before the next..."""
        closes: dict[str, tuple[set[str], set[str]]] = {  # tag: (closed, unless inside one of)
            "li": ({"li"}, {"ul", "ol"}), "dt": ({"dt", "dd"}, {"dl"}), "dd": ({"dt", "dd"}, {"dl"}),
            "tr": ({"tr", "td", "th"}, {"table"}), "td": ({"td", "th"}, {"tr", "table"}),
            "th": ({"td", "th"}, {"tr", "table"}), "option": ({"option"}, {"select"}),
        }
        if tag in BLOCKS or tag in HEADINGS or tag in ("ul", "ol", "table", "pre", "blockquote", "hr"):
            if self.stack and self.stack[-1].tag == "p":
                self.close_item(self.stack.pop())
            return
        if tag not in closes:
            return
        closed, fences = closes[tag]
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].tag in fences:
                return
            if self.stack[index].tag in closed:
                while len(self.stack) > index:
                    self.close_item(self.stack.pop())
                return

    # -- elements -----------------------------------------------------------------------------

    def void(self, tag: str, values: dict[str, str]) -> None:
        if tag == "br":
            self.emit("\n")
        elif tag == "hr":
            self.block("\n\n---\n\n")
        elif tag == "img" and values.get("alt", "").strip():
            self.emit(f"![{_SPACE.sub(' ', values['alt'].strip())}]({self.link(values.get('src', ''))})")

    def open(self, item: _Open, values: dict[str, str]) -> None:
        tag = item.tag
        if tag in CONTENT and sum(1 for open_ in self.stack if open_.tag in CONTENT) == 1:
            item.captured = True  # the outermost main or article: kept apart too
        if tag in HEADINGS or tag in BLOCKS or tag in ("blockquote", "table"):
            self.block()
            if tag in HEADINGS:
                self.emit("#" * HEADINGS[tag] + " ")
            if tag in ("blockquote", "table"):
                item.captured = True
        elif tag == "pre":
            self.block()
            self.pre += 1
            item.captured = True
        elif tag in ("ul", "ol"):
            if not self.lists:  # a nested list starts on its first item's line
                self.block()
            item.ordered = tag == "ol"
            self.lists.append(item)
        elif tag == "li":
            owner = self.lists[-1] if self.lists else None
            owner_count = 0
            if owner is not None:
                owner.count += 1
                owner_count = owner.count
            indent = "  " * max(0, len(self.lists) - 1)
            self.emit(f"\n{indent}{f'{owner_count}.' if owner is not None and owner.ordered else '-'} ")
        elif tag == "a":
            item.href = values.get("href")
            item.captured = True
        elif tag in INLINE_MARKS or tag == "code":
            item.captured = True
        elif tag == "tr":
            item.captured = True
        elif tag in ("td", "th"):
            item.captured = True

    def close_item(self, item: _Open) -> None:
        if item.skipped:
            self.skipping -= 1
            return
        tag = item.tag
        inner = "".join(item.parts)
        if item.captured and tag in CONTENT:
            self.content[tag].append(inner)
            self.emit(inner)
            self.block()
        elif tag in HEADINGS:
            self.block()
        elif tag == "blockquote":
            quoted = _tidy(inner)
            self.emit("\n\n" + "\n".join(f"> {line}".rstrip() for line in quoted.split("\n")) + "\n\n")
        elif tag == "pre":
            self.pre -= 1
            fence = "````" if "```" in inner else "```"
            self.emit(f"\n\n{fence}\n{inner.strip(chr(10))}\n{fence}\n\n")
        elif tag in ("ul", "ol"):
            self.lists.remove(item)
            if not self.lists:
                self.block()
        elif tag == "a":
            text = _SPACE.sub(" ", inner).strip()
            href = (item.href or "").strip()
            if text and href and not href.lower().startswith(("javascript:", "#", "data:")):
                self.emit(f"[{text}]({self.link(href)})")
            else:
                self.emit(inner)
        elif tag in INLINE_MARKS or tag == "code":
            mark = "`" if tag == "code" else INLINE_MARKS[tag]
            text = inner if self.pre else inner.strip()
            if self.pre or not text:
                self.emit(inner)
            else:
                lead = " " if inner[:1].isspace() else ""
                trail = " " if inner[-1:].isspace() else ""
                self.emit(f"{lead}{mark}{text}{mark}{trail}")
        elif tag in ("td", "th"):
            row = self.nearest("tr")
            if row is not None:
                row.count += 1
                row.header = row.header or tag == "th"
            self.emit(" " + _SPACE.sub(" ", inner.replace("|", "\\|")).strip() + " |")
        elif tag == "tr":
            if inner.strip():
                table = self.nearest("table")
                first = table is not None and table.count == 0
                if table is not None:
                    table.count += 1
                self.emit("|" + inner.rstrip() + "\n")
                if first and item.header:
                    self.emit("|" + "---|" * item.count + "\n")
        elif tag == "table":
            rows = [line for line in inner.split("\n") if line.strip()]
            self.emit("\n\n" + "\n".join(rows) + "\n\n")
        elif tag in BLOCKS:
            self.block()
        elif item.captured:
            self.emit(inner)

    def nearest(self, tag: str) -> _Open | None:
        return next((open_ for open_ in reversed(self.stack) if open_.tag == tag), None)

    def link(self, href: str) -> str:
        try:
            return urljoin(self.base, href.strip()).replace(" ", "%20").replace(")", "%29")
        except ValueError:
            return href

    def result(self) -> Converted:
        main = "".join(self.content["main"][:1]) or "\n\n".join(self.content["article"])
        body = main if len(_tidy(main)) >= 200 or not _tidy("".join(self.out)) else "".join(self.out)
        return Converted(_SPACE.sub(" ", "".join(self.title)).strip(), _tidy(body))


def _tidy(text: str) -> str:
    """Trailing spaces off, no more than one empty line in a row, no spaces at the line starts that
    Markdown would read as code (list indentation is kept)."""
    lines = [line.rstrip() for line in text.split("\n")]
    kept: list[str] = []
    fence = ""  # the fence of the code block the line is in
    for line in lines:
        opening = not fence and line.lstrip().startswith("```")
        if opening:
            fence = line.strip()
        elif fence and line.strip() == fence:
            fence = ""
            kept.append(line)
            continue
        fenced = bool(fence) and not opening
        if not fenced and not _LIST_LINE.match(line):
            line = line.lstrip(" ")
        if not line and kept and not kept[-1] and not fenced:
            continue
        kept.append(line)
    return "\n".join(kept).strip("\n")
