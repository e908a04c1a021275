"""counters.recount repairs cached counters that drifted from the rows."""

import pytest
from sqlalchemy import select, text

from community.db import transaction
from community.models import Category, Post, Question, Tag, User
from community.services import comments, counters, qa, votes


@pytest.fixture
def world(session, users, ask, answer):
    """A consistent little forum: counters are right before each test corrupts one."""
    question = ask(users["member"], tags=["billing", "vat"])
    ask(users["member"], title="A second question from member", tags=["billing"])
    first, second = answer(users["other"], question), answer(users["moderator"], question)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=first.id)
        votes.cast(session, actor=users["other"], post_id=question.id, value=1)
        votes.cast(session, actor=users["admin"], post_id=question.id, value=1)
        comments.add(session, actor=users["admin"], post_id=first.id, body="Thanks, that fixed it for me.")
    with transaction(session):
        qa.delete(session, actor=users["moderator"], post_id=second.id)
    return {"question": question, "first": first, "second": second}


def _recount(session):
    with transaction(session):
        fixed = counters.recount(session)
    session.expire_all()
    return fixed


def _corrupt(session, sql, **params):
    with transaction(session):
        session.execute(text(sql), params)


def _value(session, column, row_id):
    return session.execute(select(column).where(column.class_.id == row_id)).scalar_one()


def test_recount_of_consistent_data_fixes_nothing(session, world):
    assert set(_recount(session).values()) == {0}


@pytest.mark.parametrize("label,sql,column,who,expected", [
    ("users.question_count", "UPDATE users SET question_count = 40 WHERE id = :id", User.question_count, "member", 2),
    ("users.answer_count", "UPDATE users SET answer_count = -3 WHERE id = :id", User.answer_count, "moderator", 0),
    ("users.accepted_count", "UPDATE users SET accepted_count = 9 WHERE id = :id", User.accepted_count, "other", 1),
])  # fmt: skip
def test_recount_fixes_user_counters(session, users, world, label, sql, column, who, expected):
    _corrupt(session, sql, id=users[who].id)
    fixed = _recount(session)
    assert fixed[label] == 1
    assert _value(session, column, users[who].id) == expected


def test_recount_fixes_category_question_count(session, category, world):
    _corrupt(session, "UPDATE categories SET question_count = 0")
    assert _recount(session)["categories.question_count"] == 1
    assert _value(session, Category.question_count, category.id) == 2


def test_recount_fixes_tag_question_count(session, world):
    _corrupt(session, "UPDATE tags SET question_count = 17")
    assert _recount(session)["tags.question_count"] == 2
    counts = dict(session.execute(select(Tag.name, Tag.question_count)).all())
    assert counts == {"billing": 2, "vat": 1}


def test_recount_fixes_comment_count(session, world):
    _corrupt(session, "UPDATE posts SET comment_count = 5 WHERE id = :id", id=world["first"].id)
    assert _recount(session)["posts.comment_count"] == 1
    assert _value(session, Post.comment_count, world["first"].id) == 1


def test_recount_fixes_answer_count_ignoring_deleted_answers(session, world):
    _corrupt(session, "UPDATE posts SET answer_count = 0 WHERE id = :id", id=world["question"].id)
    assert _recount(session)["questions.answer_count"] == 1
    assert _value(session, Question.answer_count, world["question"].id) == 1


def test_recount_fixes_score_from_votes(session, world):
    _corrupt(session, "UPDATE posts SET score = -100 WHERE id = :id", id=world["question"].id)
    assert _recount(session)["posts.score"] == 1
    assert _value(session, Post.score, world["question"].id) == 2


def test_recount_sets_score_of_post_without_votes_to_zero(session, world):
    _corrupt(session, "UPDATE posts SET score = 4 WHERE id = :id", id=world["first"].id)
    _recount(session)
    assert _value(session, Post.score, world["first"].id) == 0


def test_bump_without_deltas_does_nothing(session, users):
    counters.bump(session, User, users["member"].id)
    counters.bump(session, User, users["member"].id, question_count=0)
    assert _value(session, User.question_count, users["member"].id) == 0
