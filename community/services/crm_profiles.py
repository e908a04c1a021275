"""Customer 360: the CRM's view of a member (account, tier, products, open cases, lifetime value,
owner), cached in ``crm_profiles`` and shown to staff only.

Pages never call the CRM: they read the cache (:func:`for_users`, one query for any number of
members) and queue a refresh of what is stale or missing (:func:`queue_refresh`, outbox topic
``crm.profile``, coalesced per member). The relay pulls it through the member's connector
(:func:`deliver`). Two other ways in: a signed push from the CRM (``POST /crm/inbound`` calls
:func:`store` with source "push") and a staff member's "Refresh now" (:func:`refresh_now`, the one
place a request waits for the CRM, with the short ``CRM_PROFILE_TIMEOUT``).

A pull that fails keeps the old data and records the error on the row, so the panel can say
"CRM unreachable"; the next page view queues another try while the data is stale.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from community.db import utcnow
from community.models import CrmLink, CrmProfile, OutboxMessage, User
from community.models.outbox import PENDING
from community.services import crm, policy
from community.services.errors import NotFound, PermissionDenied, RuleViolation

TOPIC = "crm.profile"
FRESH, STALE, MISSING = "fresh", "stale", "missing"
PULL_CONNECTORS = ("salesforce", "hubspot")  # the webhook connector has no pull: it only receives pushes
DEFAULT_TTL = 900


@dataclass
class ProfileView:
    """One member's cached customer-360 data, as a page or the API shows it."""

    user_id: int
    state: str = MISSING  # fresh | stale | missing
    connector: str | None = None
    data: dict = field(default_factory=dict)
    fetched_at: datetime | None = None
    source: str | None = None  # pull | push
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def unreachable(self) -> bool:
        """The last try to read the CRM failed (a successful read clears the error)."""
        return bool(self.last_error)

    @property
    def has_data(self) -> bool:
        return self.fetched_at is not None


def _config(name: str, default):
    return crm.app_config().get(name, default)


def _require_staff(actor: User | None) -> None:
    if not policy.is_staff(actor):
        raise PermissionDenied("Only moderators and administrators can see CRM data.")


def _rank(connector: str) -> tuple[int, str]:
    names = crm.enabled()
    return (names.index(connector) if connector in names else len(names), connector)


def _view(user_id: int, row: CrmProfile | None, *, ttl: float, now: datetime) -> ProfileView:
    if row is None:
        return ProfileView(user_id=user_id)
    state = MISSING
    if row.fetched_at is not None:
        state = FRESH if now - row.fetched_at <= timedelta(seconds=ttl) else STALE
    return ProfileView(user_id=user_id, state=state, connector=row.connector, data=normalize(row.data or {}),
                       fetched_at=row.fetched_at, source=row.source, last_error=row.last_error,
                       last_error_at=row.last_error_at)  # fmt: skip


def for_users(session, user_ids, *, actor: User | None, ttl: float | None = None,
              now: datetime | None = None) -> dict[int, ProfileView]:  # fmt: skip
    """The cached profile of each member, in one query: for each, the row of the first enabled
    connector that has one (then any other), with its freshness against ``CRM_PROFILE_TTL_SECONDS``.

    Staff only (raises PermissionDenied). Never calls the CRM.
    """
    _require_staff(actor)
    ids = sorted({int(uid) for uid in user_ids if uid is not None})
    ttl = float(ttl if ttl is not None else _config("CRM_PROFILE_TTL_SECONDS", DEFAULT_TTL))
    now = now or utcnow()
    best: dict[int, CrmProfile] = {}
    if ids:
        for row in session.scalars(select(CrmProfile).where(CrmProfile.user_id.in_(ids))):
            current = best.get(row.user_id)
            if current is None or _rank(row.connector) < _rank(current.connector):
                best[row.user_id] = row
    return {uid: _view(uid, best.get(uid), ttl=ttl, now=now) for uid in ids}


def _pull_links(session, user_ids) -> dict[int, CrmLink]:
    """For each member, the link to pull from: the first enabled pull connector with a contact id."""
    names = [name for name in crm.enabled() if name in PULL_CONNECTORS]
    if not names or not user_ids:
        return {}
    found: dict[int, CrmLink] = {}
    rows = session.scalars(select(CrmLink).where(CrmLink.user_id.in_(list(user_ids)), CrmLink.connector.in_(names),
                                                 CrmLink.contact_id.is_not(None)))  # fmt: skip
    for link in rows:
        current = found.get(link.user_id)
        if current is None or names.index(link.connector) < names.index(current.connector):
            found[link.user_id] = link
    return found


def queue_refresh(session, user_ids, *, views: dict[int, ProfileView] | None = None) -> int:
    """Queue a pull for members whose cached profile is stale or missing and who are linked to an
    enabled pull connector; returns rows written. Coalesced: a waiting row for the member is reused.

    ``views`` (from :func:`for_users`) saves reading the cache again. A constant number of
    queries whatever the number of members. Never commits, never calls the CRM.
    """
    ids = sorted({int(uid) for uid in user_ids if uid is not None})
    if views is not None:
        ids = [uid for uid in ids if uid not in views or views[uid].state != FRESH]
    else:
        ttl = float(_config("CRM_PROFILE_TTL_SECONDS", DEFAULT_TTL))
        fresh = set(session.scalars(select(CrmProfile.user_id).where(
            CrmProfile.user_id.in_(ids), CrmProfile.fetched_at >= utcnow() - timedelta(seconds=ttl)))) if ids else set()  # fmt: skip
        ids = [uid for uid in ids if uid not in fresh]
    links = _pull_links(session, ids)
    if not links:
        return 0
    keys = {crm.member_key(uid): uid for uid in links}
    waiting = set(session.scalars(select(OutboxMessage.key).where(
        OutboxMessage.topic == TOPIC, OutboxMessage.key.in_(list(keys)), OutboxMessage.status == PENDING)))  # fmt: skip
    fresh_keys = sorted(set(keys) - waiting)
    session.add_all(OutboxMessage(topic=TOPIC, key=key, payload={"user_id": keys[key]}) for key in fresh_keys)
    return len(fresh_keys)


# --- writing the cache ---------------------------------------------------------------------------


def _text(value, limit: int = 200) -> str:
    return "" if value is None else " ".join(str(value).split())[:limit]


def _int(value) -> int:
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return 0


def _float(value) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def normalize(data: dict) -> dict:
    """The six customer-360 fields in their types; anything else is dropped.

    products: a list, or a ";"-separated string (as Salesforce and HubSpot store multi-picklists).
    """
    products = data.get("products") or []
    if isinstance(products, str):
        products = products.split(";")
    return {
        "account_name": _text(data.get("account_name")),
        "tier": _text(data.get("tier"), 60),
        "products": [p for p in (_text(item, 120) for item in products) if p][:50],
        "open_cases": _int(data.get("open_cases")),
        "lifetime_value": _float(data.get("lifetime_value")),
        "owner": _text(data.get("owner"), 120),
    }


def _row(session, user_id: int, connector: str) -> CrmProfile:
    row = session.scalars(select(CrmProfile).where(CrmProfile.user_id == user_id,
                                                   CrmProfile.connector == connector)).first()  # fmt: skip
    if row is None:
        row = CrmProfile(user_id=user_id, connector=connector, data={})
        session.add(row)
    return row


def store(session, *, user_id: int, connector: str, data: dict, source: str = "pull") -> CrmProfile:
    """Cache a member's customer-360 data as read from (source "pull") or pushed by ("push") the CRM.

    Storing the same data again changes nothing but the time, so repeated pushes are harmless.
    Raises RuleViolation for an unknown connector or source. Never commits.
    """
    if connector not in crm.CONNECTORS:
        raise RuleViolation(f"Unknown connector {connector!r}.")
    if source not in ("pull", "push"):
        raise RuleViolation(f"Unknown profile source {source!r}.")
    row = _row(session, user_id, connector)
    row.data, row.fetched_at, row.source = normalize(data or {}), utcnow(), source
    row.last_error = row.last_error_at = None
    return row


def record_error(session, *, user_id: int, connector: str, error: str) -> CrmProfile:
    """Note a failed pull; the data already cached stays as it was."""
    row = _row(session, user_id, connector)
    row.last_error, row.last_error_at = str(error)[:2000], utcnow()
    return row


# --- pulling ---------------------------------------------------------------------------------------


def _pull(session, user: User, *, config, timeout: float | None) -> tuple[CrmLink, dict | None, str | None]:
    """Ask the member's pull connector for the profile: (link, data or None, error or None)."""
    from community.integrations import crm_base

    link = _pull_links(session, [user.id]).get(user.id)
    if link is None:
        raise RuleViolation("This member is not linked to a contact in a CRM the community can read.")
    record = crm_base.SyncRecord(user_id=user.id, fields={}, email=user.email, contact_id=link.contact_id,
                                 opt_out=not user.crm_sharing)  # fmt: skip
    try:
        connector = crm_base.get(link.connector, config, timeout=timeout)
        return link, connector.fetch_profile(contact_id=link.contact_id, record=record), None
    except crm_base.DeliveryError as exc:
        return link, None, str(exc)


def deliver(payload: dict, *, session, config) -> None:
    """Relay handler of ``crm.profile``: pull one member's profile and cache it (or the error).

    A failure is recorded on the profile row rather than retried: the cache stays usable, the panel
    says the CRM is unreachable, and the next page view while the data is stale queues another try.
    """
    user = session.get(User, int(payload.get("user_id") or 0))
    if user is None:
        return
    try:
        link, data, error = _pull(session, user, config=config, timeout=None)
    except RuleViolation:
        return  # unlinked since it was queued: nothing to read
    if error is None:
        store(session, user_id=user.id, connector=link.connector, data=data, source="pull")
    else:
        record_error(session, user_id=user.id, connector=link.connector, error=error)


def refresh_now(session, *, actor: User | None, user_id: int) -> ProfileView:
    """Staff: read the member's profile from the CRM now, with the short ``CRM_PROFILE_TIMEOUT``.

    On failure the old data is kept and the error recorded; the returned view carries it
    (``unreachable``). Raises PermissionDenied (not staff), NotFound, RuleViolation (not linked).
    """
    _require_staff(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such member.")
    config = crm.app_config()
    link, data, error = _pull(session, user, config=config,
                              timeout=float(config.get("CRM_PROFILE_TIMEOUT", 3.0)))  # fmt: skip
    if error is None:
        store(session, user_id=user.id, connector=link.connector, data=data, source="pull")
    else:
        record_error(session, user_id=user.id, connector=link.connector, error=error)
    session.flush()
    views = for_users(session, [user.id], actor=actor)
    view = views[user.id]
    if view.connector != link.connector:  # another connector's row ranks first: report this pull's own
        row = _row(session, user.id, link.connector)
        view = _view(user.id, row, ttl=float(config.get("CRM_PROFILE_TTL_SECONDS", DEFAULT_TTL)), now=utcnow())
    return view


# --- linking through the API -------------------------------------------------------------------------


def link_by_api(session, *, actor: User | None, user_id: int, connector: str, contact_id: str) -> CrmLink:
    """Admins (API tokens): link a member to a CRM contact by its external id (linked_by "api").

    Raises PermissionDenied, NotFound, RuleViolation (unknown connector, empty id, id taken).
    """
    if not policy.is_admin(actor):
        raise PermissionDenied("Only administrators can link members to CRM contacts through the API.")
    return crm.link_contact(session, actor=None, user_id=user_id, connector=connector, contact_id=contact_id,
                            linked_by="api")  # fmt: skip


def find_member(session, *, connector: str, community_user_id=None, contact_id: str | None = None) -> User | None:
    """The member a CRM push is about: by the community user id it carries, else by the contact
    linked for that connector."""
    if community_user_id not in (None, ""):
        try:
            return session.get(User, int(community_user_id))
        except (TypeError, ValueError):
            return None
    if contact_id:
        return session.scalars(select(User).join(CrmLink, CrmLink.user_id == User.id).where(
            CrmLink.connector == connector, CrmLink.contact_id == str(contact_id))).first()  # fmt: skip
    return None
