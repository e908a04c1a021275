"""GET/POST /api/v1/questions, the question page, answers, votes, accept and comments on questions."""

import pytest

from community.db import transaction
from community.services import comments, qa

API = "/api/v1"
BODY = "Where do I find the invoice history for last year? I looked under Billing already."
ANSWER = "Open Billing, then History, and pick the year from the drop-down at the top."
COMMENT = "Did you check the archive tab as well?"


def ask_payload(**overrides):
    data = {"title": "Where is my invoice history?", "body": BODY, "tags": ["billing"], "category": "billing"}
    data.update(overrides)
    return data


# --- list -----------------------------------------------------------------------


def test_list_is_empty_without_questions(client, category):
    assert client.get(f"{API}/questions").get_json() == {"items": [], "page": 1, "pages": 1, "total": 0}


def test_list_items_are_question_summaries(client, users, ask, answer):
    question = ask(users["member"])
    answer(users["other"], question)
    item = client.get(f"{API}/questions").get_json()["items"][0]
    assert set(item) == {"id", "title", "excerpt", "tags", "category", "score", "answer_count", "accepted_answer_id",
                         "is_answered", "author", "created_at", "last_activity_at", "url"}  # fmt: skip
    assert item["tags"] == ["billing", "invoices"]
    assert item["category"] == {"slug": "billing", "name": "Billing"}
    assert item["author"] == {"id": users["member"].id, "display_name": "Member User", "reputation": 200}
    assert item["answer_count"] == 1 and item["is_answered"] is True
    assert item["url"].endswith(f"/questions/{question.id}/invoice-shows-the-wrong-amount")
    assert item["created_at"].endswith("Z")


def test_list_paginates(client, users, ask):
    for i in range(3):
        ask(users["member"], title=f"Invoice number {i} shows the wrong amount")
    body = client.get(f"{API}/questions?per_page=2&page=2").get_json()
    assert (body["page"], body["pages"], body["total"], len(body["items"])) == (2, 2, 3, 1)


def test_list_filters_by_tag_and_category(client, users, ask):
    ask(users["member"], tags=["refunds"])
    ask(users["member"], tags=["billing"])
    assert [i["tags"] for i in client.get(f"{API}/questions?tag=refunds").get_json()["items"]] == [["refunds"]]
    assert client.get(f"{API}/questions?category=billing").get_json()["total"] == 2
    assert client.get(f"{API}/questions?category=nope").get_json()["total"] == 0


def test_list_sorts_by_votes(client, users, ask, session):
    low = ask(users["member"], title="A question with a low score")
    high = ask(users["member"], title="A question with a high score")
    from community.services import votes

    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=high.id, value=1)
    ids = [i["id"] for i in client.get(f"{API}/questions?sort=votes").get_json()["items"]]
    assert ids == [high.id, low.id]


@pytest.mark.parametrize(("query", "field"), [("sort=best", "sort"), ("page=0", "page"), ("page=abc", "page"),
                                              ("per_page=1000", "per_page")])  # fmt: skip
def test_list_rejects_bad_query(client, category, error_of, query, field):
    error = error_of(client.get(f"{API}/questions?{query}"), 422)
    assert field in error["fields"]


def _list_queries(client, count_queries, headers, per_page):
    with count_queries() as seen:
        response = client.get(f"{API}/questions?per_page={per_page}", headers=headers)
    assert len(response.get_json()["items"]) == per_page
    return len(seen)


def test_list_runs_a_fixed_number_of_queries(client, users, ask, count_queries, member_headers):
    for i in range(40):
        ask(users["other"], title=f"Question number {i} about invoices", tags=[f"tag{i}", "billing"])
    client.get(f"{API}/me", headers=member_headers)  # the token's first use stamps last_used_at; measure after
    small = _list_queries(client, count_queries, member_headers, 5)
    large = _list_queries(client, count_queries, member_headers, 40)
    assert small == large
    assert large <= 6


# --- ask ------------------------------------------------------------------------


def test_ask_with_token_creates_the_question(client, category, member_headers):
    response = client.post(f"{API}/questions", json=ask_payload(), headers=member_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{API}/questions/{body['id']}")
    assert body["title"] == "Where is my invoice history?"
    assert body["body_html"].startswith("<p>Where do I find")
    assert body["answers"] == [] and body["comments"] == [] and body["deleted"] is False


def test_ask_without_category_uses_the_default(client, category, member_headers):
    payload = ask_payload()
    del payload["category"]
    body = client.post(f"{API}/questions", json=payload, headers=member_headers).get_json()
    assert body["category"]["slug"] == "billing"


def test_ask_without_auth_is_401(client, category, error_of):
    assert error_of(client.post(f"{API}/questions", json=ask_payload()), 401)["code"] == "unauthorized"


def test_ask_sanitises_html_and_keeps_unicode(client, category, member_headers):
    payload = ask_payload(title="Rechnung für März — 請求書 <b>bold</b>",
                          body="<script>alert(1)</script><img src=x onerror=alert(1)> " + BODY)  # fmt: skip
    body = client.post(f"{API}/questions", json=payload, headers=member_headers).get_json()
    assert body["title"] == "Rechnung für März — 請求書 <b>bold</b>"  # JSON carries text; pages escape it
    assert "<script" not in body["body_html"] and "onerror" not in body["body_html"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": "short"}, "title"),
    ({"title": "   \t  "}, "title"),
    ({"title": ""}, "title"),
    ({"body": "x" * 30_001}, "body"),
    ({"body": "          "}, "body"),
    ({"tags": []}, "tags"),
    ({"tags": ["Not A Tag!"]}, "tags"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
    ({"category": "no-such-category"}, "category"),
])  # fmt: skip
def test_ask_breaking_a_rule_is_422_with_the_field(client, category, member_headers, error_of, overrides, field):
    response = client.post(f"{API}/questions", json=ask_payload(**overrides), headers=member_headers)
    assert field in error_of(response, 422)["fields"]


@pytest.mark.parametrize(("payload", "field"), [
    (ask_payload(extra=1), "extra"),
    (ask_payload(tags="billing"), "tags"),
    (ask_payload(title=42), "title"),
    (ask_payload(tags=[1]), "tags.0"),
    ({"body": BODY, "tags": ["billing"]}, "title"),
])  # fmt: skip
def test_ask_with_unknown_or_mistyped_fields_is_422(client, category, member_headers, error_of, payload, field):
    error = error_of(client.post(f"{API}/questions", json=payload, headers=member_headers), 422)
    assert error["code"] == "invalid" and field in error["fields"]


def test_ask_writes_nothing_when_invalid(client, category, member_headers):
    client.post(f"{API}/questions", json=ask_payload(title="short"), headers=member_headers)
    assert client.get(f"{API}/questions").get_json()["total"] == 0


# --- read -----------------------------------------------------------------------


def test_question_page_has_answers_and_comments(client, users, ask, answer, session):
    question = ask(users["member"])
    first = answer(users["other"], question)
    second = answer(users["moderator"], question)
    with transaction(session):
        comments.add(session, actor=users["other"], post_id=question.id, body=COMMENT)
        comments.add(session, actor=users["member"], post_id=second.id, body=COMMENT)
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=second.id)
    body = client.get(f"{API}/questions/{question.id}").get_json()
    assert [a["id"] for a in body["answers"]] == [second.id, first.id]  # accepted first
    assert body["answers"][0]["is_accepted"] is True and body["accepted_answer_id"] == second.id
    assert body["comments"][0]["body_html"] == "Did you check the archive tab as well?"
    assert body["comments"][0]["author"]["id"] == users["other"].id
    assert len(body["answers"][0]["comments"]) == 1 and body["answers"][1]["comments"] == []


def test_question_page_shows_my_votes_with_a_token(client, users, ask, session, member_headers):
    question = ask(users["other"])
    from community.services import votes

    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=question.id, value=-1)
    assert client.get(f"{API}/questions/{question.id}", headers=member_headers).get_json()["my_vote"] == -1
    assert client.get(f"{API}/questions/{question.id}").get_json()["my_vote"] == 0


def test_unknown_question_is_404(client, category, error_of):
    assert error_of(client.get(f"{API}/questions/999999"), 404)["code"] == "not_found"


def test_answer_id_on_question_route_is_404(client, users, ask, answer, error_of):
    reply = answer(users["other"], ask(users["member"]))
    error_of(client.get(f"{API}/questions/{reply.id}"), 404)


def test_deleted_answer_is_shown_only_to_its_author(client, users, ask, answer, session, bearer):
    question = ask(users["member"])
    reply = answer(users["other"], question)
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=reply.id)
    assert client.get(f"{API}/questions/{question.id}").get_json()["answers"] == []
    seen = client.get(f"{API}/questions/{question.id}", headers=bearer(users["other"])).get_json()["answers"]
    assert [(a["id"], a["deleted"]) for a in seen] == [(reply.id, True)]


def test_deleted_question_is_404_for_others_and_shown_to_staff(client, users, ask, session, bearer, error_of):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    error_of(client.get(f"{API}/questions/{question.id}", headers=bearer(users["other"])), 404)
    body = client.get(f"{API}/questions/{question.id}", headers=bearer(users["moderator"])).get_json()
    assert body["deleted"] is True


def _page_queries(client, count_queries, question_id):
    with count_queries() as seen:
        assert client.get(f"{API}/questions/{question_id}").status_code == 200
    return len(seen)


def test_question_page_runs_a_fixed_number_of_queries(client, users, ask, answer, session, count_queries):
    small = ask(users["member"], title="A question with two answers")
    for _ in range(2):
        answer(users["other"], small)
    big = ask(users["member"], title="A question with fifty answers")
    replies = [answer(users["other"], big) for _ in range(50)]
    with transaction(session):
        for i in range(100):
            comments.add(session, actor=users["moderator"], post_id=replies[i % 50].id, body=COMMENT)
    few, many = _page_queries(client, count_queries, small.id), _page_queries(client, count_queries, big.id)
    assert few == many
    assert many <= 10


# --- answer, vote, accept, comment ---------------------------------------------


def test_answer_with_token_is_201(client, users, ask, other_headers):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/answers", json={"body": ANSWER}, headers=other_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["question_id"] == question.id and body["author"]["id"] == users["other"].id
    assert body["is_accepted"] is False and body["comments"] == []


def test_answer_without_auth_is_401(client, users, ask, error_of):
    question = ask(users["member"])
    error_of(client.post(f"{API}/questions/{question.id}/answers", json={"body": ANSWER}), 401)


@pytest.mark.parametrize("body", ["", "   ", "too short", "x" * 30_001])
def test_answer_breaking_length_rules_is_422(client, users, ask, other_headers, error_of, body):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/answers", json={"body": body}, headers=other_headers)
    assert "body" in error_of(response, 422)["fields"]


def test_answer_to_unknown_question_is_404(client, category, member_headers, error_of):
    error_of(client.post(f"{API}/questions/424242/answers", json={"body": ANSWER}, headers=member_headers), 404)


def test_vote_on_question_returns_score_and_my_vote(client, users, ask, other_headers):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/vote", json={"value": 1}, headers=other_headers)
    assert response.get_json() == {"score": 1, "my_vote": 1}
    response = client.post(f"{API}/questions/{question.id}/vote", json={"value": 0}, headers=other_headers)
    assert response.get_json() == {"score": 0, "my_vote": 0}


def test_vote_on_own_question_is_403(client, users, ask, member_headers, error_of):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/vote", json={"value": 1}, headers=member_headers)
    assert error_of(response, 403)["code"] == "forbidden"


@pytest.mark.parametrize("value", [2, "1", 1.5, True, None])
def test_vote_with_a_bad_value_is_422(client, users, ask, other_headers, error_of, value):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/vote", json={"value": value}, headers=other_headers)
    assert "value" in error_of(response, 422)["fields"]


def test_vote_on_question_route_with_answer_id_is_404(client, users, ask, answer, member_headers, error_of):
    reply = answer(users["other"], ask(users["member"]))
    error_of(client.post(f"{API}/questions/{reply.id}/vote", json={"value": 1}, headers=member_headers), 404)


def test_asker_accepts_and_withdraws(client, users, ask, answer, member_headers):
    question = ask(users["member"])
    reply = answer(users["other"], question)
    url = f"{API}/questions/{question.id}/accept"
    body = client.post(url, json={"answer_id": reply.id}, headers=member_headers).get_json()
    assert body["accepted_answer_id"] == reply.id and body["id"] == question.id
    assert client.post(url, json={"answer_id": None}, headers=member_headers).get_json()["accepted_answer_id"] is None


def test_accept_by_someone_else_is_403(client, users, ask, answer, other_headers, error_of):
    question = ask(users["member"])
    reply = answer(users["other"], question)
    error_of(client.post(f"{API}/questions/{question.id}/accept", json={"answer_id": reply.id},
                         headers=other_headers), 403)  # fmt: skip


def test_accept_an_answer_of_another_question_is_404(client, users, ask, answer, member_headers, error_of):
    question = ask(users["member"])
    elsewhere = answer(users["other"], ask(users["member"], title="Another question about invoices"))
    response = client.post(f"{API}/questions/{question.id}/accept", json={"answer_id": elsewhere.id},
                           headers=member_headers)  # fmt: skip
    assert "answer_id" in error_of(response, 404)["fields"]


def test_accept_needs_the_answer_id_field(client, users, ask, member_headers, error_of):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/accept", json={}, headers=member_headers)
    assert "answer_id" in error_of(response, 422)["fields"]


def test_comment_on_question_is_201(client, users, ask, other_headers):
    question = ask(users["member"])
    payload = {"body": "Which **plan** are you on? <script>x</script>"}
    response = client.post(f"{API}/questions/{question.id}/comments", json=payload, headers=other_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert "<strong>plan</strong>" in body["body_html"] and "<script" not in body["body_html"]
    assert body["post_id"] == question.id and body["author"]["display_name"] == "Other Member"


@pytest.mark.parametrize("text", ["", "    ", "short", "x" * 601])
def test_comment_breaking_length_rules_is_422(client, users, ask, other_headers, error_of, text):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/comments", json={"body": text}, headers=other_headers)
    error_of(response, 422)
