"""CRM sync: which connectors are on, queueing members for them, and the member-to-contact links.

Anything that changes what a member's advocate snapshot says (reputation, badges, posts, profile,
email, sharing consent, last activity) calls :func:`members_changed` inside its transaction. That
writes one outbox row per member and connector, coalesced: while a row for the member is waiting,
nothing more is written, and the relay builds the snapshot when it delivers, so ten votes in a
second are one delivery of the latest snapshot (docs/crm.md).
"""

from sqlalchemy import bindparam, event, insert, or_, select
from sqlalchemy.orm import Session

from community.db import record_event, utcnow
from community.models import CrmLink, OutboxMessage, User
from community.models.crm import CONNECTORS
from community.models.outbox import PENDING
from community.services.errors import NotFound, PermissionDenied, RuleViolation

TOPIC_PREFIX = "crm.sync."


def app_config():
    """The running app's settings, or an empty mapping outside an app (CLI helpers, scripts)."""
    from flask import current_app, has_app_context

    return current_app.config if has_app_context() else {}


def enabled() -> tuple[str, ...]:
    """The connectors named by ``CRM_CONNECTORS`` (none in the embedded default)."""
    value = app_config().get("CRM_CONNECTORS") or ()
    if isinstance(value, str):
        value = [part.strip().lower() for part in value.split(",")]
    return tuple(name for name in CONNECTORS if name in value)


def topic(connector: str) -> str:
    return f"{TOPIC_PREFIX}{connector}"


def member_key(user_id: int) -> str:
    return f"user:{user_id}"


# built once: this runs on every vote, and reusing the statements skips their cache-key walk
_WAITING = select(OutboxMessage.topic, OutboxMessage.key).where(
    OutboxMessage.topic.in_(bindparam("topics", expanding=True)),
    OutboxMessage.key.in_(bindparam("keys", expanding=True)),
    OutboxMessage.status == PENDING,
    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < bindparam("now")),
).with_for_update(skip_locked=True)
_INSERT = insert(OutboxMessage.__table__)


def members_changed(session, user_ids, *, connectors=None) -> int:
    """Queue a sync of these members for every enabled connector; returns rows written. Never commits.

    A waiting row that no relay holds (not leased) already stands for "send the latest snapshot",
    so it is left as it is. A row that a relay is delivering right now is locked or leased: then a
    fresh row is written, so a change made during a delivery is never lost.
    """
    names = enabled() if connectors is None else tuple(connectors)
    if not names or not user_ids:
        return 0
    queued = session.info.setdefault("crm_queued", set())
    wanted = {(topic(name), member_key(uid)) for name in names for uid in set(user_ids)} - queued
    if not wanted:
        return 0
    now = utcnow()
    # Core statements on the session's connection: no autoflush, no ORM bookkeeping (this runs on
    # every vote, and the bench holds it under 1 ms)
    conn = session.connection()
    found = conn.execute(_WAITING, {"topics": sorted({t for t, _ in wanted}), "keys": sorted({k for _, k in wanted}),
                                    "now": now})  # fmt: skip
    waiting = set(found.tuples())
    fresh = sorted(wanted - waiting)
    if fresh:
        conn.execute(_INSERT, [
            {"topic": t, "key": k, "payload": {"user_id": int(k.split(":", 1)[1])}, "status": PENDING,
             "attempts": 0, "available_at": now, "created_at": now, "updated_at": now} for t, k in fresh])  # fmt: skip
    queued.update(wanted)
    if fresh:  # after commit, integrations/crm_jobs.py wakes an RQ worker when REDIS_URL is set
        record_event(session, "crm_queued", {"rows": len(fresh)})
    return len(fresh)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_queued(session, *_args):
    session.info.pop("crm_queued", None)


# --- links ----------------------------------------------------------------------------------------


def get_link(session, *, user_id: int, connector: str, create: bool = False) -> CrmLink | None:
    link = session.scalars(select(CrmLink).where(CrmLink.user_id == user_id, CrmLink.connector == connector)).first()
    if link is None and create:
        link = CrmLink(user_id=user_id, connector=connector)
        session.add(link)
    return link


def links_for(session, user_ids) -> dict[int, list[CrmLink]]:
    """Every link of these members, in one query."""
    found: dict[int, list[CrmLink]] = {uid: [] for uid in user_ids}
    if user_ids:
        for link in session.scalars(select(CrmLink).where(CrmLink.user_id.in_(list(user_ids))).order_by(CrmLink.id)):
            found[link.user_id].append(link)
    return found


def _check_connector(connector: str) -> None:
    if connector not in CONNECTORS:
        raise RuleViolation(f"Unknown connector {connector!r}.",
                            fields={"connector": f"Choose one of: {', '.join(CONNECTORS)}."})  # fmt: skip


def link_contact(session, *, actor: User | None, user_id: int, connector: str, contact_id: str,
                 linked_by: str = "manual") -> CrmLink:
    """Link a member to a CRM contact by hand (staff), or by an external id given by SSO or the API.

    ``actor`` None means a trusted caller (an SSO hook, a CLI). The member is queued for a sync,
    which tells the CRM contact its community user id.
    """
    if actor is not None and actor.role not in ("moderator", "admin"):
        raise PermissionDenied("Only staff can link members to CRM contacts.")
    _check_connector(connector)
    contact_id = (contact_id or "").strip()
    if not contact_id or len(contact_id) > 120:
        raise RuleViolation("Give the CRM contact id (at most 120 characters).",
                            fields={"contact_id": "Give the CRM contact id (at most 120 characters)."})  # fmt: skip
    if session.get(User, user_id) is None:
        raise NotFound("No such member.")
    taken = session.scalars(select(CrmLink).where(
        CrmLink.connector == connector, CrmLink.contact_id == contact_id, CrmLink.user_id != user_id)).first()
    if taken is not None:
        raise RuleViolation("That contact is linked to another member already.",
                            fields={"contact_id": f"Linked to member #{taken.user_id} already."})  # fmt: skip
    link = get_link(session, user_id=user_id, connector=connector, create=True)
    link.contact_id, link.linked_by, link.linked_at = contact_id, linked_by, utcnow()
    link.last_hash = None  # send the whole snapshot to the newly linked contact
    members_changed(session, [user_id], connectors=[connector] if connector in enabled() else ())
    return link


def unlink(session, *, actor: User, user_id: int, connector: str) -> None:
    if actor.role not in ("moderator", "admin"):
        raise PermissionDenied("Only staff can unlink members from CRM contacts.")
    link = get_link(session, user_id=user_id, connector=connector)
    if link is None or link.contact_id is None:
        raise NotFound("This member is not linked to that CRM.")
    link.contact_id, link.linked_by, link.linked_at, link.last_hash = None, None, None, None


def set_sharing(session, *, user: User, sharing: bool) -> User:
    """The member's consent: with sharing off, the CRM receives only the opt-out flag from now on."""
    if user.crm_sharing != bool(sharing):
        user.crm_sharing = bool(sharing)
        members_changed(session, [user.id])
    return user
