"""CRM delivery as RQ jobs, when ``REDIS_URL`` is set (docs/crm.md, "Running at scale (RQ)").

After a commit that queued CRM rows (services record the ``crm_queued`` event), :func:`after_commit`
puts one job on the ``crm`` queue. Jobs are deduplicated: a marker key is set (``SET NX``) when a
job is queued and cleared when it starts, so a burst of votes is one job, and a change committed
while a job runs wakes the next one. The job runs :func:`crm_relay.run_once` for a bounded number of
batches, queues itself again at once while rows are due, and with a delay (``enqueue_in``; the
worker runs with the scheduler) while rows wait for a retry. The outbox stays the source of truth:
a lost job or a Redis outage delays delivery, it never loses a change (the polling relay or the next
job picks the rows up).
"""

import logging
import math
import threading
from datetime import timedelta

from sqlalchemy import func, select

from community.db import utcnow
from community.models import OutboxMessage
from community.models.outbox import PENDING

log = logging.getLogger(__name__)
QUEUED_EVENT = "crm_queued"
NOW_KEY = "community:crm:relay:queued"  # a job is waiting in the queue
LATER_KEY = "community:crm:relay:scheduled"  # a job is scheduled for a retry
MARK_SECONDS = 600  # a marker outlives a lost job by at most this long
JOB_TIMEOUT = 900
_connections: dict = {}
_lock = threading.Lock()
_app = None


def connection(url: str):
    """One Redis client per URL and process (RQ needs bytes, not decoded strings)."""
    import redis

    with _lock:
        if url not in _connections:
            _connections[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        return _connections[url]


def queue(config):
    from rq import Queue

    return Queue(config.get("CRM_RQ_QUEUE") or "crm", connection=connection(config["REDIS_URL"]))


def enqueue(config, *, delay: float | None = None) -> bool:
    """Queue a relay job now (``delay`` None) or later; False when one is already waiting."""
    conn = connection(config["REDIS_URL"])
    if delay is None:
        if not conn.set(NOW_KEY, "1", nx=True, ex=MARK_SECONDS):
            return False
        queue(config).enqueue(run_relay, "now", job_timeout=JOB_TIMEOUT, result_ttl=60, failure_ttl=86400)
        return True
    seconds = max(1, math.ceil(delay))
    if not conn.set(LATER_KEY, "1", nx=True, ex=seconds + MARK_SECONDS):
        return False
    queue(config).enqueue_in(timedelta(seconds=seconds), run_relay, "later", job_timeout=JOB_TIMEOUT,
                             result_ttl=60, failure_ttl=86400)  # fmt: skip
    return True


def after_commit(events: list[dict]) -> None:
    """The after-commit listener: wake a worker when the committed transaction queued CRM rows."""
    from flask import current_app, has_app_context

    if not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    if not any(e["name"] == QUEUED_EVENT for e in events):
        return
    try:
        enqueue(current_app.config)
    except Exception as exc:  # Redis down: the rows wait in the outbox for the next job or relay pass
        log.warning("crm: could not queue an RQ job (%s: %s); the rows stay queued", type(exc).__name__, exc)


def _application():
    """The app to run in: the current one (``flask crm worker``, tests), else one built from the
    environment like wsgi.py does (a plain ``rq worker crm``), once per process."""
    global _app
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from community import create_app

        _app = create_app()
    return _app


def next_wait(session) -> float | None:
    """Seconds until the first waiting CRM row is due (0 when one is due now), None when none waits."""
    from community.services import crm

    now = utcnow()
    first = session.scalar(select(func.min(func.coalesce(OutboxMessage.locked_until, OutboxMessage.available_at)))
                           .where(OutboxMessage.topic.startswith(crm.TOPIC_PREFIX), OutboxMessage.status == PENDING))  # fmt: skip
    if first is None:
        return None
    return max(0.0, (first - now).total_seconds())


def run_relay(kind: str = "now") -> dict:
    """The RQ job: deliver what is due, then queue the follow-up job if rows remain."""
    from community.extensions import db
    from community.integrations import crm_relay

    app = _application()
    with app.app_context():
        connection(app.config["REDIS_URL"]).delete(NOW_KEY if kind == "now" else LATER_KEY)
        try:
            counts = crm_relay.run_once(db.session, config=app.config,
                                        max_batches=int(app.config.get("CRM_JOB_BATCHES", 50)))  # fmt: skip
            wait = next_wait(db.session)
            db.session.rollback()
        finally:
            db.session.remove()
        if wait is not None:
            # a due row left over (batch limit, or a rate-limit pause) or one waiting for a retry
            enqueue(app.config, delay=None if wait == 0 and counts.get("done") else max(wait, 1.0))
        log.info("crm job (%s): %s; next in %s s", kind, counts, wait)
        return counts
