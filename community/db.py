"""Declarative base, naming convention, the transaction helper and after-commit events."""

from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Naive UTC now; every timestamp column stores naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- after-commit events ---------------------------------------------------
# Services record events into the session; they are dispatched only after the
# commit succeeds, and discarded on rollback ("nothing is told before it is true").

_listeners: list = []


def add_event_listener(fn):
    """Register ``fn(events)``, called with the list of events after every commit."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def remove_event_listener(fn):
    if fn in _listeners:
        _listeners.remove(fn)


def record_event(session: Session, name: str, payload: dict, *, room: str | None = None):
    session.info.setdefault("pending_events", []).append(
        {"name": name, "payload": payload, "room": room}
    )


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    events = session.info.pop("pending_events", [])
    if not events:
        return
    for listener in list(_listeners):
        try:
            listener(events)
        except Exception:  # a broken listener must never undo a committed change
            import logging

            logging.getLogger(__name__).exception("after-commit listener failed")


@event.listens_for(Session, "after_soft_rollback")
def _discard_on_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop("pending_events", None)


@contextmanager
def transaction(session=None):
    """Run the block as one unit of work: commit on success, roll back on any error.

    Re-entrant: an inner ``transaction()`` joins the outer one, so a service helper
    called from a CLI loop or a view never commits half of the caller's work.
    """
    if session is None:
        from community.extensions import db

        session = db.session
    depth = session.info.get("tx_depth", 0)
    session.info["tx_depth"] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info["tx_depth"] = depth
