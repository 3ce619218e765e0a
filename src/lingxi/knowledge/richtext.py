"""FAQ answers as a safe subset of HTML, and the plain text derived from it for WeChat, SMS and IVR.

`sanitize_answer` keeps paragraphs, line breaks, lists, bold/italic and http(s) links; everything else is
removed by ammonia (nh3): scripts and styles with their content, other tags (their text stays), every
attribute except a link's `href`, and links to any other scheme or to relative addresses. Text without
any tag (an answer typed in Excel) becomes paragraphs: a blank line starts a new one, a newline is a <br>.

`plain_text` renders the sanitised HTML for channels that show text only (SMS is short): one line per
paragraph, line break or list item, list items as "• …" or "1. …", links as "text（https://…）" (or the
bare address).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = frozenset({"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "a"})
MAX_ANSWER_CHARS = 20_000  # of the sanitised HTML

_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# Block elements of pasted content (Word, web pages) become paragraphs, so their text stays apart.
_BLOCK_OPEN = re.compile(
    r"<(?:div|h[1-6]|blockquote|section|article|header|footer|tr|pre|address|dt|dd)\b[^>]*>", re.IGNORECASE
)
_BLOCK_CLOSE = re.compile(
    r"</(?:div|h[1-6]|blockquote|section|article|header|footer|tr|pre|address|dt|dd)\s*>", re.IGNORECASE
)
_CELL = re.compile(r"</?t[dh]\b[^>]*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n")


def _keep_http_links(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        url = value.strip()
        return url if re.match(r"https?://[^\s/]+", url, re.IGNORECASE) else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style", "template", "iframe", "object", "noscript", "textarea"},
    attributes={"a": {"href"}},
    attribute_filter=_keep_http_links,
    url_schemes={"http", "https"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def text_to_html(text: str) -> str:
    """Plain text → paragraphs (blank line) and <br> (newline), escaped."""
    paragraphs = [p.strip() for p in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n"))]
    return "".join(
        "<p>" + "<br>".join(html.escape(line.strip(), quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p
    )


def sanitize_answer(raw: str) -> str:
    """The stored form of an answer: allowed tags only, http(s) links only; '' when nothing is left."""
    if looks_like_html(raw):
        source = _CELL.sub(" ", _BLOCK_CLOSE.sub("</p>", _BLOCK_OPEN.sub("<p>", raw)))
    else:
        source = text_to_html(raw)
    cleaned = _cleaner.clean(source).strip()
    # An answer that was only markup (or only removed content) is empty.
    return cleaned if plain_text(cleaned) else ""


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [ordered (0/1), counter]
        self.href: str | None = None
        self.link_text: list[str] = []

    def _flush(self) -> None:
        text = re.sub(r"[ \t]+", " ", "".join(self.line)).strip()
        if text:
            self.blocks.append(text)
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "ul", "ol"):
            self._flush()
        if tag == "ul":
            self.lists.append([0, 0])
        elif tag == "ol":
            self.lists.append([1, 0])
        elif tag == "li":
            self._flush()
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.line.append(f"{indent}{self.lists[-1][1]}. ")
            else:
                self.line.append(f"{indent}• ")
        elif tag == "br":
            self._flush()
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li"):
            self._flush()
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag == "a":
            text = "".join(self.link_text).strip()
            if self.href and text and text != self.href:
                self.line.append(f"（{self.href}）")
            elif self.href and not text:
                self.line.append(self.href)
            self.href = None

    def handle_data(self, data: str) -> None:
        self.line.append(data)
        if self.href is not None:
            self.link_text.append(data)

    def render(self, source: str) -> str:
        self.feed(source)
        self.close()
        self._flush()
        return "\n".join(self.blocks)


def plain_text(answer_html: str) -> str:
    """Text-only rendering of a sanitised answer (see module docstring)."""
    return _TextRenderer().render(answer_html)
