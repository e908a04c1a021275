"""The outbox relay: delivers pending outbox messages to their handlers, with retries.

Runs as a background task of the server in the embedded mode and as ``flask outbox relay``
(one or more processes) at scale. On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several relays
share the table without delivering a message twice.
"""

import logging
import time
from datetime import timedelta

from sqlalchemy import select

from community.db import utcnow
from community.models import OutboxMessage
from community.models.outbox import DEAD, DONE, PENDING

log = logging.getLogger(__name__)
_handlers: dict = {}
_failure_handlers: dict = {}
BATCHED_PREFIX = "crm.sync."


def handler(topic: str):
    """Register ``fn(payload, *, session, config)`` as the deliverer of ``topic``."""

    def register(fn):
        _handlers[topic] = fn
        return fn

    return register


def on_failure(topic: str):
    """Register ``fn(payload, *, session, error, dead)``: told of each failed attempt of ``topic``
    (``dead`` true on the last one), after the handler's own writes were rolled back."""

    def register(fn):
        _failure_handlers[topic] = fn
        return fn

    return register


def _tell_failure(session, message) -> None:
    fn = _failure_handlers.get(message.topic)
    if fn is None:
        return
    try:
        with session.begin_nested():
            fn(message.payload, session=session, error=message.last_error, dead=message.status == DEAD)
    except Exception:  # the attempt's bookkeeping must still be saved
        log.exception("outbox %s (%s): failure handler failed", message.id, message.topic)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 2, 4, 8 ... seconds, at most one hour."""
    return timedelta(seconds=min(3600, 2**attempts))


def due_ids(session, *, limit: int) -> list[int]:
    stmt = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.available_at <= utcnow(),
               ~OutboxMessage.topic.startswith(BATCHED_PREFIX))  # crm_relay delivers those in batches
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def deliver_one(session, message_id: int, *, config) -> str | None:
    """Claim and deliver one message in its own transaction; returns its new status."""
    try:
        message = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:  # another relay took it
            session.rollback()
            return None
        fn = _handlers.get(message.topic)
        # the attempt is counted after the handler: writing it first would hold SQLite's write lock
        # through the handler's network call (a CRM or SMTP server taking seconds)
        try:
            if fn is None:
                raise LookupError(f"no handler for topic {message.topic!r}")
            with session.begin_nested():
                fn(message.payload, session=session, config=config)
        except Exception as exc:  # any failure is recorded, retried, then parked
            message.attempts += 1
            message.updated_at = utcnow()
            log.warning("outbox %s (%s) attempt %s failed: %s", message.id, message.topic, message.attempts, exc)
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            # an error that says trying again cannot help (a 4xx from a CRM) parks the message at once
            if message.attempts >= config.get("OUTBOX_MAX_ATTEMPTS", 8) or getattr(exc, "retryable", True) is False:
                message.status = DEAD
            else:
                retry_after = getattr(exc, "retry_after", None)
                wait = timedelta(seconds=retry_after) if retry_after else backoff(message.attempts)
                message.available_at = utcnow() + wait
            _tell_failure(session, message)
        else:
            message.attempts += 1
            message.status = DONE
            message.delivered_at = message.updated_at = utcnow()
            message.last_error = None
        status = message.status
        session.commit()
        return status
    except Exception:
        session.rollback()
        raise


def run_once(session, *, config, limit: int | None = None) -> dict[str, int]:
    """Deliver every due message once; returns counts by resulting status."""
    counts = {DONE: 0, PENDING: 0, DEAD: 0}
    ids = due_ids(session, limit=limit or config.get("OUTBOX_BATCH_SIZE", 100))
    session.rollback()
    for message_id in ids:
        status = deliver_one(session, message_id, config=config)
        if status:
            counts[status] += 1
    return counts


def retry(session, *, message_id: int | None = None) -> int:
    """Put dead messages (or one) back in the queue with a fresh attempt count. Caller commits."""
    stmt = select(OutboxMessage).where(OutboxMessage.status == DEAD)
    if message_id is not None:
        stmt = stmt.where(OutboxMessage.id == message_id)
    rows = list(session.scalars(stmt))
    for message in rows:
        message.status, message.attempts, message.available_at = PENDING, 0, utcnow()
    return len(rows)


def loop(app, *, stop=None, sleep=time.sleep) -> None:
    """Poll and deliver until ``stop()`` returns true (forever by default)."""
    from community.extensions import db
    from community.integrations import crm_relay

    poll = app.config.get("OUTBOX_POLL_SECONDS", 1.0)
    while not (stop and stop()):
        with app.app_context():
            try:
                counts = run_once(db.session, config=app.config)
                counts = {"crm": crm_relay.run_once(db.session, config=app.config)[DONE], **counts}
                flush_views_if_due(db.session, every=app.config.get("VIEW_FLUSH_SECONDS", 60))
                escalate_cases_if_due(db.session, config=app.config)
            except Exception:
                log.exception("outbox relay pass failed")
                counts = {}
            finally:
                db.session.remove()
        if not any(counts.values()):
            sleep(poll)


def flush_views_if_due(session, *, every: float) -> int:
    """Write this process's pending question views every ``every`` seconds (services/views.py)."""
    from community.db import transaction
    from community.services import views

    if not views.counter.due(every):
        return 0
    with views.batch() as counts, transaction(session):
        return views.apply(session, counts)


_escalation_checked: list[float] = []  # time.monotonic() of this process's last check


def escalate_cases_if_due(session, *, config, clock=time.monotonic) -> int:
    """Open support cases for questions left unanswered too long (services/crm_cases.py), at most
    every CRM_ESCALATION_CHECK_SECONDS; returns how many were escalated."""
    from community.db import transaction
    from community.services import crm_cases

    every, now = config.get("CRM_ESCALATION_CHECK_SECONDS", 300), clock()
    if every <= 0 or (_escalation_checked and now - _escalation_checked[-1] < every):
        return 0
    _escalation_checked[:] = [now]
    with transaction(session):
        return crm_cases.escalate_due(session, config=config)


def view_flush_loop(app, *, stop=None, sleep=time.sleep) -> None:
    """Flush question views on their own schedule, for web processes that run no relay."""
    from community.extensions import db

    every = app.config.get("VIEW_FLUSH_SECONDS", 60)
    while every > 0 and not (stop and stop()):
        sleep(every)
        with app.app_context():
            try:
                flush_views_if_due(db.session, every=every)
            except Exception:
                log.exception("view flush failed")
            finally:
                db.session.remove()


def start_view_flusher(app) -> None:
    """Start ``view_flush_loop`` once per process, unless this process runs the relay (which flushes)."""
    from community.extensions import socketio

    if app.config.get("VIEW_FLUSH_SECONDS", 60) <= 0:
        return
    state = app.extensions.setdefault("view_flusher", {})
    if state.get("started"):  # this process's relay (or an earlier call) flushes already
        return
    state["started"] = True
    socketio.start_background_task(view_flush_loop, app, sleep=socketio.sleep)


def start_in_background(app) -> None:
    """Run the relay inside the server process (the embedded default)."""
    from community.extensions import socketio

    app.extensions.setdefault("view_flusher", {})["started"] = True  # the loop flushes question views
    socketio.start_background_task(loop, app, sleep=socketio.sleep)
    log.info("outbox relay running in the server process")


def register_default_handlers() -> None:
    from community.integrations import email
    from community.services import crm_cases, crm_profiles, notifications

    handler("email.send")(lambda payload, *, session, config: email.deliver(payload, config=config))
    handler("notify.answer")(notifications.new_answer)
    handler(crm_profiles.TOPIC)(crm_profiles.deliver)  # customer-360 pulls
    handler(crm_cases.TOPIC)(crm_cases.deliver)
    on_failure(crm_cases.TOPIC)(crm_cases.delivery_failed)
