"""GET /api/v1/users/<id>/crm (staff) and PUT /api/v1/users/<id>/crm-link (admins)."""

import pytest
from crm_360_support import FakeCrm, cache, link, profile_jobs

from community.models import CrmLink

API = "/api/v1"


@pytest.fixture
def fake(monkeypatch, crm_settings):
    crm_settings(CRM_CONNECTORS="salesforce,hubspot")
    return FakeCrm().install(monkeypatch)


def test_staff_read_the_cached_profile_and_links(client, session, users, bearer, fake):
    link(session, users["member"], contact_id="003API")
    cache(session, users["member"])
    body = client.get(f"{API}/users/{users['member'].id}/crm", headers=bearer(users["moderator"])).get_json()
    assert body["state"] == "fresh" and body["connector"] == "salesforce" and body["source"] == "pull"
    assert body["profile"] == {"account_name": "Globex Corp", "tier": "Gold", "products": ["Analytics", "Billing"],
                               "open_cases": 2, "lifetime_value": 125000.5, "owner": "Dana Owner"}  # fmt: skip
    assert body["links"][0]["contact_id"] == "003API" and body["links"][0]["linked_by"] == "sso"
    assert body["fetched_at"].endswith("Z") and body["last_error"] is None


def test_a_stale_profile_is_reported_and_queued(client, session, users, bearer, fake):
    link(session, users["member"])
    cache(session, users["member"], age_seconds=7200)
    body = client.get(f"{API}/users/{users['member'].id}/crm", headers=bearer(users["admin"])).get_json()
    assert body["state"] == "stale"
    assert len(profile_jobs(session)) == 1 and fake["salesforce"].calls == []


def test_missing_profile_reads_as_missing(client, users, bearer, fake):
    body = client.get(f"{API}/users/{users['member'].id}/crm", headers=bearer(users["admin"])).get_json()
    assert (body["state"], body["profile"], body["links"]) == ("missing", None, [])


@pytest.mark.parametrize("role", ["member", "other", "marketer"])
def test_non_staff_tokens_are_refused(client, session, users, bearer, fake, error_of, role):
    cache(session, users["member"])
    response = client.get(f"{API}/users/{users['member'].id}/crm", headers=bearer(users[role]))
    assert error_of(response, 403)["code"] == "forbidden"
    assert "Globex" not in response.get_data(as_text=True)


def test_anonymous_is_401(client, users, error_of):
    error_of(client.get(f"{API}/users/{users['member'].id}/crm"), 401)


def test_unknown_member_is_404_for_staff(client, users, bearer, error_of):
    error_of(client.get(f"{API}/users/424242/crm", headers=bearer(users["admin"])), 404)


def test_admin_links_by_external_id(client, session, users, bearer, fake):
    response = client.put(f"{API}/users/{users['member'].id}/crm-link", headers=bearer(users["admin"]),
                          json={"connector": "hubspot", "contact_id": "ext-42"})  # fmt: skip
    assert response.status_code == 200
    assert response.get_json()["contact_id"] == "ext-42" and response.get_json()["linked_by"] == "api"
    made = session.query(CrmLink).filter_by(user_id=users["member"].id, connector="hubspot").one()
    assert (made.contact_id, made.linked_by) == ("ext-42", "api")


def test_linking_again_is_idempotent(client, session, users, bearer, fake):
    headers = bearer(users["admin"])
    for _ in range(2):
        response = client.put(f"{API}/users/{users['member'].id}/crm-link", headers=headers,
                              json={"connector": "hubspot", "contact_id": "ext-42"})  # fmt: skip
        assert response.status_code == 200
    assert session.query(CrmLink).filter_by(user_id=users["member"].id).count() == 1


@pytest.mark.parametrize("role", ["moderator", "member"])
def test_only_admins_may_link(client, session, users, bearer, error_of, role):
    response = client.put(f"{API}/users/{users['other'].id}/crm-link", headers=bearer(users[role]),
                          json={"connector": "hubspot", "contact_id": "ext-1"})  # fmt: skip
    error_of(response, 403)
    assert session.query(CrmLink).count() == 0


def test_link_validation_errors(client, session, users, bearer, error_of):
    headers = bearer(users["admin"])
    url = f"{API}/users/{users['member'].id}/crm-link"
    assert "connector" in error_of(client.put(url, headers=headers, json={"contact_id": "1"}), 422)["fields"]
    assert "connector" in error_of(client.put(url, headers=headers, json={"connector": "zendesk", "contact_id": "1"}),
                                   422)["fields"]  # fmt: skip
    assert "contact_id" in error_of(client.put(url, headers=headers, json={"connector": "hubspot", "contact_id": " "}),
                                    422)["fields"]  # fmt: skip
    error_of(client.put(url, headers=headers, data="nope"), 400)
    error_of(client.put(f"{API}/users/999999/crm-link", headers=headers, json={"connector": "hubspot",
                                                                              "contact_id": "1"}), 404)  # fmt: skip


def test_a_contact_taken_by_another_member_is_refused(client, session, users, bearer, error_of):
    link(session, users["other"], connector="hubspot", contact_id="ext-9")
    response = client.put(f"{API}/users/{users['member'].id}/crm-link", headers=bearer(users["admin"]),
                          json={"connector": "hubspot", "contact_id": "ext-9"})  # fmt: skip
    assert "contact_id" in error_of(response, 422)["fields"]


def test_cookie_session_writes_need_the_csrf_header(users):
    from tests.conftest import build_app

    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from community.db import transaction
        from community.extensions import db
        from community.services import accounts

        with transaction(db.session):
            admin = accounts.register(db.session, email="root@example.com", display_name="Root", password="r" * 12,
                                      role="admin")  # fmt: skip
        admin_id = admin.id
    client = app.test_client()
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": "root@example.com", "password": "r" * 12, "csrf_token": token})
    response = client.put(f"{API}/users/{admin_id}/crm-link", json={"connector": "hubspot", "contact_id": "1"})
    assert response.status_code == 400


def test_the_openapi_document_lists_both_operations(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "get" in paths[f"{API}/users/{{user_id}}/crm"]
    put = paths[f"{API}/users/{{user_id}}/crm-link"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("CrmLinkInput")
    assert {"400", "401", "403", "404", "422"} <= set(put["responses"])
