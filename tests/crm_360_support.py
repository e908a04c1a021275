"""Shared by the Customer 360 tests: an in-process CRM connector that answers ``fetch_profile`` (or
fails like an unreachable CRM), installed in place of ``crm_base.get``, and small helpers."""

from datetime import timedelta

from community.db import transaction, utcnow
from community.integrations import crm_base
from community.integrations.crm_base import DeliveryError, RecordResult
from community.models import CrmLink, CrmProfile, OutboxMessage
from community.services import crm, crm_profiles

PROFILE = {"account_name": "Globex Corp", "tier": "Gold", "products": "Analytics;Billing", "open_cases": "2",
           "lifetime_value": "125000.5", "owner": "Dana Owner"}  # fmt: skip


class ProfileConnector(crm_base.Connector):
    """Answers fetch_profile from ``profiles`` (contact id -> dict); ``down`` makes it fail like a
    CRM that cannot be reached. Records every call's contact id and the timeout it was built with.
    ``sent`` keeps every batch of records the relay upserts."""

    batch_size = 100

    def __init__(self, name: str, *, timeout: float | None = None):
        self.name, self.timeout, self.config = name, timeout, {}
        self.profiles: dict[str, dict] = {}
        self.calls: list[tuple[str | None, float | None]] = []
        self.sent: list = []
        self.down = False

    def fetch_profile(self, *, contact_id, record):
        self.calls.append((contact_id, self.timeout))
        if self.down:
            raise DeliveryError(f"{self.name}: cannot reach the CRM (ConnectionError: refused)")
        return dict(self.profiles.get(contact_id, {}))

    def upsert(self, records):
        self.sent.append(records)
        return [RecordResult(user_id=r.user_id, ok=True, contact_id=r.contact_id or f"C{r.user_id}") for r in records]


class FakeCrm:
    """One ProfileConnector per name; ``install(monkeypatch)`` routes ``crm_base.get`` to them."""

    def __init__(self):
        self.connectors: dict[str, ProfileConnector] = {}
        self.timeouts: list[float | None] = []

    def __getitem__(self, name: str) -> ProfileConnector:
        return self.connectors.setdefault(name, ProfileConnector(name))

    def get(self, name, config, *, timeout=None):
        self.timeouts.append(timeout)
        connector = self[name]
        connector.timeout = timeout
        return connector

    def install(self, monkeypatch):
        monkeypatch.setattr(crm_base, "get", self.get)
        return self


def link(session, user, connector="salesforce", contact_id=None):
    """Link ``user`` to a contact (trusted caller) and drop the sync rows that queues."""
    with transaction(session):
        crm.link_contact(session, actor=None, user_id=user.id, connector=connector,
                         contact_id=contact_id or f"003{user.id:05d}", linked_by="sso")  # fmt: skip
        session.query(OutboxMessage).filter(OutboxMessage.topic.startswith("crm.sync.")).delete()
    return session.query(CrmLink).filter_by(user_id=user.id, connector=connector).one()


def cache(session, user, data=None, connector="salesforce", *, age_seconds=0, source="pull"):
    """Store a cached profile for ``user``, ``age_seconds`` old."""
    with transaction(session):
        row = crm_profiles.store(session, user_id=user.id, connector=connector, data=data or PROFILE, source=source)
        row.fetched_at = utcnow() - timedelta(seconds=age_seconds)
    return session.get(CrmProfile, row.id)


def profile_jobs(session) -> list[OutboxMessage]:
    session.expire_all()
    return session.query(OutboxMessage).filter_by(topic=crm_profiles.TOPIC).order_by(OutboxMessage.id).all()
