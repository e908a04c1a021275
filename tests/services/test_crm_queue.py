"""crm.members_changed: what writes a CRM outbox row, coalescing per member, and the relay's lease."""

from datetime import timedelta

import crm_recorder
import pytest
from sqlalchemy import select

from community.db import transaction, utcnow
from community.integrations import crm_base, crm_relay
from community.models import CrmLink, OutboxMessage
from community.services import accounts, crm, votes
from tests.conftest import make_user


def _rows(session, connector="hubspot"):
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == crm.topic(connector))
                                .order_by(OutboxMessage.id)))  # fmt: skip


@pytest.fixture
def recorder(app, monkeypatch, crm_settings):
    """The in-memory connector (tests/crm_recorder.py) in batches of 2, with HubSpot switched on."""
    crm_settings(CRM_CONNECTORS="hubspot")
    connector = crm_recorder.use(monkeypatch, app)
    connector.batch_size = 2
    return connector


def test_no_connector_means_no_rows(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=question.id, value=1)
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.topic.like("crm.%"))).all() == []


def test_enabled_reads_the_setting_in_a_fixed_order(app, crm_settings):
    crm_settings(CRM_CONNECTORS=" webhook, HubSpot ,nonsense")
    with app.app_context():
        assert crm.enabled() == ("hubspot", "webhook")


def test_registration_queues_the_new_member_per_connector(session, crm_settings):
    crm_settings(CRM_CONNECTORS="salesforce,hubspot")
    user = make_user(session, "new@example.com", "New Member")
    assert [(m.key, m.payload) for m in _rows(session, "salesforce")] == [(f"user:{user.id}", {"user_id": user.id})]
    assert [m.key for m in _rows(session, "hubspot")] == [f"user:{user.id}"]


def test_ten_votes_are_one_waiting_row_per_member(session, users, ask, crm_settings):
    question = ask(users["member"])
    crm_settings(CRM_CONNECTORS="hubspot")
    voters = [make_user(session, f"v{i}@example.com", f"Voter {i}", reputation=200) for i in range(10)]
    session.execute(OutboxMessage.__table__.delete())
    session.commit()
    for voter in voters:
        with transaction(session):
            votes.cast(session, actor=voter, post_id=question.id, value=1)
    keys = [m.key for m in _rows(session)]
    assert keys.count(f"user:{users['member'].id}") == 1


def test_a_change_during_a_delivery_gets_a_fresh_row(session, users, crm_settings):
    crm_settings(CRM_CONNECTORS="hubspot")
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    claimed = crm_relay.claim(session, "hubspot", limit=10, token="relay-1", lease=60)
    assert list(claimed) == [f"user:{users['member'].id}"]
    with transaction(session):  # the row is leased: coalescing into it could lose this change
        crm.members_changed(session, [users["member"].id])
    rows = _rows(session)
    assert len(rows) == 2 and rows[0].locked_by == "relay-1" and rows[1].locked_until is None
    # and no second relay takes the member while the first holds it
    assert crm_relay.claim(session, "hubspot", limit=10, token="relay-2", lease=60) == {}


def test_an_expired_lease_is_taken_over_with_all_waiting_rows(session, users, crm_settings):
    crm_settings(CRM_CONNECTORS="hubspot")
    uid = users["member"].id
    with transaction(session):
        crm.members_changed(session, [uid])
    crm_relay.claim(session, "hubspot", limit=10, token="dead-relay", lease=60)
    with transaction(session):
        crm.members_changed(session, [uid])
        for row in _rows(session):
            if row.locked_by == "dead-relay":
                row.locked_until = utcnow() - timedelta(seconds=1)  # the relay died; its lease ran out
    claimed = crm_relay.claim(session, "hubspot", limit=10, token="relay-2", lease=60)
    assert len(claimed[f"user:{uid}"]) == 2


def test_relay_delivers_in_batches_and_links_members(app, session, users, recorder):
    ids = [users[r].id for r in ("member", "other", "admin")]
    with transaction(session):
        crm.members_changed(session, ids)
    counts = crm_relay.run_once(session, config=app.config)
    assert counts["done"] == 3
    assert [len(b) for b in recorder.batches] == [2, 1]
    links = {link.user_id: link for link in session.scalars(select(CrmLink))}
    assert {uid: links[uid].contact_id for uid in ids} == {uid: f"c{uid}" for uid in ids}
    assert all(links[uid].linked_by == "email" and links[uid].last_synced_at for uid in ids)
    sent = dict(pair for batch in recorder.batches for pair in batch)
    assert sent[users["member"].id]["community_reputation"] == "200"
    assert sent[users["member"].id]["email"] == "member@example.com"


def test_an_unchanged_snapshot_is_not_sent_again(app, session, users, recorder):
    uid = users["member"].id
    for _ in range(2):
        with transaction(session):
            crm.members_changed(session, [uid])
        crm_relay.run_once(session, config=app.config)
    assert len(recorder.batches) == 1
    assert [m.status for m in _rows(session)] == ["done", "done"]


def test_opting_out_sends_only_the_opt_out_fields(app, session, users, recorder):
    user = users["member"]
    with transaction(session):
        crm.members_changed(session, [user.id])
    crm_relay.run_once(session, config=app.config)
    with transaction(session):
        crm.set_sharing(session, user=session.get(type(user), user.id), sharing=False)
    crm_relay.run_once(session, config=app.config)
    last = recorder.batches[-1]
    assert last == [(user.id, {"community_user_id": str(user.id), "email": user.email, "community_opt_out": "true"})]


def test_a_member_who_opts_out_before_any_sync_is_never_sent(app, session, recorder):
    user = make_user(session, "quiet@example.com", "Quiet Member")
    with transaction(session):
        crm.set_sharing(session, user=user, sharing=False)
    crm_relay.run_once(session, config=app.config)
    assert recorder.batches == []
    assert {m.status for m in _rows(session)} == {"done"}


def test_a_rejected_record_is_dead_and_the_others_are_delivered(app, session, users, recorder):
    recorder.refuse.add(users["other"].email)
    with transaction(session):
        crm.members_changed(session, [users["member"].id, users["other"].id])
    crm_relay.run_once(session, config=app.config)
    status = {m.key: (m.status, m.last_error) for m in _rows(session)}
    assert status[f"user:{users['member'].id}"] == ("done", None)
    assert status[f"user:{users['other'].id}"] == ("dead", "INVALID_EMAIL")
    link = crm.get_link(session, user_id=users["other"].id, connector="hubspot")
    assert link.last_error == "INVALID_EMAIL" and link.contact_id is None


def test_a_failing_crm_reschedules_with_backoff(app, session, users, recorder, crm_settings):
    crm_settings(CRM_RETRY_BASE_SECONDS=30)
    recorder.down = True
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    assert crm_relay.run_once(session, config=app.config)["pending"] == 1
    row = _rows(session)[0]
    assert row.status == "pending" and row.attempts == 1 and row.last_error == "hubspot: HTTP 503"
    assert row.locked_until is None and row.available_at > utcnow() + timedelta(seconds=10)
    assert crm_relay.run_once(session, config=app.config)["pending"] == 0  # not due yet


def test_a_profile_change_queues_the_member(app, session, users, recorder):
    with transaction(session):
        accounts.update_profile(session, actor=users["member"], user=users["member"], display_name="Mia Renamed",
                                about="")  # fmt: skip
    crm_relay.run_once(session, config=app.config)
    assert [uid for batch in recorder.batches for uid, _ in batch] == [users["member"].id]


def test_a_member_backing_off_is_not_retried_early_by_a_newer_change(app, session, users, recorder, crm_settings):
    crm_settings(CRM_RETRY_BASE_SECONDS=30)
    uid = users["member"].id
    with transaction(session):
        crm.members_changed(session, [uid])
    crm_relay.claim(session, "hubspot", limit=10, token="relay-1", lease=60)
    with transaction(session):  # a change while relay-1 holds the member: a fresh row
        crm.members_changed(session, [uid])
    recorder.down = True
    crm_relay.finish(session, "hubspot", {f"user:{uid}": [_rows(session)[0].id]}, token="relay-1", results={},
                     error=crm_base.DeliveryError("hubspot: HTTP 503", status=503), hashes={}, nothing=set(),
                     config=app.config)  # fmt: skip
    assert crm_relay.run_once(session, config=app.config) == {"done": 0, "pending": 0, "dead": 0}
    assert recorder.sent == []
