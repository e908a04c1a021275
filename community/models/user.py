"""Members, their roles and API tokens."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.db import Base, utcnow

ROLES = ("member", "moderator", "marketer", "admin")
STAFF_ROLES = ("moderator", "admin")


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_email_lower", text("lower(email)")),
        Index("ix_users_reputation", "reputation"),
        # leaderboards look up the few members they leave out (staff, deactivated accounts)
        Index("ix_users_role", "role"),
        Index("ix_users_is_active_account", "is_active_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    about: Mapped[str] = mapped_column(Text, default="", server_default="")
    about_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    avatar_seed: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active_account: Mapped[bool] = mapped_column(default=True, server_default="1")
    # the member lets their community activity flow into the company's CRM record (docs/crm.md)
    crm_sharing: Mapped[bool] = mapped_column(default=True, server_default="1")
    # cached counters, kept in step by the services; `flask users recount` reconciles them
    reputation: Mapped[int] = mapped_column(default=1, server_default="1")
    question_count: Mapped[int] = mapped_column(default=0, server_default="0")
    answer_count: Mapped[int] = mapped_column(default=0, server_default="0")
    accepted_count: Mapped[int] = mapped_column(default=0, server_default="0")

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    @property
    def is_active(self):  # Flask-Login asks this
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self):
        # include a password fingerprint so a password change ends other sessions
        return f"{self.id}:{self.password_hash[-8:]}"

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")
