"""POST /api/v1/posts/<id>/suggested-edits and /api/v1/suggested-edits/<id>/approve|reject."""


from community.db import transaction
from community.extensions import db
from community.services import tokens
from tests.conftest import make_user

API = "/api/v1"
NEW_BODY = "Open Billing, then Invoices, and press Recalculate; the new price shows at once."


def _headers(session, user):
    with transaction(session):
        _, plaintext = tokens.create(session, user=user, name="suggested-edits")
    return {"Authorization": f"Bearer {plaintext}"}


def _suggest(client, session, user, post_id, **payload):
    return client.post(f"{API}/posts/{post_id}/suggested-edits", json={"body": NEW_BODY, **payload},
                       headers=_headers(session, user))  # fmt: skip


def test_suggest_returns_the_pending_suggestion(client, session, newbie, post):
    response = _suggest(client, session, newbie, post.id, reason="clearer")
    assert response.status_code == 201
    data = response.get_json()
    assert (data["status"], data["post_id"], data["body"], data["reason"]) == ("pending", post.id, NEW_BODY, "clearer")
    assert data["author"]["id"] == newbie.id


def test_suggest_on_a_question_takes_title_and_tags(client, session, newbie, users, ask):
    question = ask(users["member"])
    response = _suggest(client, session, newbie, question.id, title="Invoice shows the old plan price", tags=["plans"])
    assert response.status_code == 201 and response.get_json()["tags"] == ["plans"]


def test_second_suggestion_is_a_409(client, session, newbie, post):
    assert _suggest(client, session, newbie, post.id).status_code == 201
    other = make_user(session, "two@example.com", "Second One", "member", reputation=10)
    response = _suggest(client, session, other, post.id, body=NEW_BODY + " More.")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"


def test_bad_suggestion_is_a_422_naming_the_field(client, session, newbie, post):
    response = _suggest(client, session, newbie, post.id, body="short")
    assert response.status_code == 422 and "body" in response.get_json()["error"]["fields"]


def test_author_approves_and_the_post_changes(client, session, newbie, users, post):
    sid = _suggest(client, session, newbie, post.id).get_json()["id"]
    response = client.post(f"{API}/suggested-edits/{sid}/approve", json={"note": "Thanks"},
                           headers=_headers(session, users["other"]))  # fmt: skip
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["review_note"]) == ("approved", "Thanks")
    db.session.expire_all()
    assert db.session.get(type(post), post.id).body == NEW_BODY


def test_others_may_not_review(client, session, newbie, users, post):
    sid = _suggest(client, session, newbie, post.id).get_json()["id"]
    response = client.post(f"{API}/suggested-edits/{sid}/reject", json={},
                           headers=_headers(session, users["member"]))  # fmt: skip
    assert response.status_code == 403


def test_moderator_rejects(client, session, newbie, users, post):
    sid = _suggest(client, session, newbie, post.id).get_json()["id"]
    response = client.post(f"{API}/suggested-edits/{sid}/reject", json={"note": "No"},
                           headers=_headers(session, users["moderator"]))  # fmt: skip
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
