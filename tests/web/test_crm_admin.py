"""The CRM admin pages over HTTP: access, secrets, test connection, retry, resync progress, mapping."""

import crm_fakes
import crm_recorder
import pytest
from sqlalchemy import func, select

from community.db import transaction, utcnow
from community.integrations import crm_relay
from community.models import CrmResync, OutboxMessage, Setting, User
from community.models.outbox import DEAD, DONE, PENDING
from community.services import crm, crm_mapping
from community.services.crm_snapshot import FIELDS
from tests.conftest import PASSWORD, build_app, count_queries, make_user

PAGES = ["/admin/crm", "/admin/crm/hubspot", "/admin/crm/mapping/hubspot"]
SECRET = "pat-na1-0f3e-very-secret-token"


@pytest.fixture
def hubspot(app, users, crm_settings, monkeypatch):
    crm_settings(CRM_CONNECTORS="hubspot", HUBSPOT_TOKEN=SECRET, CRM_WEBHOOK_SECRET="whsec-also-secret",
                 HUBSPOT_BASE_URL="http://127.0.0.1:9")  # fmt: skip
    return crm_recorder.use(monkeypatch, app)


def _rows(session, status=None):
    session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.topic == crm.topic("hubspot")).order_by(OutboxMessage.id)
    return list(session.scalars(stmt if status is None else stmt.where(OutboxMessage.status == status)))


def _dead(app, session, hubspot, *emails):
    """Queue the given members and deliver: the CRM refuses them, so they end dead."""
    hubspot.refuse = set(emails)
    ids = list(session.scalars(select(User.id).where(User.email.in_(emails))))
    with transaction(session):
        crm.members_changed(session, ids)
    crm_relay.run_once(session, config=app.config)
    return _rows(session, DEAD)


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "moderator"])
@pytest.mark.parametrize("url", [*PAGES, "/admin/crm/resyncs/1"])
def test_members_and_moderators_are_refused(client, auth, users, hubspot, role, url):
    auth.login(f"{role}@example.com")
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/admin/crm/hubspot/resync", "/admin/crm/retry", "/admin/crm/hubspot/test"])
def test_moderators_cannot_press_the_buttons(client, auth, session, users, hubspot, url):
    auth.login("moderator@example.com")
    assert client.post(url).status_code == 403
    assert _rows(session) == []


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/admin/crm")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_marketers_see_the_pages_read_only(client, auth, users, hubspot):
    auth.login("marketer@example.com")
    for url in PAGES:
        assert client.get(url).status_code == 200
    body = client.get("/admin/crm/hubspot").text
    assert "Test connection</button>" not in body and "Full resync</button>" not in body


@pytest.mark.parametrize("url", ["/admin/crm/hubspot/resync", "/admin/crm/retry", "/admin/crm/hubspot/test"])
def test_marketers_cannot_manage_connectors(client, auth, session, users, hubspot, url):
    auth.login("marketer@example.com")
    assert client.post(url).status_code == 403
    assert _rows(session) == []


def test_the_admin_tabs_link_to_the_crm_page(client, auth, users):
    auth.login("admin@example.com")
    body = client.get("/admin/crm").text
    assert 'href="/admin/crm" aria-current="page">CRM</a>' in body
    assert 'href="/admin/crm">CRM</a>' in client.get("/admin/").text


@pytest.mark.parametrize("url", ["/admin/crm/hubspot/resync", "/admin/crm/retry", "/admin/crm/hubspot/test",
                                 "/admin/crm/mapping/hubspot"])  # fmt: skip
def test_buttons_need_a_csrf_token(url):
    app = build_app(WTF_CSRF_ENABLED=True, CRM_CONNECTORS="hubspot")
    with app.app_context():
        from community.extensions import db

        make_user(db.session, "boss@example.com", "Boss", role="admin")
        client = app.test_client()
        page = client.get("/login").text
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": token})
        assert client.get("/admin/crm").status_code == 200
        queued = select(func.count(OutboxMessage.id))
        before = db.session.scalar(queued)  # the registration queued the new admin
        assert client.post(url, data={"email": "x"}).status_code == 400
        assert db.session.scalar(queued) == before
        db.session.remove()


# --- the pages ------------------------------------------------------------------------------------


def test_secrets_are_never_shown(client, auth, users, hubspot):
    auth.login("admin@example.com")
    for url in ["/admin/crm", "/admin/crm/hubspot", "/admin/crm/webhook", "/admin/crm/mapping/hubspot"]:
        body = client.get(url).text
        assert SECRET not in body and "whsec-also-secret" not in body
    body = client.get("/admin/crm/hubspot").text
    assert "HUBSPOT_TOKEN" in body and ">set<" in body and "http://127.0.0.1:9" in body
    assert ">set<" in client.get("/admin/crm/webhook").text


def test_overview_shows_each_connector_state_and_queue(client, auth, session, users, hubspot):
    _dead(client.application, session, hubspot, "member@example.com")
    auth.login("admin@example.com")
    body = client.get("/admin/crm").text
    assert "Salesforce" in body and "HubSpot" in body and "Signed webhook" in body
    assert body.count("label--success\">enabled") == 1
    assert "Retry all 1 dead message" in body


def test_test_connection_flashes_the_result(client, auth, users, hubspot):
    auth.login("admin@example.com")
    assert "Connection works: hubspot: portal 42 answers" in client.post("/admin/crm/hubspot/test",
                                                                           follow_redirects=True).text  # fmt: skip
    hubspot.ping_error = "hubspot: HTTP 401: invalid token"
    body = client.post("/admin/crm/hubspot/test", follow_redirects=True).text
    assert "Test connection failed" in body and "HTTP 401: invalid token" in body


def test_dead_messages_are_listed_with_their_errors(client, auth, session, users, hubspot):
    dead = _dead(client.application, session, hubspot, "member@example.com", "other@example.com")
    auth.login("admin@example.com")
    body = client.get("/admin/crm/hubspot").text
    assert "Dead messages (2)" in body and body.count("INVALID_EMAIL") == 2
    assert f'name="message_id" value="{dead[0].id}"' in body and "Member User" in body


def test_retry_one_dead_message(client, auth, session, users, hubspot):
    dead = _dead(client.application, session, hubspot, "member@example.com", "other@example.com")
    auth.login("admin@example.com")
    body = client.post("/admin/crm/hubspot/retry", data={"message_id": str(dead[0].id)}, follow_redirects=True).text
    assert "1 message queued again" in body
    assert [m.id for m in _rows(session, DEAD)] == [dead[1].id]
    assert session.get(OutboxMessage, dead[0].id).status == PENDING


def test_retry_all_dead_messages(client, auth, session, users, hubspot):
    _dead(client.application, session, hubspot, "member@example.com", "other@example.com")
    auth.login("admin@example.com")
    assert "2 messages queued again" in client.post("/admin/crm/retry", follow_redirects=True).text
    assert _rows(session, DEAD) == []


def test_dead_messages_are_paginated(client, auth, session, users, hubspot):
    emails = [make_user(session, f"bad{i}@example.com", f"Bad {i}").email for i in range(27)]
    session.execute(OutboxMessage.__table__.delete())
    session.commit()
    _dead(client.application, session, hubspot, *emails)
    auth.login("admin@example.com")
    assert client.get("/admin/crm/hubspot").text.count("INVALID_EMAIL") == 25
    assert client.get("/admin/crm/hubspot?page=2").text.count("INVALID_EMAIL") == 2


def test_full_resync_with_progress(client, auth, session, users, hubspot):
    auth.login("admin@example.com")
    response = client.post("/admin/crm/hubspot/resync")
    assert response.status_code == 302 and "#resync-" in response.headers["Location"]
    run_id = int(response.headers["Location"].rsplit("-", 1)[1])
    progress = client.get(f"/admin/crm/resyncs/{run_id}").get_json()
    assert (progress["total"], progress["pending"], progress["finished"]) == (5, 5, False)
    page = client.get("/admin/crm/hubspot").text
    assert f'data-progress-url="/admin/crm/resyncs/{run_id}"' in page and "js/crm-admin.js" in page
    crm_relay.run_once(session, config=client.application.config)
    progress = client.get(f"/admin/crm/resyncs/{run_id}").get_json()
    assert (progress["done"], progress["pending"], progress["percent"], progress["finished"]) == (5, 0, 100, True)
    page = client.get("/admin/crm").text  # without JavaScript a reload shows the numbers
    assert '<span data-field="done">5</span> sent' in page and "finished" in page
    assert len(_rows(session, DONE)) == 5


def test_resync_of_a_connector_that_is_off_is_explained(client, auth, session, users, hubspot):
    auth.login("admin@example.com")
    body = client.post("/admin/crm/salesforce/resync", follow_redirects=True).text
    assert "not enabled" in body


def test_progress_of_an_unknown_resync_is_a_json_404(client, auth, users):
    auth.login("admin@example.com")
    response = client.get("/admin/crm/resyncs/404")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_pages_take_the_same_queries_whatever_the_number_of_messages(client, auth, session, users, hubspot):
    _dead(client.application, session, hubspot, "member@example.com")
    with transaction(session):
        session.add(CrmResync(connector="hubspot", total=0, finished_at=utcnow()))
    auth.login("admin@example.com")
    client.get("/admin/crm/hubspot")  # warm caches (levels, rules)
    with count_queries() as few:
        client.get("/admin/crm/hubspot")
        client.get("/admin/crm")
    emails = [make_user(session, f"bad{i}@example.com", f"Bad {i}").email for i in range(12)]
    _dead(client.application, session, hubspot, *emails)
    with transaction(session):
        session.add_all(CrmResync(connector="hubspot", total=0, finished_at=utcnow()) for _ in range(3))
    with count_queries() as many:
        client.get("/admin/crm/hubspot")
        client.get("/admin/crm")
    assert len(many) == len(few)


# --- mapping --------------------------------------------------------------------------------------


def _mapping(**changes):
    data = {f: crm_mapping.DEFAULTS["hubspot"].get(f, "") for f in FIELDS}
    data.update(changes)
    return {**data, "save": "Save mapping"}


def test_mapping_form_shows_the_current_mapping_and_defaults(client, auth, users, hubspot):
    auth.login("marketer@example.com")
    body = client.get("/admin/crm/mapping/hubspot").text
    assert 'name="reputation" type="text" value="community_reputation"' in body
    assert "required" in body and body.count("<tr") == len(FIELDS) + 1


def test_marketer_saves_a_mapping(client, auth, session, users, hubspot):
    auth.login("marketer@example.com")
    response = client.post("/admin/crm/mapping/hubspot", data=_mapping(reputation="karma", top_tags="tags"))
    assert response.status_code == 302
    session.expire_all()
    stored = session.get(Setting, "crm.mapping.hubspot").value
    assert stored["reputation"] == "karma" and stored["top_tags"] == "tags"


def test_mapping_errors_are_shown_beside_the_fields(client, auth, session, users, hubspot):
    auth.login("admin@example.com")
    response = client.post("/admin/crm/mapping/hubspot",
                           data=_mapping(reputation="Bad Name!", level="community_badges", email=""))  # fmt: skip
    assert response.status_code == 422
    body = response.text
    assert 'id="reputation-error">Letters, digits and underscores only (lower case).' in body
    assert 'id="level-error">' in body or 'id="badges-error">' in body
    assert 'id="email-error">This field identifies the record' in body
    assert session.get(Setting, "crm.mapping.hubspot") is None


def test_mapping_defaults_button_fills_the_form_without_saving(client, auth, session, users, hubspot):
    auth.login("admin@example.com")
    body = client.post("/admin/crm/mapping/hubspot", data={"reputation": "karma", "defaults": "1"}).text
    assert 'name="reputation" type="text" value="community_reputation"' in body
    assert session.get(Setting, "crm.mapping.hubspot") is None


def test_unknown_connector_is_404(client, auth, users):
    auth.login("admin@example.com")
    assert client.get("/admin/crm/mapping/zoho").status_code == 404
    assert client.get("/admin/crm/zoho").status_code == 404


def test_test_connection_against_the_fake_hubspot(client, auth, users, crm_settings):
    with crm_fakes.FakeHubSpot() as hs:
        crm_settings(CRM_CONNECTORS="hubspot", HUBSPOT_BASE_URL=hs.url, HUBSPOT_TOKEN=hs.token, CRM_HTTP_TIMEOUT=3.0)
        auth.login("admin@example.com")
        assert "Connection works" in client.post("/admin/crm/hubspot/test", follow_redirects=True).text
        crm_settings(HUBSPOT_TOKEN="pat-wrong-token")
        body = client.post("/admin/crm/hubspot/test", follow_redirects=True).text
        assert "Test connection failed" in body and "401" in body and "pat-wrong-token" not in body
        hs.down()
        assert "Test connection failed" in client.post("/admin/crm/hubspot/test", follow_redirects=True).text


@pytest.mark.parametrize("name", ["salesforce", "hubspot", "webhook"])
def test_test_connection_without_settings_explains_instead_of_failing(client, auth, users, crm_settings, name):
    crm_settings(SALESFORCE_INSTANCE_URL=None, SALESFORCE_ACCESS_TOKEN=None, SALESFORCE_CLIENT_ID=None,
                 HUBSPOT_BASE_URL="http://127.0.0.1:9", HUBSPOT_TOKEN=None, CRM_WEBHOOK_URL=None,
                 CRM_WEBHOOK_SECRET=None, CRM_HTTP_TIMEOUT=1.0)  # fmt: skip
    auth.login("admin@example.com")
    response = client.post(f"/admin/crm/{name}/test", follow_redirects=True)
    assert response.status_code == 200 and "Test connection failed" in response.text
