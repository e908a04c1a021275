"""Who may call the API: bearer tokens, session cookies, the CSRF header on cookie writes."""

import pytest
from flask import session as flask_session
from flask_wtf.csrf import generate_csrf

from community.db import transaction
from community.extensions import db, limiter
from community.models import Category
from community.services import accounts, tokens
from tests.conftest import build_app

API = "/api/v1"
BODY = "Where do I find the invoice history for last year? I looked under Billing already."
ASK = {"title": "Where is my invoice history?", "body": BODY, "tags": ["billing"]}
WRITES = [
    ("/questions", ASK),
    ("/questions/{qid}/answers", {"body": BODY}),
    ("/questions/{qid}/vote", {"value": 1}),
    ("/questions/{qid}/accept", {"answer_id": None}),
    ("/questions/{qid}/comments", {"body": "A comment that is long enough."}),
    ("/answers/{aid}/vote", {"value": 1}),
    ("/answers/{aid}/comments", {"body": "A comment that is long enough."}),
    ("/render", {"body": "hello"}),
]


# --- tokens on the shared test app ---------------------------------------------


@pytest.mark.parametrize(("path", "payload"), WRITES)
def test_every_write_without_auth_is_401(client, users, ask, answer, error_of, path, payload):
    question = ask(users["member"])
    reply = answer(users["other"], question)
    url = API + path.format(qid=question.id, aid=reply.id)
    error = error_of(client.post(url, json=payload), 401)
    assert error["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["/questions", "/questions/{qid}", "/users/{uid}", "/openapi.json"])
def test_reads_work_without_auth(client, users, ask, path):
    question = ask(users["member"])
    assert client.get(API + path.format(qid=question.id, uid=users["member"].id)).status_code == 200


def test_valid_token_authenticates(client, users, member_headers):
    assert client.get(f"{API}/me", headers=member_headers).get_json()["id"] == users["member"].id


def test_revoked_token_is_401_not_anonymous(client, users, session, error_of):
    with transaction(session):
        token, plaintext = tokens.create(session, user=users["member"], name="old")
        tokens.revoke(session, actor=users["member"], token_id=token.id)
    response = client.get(f"{API}/questions", headers={"Authorization": f"Bearer {plaintext}"})
    assert error_of(response, 401)["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("value", ["Bearer nonsense", "Bearer ", "Bearer adv_" + "x" * 43])
def test_unknown_token_is_401(client, category, error_of, value):
    error_of(client.get(f"{API}/questions", headers={"Authorization": value}), 401)


def test_token_of_a_suspended_user_is_401(client, users, session, member_headers, error_of):
    with transaction(session):
        users["member"].is_active_account = False
    error_of(client.get(f"{API}/me", headers=member_headers), 401)


def test_session_cookie_authenticates(client, users):
    with client.session_transaction() as sess:
        sess["_user_id"] = users["member"].get_id()
    assert client.get(f"{API}/me").get_json()["id"] == users["member"].id


def test_token_wins_over_a_session_cookie(client, users, other_headers):
    with client.session_transaction() as sess:
        sess["_user_id"] = users["member"].get_id()
    assert client.get(f"{API}/me", headers=other_headers).get_json()["id"] == users["other"].id


def test_bad_token_with_a_session_cookie_is_still_401(client, users, error_of):
    with client.session_transaction() as sess:
        sess["_user_id"] = users["member"].get_id()
    error_of(client.get(f"{API}/me", headers={"Authorization": "Bearer adv_wrong"}), 401)


# --- CSRF: an app with CSRF switched on -----------------------------------------


@pytest.fixture(scope="module")
def csrf_app():
    """A second app, CSRF on, on its own in-memory SQLite (CSRF does not depend on the database)."""
    app2 = build_app(WTF_CSRF_ENABLED=True)
    yield app2
    with app2.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_world(csrf_app):
    """(client, member, bearer headers) on the CSRF app, emptied afterwards."""
    with csrf_app.app_context():
        with transaction():
            db.session.add(Category(slug="billing", name="Billing", is_default=True))
            user = accounts.register(db.session, email="csrf@example.com", display_name="Csrf Carla",
                                     password="correct horse battery")  # fmt: skip
            _token, plaintext = tokens.create(db.session, user=user, name="t")
        user_id = user.get_id()
    yield csrf_app.test_client(), user_id, {"Authorization": f"Bearer {plaintext}"}
    with csrf_app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


def _log_in_with_csrf(csrf_app, client, user_id) -> str:
    """Put a logged-in session with a CSRF secret in the client's cookie; return the header value."""
    with csrf_app.test_request_context():
        header_value = generate_csrf()
        secret = flask_session["csrf_token"]
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["csrf_token"] = secret
    return header_value


def test_cookie_write_without_csrf_header_is_400(csrf_app, csrf_world, error_of):
    client, user_id, _ = csrf_world
    _log_in_with_csrf(csrf_app, client, user_id)
    error = error_of(client.post(f"{API}/questions", json=ASK), 400)
    assert error["code"] == "csrf_failed"


def test_cookie_write_with_wrong_csrf_header_is_400(csrf_app, csrf_world, error_of):
    client, user_id, _ = csrf_world
    _log_in_with_csrf(csrf_app, client, user_id)
    error_of(client.post(f"{API}/questions", json=ASK, headers={"X-CSRFToken": "forged"}), 400)


def test_cookie_write_with_csrf_header_succeeds(csrf_app, csrf_world):
    client, user_id, _ = csrf_world
    header_value = _log_in_with_csrf(csrf_app, client, user_id)
    assert client.post(f"{API}/questions", json=ASK, headers={"X-CSRFToken": header_value}).status_code == 201


def test_bearer_write_needs_no_csrf_header(csrf_world):
    client, _, headers = csrf_world
    assert client.post(f"{API}/questions", json=ASK, headers=headers).status_code == 201


def test_cookie_read_needs_no_csrf_header(csrf_app, csrf_world):
    client, user_id, _ = csrf_world
    _log_in_with_csrf(csrf_app, client, user_id)
    assert client.get(f"{API}/me").status_code == 200


def test_anonymous_write_is_401_before_csrf(csrf_world, error_of):
    client, _, _ = csrf_world
    error_of(client.post(f"{API}/render", json={"body": "x"}), 401)


# --- rate limit -----------------------------------------------------------------


def test_writes_beyond_the_rate_limit_are_429(monkeypatch, error_of):
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)  # the limiter is shared: restore it afterwards
    app3 = build_app(RATELIMIT_ENABLED=True, RATELIMIT_WRITE="2 per minute")
    client = app3.test_client()
    statuses = [client.post(f"{API}/questions/1/vote", json={"value": 1}).status_code for _ in range(3)]
    assert statuses[:2] == [401, 401]
    error = error_of(client.post(f"{API}/questions/1/vote", json={"value": 1}), 429)
    assert error["code"] == "rate_limited"
