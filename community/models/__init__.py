"""Mapped classes only: columns, relationships, constraints. No commits, no I/O."""

from community.models.outbox import OutboxMessage
from community.models.qa import (
    Answer,
    Category,
    Comment,
    Post,
    Question,
    Revision,
    Tag,
    Vote,
    question_tags,
)
from community.models.user import ROLES, STAFF_ROLES, ApiToken, User

__all__ = [
    "ROLES",
    "STAFF_ROLES",
    "Answer",
    "ApiToken",
    "Category",
    "Comment",
    "OutboxMessage",
    "Post",
    "Question",
    "Revision",
    "Tag",
    "User",
    "Vote",
    "question_tags",
]
