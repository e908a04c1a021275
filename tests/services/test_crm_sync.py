"""crm_sync: full resync (one INSERT ... SELECT, coalesced), its progress, retrying dead rows, health."""

from datetime import timedelta

import crm_recorder
import pytest
from sqlalchemy import select

from community.db import transaction, utcnow
from community.integrations import crm_relay
from community.models import CrmLink, CrmResync, OutboxMessage
from community.models.outbox import DEAD, DONE, PENDING
from community.services import crm, crm_sync
from community.services.errors import NotFound, PermissionDenied, RuleViolation
from tests.conftest import count_queries, make_user


@pytest.fixture
def recorder(app, monkeypatch):
    return crm_recorder.use(monkeypatch, app)


@pytest.fixture
def hubspot(users, crm_settings, session, recorder):
    """Users exist and were never queued; then HubSpot is switched on."""
    crm_settings(CRM_CONNECTORS="hubspot")
    return recorder


def _rows(session, status=None):
    stmt = select(OutboxMessage).where(OutboxMessage.topic == crm.topic("hubspot")).order_by(OutboxMessage.id)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(session.scalars(stmt))


def _resync(session, actor):
    with transaction(session):
        return crm_sync.start_resync(session, actor=actor, connector="hubspot")


def _deliver(app, session):
    return crm_relay.run_once(session, config=app.config)


def test_resync_queues_every_member_once(session, users, hubspot):
    run = _resync(session, users["admin"])
    keys = [m.key for m in _rows(session)]
    assert sorted(keys) == sorted(f"user:{u.id}" for u in users.values())
    assert run.total == 5 and run.first_message_id == _rows(session)[0].id and run.last_message_id == _rows(session)[-1].id
    assert _rows(session)[0].payload == {"user_id": int(keys[0][5:])}


def test_resync_coalesces_with_a_waiting_row(session, users, hubspot):
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    run = _resync(session, users["admin"])
    assert run.total == 4
    assert [m.key for m in _rows(session)].count(f"user:{users['member'].id}") == 1


def test_resync_forgets_what_the_crm_was_sent(app, session, users, hubspot):
    _resync(session, users["admin"])
    _deliver(app, session)
    assert len(hubspot.sent) == 5
    _resync(session, users["admin"])  # nothing changed, but a resync sends everyone again
    _deliver(app, session)
    assert len(hubspot.sent) == 10
    assert session.scalar(select(CrmLink.last_hash).where(CrmLink.user_id == users["member"].id))


def test_resync_is_one_statement_per_step_whatever_the_member_count(session, users, hubspot):
    for i in range(20):
        make_user(session, f"extra{i}@example.com", f"Extra {i}")
    session.execute(OutboxMessage.__table__.delete())
    session.commit()
    with count_queries() as statements, transaction(session):
        run = crm_sync.start_resync(session, actor=users["admin"], connector="hubspot")
    assert run.total == 25
    assert len(statements) <= 8


@pytest.mark.parametrize("role", ["member", "moderator", "marketer"])
def test_only_admins_start_a_resync(session, users, hubspot, role):
    with pytest.raises(PermissionDenied):
        _resync(session, users[role])
    assert _rows(session) == []


def test_resync_of_a_connector_that_is_not_enabled_is_refused(session, users, hubspot):
    with pytest.raises(RuleViolation, match="not enabled"), transaction(session):
        crm_sync.start_resync(session, actor=users["admin"], connector="salesforce")
    with pytest.raises(NotFound), transaction(session):
        crm_sync.start_resync(session, actor=users["admin"], connector="zoho")


def test_progress_counts_done_and_dead_and_finishes(app, session, users, hubspot):
    hubspot.refuse = {"other@example.com"}
    run = _resync(session, users["admin"])
    before = crm_sync.resync_progress(session, run.id)
    assert (before["done"], before["dead"], before["pending"], before["finished"]) == (0, 0, 5, False)
    _deliver(app, session)
    with transaction(session):
        after = crm_sync.resync_progress(session, run.id)
    assert (after["done"], after["dead"], after["pending"], after["percent"]) == (4, 1, 0, 100)
    assert session.get(CrmResync, run.id).finished_at is not None


def test_progress_ignores_rows_written_later_for_the_same_connector(app, session, users, hubspot):
    run = _resync(session, users["admin"])
    _deliver(app, session)
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    assert crm_sync.resync_progress(session, run.id)["pending"] == 0


def test_progress_of_an_unknown_resync_is_not_found(session):
    with pytest.raises(NotFound):
        crm_sync.resync_progress(session, 999)


def test_recent_resyncs_take_one_query_for_their_progress(session, users, hubspot):
    for _ in range(3):
        _resync(session, users["admin"])
    with count_queries() as statements:
        found = crm_sync.recent_resyncs(session)
    assert [r["total"] for r in found] == [0, 0, 5] and len(statements) == 2


def _dead(app, session, users, hubspot):
    hubspot.refuse = {"member@example.com", "other@example.com"}
    _resync(session, users["admin"])
    _deliver(app, session)
    return _rows(session, DEAD)


def test_retry_one_dead_message(app, session, users, hubspot):
    dead = _dead(app, session, users, hubspot)
    assert len(dead) == 2 and dead[0].last_error == "INVALID_EMAIL"
    with transaction(session):
        assert crm_sync.retry(session, actor=users["admin"], message_id=dead[0].id) == 1
    session.expire_all()
    row = session.get(OutboxMessage, dead[0].id)
    assert (row.status, row.attempts) == (PENDING, 0) and row.available_at <= utcnow()
    assert session.get(OutboxMessage, dead[1].id).status == DEAD


def test_retry_all_dead_then_delivers(app, session, users, hubspot):
    _dead(app, session, users, hubspot)
    hubspot.refuse = set()
    with transaction(session):
        assert crm_sync.retry(session, actor=users["admin"], connector="hubspot") == 2
    _deliver(app, session)
    assert _rows(session, DEAD) == [] and len(_rows(session, DONE)) == 5


def test_retry_of_a_message_that_is_not_dead_is_not_found(app, session, users, hubspot):
    _resync(session, users["admin"])
    with pytest.raises(NotFound), transaction(session):
        crm_sync.retry(session, actor=users["admin"], message_id=_rows(session)[0].id)


@pytest.mark.parametrize("role", ["member", "moderator", "marketer"])
def test_only_admins_retry(app, session, users, hubspot, role):
    _dead(app, session, users, hubspot)
    with pytest.raises(PermissionDenied), transaction(session):
        crm_sync.retry(session, actor=users[role])
    assert len(_rows(session, DEAD)) == 2


def test_status_reports_depth_age_success_failures_and_links(app, session, users, hubspot):
    _dead(app, session, users, hubspot)
    hubspot.down = True
    make_user(session, "late@example.com", "Late Comer")  # registration queues the newcomer
    with transaction(session):
        _rows(session, PENDING)[-1].created_at = utcnow() - timedelta(minutes=5)
    _deliver(app, session)
    with count_queries() as statements:
        found = {row["name"]: row for row in crm_sync.status(session)}
    assert len(statements) == 3
    hs = found["hubspot"]
    assert hs["enabled"] and not found["salesforce"]["enabled"]
    assert hs["depth"] == {PENDING: 1, DONE: 3, DEAD: 2}
    assert (hs["failing"], hs["dead"], hs["linked"]) == (1, 2, 3)
    assert hs["oldest_pending_age"] >= 290 and hs["last_success"] is not None


def test_problems_lists_dead_messages_with_their_member(app, session, users, hubspot):
    _dead(app, session, users, hubspot)
    page = crm_sync.problems(session, connector="hubspot", per_page=1)
    assert page.total == 2 and page.pages == 2 and len(page.items) == 1
    message, member = page.items[0]
    assert message.last_error == "INVALID_EMAIL" and member.email in ("member@example.com", "other@example.com")


def test_settings_never_show_secrets(app, crm_settings):
    crm_settings(HUBSPOT_TOKEN="pat-na1-very-secret", HUBSPOT_BASE_URL="http://127.0.0.1:9")
    shown = {name: (value, secret) for name, value, secret in crm_sync.settings("hubspot", app.config)}
    assert shown["HUBSPOT_TOKEN"] == ("set", True)
    assert shown["HUBSPOT_BASE_URL"] == ("http://127.0.0.1:9", False)
    crm_settings(HUBSPOT_TOKEN=None)
    assert ("HUBSPOT_TOKEN", "not set", True) in crm_sync.settings("hubspot", app.config)


def test_check_connection_reports_the_crm_error(app, users, hubspot):
    assert crm_sync.check_connection(actor=users["admin"], connector="hubspot", config=app.config).startswith("hubspot")
    hubspot.ping_error = "hubspot: HTTP 401"
    with pytest.raises(RuleViolation, match="HTTP 401"):
        crm_sync.check_connection(actor=users["admin"], connector="hubspot", config=app.config)
    with pytest.raises(PermissionDenied):
        crm_sync.check_connection(actor=users["marketer"], connector="hubspot", config=app.config)
