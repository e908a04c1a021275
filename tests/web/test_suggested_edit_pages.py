"""Suggested edits over HTTP: the suggest form, the author's notice, the review page and queue."""

from sqlalchemy import select

from community.db import transaction
from community.extensions import db
from community.models import SuggestedEdit
from community.services import qa, suggested_edits
from tests.conftest import PASSWORD, make_user
from tests.web.test_question_queries import queries_for

NEW_BODY = "Open Billing, then Invoices, and press Recalculate; the new price shows at once."


def _login(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def _suggestion(session, actor, post_id, body=NEW_BODY):
    with transaction(session):
        return suggested_edits.suggest(session, actor=actor, post_id=post_id, body=body, reason="clearer")


def _question_url(post):
    return f"/questions/{post.question_id}"


def test_member_below_edit_privilege_sees_improve_this_post(client, newbie, post):
    _login(client, newbie)
    html = client.get(_question_url(post), follow_redirects=True).get_data(as_text=True)
    assert f'href="/posts/{post.id}/suggest-edit"' in html and "Improve this post" in html
    assert f'href="/posts/{post.id}/edit"' not in html


def test_member_with_edit_privilege_sees_edit(client, session, post):
    editor = make_user(session, "editor@example.com", "Eddie Editor", "member", reputation=2000)
    _login(client, editor)
    html = client.get(_question_url(post), follow_redirects=True).get_data(as_text=True)
    assert f'href="/posts/{post.id}/edit"' in html and "Improve this post" not in html


def test_privileged_member_edits_through_the_edit_page(client, session, post):
    editor = make_user(session, "editor@example.com", "Eddie Editor", "member", reputation=2000)
    _login(client, editor)
    response = client.post(f"/posts/{post.id}/edit", data={"body": NEW_BODY, "reason": "typo"})
    assert response.status_code == 302
    db.session.expire_all()
    assert qa.get_post(db.session, post.id).body == NEW_BODY


def test_edit_page_becomes_the_suggest_form(client, newbie, post):
    _login(client, newbie)
    response = client.get(f"/posts/{post.id}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/posts/{post.id}/suggest-edit")
    html = client.get(f"/posts/{post.id}/suggest-edit").get_data(as_text=True)
    assert "Suggest an edit" in html and 'value="Suggest edit"' in html and 'name="reason"' in html


def test_posting_a_suggestion_stores_it_and_says_so(client, newbie, post):
    _login(client, newbie)
    response = client.post(f"/posts/{post.id}/suggest-edit", data={"body": NEW_BODY, "reason": "clearer"},
                           follow_redirects=True)  # fmt: skip
    assert "waiting for review" in response.get_data(as_text=True)
    stored = db.session.scalars(select(SuggestedEdit)).one()
    assert (stored.post_id, stored.author_id, stored.body, stored.status) == (post.id, newbie.id, NEW_BODY, "pending")


def test_bad_suggestion_shows_the_field_errors(client, newbie, post):
    _login(client, newbie)
    response = client.post(f"/posts/{post.id}/suggest-edit", data={"body": "short", "reason": ""})
    assert response.status_code == 422
    assert "Body must be 30 to 30,000 characters" in response.get_data(as_text=True)


def test_second_suggestion_is_a_409_with_the_reason(client, session, newbie, post):
    _suggestion(session, newbie, post.id)
    other = make_user(session, "second@example.com", "Second Suggester", "member", reputation=10)
    _login(client, other)
    response = client.post(f"/posts/{post.id}/suggest-edit", data={"body": NEW_BODY + " More.", "reason": ""})
    assert response.status_code == 409
    assert "already has a suggested edit" in response.get_data(as_text=True)


def test_author_sees_a_notice_with_a_link_to_review(client, session, users, newbie, post):
    suggestion = _suggestion(session, newbie, post.id)
    _login(client, users["other"])
    html = client.get(_question_url(post), follow_redirects=True).get_data(as_text=True)
    assert "1 suggested edit waits for your review" in html
    assert f'href="/suggested-edits/{suggestion.id}"' in html


def test_other_members_see_no_notice(client, session, users, newbie, post):
    _suggestion(session, newbie, post.id)
    _login(client, users["member"])  # the asker, not the answer's author
    html = client.get(_question_url(post), follow_redirects=True).get_data(as_text=True)
    assert "for your review" not in html


def test_notice_costs_the_same_queries_for_one_or_many_suggestions(client, session, users, ask, answer):
    helpers = [make_user(session, f"s{i}@example.com", f"Suggester {i}", "member", reputation=10) for i in range(3)]
    small_q, large_q = ask(users["other"]), ask(users["other"], title="Another invoice question here")
    small = [answer(users["other"], small_q)]
    large = [
        answer(users["other"], large_q, body=f"Open Billing and press Recalculate, variant {i}.") for i in range(3)
    ]
    _suggestion(session, helpers[0], small[0].id)
    for helper, target in zip(helpers, large, strict=True):
        _suggestion(session, helper, target.id)
    _login(client, users["other"])
    small_url, large_url = f"/questions/{small_q.id}/{small_q.slug}", f"/questions/{large_q.id}/{large_q.slug}"
    assert "3 suggested edits wait" in client.get(large_url).get_data(as_text=True)
    assert len(queries_for(client, large_url)) == len(queries_for(client, small_url))


def test_review_page_shows_an_escaped_diff(client, session, users, newbie, post):
    suggestion = _suggestion(session, newbie, post.id, body=NEW_BODY + "\n\n<script>alert(1)</script>")
    _login(client, users["other"])
    html = client.get(f"/suggested-edits/{suggestion.id}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "diff-line--add" in html and "diff-line--del" in html
    assert f'action="/suggested-edits/{suggestion.id}/approve"' in html
    assert f'formaction="/suggested-edits/{suggestion.id}/reject"' in html


def test_unrelated_member_cannot_see_the_review_page(client, session, users, newbie, post):
    suggestion = _suggestion(session, newbie, post.id)
    _login(client, users["member"])
    assert client.get(f"/suggested-edits/{suggestion.id}").status_code == 404
    assert client.post(f"/suggested-edits/{suggestion.id}/approve").status_code == 403


def test_author_approves_and_the_post_changes(client, session, users, newbie, post):
    suggestion = _suggestion(session, newbie, post.id)
    _login(client, users["other"])
    response = client.post(f"/suggested-edits/{suggestion.id}/approve", data={"note": "Thanks!"},
                           follow_redirects=True)  # fmt: skip
    assert "was approved" in response.get_data(as_text=True)
    db.session.expire_all()
    assert qa.get_post(db.session, post.id).body == NEW_BODY
    assert db.session.get(SuggestedEdit, suggestion.id).review_note == "Thanks!"


def test_moderator_rejects_with_a_note(client, session, users, newbie, post):
    suggestion = _suggestion(session, newbie, post.id)
    _login(client, users["moderator"])
    response = client.post(f"/suggested-edits/{suggestion.id}/reject", data={"note": "Changes the meaning"})
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(SuggestedEdit, suggestion.id)
    assert (stored.status, stored.review_note, stored.reviewer_id) == ("rejected", "Changes the meaning",
                                                                       users["moderator"].id)  # fmt: skip


def test_approving_a_stale_suggestion_is_a_409_explaining_why(client, session, users, newbie, post):
    suggestion = _suggestion(session, newbie, post.id)
    with transaction(session):
        qa.edit(session, actor=users["other"], post_id=post.id, body=post.body + " Edited by the author.")
    _login(client, users["other"])
    response = client.post(f"/suggested-edits/{suggestion.id}/approve", data={"note": ""})
    assert response.status_code == 409
    assert "edited after this suggestion" in response.get_data(as_text=True)


def test_queue_lists_pending_suggestions_for_moderators(client, session, users, newbie, post):
    _suggestion(session, newbie, post.id)
    _login(client, users["moderator"])
    html = client.get("/review/suggested-edits").get_data(as_text=True)
    assert "1 suggestion waits" in html and "Nina Newbie" in html


def test_queue_is_empty_for_members_without_suggestions_on_their_posts(client, session, users, newbie, post):
    _suggestion(session, newbie, post.id)
    _login(client, users["member"])
    assert "Nothing to review" in client.get("/review/suggested-edits").get_data(as_text=True)


def test_queue_needs_a_login(client):
    response = client.get("/review/suggested-edits")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
