"""What the community knows of each member's CRM record: links, the customer-360 cache, support cases.

A member has at most one link per connector (``salesforce``, ``hubspot``, ``webhook``). The row
exists from the member's first queued sync on; it counts as *linked* once ``contact_id`` is known
(the first successful upsert, an external id from the API, or a staff member's hand).
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.db import Base, utcnow

CONNECTORS = ("salesforce", "hubspot", "webhook")
LINK_SOURCES = ("email", "upsert", "api", "sso", "manual")


class CrmLink(Base):
    __tablename__ = "crm_links"
    __table_args__ = (
        UniqueConstraint("user_id", "connector"),
        Index("ix_crm_links_connector_contact", "connector", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(20))
    contact_id: Mapped[str | None] = mapped_column(String(120))
    # how the contact was found: email | upsert | api | sso | manual
    linked_by: Mapped[str | None] = mapped_column(String(10))
    linked_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    # sha256 of the last fields the CRM accepted: an unchanged snapshot is not sent again
    last_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmProfile(Base):
    """The customer-360 data last read from (or pushed by) the CRM for one member."""

    __tablename__ = "crm_profiles"
    __table_args__ = (UniqueConstraint("user_id", "connector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(20))
    # account_name, tier, products (list), open_cases, lifetime_value, owner
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(10), default="pull")  # pull | push
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]


class CrmCase(Base):
    """A support case opened in the CRM for a question (by staff or automatically)."""

    __tablename__ = "crm_cases"
    __table_args__ = (
        UniqueConstraint("question_id", "connector"),
        Index("ix_crm_cases_connector_case", "connector", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(20))
    # queued (waiting for the relay) | open | closed | failed
    state: Mapped[str] = mapped_column(String(10), default="queued")
    case_id: Mapped[str | None] = mapped_column(String(120))
    case_number: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str | None] = mapped_column(String(60))  # the CRM's own status text
    resolution: Mapped[str | None] = mapped_column(Text)
    escalated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    automatic: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    resolution_answer_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class CrmResync(Base):
    """A full resync started on the admin page or by ``flask crm resync``: its progress is the
    queue rows at or after ``first_message_id`` that are still pending."""

    __tablename__ = "crm_resyncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(20))
    total: Mapped[int] = mapped_column(default=0)
    first_message_id: Mapped[int | None]
    last_message_id: Mapped[int | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
