"""The Q&A pages over HTTP: lists, the question page, votes, accepts and deletes."""

import re

import pytest
from sqlalchemy import select

from community.db import transaction
from community.models import Comment, Post, Question
from community.services import comments, votes


def login(auth, user):
    response = auth.login(email=user.email)
    assert response.status_code == 302, "login failed"


def canonical(q):
    return f"/questions/{q.id}/{q.slug}"


def order_of(html: str, *needles: str) -> list[int]:
    return [html.index(n) for n in needles]


@pytest.fixture
def question(users, ask):
    return ask(users["member"])


@pytest.fixture
def many(users, ask):
    """31 questions, oldest first."""
    return [ask(users["member"], title=f"Question number {i:02d} about billing") for i in range(31)]


# --- every page --------------------------------------------------------------------------------

PAGES = ["/", "/questions", "/questions?sort=active", "/questions?sort=votes", "/questions?sort=unanswered",
         "/categories", "/categories/billing", "/tags", "/tags?q=bil", "/tags/billing", "{question}",
         "/posts/{qid}/revisions"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_for_anonymous(client, question, answer, users, path):
    answer(users["other"], question)
    url = path.format(question=canonical(question), qid=question.id)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("path", [*PAGES, "/questions/ask", "/posts/{qid}/edit"])
def test_page_renders_for_logged_in_member(client, auth, question, answer, users, path):
    answer(users["other"], question)
    login(auth, users["member"])
    url = path.format(question=canonical(question), qid=question.id)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("suffix", ["", "/not-the-title"], ids=["missing-slug", "wrong-slug"])
def test_question_redirects_to_canonical_slug_url(client, question, suffix):
    response = client.get(f"/questions/{question.id}{suffix}")
    assert response.status_code in (301, 302)
    assert response.headers["Location"].endswith(canonical(question))


def test_question_with_non_latin_title_is_served_without_slug(client, users, ask):
    q = ask(users["member"], title="Почему счёт показывает старую цену?")
    assert client.get(f"/questions/{q.id}/").headers["Location"].endswith(f"/questions/{q.id}")
    assert client.get(f"/questions/{q.id}").status_code == 200


@pytest.mark.parametrize("path", ["/questions/999999", "/questions/999999/x", "/categories/nope", "/tags/nope",
                                  "/posts/999999/revisions"])  # fmt: skip
def test_unknown_objects_give_404(client, category, path):
    assert client.get(path).status_code == 404


def test_answer_id_is_not_a_question_page(client, question, answer, users):
    a = answer(users["other"], question)
    assert client.get(f"/questions/{a.id}").status_code == 404


def test_question_page_joins_its_live_room(client, question):
    html = client.get(canonical(question)).get_data(as_text=True)
    assert re.search(rf'<main[^>]*data-room="question:{question.id}"', html)
    assert 'id="live-banner"' in html


def test_anonymous_sees_log_in_to_answer(client, question):
    html = client.get(canonical(question)).get_data(as_text=True)
    assert "Log in to answer" in html
    assert 'data-preview-target="answer-preview"' not in html


def test_member_gets_answer_form_with_preview(client, auth, users, question):
    login(auth, users["other"])
    html = client.get(canonical(question)).get_data(as_text=True)
    assert 'data-preview-target="answer-preview"' in html
    assert '<div id="answer-preview" class="preview"' in html


# --- lists ---------------------------------------------------------------------------------------


def test_list_shows_row_details(client, users, question, answer):
    answer(users["other"], question)
    html = client.get("/questions").get_data(as_text=True)
    assert question.title in html
    assert "I upgraded to the new plan" in html  # excerpt
    assert 'href="/tags/invoices"' in html
    assert users["member"].display_name in html
    assert "just now" in html


def test_empty_list_shows_empty_state(client, category):
    html = client.get("/questions").get_data(as_text=True)
    assert "empty-state" in html and "No questions here yet" in html


def test_31_questions_make_two_pages(client, many):
    first = client.get("/questions").get_data(as_text=True)
    second = client.get("/questions?page=2").get_data(as_text=True)
    assert first.count('class="question-row') == 30
    assert second.count('class="question-row') == 1
    assert "Question number 00 about billing" in second  # the oldest comes last
    assert 'aria-label="Page 2"' in first


def test_page_beyond_range_is_empty_with_pagination(client, many):
    response = client.get("/questions?page=9")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="question-row' not in html
    assert 'class="pagination"' in html


def test_non_integer_page_is_page_one(client, many):
    html = client.get("/questions?page=abc").get_data(as_text=True)
    assert html.count('class="question-row') == 30
    assert "Question number 30 about billing" in html


def test_unknown_sort_falls_back_to_newest(client, many):
    response = client.get("/questions?sort=bogus")
    assert response.status_code == 200
    assert 'aria-current="page">Newest' in response.get_data(as_text=True)


def test_votes_sort_puts_highest_score_first(client, users, ask, session):
    low = ask(users["member"], title="A question with no votes at all")
    high = ask(users["member"], title="A question with two upvotes here")
    with transaction(session):
        for voter in (users["other"], users["moderator"]):
            votes.cast(session, actor=voter, post_id=high.id, value=1)
    html = client.get("/questions?sort=votes").get_data(as_text=True)
    a, b = order_of(html, high.title, low.title)
    assert a < b


def test_unanswered_sort_hides_answered_questions(client, users, ask, answer):
    answered = ask(users["member"], title="This one already has an answer")
    ask(users["member"], title="This one is still waiting for help")
    answer(users["other"], answered)
    html = client.get("/questions?sort=unanswered").get_data(as_text=True)
    assert "still waiting for help" in html and answered.title not in html


def test_tag_page_lists_only_tagged_questions(client, users, ask):
    ask(users["member"], title="Question about exporting data", tags=["export"])
    ask(users["member"], title="Question about refunds and money", tags=["refunds"])
    html = client.get("/tags/export").get_data(as_text=True)
    assert "exporting data" in html and "refunds and money" not in html


def test_tag_query_filter_on_the_list(client, users, ask):
    ask(users["member"], title="Question about exporting data", tags=["export"])
    ask(users["member"], title="Question about refunds and money", tags=["refunds"])
    html = client.get("/questions?tag=refunds").get_data(as_text=True)
    assert "refunds and money" in html and "exporting data" not in html


def test_category_page_lists_only_its_questions(client, users, ask, session):
    from community.models import Category

    with transaction(session):
        session.add(Category(slug="setup", name="Setup", description="Getting started with the product"))
    ask(users["member"], title="How do I install the desktop app?", category="setup")
    ask(users["member"], title="Why was my card charged twice?")
    html = client.get("/categories/setup").get_data(as_text=True)
    assert "Getting started with the product" in html
    assert "desktop app" in html and "charged twice" not in html


def test_categories_page_shows_description_and_count(client, question):
    html = client.get("/categories").get_data(as_text=True)
    assert "Invoices and plans" in html and "1 question" in html


def test_tags_prefix_filter(client, users, ask):
    ask(users["member"], tags=["billing", "export"])
    html = client.get("/tags?q=exp").get_data(as_text=True)
    assert 'href="/tags/export"' in html and 'href="/tags/billing"' not in html.split("Filter")[-1]


# --- deleted posts -------------------------------------------------------------------------------


def test_deleted_question_is_404_for_others(client, auth, users, question):
    login(auth, users["member"])
    client.post(f"/posts/{question.id}/delete")
    auth.logout()
    assert client.get(canonical(question)).status_code == 404
    login(auth, users["other"])
    assert client.get(canonical(question)).status_code == 404


@pytest.mark.parametrize("viewer", ["member", "moderator"])
def test_deleted_question_stays_visible_to_author_and_moderator(client, auth, users, question, viewer):
    login(auth, users["member"])
    assert client.post(f"/posts/{question.id}/delete").status_code == 302
    auth.logout()
    login(auth, users[viewer])
    response = client.get(canonical(question))
    assert response.status_code == 200
    assert "post--deleted" in response.get_data(as_text=True)


def test_delete_is_soft(client, auth, users, question, session):
    login(auth, users["member"])
    client.post(f"/posts/{question.id}/delete")
    assert session.scalar(select(Post.deleted_at).where(Post.id == question.id)) is not None


def test_deleted_answer_hidden_from_others_visible_to_author(client, auth, users, question, answer):
    a = answer(users["other"], question)
    login(auth, users["other"])
    assert client.post(f"/posts/{a.id}/delete").headers["Location"].endswith(f"#answer-{a.id}")
    assert f'id="answer-{a.id}"' in client.get(canonical(question)).get_data(as_text=True)
    auth.logout()
    assert f'id="answer-{a.id}"' not in client.get(canonical(question)).get_data(as_text=True)


def test_deleting_someone_elses_post_is_403(client, auth, users, question):
    login(auth, users["other"])
    assert client.post(f"/posts/{question.id}/delete").status_code == 403


def test_delete_requires_login(client, question):
    response = client.post(f"/posts/{question.id}/delete")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_delete_comment_by_author(client, auth, users, question, session):
    with transaction(session):
        c = comments.add(session, actor=users["other"], post_id=question.id, body="Which plan did you move to?")
    login(auth, users["other"])
    assert client.post(f"/comments/{c.id}/delete").status_code == 302
    assert session.scalar(select(Comment.deleted_at).where(Comment.id == c.id)) is not None
    assert "Which plan did you move to?" not in client.get(canonical(question)).get_data(as_text=True)


def test_delete_comment_of_someone_else_is_403(client, auth, users, question, session):
    with transaction(session):
        c = comments.add(session, actor=users["other"], post_id=question.id, body="Which plan did you move to?")
    login(auth, users["marketer"])
    assert client.post(f"/comments/{c.id}/delete").status_code == 403


# --- votes ---------------------------------------------------------------------------------------


def test_vote_as_json(client, auth, users, question):
    login(auth, users["other"])
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"}, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json() == {"score": 1, "my_vote": 1}


def test_vote_without_js_redirects_back_to_the_post(client, auth, users, question, answer):
    a = answer(users["other"], question)
    login(auth, users["member"])
    response = client.post(f"/posts/{a.id}/vote", data={"value": "-1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{canonical(question)}#answer-{a.id}")


def test_retracting_a_vote_with_zero(client, auth, users, question):
    login(auth, users["other"])
    client.post(f"/posts/{question.id}/vote", data={"value": "1"})
    response = client.post(f"/posts/{question.id}/vote", data={"value": "0"}, headers={"Accept": "application/json"})
    assert response.get_json() == {"score": 0, "my_vote": 0}


def test_page_shows_my_vote_pressed(client, auth, users, question):
    login(auth, users["other"])
    client.post(f"/posts/{question.id}/vote", data={"value": "1"})
    html = client.get(canonical(question)).get_data(as_text=True)
    assert re.search(r'value="0" data-vote="up"\s+aria-pressed="true"', html)


def test_vote_on_own_post_without_javascript_is_refused_with_a_flash(client, auth, session, users, question):
    login(auth, users["member"])
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "You cannot vote on your own post." in page
    assert session.scalar(select(Question.score).where(Question.id == question.id)) == 0


def test_vote_on_own_post_is_403_json(client, auth, users, question):
    login(auth, users["member"])
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"}, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_bad_vote_value_is_422_json(client, auth, users, question):
    login(auth, users["other"])
    response = client.post(f"/posts/{question.id}/vote", data={"value": "5"}, headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert "value" in response.get_json()["error"]["fields"]


def test_anonymous_vote_json_is_401(client, question):
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"}, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_anonymous_vote_form_redirects_to_login(client, question):
    response = client.post(f"/posts/{question.id}/vote", data={"value": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_vote_on_unknown_post_is_404(client, auth, users, category):
    login(auth, users["other"])
    assert client.post("/posts/999999/vote", data={"value": "1"}).status_code == 404


def test_vote_is_post_only(client, question):
    assert client.get(f"/posts/{question.id}/vote").status_code == 405


# --- accept --------------------------------------------------------------------------------------


@pytest.fixture
def two_answers(users, question, answer, session):
    first = answer(users["other"], question, body="First answer: open Billing and press Recalculate.")
    second = answer(users["moderator"], question, body="Second answer: the invoice updates at midnight UTC.")
    with transaction(session):
        votes.cast(session, actor=users["marketer"], post_id=first.id, value=1)
    return first, second


def test_asker_sees_accept_buttons(client, auth, users, question, two_answers):
    login(auth, users["member"])
    html = client.get(canonical(question)).get_data(as_text=True)
    assert html.count(">Accept</button>") == 2


def test_others_see_no_accept_buttons(client, auth, users, question, two_answers):
    login(auth, users["other"])
    assert ">Accept</button>" not in client.get(canonical(question)).get_data(as_text=True)


def test_accept_puts_the_answer_first(client, auth, users, question, two_answers):
    first, second = two_answers
    login(auth, users["member"])
    html = client.get(canonical(question)).get_data(as_text=True)
    a, b = order_of(html, f'id="answer-{first.id}"', f'id="answer-{second.id}"')
    assert a < b  # by score before accepting
    response = client.post(f"/questions/{question.id}/accept", data={"answer_id": second.id})
    assert response.headers["Location"].endswith(f"#answer-{second.id}")
    html = client.get(canonical(question)).get_data(as_text=True)
    a, b = order_of(html, f'id="answer-{second.id}"', f'id="answer-{first.id}"')
    assert a < b
    assert "Accepted answer" in html and ">Unaccept</button>" in html


def test_accept_can_switch(client, auth, users, question, two_answers, session):
    first, second = two_answers
    login(auth, users["member"])
    client.post(f"/questions/{question.id}/accept", data={"answer_id": second.id})
    client.post(f"/questions/{question.id}/accept", data={"answer_id": first.id})
    assert session.scalar(select(Question.accepted_answer_id).where(Question.id == question.id)) == first.id


def test_accept_can_be_withdrawn(client, auth, users, question, two_answers, session):
    first, _ = two_answers
    login(auth, users["member"])
    client.post(f"/questions/{question.id}/accept", data={"answer_id": first.id})
    client.post(f"/questions/{question.id}/accept", data={"answer_id": ""})
    assert session.scalar(select(Question.accepted_answer_id).where(Question.id == question.id)) is None


def test_accept_by_someone_else_is_403(client, auth, users, question, two_answers):
    login(auth, users["other"])
    assert client.post(f"/questions/{question.id}/accept", data={"answer_id": two_answers[0].id}).status_code == 403


def test_accept_unknown_answer_is_404(client, auth, users, question, two_answers):
    login(auth, users["member"])
    assert client.post(f"/questions/{question.id}/accept", data={"answer_id": "999999"}).status_code == 404
    assert client.post(f"/questions/{question.id}/accept", data={"answer_id": "abc"}).status_code == 404
