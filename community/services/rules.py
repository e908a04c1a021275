"""Input rules for posts: lengths, tags. Each check returns the cleaned value or raises RuleViolation."""

import re

from community.services import content
from community.services.errors import RuleViolation

TITLE_MIN, TITLE_MAX = 15, 150
BODY_MIN, BODY_MAX = 30, 30_000
COMMENT_MIN, COMMENT_MAX = 15, 600
TAGS_MIN, TAGS_MAX = 1, 5
TAG_MAX_LEN = 25
REASON_MAX = 300
TAG_RE = re.compile(r"[a-z0-9+#.-]*[a-z0-9][a-z0-9+#.-]*")


def _fail(field: str, message: str):
    raise RuleViolation(message, fields={field: message})


def title(value: str | None) -> str:
    value = " ".join(content.normalize_text(value).split())
    if not value:
        _fail("title", "Enter a title.")
    if not TITLE_MIN <= len(value) <= TITLE_MAX:
        _fail("title", f"Title must be {TITLE_MIN} to {TITLE_MAX} characters (it is {len(value)}).")
    return value


def body(value: str | None, field: str = "body") -> str:
    value = content.normalize_text(value).strip()
    if not value:
        _fail(field, "Enter the text of your post.")
    if not BODY_MIN <= len(value) <= BODY_MAX:
        _fail(field, f"Body must be {BODY_MIN} to {BODY_MAX:,} characters (it is {len(value):,}).")
    return value


def comment(value: str | None) -> str:
    value = " ".join(content.normalize_text(value).split())
    if not value:
        _fail("body", "Enter a comment.")
    if not COMMENT_MIN <= len(value) <= COMMENT_MAX:
        _fail("body", f"Comments must be {COMMENT_MIN} to {COMMENT_MAX} characters (it is {len(value)}).")
    return value


def reason(value: str | None) -> str:
    value = " ".join(content.normalize_text(value).split())
    if len(value) > REASON_MAX:
        _fail("reason", f"Keep the edit summary under {REASON_MAX} characters.")
    return value


def tags(value) -> list[str]:
    """Accept a list or a space/comma separated string; return 1-5 unique valid tag names."""
    if value is None:
        value = []
    if isinstance(value, str):
        value = re.split(r"[\s,]+", content.normalize_text(value))
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        _fail("tags", "Tags must be a list of names.")
    names: list[str] = []
    for raw in value:
        name = raw.strip().lower()
        if not name:
            continue
        if len(name) > TAG_MAX_LEN:
            _fail("tags", f"Tag {name[:30]!r} is longer than {TAG_MAX_LEN} characters.")
        if not TAG_RE.fullmatch(name):
            _fail("tags", f"Tag {name[:30]!r} may only use a-z, 0-9 and + # . - (with a letter or digit)")
        if name not in names:
            names.append(name)
    if not TAGS_MIN <= len(names) <= TAGS_MAX:
        _fail("tags", f"Use {TAGS_MIN} to {TAGS_MAX} tags.")
    return names
