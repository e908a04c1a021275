"""Mapped classes only: columns, relationships, constraints. No commits, no I/O."""

from community.models.badge import TIERS, BadgeAward, ManualBadge
from community.models.crm import CONNECTORS, CrmCase, CrmLink, CrmProfile, CrmResync
from community.models.outbox import OutboxMessage
from community.models.qa import (
    Answer,
    Category,
    Comment,
    Post,
    Question,
    Revision,
    SuggestedEdit,
    Tag,
    Vote,
    question_tags,
)
from community.models.reputation import (
    FraudCase,
    FraudVote,
    ReputationAdjustment,
    ReputationEntry,
    ReputationRebuild,
    ReputationTotal,
    Setting,
)
from community.models.user import ROLES, STAFF_ROLES, ApiToken, User

__all__ = [
    "CONNECTORS",
    "CrmCase",
    "CrmLink",
    "CrmProfile",
    "CrmResync",
    "TIERS",
    "BadgeAward",
    "FraudCase",
    "FraudVote",
    "ManualBadge",
    "ReputationAdjustment",
    "ReputationEntry",
    "ReputationRebuild",
    "ReputationTotal",
    "Setting",
    "SuggestedEdit",
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
