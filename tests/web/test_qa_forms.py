"""The Q&A forms over HTTP: ask (with preview), answer, comment and edit; good and bad input."""

import re

import pytest
from sqlalchemy import func, select

from community.db import transaction
from community.models import Answer, Comment, Post, Question, Revision, Tag
from community.services import qa

GOOD = {"title": "Invoice shows the wrong amount", "body": "I upgraded yesterday and the invoice shows the old price.",
        "tags": "billing invoices", "category": "billing"}  # fmt: skip
ANSWER = "Open Billing, then Invoices, and press Recalculate to refresh it."
COMMENT = "Which plan did you upgrade to?"
EDITED_BODY = "I upgraded to the new plan yesterday.\nThe invoice still shows the old price, even after a day."


def login(auth, user):
    assert auth.login(email=user.email).status_code == 302, "login failed"


def rows(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def field_error(html: str, field_id: str) -> str:
    """The error text shown right under the field with this id ('' when none)."""
    match = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</div>', html, re.DOTALL)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def canonical(q):
    return f"/questions/{q.id}/{q.slug}"


@pytest.fixture
def member(auth, users, category):
    login(auth, users["member"])
    return users["member"]


@pytest.fixture
def question(users, ask):
    return ask(users["member"])


# --- ask ---------------------------------------------------------------------------------------


def test_ask_requires_login(client, category):
    response = client.get("/questions/ask")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_ask_form_shows_the_rules_and_default_category(client, member):
    html = client.get("/questions/ask").get_data(as_text=True)
    assert "15 to 150 characters" in html and "1 to 5 tags" in html and "+ # . -" in html
    assert re.search(r'<option selected value="billing">|<option value="billing" selected', html)
    assert 'data-preview-target="question-preview"' in html


def test_ask_success_redirects_to_the_question(client, member, session):
    response = client.post("/questions/ask", data=GOOD)
    assert response.status_code == 302
    question = session.scalars(select(Question)).one()
    assert response.headers["Location"].endswith(canonical(question))
    assert [t.name for t in question.tags] == ["billing", "invoices"]


def test_ask_accepts_comma_separated_tags(client, member, session):
    client.post("/questions/ask", data={**GOOD, "tags": "billing, invoices,plans"})
    assert sorted(session.scalars(select(Tag.name))) == ["billing", "invoices", "plans"]


def test_ask_accepts_unicode(client, member, session):
    data = {
        **GOOD,
        "title": "Rechnung für Müller & Söhne zeigt 0 €",
        "body": "Die Rechnung zeigt 0 € statt 49 € an. 😕 Warum?",
    }
    response = client.post("/questions/ask", data=data)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rechnung für Müller &amp; Söhne zeigt 0 €" in page and "😕" in page


BAD_ASK = [
    ("title", "", "Enter a title."),
    ("title", "     \t  ", "Enter a title."),
    ("title", "Too short", "Title must be 15 to 150 characters"),
    ("title", "x" * 151, "Title must be 15 to 150 characters"),
    ("body", "", "Enter the text of your post."),
    ("body", "   \n\n   ", "Enter the text of your post."),
    ("body", "Too short to be a body", "Body must be 30 to 30,000 characters"),
    ("body", "y" * 30_001, "Body must be 30 to 30,000 characters"),
    ("tags", "", "Use 1 to 5 tags."),
    ("tags", "   ,  ", "Use 1 to 5 tags."),
    ("tags", "a b c d e f", "Use 1 to 5 tags."),
    ("tags", "bad!tag", "may only use a-z, 0-9 and + # . -"),
    ("tags", "<script>", "may only use a-z, 0-9 and + # . -"),
    ("tags", "ümlaut", "may only use a-z, 0-9 and + # . -"),
    ("tags", "t" * 26, "is longer than 25 characters"),
    ("category", "no-such-category", "Unknown category."),
]


@pytest.mark.parametrize("field,value,message", BAD_ASK, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_ASK)])
def test_ask_bad_input_is_shown_beside_the_field_and_nothing_is_written(client, member, session, field, value, message):
    response = client.post("/questions/ask", data={**GOOD, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, field).replace("&#39;", "'")
    assert rows(session, Post) == 0 and rows(session, Tag) == 0 and rows(session, Revision) == 0


def test_ask_bad_input_keeps_everything_typed(client, member):
    data = {**GOOD, "title": "Short", "body": "My body text that stays there after the error.", "tags": "keep-me"}
    html = client.post("/questions/ask", data=data).get_data(as_text=True)
    assert 'value="Short"' in html and "My body text that stays there" in html and 'value="keep-me"' in html


def test_ask_every_bad_field_is_reported_at_once(client, member):
    html = client.post("/questions/ask", data={"title": "", "body": "", "tags": "", "category": "nope"}).get_data(
        as_text=True)  # fmt: skip
    assert all(field_error(html, f) for f in ("title", "body", "tags", "category"))


def test_ask_script_in_title_is_escaped_on_rerender(client, member, session):
    data = {**GOOD, "title": "<script>alert(1)</script>", "body": "<script>alert(2)</script>"}
    html = client.post("/questions/ask", data=data).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert rows(session, Post) == 0


def test_ask_script_in_a_valid_question_is_stored_harmless(client, member):
    data = {**GOOD, "title": "<script>alert(1)</script> in my title", "body": "Look: <script>alert(2)</script> " * 2}
    page = client.get(client.post("/questions/ask", data=data).headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; in my title" in page


def test_preview_renders_markdown_without_saving(client, member, session):
    data = {**GOOD, "body": "Some **bold** text and <script>alert(1)</script> a [link](https://example.com).",
            "preview": "Preview"}  # fmt: skip
    response = client.post("/questions/ask", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>bold</strong>" in html and 'href="https://example.com"' in html
    assert "<script>alert" not in html
    assert 'value="Invoice shows the wrong amount"' in html  # the form is kept
    assert rows(session, Post) == 0


# --- answer --------------------------------------------------------------------------------------


def test_answer_success_redirects_to_the_answer(client, auth, users, question, session):
    login(auth, users["other"])
    response = client.post(f"/questions/{question.id}/answers", data={"body": ANSWER})
    answer = session.scalars(select(Answer)).one()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{canonical(question)}#answer-{answer.id}")
    assert ANSWER in client.get(canonical(question)).get_data(as_text=True)


@pytest.mark.parametrize(
    "body,message",
    [
        ("", "Enter the text"),
        ("   ", "Enter the text"),
        ("Too short.", "Body must be 30"),
        ("z" * 30_001, "Body must be 30"),
    ],
)
def test_answer_errors_rerender_the_page_with_the_typed_text(client, auth, users, question, session, body, message):
    login(auth, users["other"])
    response = client.post(f"/questions/{question.id}/answers", data={"body": body})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, "body")
    assert question.title in html  # still the question page
    if body.strip():
        assert body in html
    assert rows(session, Answer) == 0


def test_answer_script_is_escaped_on_rerender(client, auth, users, question):
    login(auth, users["other"])
    html = client.post(f"/questions/{question.id}/answers", data={"body": "<script>x</script>"}).get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_answer_on_deleted_question_shows_a_form_error(client, auth, users, question, session):
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    login(auth, users["member"])
    response = client.post(f"/questions/{question.id}/answers", data={"body": ANSWER})
    assert response.status_code == 422
    assert "cannot take new answers" in response.get_data(as_text=True)


def test_answer_requires_login(client, question):
    response = client.post(f"/questions/{question.id}/answers", data={"body": ANSWER})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_answer_to_unknown_question_is_404(client, member):
    assert client.post("/questions/999999/answers", data={"body": ANSWER}).status_code == 404


# --- comments ------------------------------------------------------------------------------------


def test_comment_success_redirects_to_the_comment(client, auth, users, question, session):
    login(auth, users["other"])
    response = client.post(f"/posts/{question.id}/comments", data={"body": COMMENT})
    comment = session.scalars(select(Comment)).one()
    assert response.headers["Location"].endswith(f"{canonical(question)}#comment-{comment.id}")
    assert COMMENT in client.get(canonical(question)).get_data(as_text=True)


def test_comment_on_an_answer(client, auth, users, question, answer, session):
    a = answer(users["other"], question)
    login(auth, users["member"])
    client.post(f"/posts/{a.id}/comments", data={"body": COMMENT})
    assert session.scalars(select(Comment)).one().post_id == a.id


@pytest.mark.parametrize("body,message", [("", "Enter a comment."), ("  ", "Enter a comment."),
                                          ("Too short", "Comments must be 15 to 600"),
                                          ("w" * 601, "Comments must be 15 to 600")])  # fmt: skip
def test_comment_errors_rerender_beside_that_form(client, auth, users, question, answer, session, body, message):
    a = answer(users["other"], question)
    login(auth, users["member"])
    response = client.post(f"/posts/{a.id}/comments", data={"body": body})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, f"comment-body-{a.id}")
    assert not field_error(html, f"comment-body-{question.id}")
    textarea = re.search(rf'<textarea id="comment-body-{a.id}".*?>(.*?)</textarea>', html, re.DOTALL).group(1)
    assert textarea.strip() == body.strip()
    assert rows(session, Comment) == 0


def test_comment_script_is_escaped(client, auth, users, question):
    login(auth, users["other"])
    client.post(f"/posts/{question.id}/comments", data={"body": "<script>alert(1)</script> is this safe?"})
    html = client.get(canonical(question)).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "is this safe?" in html


def test_comment_on_unknown_post_is_404(client, member):
    assert client.post("/posts/999999/comments", data={"body": COMMENT}).status_code == 404


def test_comment_requires_login(client, question):
    response = client.post(f"/posts/{question.id}/comments", data={"body": COMMENT})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- edit ----------------------------------------------------------------------------------------


def test_edit_form_is_prefilled(client, auth, users, question):
    login(auth, users["member"])
    html = client.get(f"/posts/{question.id}/edit").get_data(as_text=True)
    assert f'value="{question.title}"' in html and 'value="billing invoices"' in html


@pytest.mark.parametrize("field,value,message", [("title", "", "Enter a title."), ("tags", "x y z w v u", "Use 1 to 5"),
                                                 ("body", "short", "Body must be 30"),
                                                 ("reason", "r" * 301, "under 300")])  # fmt: skip
def test_edit_errors_rerender_with_typed_text(client, auth, users, question, session, field, value, message):
    login(auth, users["member"])
    data = {"title": question.title, "body": GOOD["body"] + " More.", "tags": "billing", "reason": "why", field: value}
    response = client.post(f"/posts/{question.id}/edit", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, field)
    if value:
        assert value in html
    assert rows(session, Revision) == 1


def test_edit_without_changes_is_refused(client, auth, users, question):
    login(auth, users["member"])
    data = {"title": question.title, "body": question.body, "tags": "billing invoices", "reason": ""}
    response = client.post(f"/posts/{question.id}/edit", data=data)
    assert response.status_code == 422 and "Change something" in response.get_data(as_text=True)


# --- edit permissions and history ----------------------------------------------------------------------------


def test_edit_creates_a_revision_and_history_shows_the_diff(client, auth, users, question, session):
    login(auth, users["member"])
    response = client.post(f"/posts/{question.id}/edit", data={
        "title": "Invoice shows the wrong amount after upgrade", "body": EDITED_BODY,
        "tags": "billing upgrade", "reason": "Clarified the timeline"})  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{question.id}/invoice-shows-the-wrong-amount-after-upgrade#question")
    assert session.scalar(select(func.count(Revision.id)).where(Revision.post_id == question.id)) == 2
    html = client.get(f"/posts/{question.id}/revisions").get_data(as_text=True)
    assert "Clarified the timeline" in html
    assert "<ins>after upgrade</ins>" in html
    assert "<ins>upgrade</ins>" in html and "<del>invoices</del>" in html
    assert "diff-line diff-line--add" in html and "diff-line diff-line--del" in html


def test_edit_answer_redirects_to_the_answer(client, auth, users, question, answer):
    a = answer(users["other"], question)
    login(auth, users["other"])
    response = client.post(f"/posts/{a.id}/edit", data={"body": EDITED_BODY, "reason": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#answer-{a.id}")


def test_edit_page_of_someone_elses_post_offers_a_suggestion_and_refuses_the_edit(client, auth, users, question):
    login(auth, users["other"])  # 200 reputation: below the edit privilege
    response = client.get(f"/posts/{question.id}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/posts/{question.id}/suggest-edit")
    assert client.post(f"/posts/{question.id}/edit", data={"body": EDITED_BODY}).status_code == 403


def test_moderator_may_edit_any_post(client, auth, users, question):
    login(auth, users["moderator"])
    assert client.get(f"/posts/{question.id}/edit").status_code == 200


def test_edit_requires_login(client, question):
    response = client.get(f"/posts/{question.id}/edit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_edit_of_unknown_post_is_404(client, auth, users, category):
    login(auth, users["member"])
    assert client.get("/posts/999999/edit").status_code == 404


def test_edit_link_shown_only_to_who_may_edit(client, auth, users, question):
    edit_link = f'href="/posts/{question.id}/edit"'
    assert edit_link not in client.get(canonical(question)).get_data(as_text=True)
    login(auth, users["member"])
    assert edit_link in client.get(canonical(question)).get_data(as_text=True)
