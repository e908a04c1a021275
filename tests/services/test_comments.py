"""comments service: 15-600 characters, inline Markdown only, who may delete."""

import pytest
from sqlalchemy import select

from community.db import transaction
from community.models import Comment, Post
from community.services import comments, qa
from community.services.errors import NotFound, PermissionDenied, RuleViolation

TEXT = "Have you tried turning it off and on?"


def _add(session, actor, post, body=TEXT):
    with transaction(session):
        return comments.add(session, actor=actor, post_id=post.id, body=body)


def _comment_count(session, post):
    return session.execute(select(Post.comment_count).where(Post.id == post.id)).scalar_one()


@pytest.mark.parametrize("length", [15, 600])
def test_comment_at_length_bounds_is_accepted(session, users, ask, length):
    assert len(_add(session, users["other"], ask(users["member"]), "c" * length).body) == length


@pytest.mark.parametrize("length", [14, 601])
def test_comment_outside_length_bounds_is_refused(session, users, ask, length):
    question = ask(users["member"])
    with pytest.raises(RuleViolation) as exc:
        _add(session, users["other"], question, "c" * length)
    assert "body" in exc.value.fields


def test_whitespace_only_comment_is_refused(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(RuleViolation):
        _add(session, users["other"], question, " \n\t " * 20)


def test_comment_whitespace_is_collapsed_before_counting(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(RuleViolation):
        _add(session, users["other"], question, "a     b     c     d")  # 7 characters once collapsed


def test_comment_renders_inline_markdown(session, users, ask):
    comment = _add(session, users["other"], ask(users["member"]), "Try **bold** and `code` and [docs](https://example.com)")
    assert "<strong>bold</strong>" in comment.body_html
    assert "<code>code</code>" in comment.body_html
    assert 'href="https://example.com"' in comment.body_html
    assert 'rel="nofollow ugc noopener"' in comment.body_html


def test_heading_in_comment_is_not_rendered_as_heading(session, users, ask):
    comment = _add(session, users["other"], ask(users["member"]), "# Not a heading, just a comment")
    assert "<h1" not in comment.body_html
    assert "Not a heading" in comment.body_html


def test_script_in_comment_is_not_rendered_as_markup(session, users, ask):
    comment = _add(session, users["other"], ask(users["member"]), "<script>alert('x')</script> hello there")
    assert "<script" not in comment.body_html
    assert "&lt;script&gt;" in comment.body_html


@pytest.mark.parametrize("body", ["- a list item here", "> a quoted line here", "```\ncode block here\n```"])
def test_block_markdown_in_comment_stays_inline(session, users, ask, body):
    comment = _add(session, users["other"], ask(users["member"]), body)
    for tag in ("<ul", "<li", "<blockquote", "<pre", "<p>"):
        assert tag not in comment.body_html


def test_comment_increments_comment_count(session, users, ask):
    question = ask(users["member"])
    _add(session, users["other"], question)
    _add(session, users["member"], question)
    assert _comment_count(session, question) == 2


def test_comment_on_an_answer_records_event_for_the_question_room(session, users, ask, answer, events):
    question = ask(users["member"])
    post = answer(users["other"], question)
    events.clear()
    _add(session, users["member"], post)
    assert [(e["name"], e["room"]) for e in events] == [("comment_posted", f"question:{question.id}")]


def test_comment_on_deleted_post_is_refused(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(RuleViolation):
        _add(session, users["member"], question)


def test_comment_on_unknown_post_is_not_found(session, users):
    with pytest.raises(NotFound):
        comments.add(session, actor=users["member"], post_id=987654, body=TEXT)


def test_anonymous_cannot_comment(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        comments.add(session, actor=None, post_id=question.id, body=TEXT)


@pytest.mark.parametrize("role", ["other", "moderator", "admin"])
def test_comment_author_and_staff_may_delete(session, users, ask, role):
    comment = _add(session, users["other"], ask(users["member"]))
    with transaction(session):
        comments.delete(session, actor=users[role], comment_id=comment.id)
    assert session.get(Comment, comment.id).deleted_at is not None


@pytest.mark.parametrize("role", ["member", "marketer"])
def test_others_may_not_delete_a_comment(session, users, ask, role):
    comment = _add(session, users["other"], ask(users["member"]))  # member is the question's author
    with pytest.raises(PermissionDenied):
        comments.delete(session, actor=users[role], comment_id=comment.id)


def test_anonymous_may_not_delete_a_comment(session, users, ask):
    comment = _add(session, users["other"], ask(users["member"]))
    with pytest.raises(PermissionDenied):
        comments.delete(session, actor=None, comment_id=comment.id)


def test_delete_decrements_comment_count(session, users, ask):
    question = ask(users["member"])
    comment = _add(session, users["other"], question)
    with transaction(session):
        comments.delete(session, actor=users["other"], comment_id=comment.id)
    assert _comment_count(session, question) == 0


def test_deleting_a_deleted_comment_is_not_found(session, users, ask):
    comment = _add(session, users["other"], ask(users["member"]))
    with transaction(session):
        comments.delete(session, actor=users["other"], comment_id=comment.id)
    with pytest.raises(NotFound):
        comments.delete(session, actor=users["other"], comment_id=comment.id)


def test_comment_on_an_answer_of_a_deleted_question_is_refused(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises((NotFound, RuleViolation)):
        _add(session, users["admin"], post)
