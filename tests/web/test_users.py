"""User pages over HTTP: directory, profile, avatar, profile settings and API tokens."""

import pytest
from accounts_support import HOSTILE, assert_escaped, count_queries, count_rows, login, make_client

from community.db import transaction
from community.extensions import db
from community.models import ApiToken, User
from community.services import tokens


@pytest.fixture
def client(app):
    return make_client(app)


@pytest.fixture
def member_client(client, users):
    login(client, "member@example.com")
    return client


def _reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- directory and profile ---------------------------------------------------------------------


def test_users_index_lists_active_members_with_reputation(client, users):
    users["other"].is_active_account = False
    db.session.commit()
    response = client.get("/users")
    assert response.status_code == 200
    assert "Member User" in response.text and "Admin User" in response.text
    assert "Other Member" not in response.text
    assert f"/users/{users['member'].id}/avatar.svg" in response.text


def test_users_index_pages_beyond_the_first(client, users):
    response = client.get("/users?page=2")
    assert response.status_code == 200
    assert "Member User" not in response.text


def test_users_index_runs_a_fixed_number_of_queries(client, users):
    with count_queries() as statements:
        client.get("/users")
    assert len(statements) <= 3


def test_profile_shows_name_counts_and_recent_posts(client, users, ask, answer):
    question = ask(users["member"], title="How do I export my invoices?")
    answer(users["member"], ask(users["other"], title="Where is the billing portal now?"))
    response = client.get(f"/users/{users['member'].id}")
    assert response.status_code == 200
    for text in ("Member User", "Member since", "Last seen", "How do I export my invoices?",
                 "Where is the billing portal now?", "accepted answers", "reputation"):  # fmt: skip
        assert text in response.text
    assert f"/questions/{question.id}" in response.text


def test_profile_shows_a_role_badge_for_staff_only(client, users):
    assert "badge-role--moderator" in client.get(f"/users/{users['moderator'].id}").text
    assert "badge-role" not in client.get(f"/users/{users['member'].id}").text


def test_profile_renders_the_sanitised_about_html(member_client, users):
    member_client.post("/settings/profile", data={"display_name": "Member User", "about": f"**Hi** {HOSTILE}"})
    response = member_client.get(f"/users/{users['member'].id}")
    assert "<strong>Hi</strong>" in response.text
    assert_escaped(response.text)


def test_profile_of_an_unknown_user_is_404(client, users):
    assert client.get("/users/999999").status_code == 404


@pytest.mark.parametrize(("viewer", "status"), [(None, 404), ("member", 404), ("moderator", 200), ("admin", 200)])
def test_profile_of_a_deactivated_user_is_visible_to_staff_only(client, users, viewer, status):
    users["other"].is_active_account = False
    db.session.commit()
    if viewer:
        login(client, f"{viewer}@example.com")
    assert client.get(f"/users/{users['other'].id}").status_code == status


def _profile_queries(client, user_id) -> int:
    with count_queries() as statements:
        assert client.get(f"/users/{user_id}").status_code == 200
    return len(statements)


def _add_posts(users, ask, answer, start, stop):
    for n in range(start, stop):
        question = ask(users["member"], title=f"Question number {n} about the invoices", tags=[f"tag{n}", "billing"])
        answer(users["member"], ask(users["other"], title=f"Other question {n} about the plans"))
        answer(users["other"], question)


def test_profile_query_count_does_not_grow_with_posts(client, users, ask, answer):
    login(client, "other@example.com")
    _add_posts(users, ask, answer, 0, 1)
    few = _profile_queries(client, users["member"].id)
    _add_posts(users, ask, answer, 1, 6)
    many = _profile_queries(client, users["member"].id)
    assert many == few
    assert many <= 9  # 8 + the badges section's one query


# --- avatar ---------------------------------------------------------------------------------------


def test_avatar_is_a_cacheable_svg(client, users):
    response = client.get(f"/users/{users['member'].id}/avatar.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.text.startswith("<svg")
    assert response.cache_control.public and response.cache_control.max_age == 86400
    assert response.headers["ETag"]


def test_avatar_conditional_get_is_304(client, users):
    etag = client.get(f"/users/{users['member'].id}/avatar.svg").headers["ETag"]
    response = client.get(f"/users/{users['member'].id}/avatar.svg", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""


def test_avatar_of_unknown_user_is_404(client, users):
    assert client.get("/users/999999/avatar.svg").status_code == 404


def test_regenerating_the_avatar_changes_its_etag(member_client, users):
    url = f"/users/{users['member'].id}/avatar.svg"
    before = member_client.get(url).headers["ETag"]
    assert member_client.post("/settings/avatar").status_code == 302
    assert member_client.get(url).headers["ETag"] != before


def test_regenerate_avatar_is_post_only(member_client):
    assert member_client.get("/settings/avatar").status_code == 405


# --- profile settings ----------------------------------------------------------------------------


def test_settings_need_login(client):
    response = client.get("/settings/profile")
    assert response.status_code == 302 and "/login" in response.location


def test_settings_page_has_the_live_preview_hooks(member_client):
    response = member_client.get("/settings/profile")
    assert response.status_code == 200
    assert 'data-preview-target="about-preview"' in response.text
    assert 'id="about-preview"' in response.text
    assert 'value="Member User"' in response.text


def test_settings_save_name_and_about(member_client, users):
    response = member_client.post("/settings/profile", data={"display_name": "Zoë Müller 李", "about": "I *love* invoices."})
    assert response.status_code == 302
    user = _reload(users["member"])
    assert user.display_name == "Zoë Müller 李"
    assert user.about_html.strip() == "<p>I <em>love</em> invoices.</p>"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"display_name": ""}, "Enter a display name."),
        ({"display_name": "   "}, "Enter a display name."),
        ({"display_name": "x" * 41}, "At most 40 characters."),
        ({"display_name": "x"}, "Display name must be 2 to 40 characters."),
        ({"display_name": HOSTILE}, "cannot contain"),
        ({"about": "x" * 3001}, "At most 3000 characters."),
    ],
)
def test_settings_reject_bad_input_and_write_nothing(member_client, users, data, message):
    response = member_client.post("/settings/profile", data={"display_name": "Valid Name", "about": "kept text", **data})
    assert response.status_code == 422
    assert message in response.text
    assert "kept text" in response.text or "about" in data
    assert_escaped(response.text)
    user = _reload(users["member"])
    assert (user.display_name, user.about) == ("Member User", "")


# --- API tokens -------------------------------------------------------------------------------------


def test_tokens_page_needs_login(client):
    assert client.get("/settings/tokens").status_code == 302


def test_creating_a_token_shows_the_plaintext_once(member_client, users):
    response = member_client.post("/settings/tokens", data={"name": "CI script"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = db.session.scalars(db.select(ApiToken)).one()
    plaintext = response.text.split('class="token-plaintext" type="text" value="')[1].split('"')[0]
    assert plaintext.startswith(token.prefix)
    assert tokens.authenticate(db.session, plaintext).id == users["member"].id
    again = member_client.get("/settings/tokens")
    assert "CI script" in again.text and token.prefix in again.text
    assert plaintext not in again.text


def test_revoking_a_token_stops_it(member_client, users):
    with transaction():
        token, plaintext = tokens.create(db.session, user=users["member"], name="laptop")
    response = member_client.post(f"/settings/tokens/{token.id}/revoke", follow_redirects=True)
    assert response.status_code == 200
    assert "revoked" in response.text
    db.session.expire_all()
    assert tokens.authenticate(db.session, plaintext) is None


def test_revoking_someone_elses_token_is_forbidden(member_client, users):
    with transaction():
        token, _ = tokens.create(db.session, user=users["other"], name="theirs")
    assert member_client.post(f"/settings/tokens/{token.id}/revoke").status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_revoking_an_unknown_token_is_404(member_client):
    assert member_client.post("/settings/tokens/999999/revoke").status_code == 404


@pytest.mark.parametrize("name", ["", "    ", "x" * 61])
def test_token_name_is_required_and_bounded(member_client, name):
    response = member_client.post("/settings/tokens", data={"name": name})
    assert response.status_code == 422
    assert "Name the token" in response.text
    assert count_rows(ApiToken) == 0


def test_token_names_are_escaped(member_client):
    response = member_client.post("/settings/tokens", data={"name": HOSTILE})
    assert response.status_code == 200
    assert_escaped(response.text)
    assert "&lt;script&gt;" in response.text
