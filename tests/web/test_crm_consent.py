"""Consent and email: the registration notice, the privacy setting (and what it does to the snapshot
and to what the relay sends), and changing the email address."""

import json
import re

import pytest
from crm_360_support import FakeCrm, link

from community.db import transaction
from community.integrations import crm_relay
from community.models import OutboxMessage, User
from community.services import accounts, crm, crm_mapping, crm_snapshot
from community.services.errors import Conflict, RuleViolation
from tests.conftest import PASSWORD


def sync_rows(session, user):
    session.expire_all()
    return session.query(OutboxMessage).filter(OutboxMessage.topic.startswith("crm.sync."),
                                               OutboxMessage.key == f"user:{user.id}").all()  # fmt: skip


def field_error(html, field):
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</div>', html, re.S)
    return found and re.sub(r"<[^>]+>", "", found.group(1)).strip()


# --- registration and the privacy page --------------------------------------------------------------


def test_registration_tells_about_sharing_and_links_the_setting(client, app):
    html = client.get("/register").get_data(as_text=True)
    notice = html[html.index("crm-consent"):]
    assert f"shared with\n      {app.config['BRAND_NAME']}'s customer records" in notice.replace("&#39;", "'")
    assert 'href="/settings/privacy"' in notice


def test_privacy_page_shows_the_checkbox_on_by_default(client, auth, users, app):
    auth.login(users["member"].email)
    html = client.get("/settings/privacy").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="crm_sharing"|name="crm_sharing"[^>]*checked', html)
    assert f"Share my community activity with {app.config['BRAND_NAME']}" in html.replace("&#39;", "'")
    assert 'href="/settings/privacy" aria-current="page"' in html and 'href="/settings/email"' in html


def test_privacy_page_needs_login(client):
    response = client.get("/settings/privacy")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_switching_sharing_off_reaches_the_snapshot_and_queues_a_sync(client, auth, session, users, crm_settings):
    crm_settings(CRM_CONNECTORS="hubspot")
    member = users["member"]
    with transaction(session):
        session.query(OutboxMessage).delete()
    auth.login(member.email)
    response = client.post("/settings/privacy", data={})  # an unticked checkbox sends nothing
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, member.id).crm_sharing is False
    assert crm_snapshot.build_many(session, [member.id])[member.id]["opt_out"] is True
    assert [row.topic for row in sync_rows(session, member)] == ["crm.sync.hubspot"]
    html = client.get("/settings/privacy").get_data(as_text=True)
    assert "no longer shared" in html
    assert not re.search(r'<input checked[^>]*name="crm_sharing"|name="crm_sharing"[^>]*checked', html)


def test_switching_sharing_back_on(client, auth, session, users):
    with transaction(session):
        crm.set_sharing(session, user=users["member"], sharing=False)
    auth.login(users["member"].email)
    assert client.post("/settings/privacy", data={"crm_sharing": "y"}).status_code == 302
    session.expire_all()
    assert crm_snapshot.build_many(session, [users["member"].id])[users["member"].id]["opt_out"] is False


def _relay_records(session, app, monkeypatch, name):
    fake = FakeCrm().install(monkeypatch)
    crm_relay.run_once(session, config=app.config, connectors=[name])
    return [record for batch in fake[name].sent for record in batch]


@pytest.mark.parametrize("name", ["salesforce", "hubspot", "webhook"])
def test_an_opted_out_linked_member_sends_only_the_opt_out_flag(session, users, app, crm_settings, monkeypatch, name):
    crm_settings(CRM_CONNECTORS=name)
    member = users["member"]
    link(session, member, connector=name, contact_id="C-1")
    with transaction(session):
        crm.set_sharing(session, user=member, sharing=False)
    (record,) = _relay_records(session, app, monkeypatch, name)
    mapping = crm_mapping.DEFAULTS[name]
    assert record.opt_out is True and record.contact_id == "C-1"
    assert set(record.fields) == {mapping[f] for f in crm_mapping.OPT_OUT_FIELDS if mapping.get(f)}
    assert record.fields[mapping["opt_out"]] in (True, "true")


def test_a_sharing_member_sends_the_whole_snapshot(session, users, app, crm_settings, monkeypatch):
    crm_settings(CRM_CONNECTORS="webhook")
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    records = [r for r in _relay_records(session, app, monkeypatch, "webhook") if r.user_id == users["member"].id]
    assert records[0].opt_out is False and set(records[0].fields) == set(crm_snapshot.FIELDS)


def test_a_member_who_opted_out_before_any_link_sends_nothing(session, users, app, crm_settings, monkeypatch):
    crm_settings(CRM_CONNECTORS="hubspot")
    with transaction(session):
        crm.set_sharing(session, user=users["other"], sharing=False)
        crm.members_changed(session, [users["member"].id, users["other"].id])
    sent = [r.user_id for r in _relay_records(session, app, monkeypatch, "hubspot")]
    assert users["other"].id not in sent and users["member"].id in sent


# --- changing the email ------------------------------------------------------------------------------


def test_change_email_needs_the_current_password(session, users):
    with pytest.raises(RuleViolation) as caught:
        accounts.change_email(session, user=users["member"], new_email="new@example.com", password="wrong password")
    assert "password" in caught.value.fields


def test_change_email_refuses_a_taken_address(session, users):
    with pytest.raises(Conflict) as caught:
        accounts.change_email(session, user=users["member"], new_email="OTHER@example.com", password=PASSWORD)
    assert "new_email" in caught.value.fields


def test_change_email_normalises_and_queues_a_sync(session, users, crm_settings):
    crm_settings(CRM_CONNECTORS="salesforce,hubspot")
    with transaction(session):
        session.query(OutboxMessage).delete()
    with transaction(session):
        accounts.change_email(session, user=users["member"], new_email="  Mia.New@Example.COM ", password=PASSWORD)
    assert session.get(User, users["member"].id).email == "mia.new@example.com"
    assert sorted(r.topic for r in sync_rows(session, users["member"])) == ["crm.sync.hubspot", "crm.sync.salesforce"]


def test_email_form_shows_errors_beside_the_fields(client, auth, users):
    auth.login(users["member"].email)
    wrong = client.post("/settings/email", data={"new_email": "new@example.com", "password": "nope nope nope"})
    assert wrong.status_code == 422
    assert field_error(wrong.get_data(as_text=True), "password") == "Your current password is not correct."
    taken = client.post("/settings/email", data={"new_email": "other@example.com", "password": PASSWORD})
    assert field_error(taken.get_data(as_text=True), "new_email") == "An account with this email already exists."
    bad = client.post("/settings/email", data={"new_email": "not-an-address", "password": PASSWORD})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "new_email")


def test_changed_email_is_used_to_log_in(client, auth, session, users):
    auth.login(users["member"].email)
    response = client.post("/settings/email", data={"new_email": "Mia@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert "mia@example.org" in client.get("/settings/email").get_data(as_text=True)
    auth.logout()
    assert auth.login("mia@example.org").status_code == 302
    assert auth.login("member@example.com").status_code != 302


def test_a_linked_hubspot_member_is_updated_by_contact_id_after_an_email_change(session, users, app, crm_settings,
                                                                                 monkeypatch):  # fmt: skip
    crm_settings(CRM_CONNECTORS="hubspot")
    link(session, users["member"], connector="hubspot", contact_id="501")
    with transaction(session):
        accounts.change_email(session, user=users["member"], new_email="moved@example.com", password=PASSWORD)
    (record,) = [r for r in _relay_records(session, app, monkeypatch, "hubspot") if r.user_id == users["member"].id]
    assert record.contact_id == "501" and record.email == "moved@example.com"
    assert record.fields["email"] == "moved@example.com"


# --- through the fake HubSpot (real HTTP) -----------------------------------------------------------


@pytest.fixture
def hs(crm_settings):
    import crm_fakes

    with crm_fakes.FakeHubSpot() as fake:
        crm_settings(CRM_CONNECTORS="hubspot", HUBSPOT_BASE_URL=fake.url, HUBSPOT_TOKEN=fake.token,
                     HUBSPOT_ID_PROPERTY="email")  # fmt: skip
        yield fake


def test_email_change_keeps_the_hubspot_contact(client, auth, session, users, app, hs):
    member = users["member"]
    with transaction(session):
        crm.members_changed(session, [member.id])
    crm_relay.run_once(session, config=app.config)
    contact_id = hs.contact_by_email(member.email)["id"]
    auth.login(member.email)
    assert client.post("/settings/email", data={"new_email": "mia.moved@example.com", "password": PASSWORD}).status_code == 302
    crm_relay.run_once(session, config=app.config)
    assert hs.contact_by_email("mia.moved@example.com")["id"] == contact_id
    assert len(hs.contacts) == len({c["properties"].get("email") for c in hs.contacts.values()})
    assert not any(c["properties"].get("email") == "member@example.com" for c in hs.contacts.values())


def test_opting_out_on_the_page_leaves_only_the_flag_in_hubspot(client, auth, session, users, app, hs):
    member = users["member"]
    with transaction(session):
        crm.members_changed(session, [member.id])
    crm_relay.run_once(session, config=app.config)
    contact_id = hs.contact_by_email(member.email)["id"]
    auth.login(member.email)
    client.post("/settings/privacy", data={})
    hs.requests.clear()
    crm_relay.run_once(session, config=app.config)
    sent = [json.loads(r["body"]) for r in hs.requests if r["path"].endswith("/batch/update")
            or r["path"].endswith("/batch/upsert")]  # fmt: skip
    (props,) = [i["properties"] for body in sent for i in body["inputs"]]
    assert set(props) <= {"community_user_id", "email", "community_opt_out"} and props["community_opt_out"] == "true"
    assert hs.contacts[contact_id]["properties"]["community_opt_out"] == "true"
