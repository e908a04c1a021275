"""End to end: members change through the services, the CRM relay delivers to the fake Salesforce
and HubSpot over real sockets while faults are injected. Afterwards every member's CRM record
equals their current snapshot, and no older value was ever applied after a newer one."""

import json
import threading
import time
from datetime import timedelta

import crm_fakes
import pytest
from sqlalchemy import select

from community.db import transaction, utcnow
from community.extensions import db
from community.integrations import crm_base, crm_relay
from community.models import CrmLink, OutboxMessage, User
from community.models.outbox import DEAD, DONE, PENDING
from community.services import crm, crm_mapping, crm_snapshot, reputation, votes
from tests.conftest import make_user

BASE_URL = "http://community.test"
SF_REP, HS_REP = "Community_Reputation__c", "community_reputation"


@pytest.fixture
def fakes(crm_settings):
    with crm_fakes.FakeSalesforce() as sf, crm_fakes.FakeHubSpot() as hs:
        crm_settings(CRM_CONNECTORS="salesforce,hubspot", BASE_URL=BASE_URL, CRM_RETRY_BASE_SECONDS=0.01,
                     CRM_HTTP_TIMEOUT=1.0, SALESFORCE_INSTANCE_URL=sf.url, SALESFORCE_ACCESS_TOKEN=sf.access_token,
                     SALESFORCE_TOKEN_URL=sf.token_url, SALESFORCE_CLIENT_ID=sf.client_id,
                     SALESFORCE_CLIENT_SECRET=sf.client_secret, SALESFORCE_EXTERNAL_ID_FIELD="Community_User_Id__c",
                     SALESFORCE_API_VERSION="v59.0", HUBSPOT_BASE_URL=hs.url, HUBSPOT_TOKEN=hs.token,
                     HUBSPOT_ID_PROPERTY="email", OUTBOX_MAX_ATTEMPTS=8)  # fmt: skip
        yield sf, hs


@pytest.fixture
def members(fakes, session):
    """Five members registered while both connectors are on (so each is queued for both)."""
    return [make_user(session, f"m{i}@example.com", f"Member {i}", reputation=200) for i in range(5)]


def _run(app, session, *, until_idle: float = 10.0) -> None:
    """Run relay passes until nothing is pending (or the time is up), as the relay loop would."""
    deadline = time.monotonic() + until_idle
    while time.monotonic() < deadline:
        crm_relay.run_once(session, config=app.config)
        if not _pending(session):
            return
        time.sleep(0.05)
    raise AssertionError(f"still pending after {until_idle} s: {_pending(session)}")


def _pending(session) -> list[tuple[str, str, str | None]]:
    session.expire_all()
    rows = session.execute(select(OutboxMessage.topic, OutboxMessage.key, OutboxMessage.last_error).where(
        OutboxMessage.topic.startswith(crm.TOPIC_PREFIX), OutboxMessage.status == PENDING)).all()  # fmt: skip
    session.rollback()
    return [tuple(r) for r in rows]


def _expected(session, name: str) -> dict[int, dict]:
    ids = list(session.scalars(select(User.id)))
    snapshots = crm_snapshot.build_many(session, ids, base_url=BASE_URL)
    mapping = crm_mapping.current(session, name)
    return {uid: crm_mapping.record(name, snap, mapping) for uid, snap in snapshots.items()}


def _assert_in_sync(session, sf, hs) -> None:
    """Every member's CRM record holds exactly their current snapshot's fields, in both CRMs."""
    session.expire_all()
    for uid, fields in _expected(session, "salesforce").items():
        contact = sf.contact_by_ext(uid)
        assert contact is not None, f"member {uid} missing in Salesforce"
        assert {k: contact.get(k) for k in fields} == fields, f"member {uid} differs in Salesforce"
    for uid, props in _expected(session, "hubspot").items():
        contact = hs.contact_by_email(session.get(User, uid).email)
        assert contact is not None, f"member {uid} missing in HubSpot"
        assert {k: contact["properties"].get(k) for k in props} == props, f"member {uid} differs in HubSpot"
    _assert_never_out_of_order(sf, hs)


def _assert_never_out_of_order(sf, hs) -> None:
    """Reputation only grows in these tests, so the applied values must never go down."""
    for record_id in list(sf.writes):
        values = [int(v) for v in sf.history(record_id, SF_REP)]
        assert values == sorted(values), f"Salesforce {record_id} got an older reputation after a newer one: {values}"
    for record_id in list(hs.writes):
        values = [int(v) for v in hs.history(record_id, HS_REP)]
        assert values == sorted(values), f"HubSpot {record_id} got an older reputation after a newer one: {values}"


def _bump(session, users, delta=5) -> None:
    with transaction(session):
        for user in users:
            reputation.record_adjustment(session, user_id=user.id, delta=delta, reason="test")


def _link(session, uid, name) -> CrmLink:
    session.expire_all()
    return session.scalars(select(CrmLink).where(CrmLink.user_id == uid, CrmLink.connector == name)).one()


def _writes(fake, record_id) -> int:
    return len(fake.writes.get(str(record_id), []))


# --- the happy path ---------------------------------------------------------------------------


def test_registered_and_voted_members_equal_their_snapshots(app, session, fakes, members, ask, answer):
    sf, hs = fakes
    question = ask(members[0])
    reply = answer(members[1], question)
    for voter in members[2:]:
        with transaction(session):
            votes.cast(session, actor=voter, post_id=reply.id, value=1)
    _run(app, session)
    _assert_in_sync(session, sf, hs)
    assert len(sf.contacts) == len(hs.contacts) == len(members)
    for member in members:
        sf_link, hs_link = _link(session, member.id, "salesforce"), _link(session, member.id, "hubspot")
        assert sf_link.contact_id == sf.contact_by_ext(member.id)["Id"]
        assert hs_link.contact_id == hs.contact_by_email(member.email)["id"]
        assert sf_link.last_synced_at and hs_link.last_synced_at and not sf_link.last_error and not hs_link.last_error


def test_ten_votes_in_a_second_are_one_delivery(app, session, fakes, members, ask, answer):
    sf, hs = fakes
    voters = [make_user(session, f"voter{i}@example.com", f"Voter {i}", reputation=200) for i in range(10)]
    reply = answer(members[1], ask(members[0]))
    _run(app, session)
    contact_sf, contact_hs = sf.contact_by_ext(members[1].id)["Id"], hs.contact_by_email(members[1].email)["id"]
    before_sf, before_hs = _writes(sf, contact_sf), _writes(hs, contact_hs)
    started = time.monotonic()
    for voter in voters:
        with transaction(session):
            votes.cast(session, actor=voter, post_id=reply.id, value=1)
    assert time.monotonic() - started < 1.0
    _run(app, session)
    assert _writes(sf, contact_sf) == before_sf + 1 and _writes(hs, contact_hs) == before_hs + 1
    _assert_in_sync(session, sf, hs)


def test_unchanged_snapshot_is_not_sent_again(app, session, fakes, members):
    sf, hs = fakes
    _run(app, session)
    calls = len(sf.requests), len(hs.requests)
    with transaction(session):
        crm.members_changed(session, [m.id for m in members])
    _run(app, session)
    assert (len(sf.requests), len(hs.requests)) == calls


# --- faults -----------------------------------------------------------------------------------


def test_crm_down_for_a_while_then_up(app, session, fakes, members):
    sf, hs = fakes
    _run(app, session)
    sf.down()
    hs.down()
    for _ in range(3):
        _bump(session, members)
        crm_relay.run_once(session, config=app.config)
        time.sleep(0.05)
    waiting = _pending(session)
    assert waiting and all("cannot reach" in (error or "") for _, _, error in waiting)
    assert "cannot reach" in _link(session, members[0].id, "salesforce").last_error
    sf.up()
    hs.up()
    _run(app, session)
    _assert_in_sync(session, sf, hs)
    assert _link(session, members[0].id, "salesforce").last_error is None


def test_slow_crm_within_the_timeout(app, session, fakes, members):
    sf, hs = fakes
    sf.delay = hs.delay = 0.3
    _bump(session, members)
    _run(app, session)
    _assert_in_sync(session, sf, hs)


def test_crm_slower_than_the_timeout_is_retried(app, session, fakes, members, crm_settings):
    sf, hs = fakes
    crm_settings(CRM_HTTP_TIMEOUT=0.2)
    sf.delay = hs.delay = 0.5
    crm_relay.run_once(session, config=app.config)
    assert any("timed out" in (error or "") for _, _, error in _pending(session))
    sf.delay = hs.delay = 0
    time.sleep(0.6)  # the abandoned calls finish on the server side
    _run(app, session)
    _assert_in_sync(session, sf, hs)


def test_server_errors_are_retried_with_backoff(app, session, fakes, members):
    sf, hs = fakes
    sf.fail_next(500, n=3)
    hs.fail_next(503, n=3)
    _run(app, session)
    _assert_in_sync(session, sf, hs)
    session.expire_all()
    attempts = session.scalars(select(OutboxMessage.attempts).where(OutboxMessage.status == DONE,
                                                                    OutboxMessage.topic == crm.topic("hubspot")))  # fmt: skip
    assert max(attempts) == 4


def test_429_with_retry_after_pauses_hubspot_and_does_not_count_as_a_failure(app, session, fakes, members):
    sf, hs = fakes
    hs.fail_next(429, headers={"Retry-After": "0.4"}, body={
        "status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING"})  # fmt: skip
    crm_relay.run_once(session, config=app.config)
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == crm.topic("hubspot"))).all()
    assert rows and all(r.status == PENDING and r.attempts == 0 and "secondly limit" in r.last_error for r in rows)
    assert all(r.available_at > utcnow() + timedelta(seconds=0.2) for r in rows)
    calls = len(hs.requests)
    crm_relay.run_once(session, config=app.config)
    assert len(hs.requests) == calls  # paused until Retry-After has passed
    time.sleep(0.45)
    _run(app, session)
    _assert_in_sync(session, sf, hs)


def test_rolling_rate_limit_window(app, session, fakes, members):
    sf, hs = fakes
    _run(app, session)
    hs.rate_limit(1, 0.3)
    for _ in range(3):
        _bump(session, members[:2])
        _bump(session, members[2:])
        crm_relay.run_once(session, config=app.config)
    _run(app, session)
    assert any(r["path"].endswith("/batch/update") for r in hs.requests)
    _assert_in_sync(session, sf, hs)


def test_connection_cut_after_the_write_was_applied(app, session, fakes, members):
    sf, hs = fakes
    sf.cut_after_apply()
    hs.cut_after_apply()
    crm_relay.run_once(session, config=app.config)
    assert len(sf.contacts) == len(members) and _pending(session)  # applied, but the relay did not hear it
    _bump(session, members)
    _run(app, session)
    assert len(sf.contacts) == len(hs.contacts) == len(members)  # the retry updated, created nothing twice
    _assert_in_sync(session, sf, hs)


def test_relay_killed_mid_batch_is_taken_over_after_the_lease(app, session, fakes, members, crm_settings):
    sf, hs = fakes
    crm_settings(CRM_LEASE_SECONDS=0.6)
    _run(app, session)
    _bump(session, members)
    # a relay claims and sends, then dies before recording the outcome
    claimed = crm_relay.claim(session, "salesforce", limit=200, token="dead-relay", lease=0.6)
    records, _hashes, _nothing = crm_relay.prepare(session, "salesforce", [int(k[5:]) for k in claimed],
                                                   config=app.config)  # fmt: skip
    session.rollback()
    crm_relay.send(crm_base.get("salesforce", app.config), records)
    _bump(session, members)  # changes while the dead relay's lease holds: fresh rows
    writes = sum(len(w) for w in sf.writes.values())
    crm_relay.run_once(session, config=app.config, connectors=["salesforce"])
    assert sum(len(w) for w in sf.writes.values()) == writes  # nobody sends members a relay holds
    time.sleep(0.7)
    _run(app, session)
    _assert_in_sync(session, sf, hs)
    session.expire_all()
    assert not session.scalars(select(OutboxMessage).where(OutboxMessage.locked_by == "dead-relay",
                                                           OutboxMessage.status == PENDING)).all()  # fmt: skip


def test_expired_salesforce_token_is_refreshed_during_sync(app, session, fakes, members):
    sf, hs = fakes
    _run(app, session)
    sf.expire_token()
    _bump(session, members)
    _run(app, session)
    assert sf.token_requests == 1
    _assert_in_sync(session, sf, hs)


# --- permanent errors, opt-out, links -------------------------------------------------------------


def test_permanent_400_parks_messages_dead_with_the_error(app, session, fakes, members, users):
    sf, _hs = fakes
    with transaction(session):
        crm_mapping.save(session, actor=users["admin"], connector="salesforce",
                         data={**crm_mapping.current(session, "salesforce"), "segment": "No_Such_Field__c"})  # fmt: skip
    crm_relay.run_once(session, config=app.config, connectors=["salesforce"])
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == crm.topic("salesforce"))).all()
    assert rows and all(r.status == DEAD for r in rows)
    assert all("INVALID_FIELD: No such column 'No_Such_Field__c'" in r.last_error for r in rows)
    assert "No_Such_Field__c" in _link(session, members[0].id, "salesforce").last_error
    assert not sf.contacts


def test_rejected_record_is_dead_alone_and_its_link_says_why(app, session, fakes, members):
    sf, hs = fakes
    hs.reject(members[2].email, "Email address is invalid")
    _run(app, session)
    session.expire_all()
    statuses = dict(session.execute(select(OutboxMessage.key, OutboxMessage.status).where(
        OutboxMessage.topic == crm.topic("hubspot"))).all())  # fmt: skip
    assert statuses.pop(crm.member_key(members[2].id)) == DEAD and set(statuses.values()) == {DONE}
    link = _link(session, members[2].id, "hubspot")
    assert link.contact_id is None and "Email address is invalid" in link.last_error and link.last_error_at
    assert len(hs.contacts) == len(members) - 1 and len(sf.contacts) == len(members)


def test_opted_out_member_gets_only_the_opt_out_fields(app, session, fakes, members):
    sf, hs = fakes
    _run(app, session)
    with transaction(session):
        crm.set_sharing(session, user=session.get(User, members[0].id), sharing=False)
    _bump(session, [members[0]])
    _run(app, session)
    contact_sf = sf.contact_by_ext(members[0].id)["Id"]
    contact_hs = hs.contact_by_email(members[0].email)["id"]
    assert sf.writes[contact_sf][-1]["fields"] == {"Community_User_Id__c": str(members[0].id),
                                                   "Email": members[0].email, "Community_Opt_Out__c": True}  # fmt: skip
    assert hs.writes[contact_hs][-1]["fields"] == {"community_user_id": str(members[0].id), "email": members[0].email,
                                                   "community_opt_out": "true"}  # fmt: skip
    _assert_in_sync(session, sf, hs)


def test_member_who_opted_out_before_any_sync_is_never_sent(app, session, fakes, members):
    sf, hs = fakes
    with transaction(session):
        crm.set_sharing(session, user=session.get(User, members[4].id), sharing=False)
    _run(app, session)
    assert sf.contact_by_ext(members[4].id) is None and hs.contact_by_email(members[4].email) is None
    assert len(sf.contacts) == len(members) - 1


def test_manually_linked_contact_is_updated_not_duplicated(app, session, fakes, members, users):
    sf, hs = fakes
    sf_contact = sf.add_contact(LastName="Known Customer", Email="sales-copy@example.com")
    hs_contact = hs.add_contact(email="sales-copy@example.com")
    with transaction(session):
        crm.link_contact(session, actor=users["admin"], user_id=members[0].id, connector="salesforce",
                         contact_id=sf_contact)  # fmt: skip
        crm.link_contact(session, actor=users["admin"], user_id=members[0].id, connector="hubspot",
                         contact_id=hs_contact)  # fmt: skip
    _run(app, session)
    assert sf.contacts[sf_contact]["Community_User_Id__c"] == str(members[0].id)
    assert hs.contacts[hs_contact]["properties"]["email"] == members[0].email
    assert sf.contact_by_ext(members[0].id)["Id"] == sf_contact
    _assert_in_sync(session, sf, hs)


# --- two relays at once (PostgreSQL) ------------------------------------------------------------------


def _overlaps(fake, path_part, ids_of) -> list[str]:
    """Members that were in two calls at the same time, from the fake's request log."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for request in fake.requests:
        if path_part in request["path"] and "answered" in request:
            for key in ids_of(json.loads(request["body"])):
                spans.setdefault(key, []).append((request["arrived"], request["answered"]))
    clashes = []
    for key, times in spans.items():
        times.sort()
        clashes += [key for (_, end), (start, _) in zip(times, times[1:], strict=False) if start < end]
    return clashes


def test_two_relays_never_send_the_same_member_at_once(app, session, fakes, members):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent writers and row locks: runs on PostgreSQL (TEST_DATABASE_URL)")
    sf, hs = fakes
    more = [make_user(session, f"extra{i}@example.com", f"Extra {i}", reputation=50) for i in range(15)]
    everyone = members + more
    for name in ("salesforce", "hubspot"):
        crm_base.get(name, app.config).batch_size = 4  # many small batches, so the relays interleave
    sf.delay = hs.delay = 0.02
    stop, errors = threading.Event(), []

    def relay():
        with app.app_context():
            try:
                while not stop.is_set():
                    crm_relay.run_once(db.session, config=app.config)
                    time.sleep(0.01)
            except Exception as exc:  # reported by the test
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(6):
            _bump(session, everyone[round_ % 3::3], delta=1)
            time.sleep(0.15)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    _run(app, session)
    assert not _overlaps(sf, "/composite/sobjects", lambda body: [
        r.get("Community_User_Id__c") for r in body["records"]])  # fmt: skip
    assert not _overlaps(hs, "/contacts/batch/", lambda body: [
        i["properties"].get("community_user_id") for i in body["inputs"]])  # fmt: skip
    _assert_in_sync(session, sf, hs)


def test_a_change_during_delivery_is_delivered_after_it(app, session, fakes, members):
    sf, hs = fakes
    _run(app, session)
    sf.delay = 0.3
    results = {}

    def deliver():
        with app.app_context():
            try:
                results["counts"] = crm_relay.run_once(db.session, config=app.config, connectors=["salesforce"])
            finally:
                db.session.remove()

    _bump(session, members)
    if db.engine.dialect.name == "sqlite":
        deliver()  # one writer: no overlap to test, only the ordering afterwards
    else:
        thread = threading.Thread(target=deliver)
        thread.start()
        time.sleep(0.1)
        _bump(session, members)  # while the relay holds the members
        thread.join(timeout=10)
    sf.delay = 0
    _run(app, session)
    _assert_in_sync(session, sf, hs)
