"""Answers (vote, comment), the Markdown preview, and user profiles."""

import pytest

from community.db import transaction
from community.services import accounts

API = "/api/v1"
COMMENT = "Thanks, that fixed it for me as well."


@pytest.fixture
def reply(users, ask, answer):
    """An answer by ``other`` to a question by ``member``."""
    return answer(users["other"], ask(users["member"]))


def test_vote_on_answer_returns_score_and_my_vote(client, reply, member_headers):
    response = client.post(f"{API}/answers/{reply.id}/vote", json={"value": -1}, headers=member_headers)
    assert response.status_code == 200
    assert response.get_json() == {"score": -1, "my_vote": -1}


def test_vote_on_answer_can_change(client, reply, member_headers):
    client.post(f"{API}/answers/{reply.id}/vote", json={"value": -1}, headers=member_headers)
    response = client.post(f"{API}/answers/{reply.id}/vote", json={"value": 1}, headers=member_headers)
    assert response.get_json() == {"score": 1, "my_vote": 1}


def test_vote_on_own_answer_is_403(client, reply, other_headers, error_of):
    error_of(client.post(f"{API}/answers/{reply.id}/vote", json={"value": 1}, headers=other_headers), 403)


def test_vote_on_answer_route_with_question_id_is_404(client, users, ask, other_headers, error_of):
    question = ask(users["member"])
    error_of(client.post(f"{API}/answers/{question.id}/vote", json={"value": 1}, headers=other_headers), 404)


def test_vote_on_answer_without_auth_is_401(client, reply, error_of):
    error_of(client.post(f"{API}/answers/{reply.id}/vote", json={"value": 1}), 401)


def test_vote_on_unknown_answer_is_404(client, users, member_headers, error_of):
    error_of(client.post(f"{API}/answers/987654/vote", json={"value": 1}, headers=member_headers), 404)


def test_comment_on_answer_is_201(client, reply, member_headers):
    response = client.post(f"{API}/answers/{reply.id}/comments", json={"body": COMMENT}, headers=member_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["post_id"] == reply.id and body["body_html"] == COMMENT and body["created_at"].endswith("Z")


def test_comment_on_answer_route_with_question_id_is_404(client, users, ask, other_headers, error_of):
    question = ask(users["member"])
    response = client.post(f"{API}/answers/{question.id}/comments", json={"body": COMMENT}, headers=other_headers)
    error_of(response, 404)


def test_comment_on_answer_without_auth_is_401(client, reply, error_of):
    error_of(client.post(f"{API}/answers/{reply.id}/comments", json={"body": COMMENT}), 401)


def test_comment_with_unicode_and_html_is_escaped(client, reply, member_headers):
    text = "Danke schön! 👍 <img src=x onerror=alert(1)> **ja**"
    body = client.post(f"{API}/answers/{reply.id}/comments", json={"body": text}, headers=member_headers).get_json()
    assert "👍" in body["body_html"] and "<img" not in body["body_html"] and "<strong>ja</strong>" in body["body_html"]


# --- render ---------------------------------------------------------------------


def test_render_returns_sanitised_html(client, users, member_headers):
    payload = {"body": '# Hi\n\n**bold** <script>alert(1)</script> <a href="javascript:alert(1)">x</a>'}
    html = client.post(f"{API}/render", json=payload, headers=member_headers).get_json()["html"]
    assert "<h1>Hi</h1>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "alert" not in html and "javascript:" not in html


def test_render_of_empty_body_is_empty_html(client, users, member_headers):
    assert client.post(f"{API}/render", json={"body": ""}, headers=member_headers).get_json() == {"html": ""}


def test_render_without_auth_is_401(client, category, error_of):
    error_of(client.post(f"{API}/render", json={"body": "hello"}), 401)


def test_render_of_too_long_body_is_422(client, users, member_headers, error_of):
    response = client.post(f"{API}/render", json={"body": "x" * 30_001}, headers=member_headers)
    assert "body" in error_of(response, 422)["fields"]


def test_render_of_longest_body_is_200(client, users, member_headers):
    assert client.post(f"{API}/render", json={"body": "x" * 30_000}, headers=member_headers).status_code == 200


@pytest.mark.parametrize(("payload", "field"), [({}, "body"), ({"body": 5}, "body"), ({"body": "a", "x": 1}, "x")])
def test_render_with_bad_fields_is_422(client, users, member_headers, error_of, payload, field):
    assert field in error_of(client.post(f"{API}/render", json=payload, headers=member_headers), 422)["fields"]


# --- users ----------------------------------------------------------------------


def test_user_profile_has_counts(client, users, reply):
    body = client.get(f"{API}/users/{users['other'].id}").get_json()
    assert set(body) == {"id", "display_name", "reputation", "question_count", "answer_count", "accepted_count",
                         "role", "created_at", "last_seen_at", "about_html", "avatar_url", "url", "level",
                         "badges"}  # fmt: skip
    assert (body["answer_count"], body["question_count"], body["role"]) == (1, 0, "member")
    assert body["url"].endswith(f"/users/{users['other'].id}")
    assert "email" not in body


def test_unknown_user_is_404(client, category, error_of):
    error_of(client.get(f"{API}/users/31337"), 404)


def test_suspended_user_is_404_for_members(client, users, session, error_of):
    with transaction(session):
        users["other"].is_active_account = False
    error_of(client.get(f"{API}/users/{users['other'].id}"), 404)


def test_me_returns_the_token_owner_with_email(client, users, member_headers):
    body = client.get(f"{API}/me", headers=member_headers).get_json()
    assert (body["id"], body["email"]) == (users["member"].id, "member@example.com")


def test_me_without_auth_is_401(client, category, error_of):
    error_of(client.get(f"{API}/me"), 401)


def test_me_reflects_a_profile_edit(client, users, session, member_headers):
    with transaction(session):
        accounts.update_profile(session, actor=users["member"], user=users["member"], display_name="Mia 🌸",
                                about="I <b>like</b> *invoices*")  # fmt: skip
    body = client.get(f"{API}/me", headers=member_headers).get_json()
    assert body["display_name"] == "Mia 🌸" and "<em>invoices</em>" in body["about_html"]
