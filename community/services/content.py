"""Markdown to safe HTML: markdown-it-py renders, bleach sanitises.

bleach lives only in this module, behind :func:`sanitize`, so it can be swapped. Everything a
user writes reaches the page through :func:`render` (posts) or :func:`render_inline` (comments).
"""

import re
import unicodedata
from html import unescape

import bleach
from bleach.html5lib_shim import Filter
from markdown_it import MarkdownIt

BLOCK_TAGS = [
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
    "a", "img", "em", "strong", "del", "s", "sup", "sub", "kbd",
]  # fmt: skip
INLINE_TAGS = ["a", "code", "em", "strong", "del", "s"]
PROTOCOLS = ["http", "https", "mailto"]
LINK_REL = "nofollow ugc noopener"


def _code_class(tag, name, value):
    return name == "class" and re.fullmatch(r"language-[\w+#.-]{1,40}", value) is not None


ATTRIBUTES = {
    "a": ["href", "title"],
    "img": ["src", "alt", "title"],
    "ol": ["start"],
    "code": _code_class,
}


class _SafeLinks(Filter):
    """Add rel to every link; drop images whose source is not http(s)."""

    def __iter__(self):
        for token in Filter.__iter__(self):
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "a":
                attrs = dict(token.get("data") or {})
                attrs[(None, "rel")] = LINK_REL
                token["data"] = attrs
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "img":
                src = (token.get("data") or {}).get((None, "src"), "")
                if not re.match(r"(?i)^https?://", src.strip()):
                    continue
            yield token


_block_cleaner = bleach.sanitizer.Cleaner(
    tags=BLOCK_TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=True,
    strip_comments=True, filters=[_SafeLinks],
)  # fmt: skip
_inline_cleaner = bleach.sanitizer.Cleaner(
    tags=INLINE_TAGS, attributes={"a": ["href", "title"]}, protocols=PROTOCOLS, strip=True,
    strip_comments=True, filters=[_SafeLinks],
)  # fmt: skip

_md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_md_inline = MarkdownIt("commonmark", {"html": False}).enable(["strikethrough"])

# characters that reorder or hide text (bidi overrides, zero-width joiners used to spoof)
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")


def normalize_text(text: str | None) -> str:
    """NFC-normalise, unify line endings, drop NUL, bidi overrides and zero-width characters."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _INVISIBLE.sub("", text)


# elements whose text content must go with them (bleach's strip keeps the text)
_DANGEROUS_BLOCKS = re.compile(
    r"<(script|style|svg|math|template|iframe|object|noscript|textarea|title)\b.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)


def sanitize(html: str, *, inline: bool = False) -> str:
    """The one door to the HTML sanitiser: allowlisted tags, attributes and URL protocols."""
    html = _DANGEROUS_BLOCKS.sub("", html)
    return (_inline_cleaner if inline else _block_cleaner).clean(html)


def markdown_to_html(text: str) -> str:
    """Raw CommonMark (+ tables, strikethrough) output, before sanitising. For tests and tools."""
    return _md.render(text)


def render(text: str) -> str:
    """Markdown body of a question, answer or profile to sanitised HTML."""
    return sanitize(_md.render(normalize_text(text)))


def render_inline(text: str) -> str:
    """Comment Markdown: inline elements only (emphasis, code, links), no blocks, no raw HTML."""
    return sanitize(_md_inline.renderInline(normalize_text(text)), inline=True)


def plain_text(html: str, limit: int | None = None) -> str:
    """Text of sanitised HTML for excerpts; cut on a word boundary with an ellipsis."""
    text = bleach.clean(html, tags=[], strip=True)
    text = re.sub(r"\s+", " ", unescape(text)).strip()
    if limit and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(".,;:") + "…"
    return text

