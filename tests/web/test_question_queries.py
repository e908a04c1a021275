"""The question page issues a fixed, small number of SQL statements whatever its size."""


import pytest
from flask import g

from community.db import transaction
from community.extensions import db
from community.services import comments, qa, votes
from tests.conftest import count_queries

MAX_QUERIES = 10
BODY = "Open Billing, then Invoices, and press Recalculate to refresh the amount."




def build_question(session, users, *, answers: int, comments_total: int):
    """A question with answers, comments spread over all posts, and votes; one transaction."""
    helpers = [users["other"], users["moderator"], users["marketer"]]
    with transaction(session):
        q = qa.ask(session, actor=users["admin"], title="How do I refresh an invoice amount?", body=BODY,
                   tags=["billing", "invoices", "plans"])  # fmt: skip
        posts = [q]
        for i in range(answers):
            posts.append(qa.answer(session, actor=helpers[i % 3], question_id=q.id, body=f"{BODY} ({i})"))
        for i in range(comments_total):
            comments.add(session, actor=helpers[i % 3], post_id=posts[i % len(posts)].id,
                         body=f"Thanks, that helped me as well ({i}).")  # fmt: skip
        for post in posts[:3]:
            votes.cast(session, actor=users["member"], post_id=post.id, value=1)
        qa.accept(session, actor=users["admin"], question_id=q.id, answer_id=posts[-1].id)
    return q


def cold_start():
    """Count what production pays: nothing cached in the identity map or ``g`` (the current_user).
    tests/conftest.py's client already runs each request in a fresh context; this keeps the count
    honest should a request ever share the test's app context again."""
    db.session.expunge_all()
    g.pop("_login_user", None)


def queries_for(client, url: str) -> list[str]:
    """The SQL statements of one cold GET."""
    cold_start()
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return statements


@pytest.fixture
def small_and_large(users, session, category):
    small = build_question(session, users, answers=2, comments_total=2)
    large = build_question(session, users, answers=50, comments_total=100)
    return f"/questions/{small.id}/{small.slug}", f"/questions/{large.id}/{large.slug}"


def test_large_question_page_costs_the_same_queries_as_a_small_one_for_anonymous(client, small_and_large):
    small, large = small_and_large
    n_small, n_large = queries_for(client, small), queries_for(client, large)
    assert len(n_large) == len(n_small), n_large
    assert len(n_large) <= MAX_QUERIES, n_large


def test_large_question_page_costs_the_same_queries_as_a_small_one_when_logged_in(client, auth, users, small_and_large):
    small, large = small_and_large
    assert auth.login(email=users["member"].email).status_code == 302
    assert 'aria-pressed="true"' in client.get(large).get_data(as_text=True)  # the viewer's votes are shown
    n_small, n_large = queries_for(client, small), queries_for(client, large)
    assert any("FROM users" in s for s in n_large)  # the current_user load is counted
    assert len(n_large) == len(n_small), n_large
    assert len(n_large) <= MAX_QUERIES, n_large


def test_large_page_shows_every_answer_and_comment(client, small_and_large):
    _, large = small_and_large
    html = client.get(large).get_data(as_text=True)
    assert html.count('<article class="post') == 51
    assert html.count('class="comment"') == 100


def test_question_list_with_30_rows_uses_at_most_8_queries(client, auth, users, ask):
    for i in range(31):
        ask(users["member"], title=f"Question number {i:02d} about billing", tags=[f"tag{i % 7}", "billing"])
    assert auth.login(email=users["other"].email).status_code == 302
    statements = queries_for(client, "/questions")
    assert len(statements) <= 8, statements
