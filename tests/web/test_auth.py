"""Auth pages over HTTP: register, log in and out, password reset and change, CSRF."""

import email
import email.policy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from accounts_support import HOSTILE, PASSWORD, assert_escaped, count_rows, login, make_client
from flask import url_for

from community.extensions import db
from community.integrations import relay
from community.models import OutboxMessage, User

NEW_PASSWORD = "a brand new secret 42"


@pytest.fixture
def client(app):
    return make_client(app)


def _register(client, next_url=None, **overrides):
    data = {"email": "new@example.com", "display_name": "New Person", "password": PASSWORD, "confirm": PASSWORD}
    data.update(overrides)
    url = "/register" if next_url is None else f"/register?next={next_url}"
    return client.post(url, data=data)


# --- register ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/register", "/login", "/forgot-password"])
def test_anonymous_auth_pages_render(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert 'name="email"' in response.text


def test_register_creates_account_logs_in_and_redirects_to_questions(app, client, session):
    response = _register(client)
    assert response.status_code == 302
    assert response.location == url_for("qa.questions")
    assert count_rows(User) == 1
    assert client.get("/settings/profile").status_code == 200


def test_register_follows_a_same_site_next(client, session):
    response = _register(client, next_url="/users")
    assert response.location == "/users"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "http:evil", "javascript:alert(1)"])
def test_register_ignores_an_open_redirect_next(app, client, session, target):
    response = _register(client, next_url=target)
    assert response.status_code == 302
    assert response.location == url_for("qa.questions")


def test_register_accepts_a_unicode_name(client, session):
    _register(client, display_name="Zoë 李小龍")
    assert db.session.scalar(db.select(User.display_name)) == "Zoë 李小龍"


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"email": ""}, "Enter your email address."),
        ({"email": "   "}, "Enter your email address."),
        ({"email": "not-an-email"}, "@-sign"),
        ({"email": "a" * 250 + "@example.com"}, "too long"),
        ({"email": HOSTILE + "@example.com"}, ""),
        ({"display_name": ""}, "Enter a display name."),
        ({"display_name": "    "}, "Enter a display name."),
        ({"display_name": "x" * 41}, "At most 40 characters."),
        ({"display_name": HOSTILE[:40]}, "cannot contain"),
        ({"password": "short", "confirm": "short"}, "Password must be 10 to 200 characters."),
        ({"password": " " * 12, "confirm": " " * 12}, "Enter a password."),
        ({"password": "x" * 201, "confirm": "x" * 201}, "Password must be 10 to 200 characters."),
        ({"confirm": "something else"}, "The passwords do not match."),
    ],
)
def test_register_rejects_bad_input_and_writes_nothing(client, session, overrides, field_message):
    response = _register(client, **overrides)
    assert response.status_code == 422
    assert field_message in response.text
    assert 'class="field-error"' in response.text
    assert_escaped(response.text)
    assert count_rows(User) == 0


def test_register_form_keeps_what_was_typed(client, session):
    response = _register(client, display_name="Kept Name", confirm="mismatch!!!")
    assert 'value="Kept Name"' in response.text
    assert 'value="new@example.com"' in response.text


def test_register_with_a_taken_email_says_so_beside_the_field(client, users):
    response = _register(client, email="MEMBER@example.com")
    assert response.status_code == 422
    assert "An account with this email already exists." in response.text
    assert count_rows(User) == len(users)


# --- log in and out -----------------------------------------------------------------------------


def test_login_with_correct_password_redirects_to_next(client, users):
    response = client.post("/login?next=/users/1", data={"email": "member@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/users/1"


def test_login_rejects_an_absolute_next(app, client, users):
    response = client.post("/login?next=https://evil.example/", data={"email": "member@example.com", "password": PASSWORD})
    assert response.location == url_for("qa.questions")


def test_login_failure_is_identical_for_unknown_email_and_wrong_password(client, users):
    unknown = login(client, "nobody@example.com", PASSWORD)
    wrong = login(client, "member@example.com", "wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    assert "Invalid email or password." in unknown.text
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731 (only the typed email differs)
    assert strip(unknown.text) == strip(wrong.text)


def test_login_failure_keeps_the_email(client, users):
    response = login(client, "member@example.com", "wrong password!")
    assert 'value="member@example.com"' in response.text


def test_login_with_empty_fields_is_422(client, users):
    response = client.post("/login", data={"email": "  ", "password": ""})
    assert response.status_code == 422
    assert "Enter your email address." in response.text


def test_login_of_a_deactivated_account_fails(client, users):
    users["other"].is_active_account = False
    db.session.commit()
    assert login(client, "other@example.com").status_code == 401


def test_remember_me_sets_an_httponly_remember_cookie(client, users):
    response = login(client, "member@example.com", remember="y")
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert cookies and "HttpOnly" in cookies[0]


def test_login_without_remember_me_sets_no_remember_cookie(client, users):
    response = login(client, "member@example.com")
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]


def test_logout_by_get_is_not_allowed(client, users):
    login(client, "member@example.com")
    assert client.get("/logout").status_code == 405
    assert client.get("/settings/profile").status_code == 200


def test_logout_by_post_ends_the_session(client, users):
    login(client, "member@example.com")
    assert client.post("/logout").status_code == 302
    assert client.get("/settings/profile").status_code == 302


def test_passwords_are_never_echoed_back(client, users):
    response = login(client, "member@example.com", "my secret attempt")
    assert "my secret attempt" not in response.text


def test_login_page_escapes_hostile_email(client, users):
    response = login(client, HOSTILE, "whatever password")
    assert response.status_code in (401, 422)
    assert_escaped(response.text)


# --- forgotten password -------------------------------------------------------------------------


def _forgot(client, address):
    return client.post("/forgot-password", data={"email": address}, follow_redirects=True)


def test_forgot_password_answer_is_the_same_for_known_and_unknown_emails(client, users):
    known, unknown = _forgot(client, "member@example.com"), _forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert "If an account exists" in known.text and "If an account exists" in unknown.text
    assert count_rows(OutboxMessage) == 1


@pytest.mark.parametrize("address", ["", "   ", "not an email", "x" * 300, HOSTILE])
def test_forgot_password_rejects_a_malformed_email(client, users, address):
    response = client.post("/forgot-password", data={"email": address})
    assert response.status_code == 422
    assert_escaped(response.text)
    assert count_rows(OutboxMessage) == 0


def _emailed_reset_path(app, tmp_path, monkeypatch) -> str:
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path))
    counts = relay.run_once(db.session, config=app.config)
    assert counts["done"] == 1
    (eml,) = list(Path(tmp_path).glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "member@example.com"
    link = re.search(r"https?://\S+/reset-password/\S+", message.get_content()).group(0)
    return urlsplit(link).path


def test_password_reset_full_flow_works_once(app, client, users, tmp_path, monkeypatch):
    _forgot(client, "member@example.com")
    path = _emailed_reset_path(app, tmp_path, monkeypatch)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert login(client, "member@example.com", NEW_PASSWORD).status_code == 302
    again = make_client(app).post(path, data={"password": "yet another secret", "confirm": "yet another secret"})
    assert again.status_code == 400
    assert "already been used" in again.text
    assert url_for("auth.forgot_password") in again.text


def test_password_reset_link_expires(app, client, users, tmp_path, monkeypatch):
    _forgot(client, "member@example.com")
    path = _emailed_reset_path(app, tmp_path, monkeypatch)
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.text
    assert login(client, "member@example.com", NEW_PASSWORD).status_code == 401


def test_a_forged_reset_link_shows_a_page_to_ask_again(client, users):
    response = client.get("/reset-password/not-a-real-token")
    assert response.status_code == 400
    assert "not valid" in response.text
    assert url_for("auth.forgot_password") in response.text


@pytest.mark.parametrize(
    ("password", "confirm"), [("", ""), ("   ", "   "), ("short", "short"), ("x" * 201, "x" * 201), (NEW_PASSWORD, "other one!!")]
)
def test_password_reset_rejects_bad_passwords_and_keeps_the_old_one(app, client, users, tmp_path, monkeypatch,
                                                                     password, confirm):  # fmt: skip
    _forgot(client, "member@example.com")
    path = _emailed_reset_path(app, tmp_path, monkeypatch)
    response = client.post(path, data={"password": password, "confirm": confirm})
    assert response.status_code == 422
    assert 'class="field-error"' in response.text
    assert login(client, "member@example.com", PASSWORD).status_code == 302


# --- change password ----------------------------------------------------------------------------


def _change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    data = {"current_password": current, "new_password": new, "confirm": new if confirm is None else confirm}
    return client.post("/settings/password", data=data)


def test_change_password_page_needs_login(client):
    response = client.get("/settings/password")
    assert response.status_code == 302
    assert "/login" in response.location


def test_change_password_page_renders(client, users):
    login(client, "member@example.com")
    assert client.get("/settings/password").status_code == 200


def test_change_password_keeps_this_session_and_ends_the_others(app, client, users):
    earlier = make_client(app)
    login(earlier, "member@example.com", remember="y")
    login(client, "member@example.com")
    assert _change(client).status_code == 302
    assert client.get("/settings/password").status_code == 200
    assert earlier.get("/settings/password").status_code == 302
    assert login(make_client(app), "member@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"current": "wrong password!"}, "Your current password is not correct."),
        ({"current": ""}, "Enter your current password."),
        ({"new": "short"}, "Password must be 10 to 200 characters."),
        ({"new": " " * 12}, "Enter a password."),
        ({"confirm": "different!!"}, "The passwords do not match."),
        ({"new": "x" * 201}, "Password must be 10 to 200 characters."),
        ({"new": HOSTILE, "confirm": "mismatch"}, "The passwords do not match."),
    ],
)
def test_change_password_rejects_bad_input(client, users, kwargs, message):
    login(client, "member@example.com")
    response = _change(client, **kwargs)
    assert response.status_code == 422
    assert message in response.text
    assert_escaped(response.text)
    assert login(make_client(client.application), "member@example.com", PASSWORD).status_code == 302


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app():
    """A second app with CSRF switched on (the shared test app has it off), on its own SQLite."""
    from tests.conftest import build_app

    app = build_app(WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_post_without_csrf_token_is_refused_with_a_clear_page(csrf_app):
    response = make_client(csrf_app).post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.text


def test_forms_carry_a_csrf_token_when_csrf_is_on(csrf_app):
    response = make_client(csrf_app).get("/login")
    assert 'name="csrf_token"' in response.text

