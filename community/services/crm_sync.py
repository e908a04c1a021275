"""Operating the CRM sync: full resyncs and their progress, retrying dead messages, queue health.

Used by the admin page (/admin/crm) and ``flask crm ...``. A full resync forgets what each CRM was
last sent (``CrmLink.last_hash``) and queues every member in one ``INSERT ... SELECT``, coalesced
like :func:`community.services.crm.members_changed`: a member who already has a waiting row keeps
it, since that row will send the latest snapshot anyway. Progress is read from the queued rows
themselves, so it is the same whoever delivers them (the relay task, ``flask crm worker``, RQ).
"""

from datetime import datetime

from sqlalchemy import String, and_, cast, func, insert, literal, or_, select, update

from community.db import record_event, utcnow
from community.models import CrmLink, CrmResync, OutboxMessage, User
from community.models.crm import CONNECTORS
from community.models.outbox import DEAD, DONE, PENDING
from community.services import crm
from community.services.errors import NotFound, PermissionDenied, RuleViolation
from community.services.queries import Page

CRM_TOPICS = "crm."  # every CRM row: member syncs (crm.sync.<name>), cases, profile refreshes
QUEUED_EVENT = "crm_queued"  # after commit, integrations/crm_jobs.py wakes an RQ worker for it
SETTING_PREFIXES = {"salesforce": ("SALESFORCE_",), "hubspot": ("HUBSPOT_",), "webhook": ("CRM_WEBHOOK_",)}
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PRIVATE_KEY", "API_KEY")


def _require_admin(actor: User | None, what: str) -> None:
    """``actor`` None is a trusted caller (the command line)."""
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(f"Only administrators can {what}.")


def _check_enabled(connector: str) -> None:
    if connector not in CONNECTORS:
        raise NotFound(f"No CRM connector named {connector!r}.")
    if connector not in crm.enabled():
        raise RuleViolation(f"The {connector} connector is not enabled; add it to CRM_CONNECTORS first.")


def queued(session, **payload) -> None:
    """Tell after-commit listeners that CRM rows are waiting (so an RQ worker can be woken)."""
    record_event(session, QUEUED_EVENT, payload)


# --- full resync ----------------------------------------------------------------------------------


def _payload_sql(session):
    if session.get_bind().dialect.name == "postgresql":
        return func.json_build_object("user_id", User.id)
    return func.json_object("user_id", User.id)


def start_resync(session, *, actor: User | None, connector: str) -> CrmResync:
    """Send every member to ``connector`` again. Admins only; the connector must be enabled.

    Clears the connector's fingerprints so unchanged records are sent too, and queues each member
    with one INSERT ... SELECT, skipping members whose waiting row no relay holds (coalescing).
    Raises PermissionDenied, NotFound (unknown connector), RuleViolation (not enabled).
    """
    _require_admin(actor, "start a CRM resync")
    _check_enabled(connector)
    topic, now = crm.topic(connector), utcnow()
    session.execute(update(CrmLink).where(CrmLink.connector == connector).values(last_hash=None)
                    .execution_options(synchronize_session=False))  # fmt: skip
    before = session.scalar(select(func.max(OutboxMessage.id))) or 0
    key = literal("user:") + cast(User.id, String)
    waiting = select(OutboxMessage.id).where(
        OutboxMessage.topic == topic, OutboxMessage.key == key, OutboxMessage.status == PENDING,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now)).exists()  # fmt: skip
    rows = select(literal(topic), key, _payload_sql(session), literal(PENDING), literal(0), literal(now),
                  literal(now), literal(now)).where(~waiting).order_by(User.id)  # fmt: skip
    columns = ["topic", "key", "payload", "status", "attempts", "available_at", "created_at", "updated_at"]
    session.execute(insert(OutboxMessage).from_select(columns, rows))
    first, last, total = session.execute(
        select(func.min(OutboxMessage.id), func.max(OutboxMessage.id), func.count())
        .where(OutboxMessage.id > before, OutboxMessage.topic == topic, OutboxMessage.created_at == now)).one()  # fmt: skip
    run = CrmResync(connector=connector, total=total, first_message_id=first, last_message_id=last,
                    started_by_id=actor.id if actor is not None else None, started_at=now,
                    finished_at=now if not total else None)  # fmt: skip
    session.add(run)
    session.flush()
    if total:
        queued(session, connector=connector, resync_id=run.id)
    return run


def _resync_rows(runs):
    """The outbox rows of these resyncs: their connector's topic, inside their id range, written with them."""
    return and_(OutboxMessage.id >= CrmResync.first_message_id, OutboxMessage.id <= CrmResync.last_message_id,
                OutboxMessage.topic == literal(crm.TOPIC_PREFIX) + CrmResync.connector,
                OutboxMessage.created_at == CrmResync.started_at, CrmResync.id.in_([r.id for r in runs]))  # fmt: skip


def progress_of(session, runs: list[CrmResync]) -> dict[int, dict]:
    """Progress of several resyncs in one query: {id: {total, done, dead, pending, percent, finished_at}}.
    Marks a resync finished once none of its rows is pending (the caller commits)."""
    counts: dict[int, dict[str, int]] = {r.id: {} for r in runs}
    if runs:
        for run_id, status, n in session.execute(
                select(CrmResync.id, OutboxMessage.status, func.count()).join(OutboxMessage, _resync_rows(runs))
                .group_by(CrmResync.id, OutboxMessage.status)):  # fmt: skip
            counts[run_id][status] = n
    out = {}
    for run in runs:
        c = counts[run.id]
        done, dead, pending = c.get(DONE, 0), c.get(DEAD, 0), c.get(PENDING, 0)
        if run.finished_at is None and not pending:
            run.finished_at = utcnow()
        out[run.id] = {"id": run.id, "connector": run.connector, "total": run.total, "done": done, "dead": dead,
                       "pending": pending, "percent": 100 if not run.total else round(100 * (done + dead) / run.total),
                       "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at),
                       "finished": run.finished_at is not None}  # fmt: skip
    return out


def resync_progress(session, resync_id: int) -> dict:
    """One resync's progress (see :func:`progress_of`). Raises NotFound."""
    run = session.get(CrmResync, resync_id)
    if run is None:
        raise NotFound("No such resync.")
    return progress_of(session, [run])[run.id]


def recent_resyncs(session, *, limit: int = 5) -> list[dict]:
    runs = list(session.scalars(select(CrmResync).order_by(CrmResync.id.desc()).limit(limit)))
    found = progress_of(session, runs)
    return [found[r.id] for r in runs]


def _iso(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


# --- dead messages --------------------------------------------------------------------------------


def retry(session, *, actor: User | None, connector: str | None = None, message_id: int | None = None) -> int:
    """Queue dead CRM messages again (all, one connector's, or one): pending, attempts 0, due now.

    Admins only. Returns how many were queued. Raises PermissionDenied, NotFound (no such dead CRM
    message, or an unknown connector).
    """
    _require_admin(actor, "retry CRM messages")
    where = [OutboxMessage.status == DEAD, OutboxMessage.topic.startswith(CRM_TOPICS)]
    if connector is not None:
        if connector not in CONNECTORS:
            raise NotFound(f"No CRM connector named {connector!r}.")
        where.append(OutboxMessage.topic == crm.topic(connector))
    if message_id is not None:
        where.append(OutboxMessage.id == message_id)
    now = utcnow()
    n = session.execute(update(OutboxMessage).where(*where).values(
        status=PENDING, attempts=0, available_at=now, updated_at=now, locked_until=None, locked_by=None)
        .execution_options(synchronize_session=False)).rowcount  # fmt: skip
    if message_id is not None and not n:
        raise NotFound("No dead CRM message with that id.")
    if n:
        queued(session, connector=connector, retried=n)
    return n


def problems(session, *, connector: str, status: str = DEAD, page: int = 1, per_page: int = 25) -> Page:
    """Dead rows (status ``dead``) or failing ones (``pending`` with an error) of a connector, newest
    first; each item is (message, member or None). Three queries whatever the page size."""
    where = [OutboxMessage.topic == crm.topic(connector), OutboxMessage.status == status]
    if status == PENDING:
        where.append(OutboxMessage.last_error.is_not(None))
    total = session.scalar(select(func.count(OutboxMessage.id)).where(*where))
    page = max(1, page)
    rows = list(session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.updated_at.desc(),
                                OutboxMessage.id.desc()).offset((page - 1) * per_page).limit(per_page)))  # fmt: skip
    ids = {(m.payload or {}).get("user_id") for m in rows} - {None}
    members = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    items = [(m, members.get((m.payload or {}).get("user_id"))) for m in rows]
    return Page(items=items, page=page, per_page=per_page, total=total or 0)


# --- health ---------------------------------------------------------------------------------------


def status(session) -> list[dict]:
    """Per connector: enabled, queue depth by status, age of the oldest waiting row (seconds), last
    success, failing (waiting rows with an error), dead, linked and known members. Four queries."""
    from community.integrations import crm_relay

    depth = crm_relay.queue_depth(session)
    prefix = len(crm.TOPIC_PREFIX)
    sync_topics = [crm.topic(name) for name in CONNECTORS]
    pending = {topic[prefix:]: (oldest, failing) for topic, oldest, failing in session.execute(
        select(OutboxMessage.topic, func.min(OutboxMessage.created_at), func.count(OutboxMessage.last_error))
        .where(OutboxMessage.topic.in_(sync_topics), OutboxMessage.status == PENDING)
        .group_by(OutboxMessage.topic))}  # fmt: skip
    links = {name: (last, linked, known) for name, last, linked, known in session.execute(
        select(CrmLink.connector, func.max(CrmLink.last_synced_at), func.count(CrmLink.contact_id), func.count())
        .group_by(CrmLink.connector))}  # fmt: skip
    on, now = crm.enabled(), utcnow()
    out = []
    for name in CONNECTORS:
        counts = {PENDING: 0, DONE: 0, DEAD: 0, **depth.get(name, {})}
        oldest, failing = pending.get(name, (None, 0))
        last, linked, known = links.get(name, (None, 0, 0))
        out.append({"name": name, "enabled": name in on, "depth": counts, "failing": failing, "dead": counts[DEAD],
                    "oldest_pending_at": oldest, "oldest_pending_age": (now - oldest).total_seconds() if oldest else None,
                    "last_success": last, "linked": linked, "known": known})  # fmt: skip
    return out


def settings(connector: str, config) -> list[tuple[str, str, bool]]:
    """The connector's settings as (name, shown value, is secret): a secret shows only "set" or "not set"."""
    rows = []
    for key in sorted(k for k in config if k.startswith(SETTING_PREFIXES.get(connector, ()))):
        value = config.get(key)
        secret = any(word in key for word in _SECRET_WORDS)
        if secret:
            rows.append((key, "set" if value else "not set", True))
        else:
            rows.append((key, "" if value is None else str(value), False))
    return rows


def required_fields(connector: str, config) -> tuple[str, ...]:
    """The snapshot fields that identify the record in this CRM (they must stay mapped)."""
    from community.integrations import crm_base

    return tuple(crm_base.get(connector, config).required_fields)


def check_connection(*, actor: User, connector: str, config) -> str:
    """Call the connector's harmless ``ping``; admins only. Returns its description; raises
    PermissionDenied, NotFound, or RuleViolation carrying the CRM's error."""
    from community.integrations import crm_base

    _require_admin(actor, "test CRM connections")
    if connector not in CONNECTORS:
        raise NotFound(f"No CRM connector named {connector!r}.")
    try:
        return crm_base.get(connector, config).ping()
    except crm_base.DeliveryError as exc:
        raise RuleViolation(f"{connector}: connection failed: {exc}") from exc
    except (LookupError, ValueError, KeyError) as exc:  # missing or malformed settings
        raise RuleViolation(f"{connector}: not configured: {exc}") from exc
