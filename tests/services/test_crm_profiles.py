"""services/crm_profiles.py: the Customer 360 cache, its freshness, refresh queueing and pulls."""

from datetime import timedelta

import pytest
from crm_360_support import PROFILE, FakeCrm, cache, link, profile_jobs

from community.db import transaction, utcnow
from community.integrations import relay
from community.models import CrmProfile
from community.models.outbox import DONE
from community.services import crm_profiles
from community.services.errors import NotFound, PermissionDenied, RuleViolation
from tests.conftest import count_queries, make_user


@pytest.fixture
def fake(monkeypatch, crm_settings):
    crm_settings(CRM_CONNECTORS="salesforce,hubspot,webhook", CRM_PROFILE_TTL_SECONDS=900, CRM_PROFILE_TIMEOUT=2.5)
    return FakeCrm().install(monkeypatch)


def test_store_normalises_the_360_fields(session, users):
    row = cache(session, users["member"], {**PROFILE, "extra": "dropped", "owner": "  Dana   Owner "})
    assert row.data == {"account_name": "Globex Corp", "tier": "Gold", "products": ["Analytics", "Billing"],
                        "open_cases": 2, "lifetime_value": 125000.5, "owner": "Dana Owner"}  # fmt: skip


def test_store_turns_bad_numbers_into_safe_values(session, users):
    row = cache(session, users["member"], {"products": ["A", "", " B "], "open_cases": "many", "lifetime_value": ""})
    assert row.data["products"] == ["A", "B"]
    assert row.data["open_cases"] == 0 and row.data["lifetime_value"] is None and row.data["account_name"] == ""


def test_store_refuses_an_unknown_connector(session, users):
    with pytest.raises(RuleViolation):
        crm_profiles.store(session, user_id=users["member"].id, connector="zendesk", data={})


def test_storing_the_same_push_twice_keeps_one_row(session, users):
    cache(session, users["member"], source="push")
    cache(session, users["member"], source="push")
    assert session.query(CrmProfile).filter_by(user_id=users["member"].id).count() == 1


def test_fresh_within_ttl_then_stale_after_it(session, users, fake):
    cache(session, users["member"], age_seconds=60)
    staff = users["moderator"]
    assert crm_profiles.for_users(session, [users["member"].id], actor=staff)[users["member"].id].state == "fresh"
    later = utcnow() + timedelta(seconds=900)
    view = crm_profiles.for_users(session, [users["member"].id], actor=staff, now=later)[users["member"].id]
    assert view.state == "stale" and view.data["account_name"] == "Globex Corp"


def test_member_without_a_cached_profile_is_missing(session, users, fake):
    view = crm_profiles.for_users(session, [users["other"].id], actor=users["admin"])[users["other"].id]
    assert view.state == "missing" and not view.has_data and view.data == {}


def test_for_users_reads_any_number_of_members_in_one_query(session, users, fake):
    members = [make_user(session, f"m{i}@example.com", f"Member {i}") for i in range(8)]
    for m in members:
        cache(session, m)
    ids, admin = [m.id for m in members], users["admin"]
    admin.role  # noqa: B018  (loaded before counting)
    with count_queries() as few:
        crm_profiles.for_users(session, ids[:2], actor=admin)
    with count_queries() as many:
        views = crm_profiles.for_users(session, ids, actor=admin)
    assert len(few) == len(many) == 1
    assert {v.state for v in views.values()} == {"fresh"}


def test_the_first_enabled_connector_wins(session, users, fake):
    cache(session, users["member"], {"account_name": "From HubSpot"}, connector="hubspot")
    cache(session, users["member"], {"account_name": "From Salesforce"}, connector="salesforce")
    view = crm_profiles.for_users(session, [users["member"].id], actor=users["admin"])[users["member"].id]
    assert view.connector == "salesforce" and view.data["account_name"] == "From Salesforce"


@pytest.mark.parametrize("role", ["member", "marketer"])
def test_only_staff_may_read_crm_profiles(session, users, role):
    with pytest.raises(PermissionDenied):
        crm_profiles.for_users(session, [users["other"].id], actor=users[role])
    with pytest.raises(PermissionDenied):
        crm_profiles.for_users(session, [users["other"].id], actor=None)


def test_only_staff_may_refresh_now(session, users, fake):
    link(session, users["other"])
    with pytest.raises(PermissionDenied):
        crm_profiles.refresh_now(session, actor=users["member"], user_id=users["other"].id)
    assert fake["salesforce"].calls == []


def test_queue_refresh_queues_stale_and_missing_linked_members_only(session, users, fake):
    stale, missing, fresh, unlinked = users["member"], users["other"], users["marketer"], users["moderator"]
    for u in (stale, missing, fresh):
        link(session, u)
    cache(session, stale, age_seconds=3600)
    cache(session, fresh, age_seconds=10)
    with transaction(session):
        assert crm_profiles.queue_refresh(session, [stale.id, missing.id, fresh.id, unlinked.id]) == 2
    assert sorted(j.key for j in profile_jobs(session)) == sorted([f"user:{stale.id}", f"user:{missing.id}"])


def test_queue_refresh_coalesces_per_member(session, users, fake):
    link(session, users["member"])
    for _ in range(3):
        with transaction(session):
            crm_profiles.queue_refresh(session, [users["member"].id])
    assert len(profile_jobs(session)) == 1


def test_webhook_links_are_never_pulled(session, users, fake):
    link(session, users["member"], connector="webhook")
    with transaction(session):
        assert crm_profiles.queue_refresh(session, [users["member"].id]) == 0


def test_nothing_is_queued_when_no_connector_is_enabled(session, users, crm_settings):
    crm_settings(CRM_CONNECTORS="")
    link(session, users["member"])
    with transaction(session):
        assert crm_profiles.queue_refresh(session, [users["member"].id]) == 0


def test_relay_pulls_the_profile_through_the_linked_connector(session, users, fake, app):
    link(session, users["member"], connector="hubspot", contact_id="501")
    fake["hubspot"].profiles["501"] = PROFILE
    with transaction(session):
        crm_profiles.queue_refresh(session, [users["member"].id])
    counts = relay.run_once(session, config=app.config)
    assert counts[DONE] == 1 and fake["hubspot"].calls == [("501", None)]
    row = session.query(CrmProfile).filter_by(user_id=users["member"].id).one()
    assert row.connector == "hubspot" and row.source == "pull" and row.data["tier"] == "Gold"


def test_relay_pull_failure_keeps_the_old_data_and_records_the_error(session, users, fake, app):
    link(session, users["member"])
    cache(session, users["member"], age_seconds=3600)
    fake["salesforce"].down = True
    with transaction(session):
        crm_profiles.queue_refresh(session, [users["member"].id])
    relay.run_once(session, config=app.config)
    view = crm_profiles.for_users(session, [users["member"].id], actor=users["admin"])[users["member"].id]
    assert view.state == "stale" and view.data["account_name"] == "Globex Corp"
    assert view.unreachable and "cannot reach the CRM" in view.last_error


def test_refresh_now_reads_with_the_short_timeout(session, users, fake):
    link(session, users["member"], contact_id="003XYZ")
    fake["salesforce"].profiles["003XYZ"] = {**PROFILE, "tier": "Platinum"}
    with transaction(session):
        view = crm_profiles.refresh_now(session, actor=users["moderator"], user_id=users["member"].id)
    assert view.state == "fresh" and view.data["tier"] == "Platinum" and not view.unreachable
    assert fake["salesforce"].calls == [("003XYZ", 2.5)]


def test_refresh_now_with_the_crm_down_keeps_old_data(session, users, fake):
    link(session, users["member"])
    cache(session, users["member"], age_seconds=5000)
    fake["salesforce"].down = True
    with transaction(session):
        view = crm_profiles.refresh_now(session, actor=users["admin"], user_id=users["member"].id)
    assert view.unreachable and view.data["account_name"] == "Globex Corp" and view.state == "stale"
    session.expire_all()
    row = session.query(CrmProfile).filter_by(user_id=users["member"].id).one()
    assert row.last_error and row.data["account_name"] == "Globex Corp"


def test_a_later_successful_pull_clears_the_error(session, users, fake):
    link(session, users["member"], contact_id="003A")
    fake["salesforce"].down = True
    with transaction(session):
        crm_profiles.refresh_now(session, actor=users["admin"], user_id=users["member"].id)
    fake["salesforce"].down = False
    fake["salesforce"].profiles["003A"] = PROFILE
    with transaction(session):
        view = crm_profiles.refresh_now(session, actor=users["admin"], user_id=users["member"].id)
    assert not view.unreachable and view.last_error is None and view.state == "fresh"


def test_refresh_now_of_an_unlinked_member_says_so(session, users, fake):
    with pytest.raises(RuleViolation):
        crm_profiles.refresh_now(session, actor=users["admin"], user_id=users["member"].id)
    with pytest.raises(NotFound):
        crm_profiles.refresh_now(session, actor=users["admin"], user_id=999_999)


def test_link_by_api_is_for_admins_and_records_api(session, users, fake):
    with pytest.raises(PermissionDenied):
        crm_profiles.link_by_api(session, actor=users["moderator"], user_id=users["member"].id,
                                 connector="salesforce", contact_id="003Q")  # fmt: skip
    with transaction(session):
        made = crm_profiles.link_by_api(session, actor=users["admin"], user_id=users["member"].id,
                                        connector="salesforce", contact_id="003Q")  # fmt: skip
    assert made.linked_by == "api" and made.contact_id == "003Q"


# --- through the fake CRM servers (real HTTP) ----------------------------------------------------


@pytest.fixture
def sf(crm_settings):
    import crm_fakes

    with crm_fakes.FakeSalesforce() as fake:
        crm_settings(CRM_CONNECTORS="salesforce", SALESFORCE_INSTANCE_URL=fake.url,
                     SALESFORCE_ACCESS_TOKEN=fake.access_token, CRM_PROFILE_TIMEOUT=1.0, CRM_HTTP_TIMEOUT=5.0)  # fmt: skip
        yield fake


@pytest.fixture
def hs(crm_settings):
    import crm_fakes

    with crm_fakes.FakeHubSpot() as fake:
        crm_settings(CRM_CONNECTORS="hubspot", HUBSPOT_BASE_URL=fake.url, HUBSPOT_TOKEN=fake.token,
                     HUBSPOT_ID_PROPERTY="email", CRM_PROFILE_TIMEOUT=1.0)  # fmt: skip
        yield fake


def test_relay_pulls_from_the_fake_salesforce(session, users, sf, app):
    contact_id = sf.add_contact(LastName="Member", Email=users["member"].email)
    sf.set_profile(contact_id, {"account_name": "Initech", "tier": "Gold", "products": ["Analytics", "Billing"],
                                "open_cases": 3, "lifetime_value": 9900.0, "owner": "Bill L."})  # fmt: skip
    link(session, users["member"], contact_id=contact_id)
    with transaction(session):
        crm_profiles.queue_refresh(session, [users["member"].id])
    assert relay.run_once(session, config=app.config)[DONE] == 1
    view = crm_profiles.for_users(session, [users["member"].id], actor=users["admin"])[users["member"].id]
    assert view.state == "fresh" and view.data == {"account_name": "Initech", "tier": "Gold",
                                                   "products": ["Analytics", "Billing"], "open_cases": 3,
                                                   "lifetime_value": 9900.0, "owner": "Bill L."}  # fmt: skip


def test_refresh_now_from_the_fake_hubspot(session, users, hs):
    contact_id = hs.add_contact(email=users["member"].email)
    hs.set_profile(contact_id, {"account_name": "Hooli", "tier": "Silver", "products": ["Nucleus"], "open_cases": 1,
                                "lifetime_value": 1200.5, "owner": "Gavin B."})  # fmt: skip
    link(session, users["member"], connector="hubspot", contact_id=contact_id)
    with transaction(session):
        view = crm_profiles.refresh_now(session, actor=users["moderator"], user_id=users["member"].id)
    assert view.connector == "hubspot" and view.data["account_name"] == "Hooli" and view.data["products"] == ["Nucleus"]
    assert view.data["lifetime_value"] == 1200.5 and view.data["open_cases"] == 1


def test_refresh_now_gives_up_after_the_short_timeout(session, users, sf):
    import time

    contact_id = sf.add_contact(LastName="Member", Email=users["member"].email)
    link(session, users["member"], contact_id=contact_id)
    cache(session, users["member"], age_seconds=5000)
    sf.delay = 3.0  # longer than CRM_PROFILE_TIMEOUT (1 s), shorter than CRM_HTTP_TIMEOUT (5 s)
    started = time.monotonic()
    with transaction(session):
        view = crm_profiles.refresh_now(session, actor=users["admin"], user_id=users["member"].id)
    assert time.monotonic() - started < 2.5
    assert view.unreachable and "timed out" in view.last_error and view.data["account_name"] == "Globex Corp"
    sf.delay = 0


def test_relay_pull_with_the_crm_down_keeps_old_data(session, users, hs, app):
    contact_id = hs.add_contact(email=users["member"].email)
    link(session, users["member"], connector="hubspot", contact_id=contact_id)
    cache(session, users["member"], connector="hubspot", age_seconds=5000)
    hs.down()
    with transaction(session):
        crm_profiles.queue_refresh(session, [users["member"].id])
    relay.run_once(session, config=app.config)
    view = crm_profiles.for_users(session, [users["member"].id], actor=users["admin"])[users["member"].id]
    assert view.unreachable and view.state == "stale" and view.data["account_name"] == "Globex Corp"
    hs.up()
