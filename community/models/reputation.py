"""The reputation ledger and what it is computed from.

``reputation_ledger`` is append-only: a retracted vote, an un-accept, a deleted post or a fraud
reversal adds a compensating entry pointing at the one it reverses (``reverses_id``, unique, so
no entry is ever reversed twice). ``users.reputation`` is 1 plus the sum of a user's entries;
``reputation_totals`` holds the same sums per scope (everything, a category, a tag) and period
(ISO week, month, quarter, year) for the leaderboards. Both caches are written in the same
transaction as the entry, and ``flask reputation verify`` checks them.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.db import Base, utcnow


class ReputationEntry(Base):
    __tablename__ = "reputation_ledger"
    __table_args__ = (
        Index("ix_reputation_ledger_user_created", "user_id", "created_at"),
        Index("ix_reputation_ledger_source", "source_type", "source_id"),
        # unique indexes rather than constraints, so that a rebuild can drop and rebuild them in bulk
        Index("uq_reputation_ledger_key", "key", unique=True),
        Index("uq_reputation_ledger_reverses_id", "reverses_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delta: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    # what caused it: vote, accept, post, badge, adjustment, suggested_edit, answer (bonus)
    source_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int | None]
    post_id: Mapped[int | None] = mapped_column(index=True)  # the post it is about, for scopes
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(160))  # idempotency key (unique)
    # the entry this one takes back (unique). No foreign key on purpose: entries are never deleted
    # one by one, and a self-reference would make the rebuild's wholesale replacement check every row
    reverses_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReputationTotal(Base):
    """Sum of ledger deltas per (scope, period, user): ``scope`` is ``all``, ``c<id>`` or ``t<id>``;
    ``period`` is ``all``, ``w2026-49``, ``m2026-12``, ``q2026-4`` or ``y2026``."""

    __tablename__ = "reputation_totals"
    __table_args__ = (Index("ix_reputation_totals_board", "scope", "period", "total"),)

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(12), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)


class ReputationAdjustment(Base):
    """A moderator's manual change: a source fact the rebuild replays."""

    __tablename__ = "reputation_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(String(300))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReputationRebuild(Base):
    """One run of ``reputation rebuild`` (or a rules change applied): who, when, what changed."""

    __tablename__ = "reputation_rebuilds"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    events: Mapped[int] = mapped_column(default=0, server_default="0")
    changed_users: Mapped[int] = mapped_column(default=0, server_default="0")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class FraudCase(Base):
    """Serial voting found by ``reputation detect-fraud``; its votes' reputation was reversed."""

    __tablename__ = "fraud_cases"
    __table_args__ = (UniqueConstraint("voter_id", "target_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(24))  # burst | share
    vote_count: Mapped[int] = mapped_column(default=0)
    explanation: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class FraudVote(Base):
    """A vote whose reputation a fraud case reversed. Votes are matched by id and creation time,
    because SQLite may reuse the id of a deleted row."""

    __tablename__ = "fraud_votes"
    __table_args__ = (UniqueConstraint("vote_id", "vote_created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("fraud_cases.id", ondelete="CASCADE"), index=True)
    vote_id: Mapped[int]
    vote_created_at: Mapped[datetime]
    post_id: Mapped[int]
    voter_id: Mapped[int]


class Setting(Base):
    """Site settings edited in the admin pages (reputation rules, levels, privileges), as JSON."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
