"""Privileges over HTTP: the question page explains what a member cannot do yet, refused form posts
flash the reason, and scripts and the API get a 403 with the same message."""

import pytest

from community.db import transaction
from community.extensions import db
from community.models import Comment, Vote
from community.services import reputation_rules, tokens
from tests.conftest import PASSWORD, make_user

VOTE_UP = "You need 15 reputation to vote up; you have 1."
VOTE_DOWN = "You need 125 reputation to vote down; you have 1."
COMMENT = "You need 50 reputation to comment everywhere; you have 1."
COMMENT_BODY = "A comment that is long enough."


@pytest.fixture
def newcomer(session):
    return make_user(session, "new@example.com", "Nora Newcomer", "member", reputation=1)


@pytest.fixture
def thread(users, ask, answer):
    """A question by ``member`` with one answer by ``other``."""
    q = ask(users["member"])
    return q, answer(users["other"], q)


@pytest.fixture
def question(thread):
    return thread[0]


def _login(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def _page(client, question):
    return client.get(f"/questions/{question.id}", follow_redirects=True).get_data(as_text=True)


def _count(model):
    db.session.expire_all()
    return db.session.query(model).count()


def test_vote_buttons_explain_the_missing_privileges(client, newcomer, question):
    _login(client, newcomer)
    html = _page(client, question)
    assert html.count(f'title="{VOTE_UP}"') == 2  # the question and its answer
    assert html.count(f'title="{VOTE_DOWN}"') == 2
    assert "data-privilege-refused" in html


def test_vote_buttons_keep_their_usual_titles_with_the_privileges(client, users, question):
    _login(client, users["marketer"])
    html = _page(client, question)
    assert 'title="This question is useful"' in html and "reputation to vote" not in html


def test_comment_form_is_replaced_by_the_reason_on_others_posts(client, newcomer, question):
    _login(client, newcomer)
    html = _page(client, question)
    assert html.count(COMMENT) == 2
    assert f'action="/posts/{question.id}/comments"' not in html


def test_newcomers_keep_the_comment_form_on_their_own_question(client, session, users, newcomer, ask, answer):
    own = ask(newcomer)
    answer(users["other"], own)
    _login(client, newcomer)
    html = _page(client, own)
    assert COMMENT not in html
    assert html.count('class="comment-form"') == 2


def test_refused_vote_without_javascript_flashes_the_reason(client, newcomer, question):
    _login(client, newcomer)
    response = client.post(f"/posts/{question.id}/vote", data={"value": "-1"})
    assert response.status_code == 302 and f"/questions/{question.id}" in response.headers["Location"]
    assert VOTE_DOWN in client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert _count(Vote) == 0


def test_refused_vote_from_the_page_script_is_a_403_with_the_reason(client, newcomer, question):
    _login(client, newcomer)
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"}, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["error"] == {"code": "forbidden", "message": VOTE_UP, "fields": {}}


def test_refused_comment_without_javascript_flashes_the_reason(client, newcomer, question):
    _login(client, newcomer)
    response = client.post(f"/posts/{question.id}/comments", data={"body": COMMENT_BODY})
    assert response.status_code == 302
    assert COMMENT in client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert _count(Comment) == 0


def test_the_daily_vote_limit_is_flashed(client, session, users, question, ask):
    others = [ask(users["member"], title=f"Invoice question number {i:02d}") for i in range(2)]
    rules = reputation_rules.current(session)
    with transaction(session):
        reputation_rules.save(session, actor=users["admin"], ruleset=reputation_rules.Ruleset(
            preset=rules.preset, rules={**rules.rules, "votes_per_day": 2}, levels=rules.levels,
            privileges=rules.privileges))  # fmt: skip
    _login(client, users["other"])
    for q in others:
        assert client.post(f"/posts/{q.id}/vote", data={"value": "1"}).status_code == 302
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"}, follow_redirects=True)
    assert "You have used your 2 votes for today" in response.get_data(as_text=True)


def _api_headers(session, user):
    with transaction(session):
        _, plaintext = tokens.create(session, user=user, name="privileges")
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.mark.parametrize("path,payload,message", [
    ("/api/v1/questions/{q}/vote", {"value": 1}, VOTE_UP),
    ("/api/v1/questions/{q}/vote", {"value": -1}, VOTE_DOWN),
    ("/api/v1/answers/{a}/vote", {"value": -1}, VOTE_DOWN),
    ("/api/v1/questions/{q}/comments", {"body": COMMENT_BODY}, COMMENT),
    ("/api/v1/answers/{a}/comments", {"body": COMMENT_BODY}, COMMENT),
])  # fmt: skip
def test_api_refuses_with_403_and_the_reason(client, session, newcomer, thread, path, payload, message):
    response = client.post(path.format(q=thread[0].id, a=thread[1].id), json=payload,
                           headers=_api_headers(session, newcomer))  # fmt: skip
    assert response.status_code == 403
    assert response.get_json()["error"] == {"code": "forbidden", "message": message, "fields": {}}
