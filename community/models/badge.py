"""Badge awards and marketer-defined manual badges. The automatic badges are defined in code
(``community.services.badge_registry``); an award is unique per user, badge and award key, so
evaluating twice or backfilling never awards twice."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.db import Base, utcnow
from community.models.user import User

TIERS = ("bronze", "silver", "gold")


class BadgeAward(Base):
    __tablename__ = "badge_awards"
    __table_args__ = (
        UniqueConstraint("user_id", "badge", "award_key"),
        Index("ix_badge_awards_badge_created", "badge", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    badge: Mapped[str] = mapped_column(String(40))  # slug of a registry or manual badge
    tier: Mapped[str] = mapped_column(String(8))
    # "" for a once-only badge; the post id, tag name or a manual award's id for repeatable ones
    award_key: Mapped[str] = mapped_column(String(80), default="", server_default="")
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    tag_id: Mapped[int | None] = mapped_column(ForeignKey("tags.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")


class ManualBadge(Base):
    """A badge a marketer defines and hands out by hand (event speaker, beta tester ...)."""

    __tablename__ = "manual_badges"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    tier: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
