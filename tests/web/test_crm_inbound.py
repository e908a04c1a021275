"""POST /crm/inbound: signed pushes from the CRM (contact.updated, case.updated)."""

import json
import time

import pytest
from crm_360_support import PROFILE, link

from community.db import transaction
from community.integrations import crm_signing
from community.models import CrmCase, CrmProfile

SECRET = "inbound-test-secret"  # noqa: S105


@pytest.fixture(autouse=True)
def _secret(crm_settings):
    crm_settings(CRM_WEBHOOK_SECRET=SECRET, CRM_CONNECTORS="salesforce,hubspot,webhook")


def push(client, event, *, secret=SECRET, now=None, raw=None):
    body = raw if raw is not None else json.dumps(event).encode()
    headers = {**crm_signing.sign(secret, body, now=now), "Content-Type": "application/json"}
    return client.post("/crm/inbound", data=body, headers=headers)


def contact_event(**kw):
    return {"event": "contact.updated", "connector": "salesforce", "profile": PROFILE, **kw}


def profile_of(session, user):
    session.expire_all()
    return session.query(CrmProfile).filter_by(user_id=user.id).one_or_none()


def test_push_by_community_user_id_stores_the_profile(client, session, users):
    response = push(client, contact_event(community_user_id=str(users["member"].id)))
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    row = profile_of(session, users["member"])
    assert row.source == "push" and row.connector == "salesforce"
    assert row.data["products"] == ["Analytics", "Billing"] and row.data["open_cases"] == 2


def test_push_by_contact_id_finds_the_linked_member(client, session, users):
    link(session, users["other"], connector="hubspot", contact_id="9001")
    response = push(client, contact_event(connector="hubspot", contact_id="9001", profile={"tier": "Silver"}))
    assert response.status_code == 200
    assert profile_of(session, users["other"]).data["tier"] == "Silver"


def test_a_contact_id_of_another_connector_is_not_a_match(client, session, users):
    link(session, users["other"], connector="hubspot", contact_id="9001")
    assert push(client, contact_event(connector="salesforce", contact_id="9001")).status_code == 404


def test_unknown_contact_is_404(client, session, users):
    assert push(client, contact_event(contact_id="nobody")).status_code == 404
    assert push(client, contact_event(community_user_id="987654")).status_code == 404
    assert session.query(CrmProfile).count() == 0


def test_the_same_push_twice_is_applied_once(client, session, users):
    event = contact_event(community_user_id=users["member"].id)
    assert push(client, event).status_code == 200
    first = profile_of(session, users["member"]).data
    assert push(client, event).status_code == 200
    assert session.query(CrmProfile).count() == 1
    assert profile_of(session, users["member"]).data == first


def test_a_newer_push_replaces_the_data(client, session, users):
    push(client, contact_event(community_user_id=users["member"].id))
    push(client, contact_event(community_user_id=users["member"].id, profile={**PROFILE, "open_cases": 0}))
    assert profile_of(session, users["member"]).data["open_cases"] == 0


def test_bad_signature_is_401_and_changes_nothing(client, session, users):
    response = push(client, contact_event(community_user_id=users["member"].id), secret="not-the-secret")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "bad_signature"
    assert profile_of(session, users["member"]) is None


def test_body_changed_after_signing_is_401(client, users):
    body = json.dumps(contact_event(community_user_id=users["member"].id)).encode()
    headers = crm_signing.sign(SECRET, body)
    tampered = body.replace(b"Gold", b"Platinum")
    assert client.post("/crm/inbound", data=tampered, headers=headers).status_code == 401


def test_stale_timestamp_is_401(client, session, users):
    old = time.time() - crm_signing.TOLERANCE - 60
    response = push(client, contact_event(community_user_id=users["member"].id), now=old)
    assert response.status_code == 401 and "timestamp" in response.get_json()["error"]["message"]
    assert profile_of(session, users["member"]) is None


def test_unsigned_request_is_401(client, users):
    assert client.post("/crm/inbound", json=contact_event(community_user_id=users["member"].id)).status_code == 401


def test_no_secret_configured_refuses_everything(client, users, crm_settings):
    crm_settings(CRM_WEBHOOK_SECRET=None)
    assert push(client, contact_event(community_user_id=users["member"].id)).status_code == 401


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"event": "contact.deleted", "connector": "salesforce"}',
                                 b'{"event": "contact.updated", "connector": "zendesk", "contact_id": "1", "profile": {}}',
                                 b'{"event": "contact.updated", "connector": "salesforce", "contact_id": "1"}',
                                 b'{"event": "case.updated", "connector": "salesforce"}'])  # fmt: skip
def test_malformed_events_are_400(client, raw):
    assert push(client, None, raw=raw).status_code == 400


def test_needs_no_csrf_token_when_csrf_is_on(users):
    from tests.conftest import build_app

    app = build_app(WTF_CSRF_ENABLED=True, CRM_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        from community.extensions import db
        from community.services import accounts

        with transaction(db.session):
            user = accounts.register(db.session, email="push@example.com", display_name="Pushed", password="x" * 12)
        user_id = user.id
    response = push(app.test_client(), contact_event(community_user_id=user_id))
    assert response.status_code == 200


def _open_case(session, question, case_id="500A"):
    with transaction(session):
        case = CrmCase(question_id=question.id, connector="salesforce", state="open", case_id=case_id,
                       case_number="00001001", status="New")  # fmt: skip
        session.add(case)
    return case.id


def test_case_update_closes_the_case_with_its_resolution(client, session, users, ask):
    case_id = _open_case(session, ask(users["member"]))
    event = {"event": "case.updated", "connector": "salesforce", "case_id": "500A", "case_number": "00001001",
             "status": "Closed", "closed": True, "resolution": "Refunded the difference."}  # fmt: skip
    assert push(client, event).status_code == 200
    assert push(client, event).status_code == 200  # idempotent
    session.expire_all()
    case = session.get(CrmCase, case_id)
    assert case.state == "closed" and case.status == "Closed" and case.resolution == "Refunded the difference."


def test_case_update_for_an_unknown_case_is_404(client):
    event = {"event": "case.updated", "connector": "salesforce", "case_id": "nope", "status": "Closed", "closed": True}
    assert push(client, event).status_code == 404
