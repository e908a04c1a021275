"""Delivers queued member snapshots to the CRM connectors in batches.

One pass per connector: **claim** a batch of members (a short transaction that leases their outbox
rows, so no other relay sends the same member at the same time), **build** their snapshots and map
them, **send** them with no database transaction open, then **finish** (a short transaction that
records each member's result). A relay killed mid-batch leaves leased rows behind; when the lease
runs out another relay takes them again, and since every write is an upsert of the member's
current snapshot, sending twice changes nothing. Members are never sent concurrently, so a newer
snapshot can never be overtaken by an older one (the lease outlasts the HTTP timeout).
"""

import logging
import random
import time
import uuid
import zlib
from datetime import timedelta

from sqlalchemy import func, or_, select, update

from community.db import utcnow
from community.integrations import crm_base
from community.integrations.crm_base import DeliveryError, RecordResult, SyncRecord
from community.models import CrmLink, OutboxMessage
from community.models.outbox import DEAD, DONE, PENDING
from community.services import crm, crm_mapping, crm_snapshot

log = logging.getLogger(__name__)
_paused_until: dict[str, float] = {}  # connector -> time.monotonic() before which it is not called


def backoff(attempts: int, *, base: float = 2.0, cap: float = 3600.0) -> float:
    """Exponential back-off with full jitter: a random wait up to base * 2^(attempts - 1), capped."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def _serialize_claims(session, name: str) -> None:
    """On PostgreSQL two relays claim one after the other (SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"crm-claim:{name}".encode()))))


def claim(session, name: str, *, limit: int, token: str, lease: float) -> dict[str, list[int]]:
    """Lease up to ``limit`` members' waiting rows for connector ``name``; commits. {key: [row ids]}."""
    now, topic = utcnow(), crm.topic(name)
    free = or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now)
    try:
        _serialize_claims(session, name)
        rows = session.execute(
            select(OutboxMessage.key).where(OutboxMessage.topic == topic, OutboxMessage.status == PENDING,
                                            OutboxMessage.available_at <= now, free)
            .order_by(OutboxMessage.id).limit(limit * 2)).scalars().all()  # fmt: skip
        keys = list(dict.fromkeys(rows))
        if keys:
            busy = set(session.scalars(select(OutboxMessage.key).where(
                OutboxMessage.topic == topic, OutboxMessage.status == PENDING, OutboxMessage.key.in_(keys),
                # held by another relay, or backing off after a failure (a newer row waits for it)
                or_(OutboxMessage.locked_until >= now, OutboxMessage.available_at > now))))  # fmt: skip
            keys = [k for k in keys if k not in busy][:limit]
        claimed: dict[str, list[int]] = {}
        if keys:
            for row_id, key in session.execute(select(OutboxMessage.id, OutboxMessage.key).where(
                    OutboxMessage.topic == topic, OutboxMessage.status == PENDING,
                    OutboxMessage.key.in_(keys), free)):  # fmt: skip
                claimed.setdefault(key, []).append(row_id)
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_([i for ids in claimed.values() for i in ids]))
                .values(locked_until=now + timedelta(seconds=lease), locked_by=token,
                        attempts=OutboxMessage.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False))  # fmt: skip
        session.commit()
        return claimed
    except Exception:
        session.rollback()
        raise


def prepare(session, name: str, user_ids: list[int], *, config) -> tuple[list[SyncRecord], dict, set[int]]:
    """The records to send, their fingerprints, and the members with nothing to send."""
    snapshots = crm_snapshot.build_many(session, user_ids, base_url=config.get("BASE_URL", ""))
    mapping = crm_mapping.current(session, name)
    links = {link.user_id: link for link in session.scalars(
        select(CrmLink).where(CrmLink.connector == name, CrmLink.user_id.in_(user_ids)))}  # fmt: skip
    records, hashes, nothing = [], {}, set()
    for uid in user_ids:
        snap, link = snapshots.get(uid), links.get(uid)
        contact_id = link.contact_id if link else None
        if snap is None or (snap["opt_out"] and contact_id is None):
            nothing.add(uid)  # a deleted member, or one who opted out before the CRM ever heard of them
            continue
        fields = crm_mapping.record(name, snap, mapping)
        hashes[uid] = crm_mapping.fingerprint(fields)
        if link is not None and link.last_hash == hashes[uid]:
            nothing.add(uid)  # the CRM has exactly this already
            continue
        records.append(SyncRecord(user_id=uid, fields=fields, email=snap["email"], contact_id=contact_id,
                                  opt_out=snap["opt_out"]))  # fmt: skip
    return records, hashes, nothing


def send(connector, records: list[SyncRecord]) -> tuple[dict[int, RecordResult], DeliveryError | None]:
    """Send in the connector's batch size; a whole-call failure stops the rest (they stay queued)."""
    results: dict[int, RecordResult] = {}
    for start in range(0, len(records), connector.batch_size):
        try:
            for result in connector.upsert(records[start:start + connector.batch_size]):
                results[result.user_id] = result
        except DeliveryError as exc:
            return results, exc
    return results, None


def finish(session, name: str, claimed: dict[str, list[int]], *, token: str, results, error, hashes,
           nothing: set[int], config) -> dict[str, int]:  # fmt: skip
    """Record every claimed member's outcome in one transaction; returns counts by new status."""
    now = utcnow()
    max_attempts = config.get("OUTBOX_MAX_ATTEMPTS", 8)
    base = float(config.get("CRM_RETRY_BASE_SECONDS", 2.0))
    counts = {DONE: 0, PENDING: 0, DEAD: 0}
    try:
        attempts = dict(session.execute(select(OutboxMessage.key, func.max(OutboxMessage.attempts)).where(
            OutboxMessage.locked_by == token).group_by(OutboxMessage.key)).all())  # fmt: skip
        links = {link.user_id: link for link in session.scalars(select(CrmLink).where(
            CrmLink.connector == name, CrmLink.user_id.in_([int(k[5:]) for k in claimed])))}  # fmt: skip
        done, outcomes = [], {}
        for key in claimed:
            uid = int(key[5:])
            result = results.get(uid)
            if uid in nothing or (result is not None and result.ok):
                done.append(key)
                if result is not None:
                    _linked(session, links, name, uid, result, hashes[uid], now)
                continue
            if result is not None:  # the CRM refused this record
                message, retry, wait = result.error or "rejected", result.retryable, None
            elif error is not None:
                message, retry, wait = str(error), error.retryable, error.retry_after
            else:
                message, retry, wait = "the CRM returned no result for this record", True, None
            tries = attempts.get(key, 1) - (1 if result is None and error is not None and error.throttled else 0)
            dead = not retry or tries >= max_attempts
            delay = wait if wait is not None else backoff(tries, base=base)
            outcomes[key] = (message, dead, now + timedelta(seconds=delay), tries)
            link = links.get(uid)
            if link is None:
                link = links[uid] = CrmLink(user_id=uid, connector=name)
                session.add(link)
            link.last_error, link.last_error_at = message[:2000], now
        mine = (OutboxMessage.locked_by == token, OutboxMessage.status == PENDING)
        if done:
            session.execute(update(OutboxMessage).where(OutboxMessage.key.in_(done), *mine).values(
                status=DONE, delivered_at=now, last_error=None, locked_until=None, updated_at=now)
                .execution_options(synchronize_session=False))  # fmt: skip
            counts[DONE] += len(done)
        for key, (message, dead, available_at, tries) in outcomes.items():
            session.execute(update(OutboxMessage).where(OutboxMessage.key == key, *mine).values(
                status=DEAD if dead else PENDING, last_error=message[:2000], available_at=available_at,
                attempts=tries, locked_until=None, updated_at=now).execution_options(synchronize_session=False))  # fmt: skip
            counts[DEAD if dead else PENDING] += 1
        session.commit()
        return counts
    except Exception:
        session.rollback()
        raise


def _linked(session, links: dict, name: str, uid: int, result: RecordResult, fingerprint: str, now) -> None:
    link = links.get(uid)
    if link is None:
        link = CrmLink(user_id=uid, connector=name)
        session.add(link)
        links[uid] = link
    if result.contact_id and not link.contact_id:
        link.contact_id, link.linked_at = result.contact_id, now
        link.linked_by = "email" if name == "hubspot" else "upsert"
    link.last_synced_at, link.last_hash, link.last_error = now, fingerprint, None


def deliver_batch(session, name: str, *, config) -> dict[str, int]:
    """Claim, build, send and finish one batch for connector ``name``."""
    connector = crm_base.get(name, config)
    token = uuid.uuid4().hex
    claimed = claim(session, name, limit=connector.batch_size, token=token,
                    lease=float(config.get("CRM_LEASE_SECONDS", 120)))  # fmt: skip
    if not claimed:
        return {}
    try:
        records, hashes, nothing = prepare(session, name, [int(k[5:]) for k in claimed], config=config)
    finally:
        session.rollback()  # no transaction stays open while the CRM is called
    results, error = send(connector, records)
    if error is not None:
        log.warning("crm %s: batch of %s failed: %s", name, len(records), error)
        if error.throttled and error.retry_after:
            _paused_until[name] = time.monotonic() + error.retry_after
    return finish(session, name, claimed, token=token, results=results, error=error, hashes=hashes,
                  nothing=nothing, config=config)  # fmt: skip


def run_once(session, *, config, connectors=None, max_batches: int | None = None) -> dict[str, int]:
    """Deliver what is due for every enabled connector, batch after batch; returns counts by status."""
    totals = {DONE: 0, PENDING: 0, DEAD: 0}
    for name in connectors or crm.enabled():
        batches = 0
        while max_batches is None or batches < max_batches:
            if _paused_until.get(name, 0) > time.monotonic():
                break  # rate limited: its rows wait for their available_at
            counts = deliver_batch(session, name, config=config)
            if not counts:
                break
            batches += 1
            for status, n in counts.items():
                totals[status] += n
            if counts.get(PENDING) and not counts.get(DONE):
                break  # the CRM is failing: leave the rest for later passes
    return totals


def queue_depth(session) -> dict[str, dict[str, int]]:
    """Rows per connector and status (for the admin page and ``flask crm status``)."""
    out: dict[str, dict[str, int]] = {}
    for topic, status, n in session.execute(
            select(OutboxMessage.topic, OutboxMessage.status, func.count())
            .where(OutboxMessage.topic.startswith(crm.TOPIC_PREFIX)).group_by(OutboxMessage.topic, OutboxMessage.status)):  # fmt: skip
        out.setdefault(topic[len(crm.TOPIC_PREFIX):], {})[status] = n
    return out
