"""votes service: up, down, change, retract; never on your own or a deleted post."""

import pytest
from sqlalchemy import func, select

from community.db import transaction
from community.models import Post, Vote
from community.services import qa, votes
from community.services.errors import NotFound, PermissionDenied, RuleViolation


def _cast(session, actor, post, value):
    with transaction(session):
        return votes.cast(session, actor=actor, post_id=post.id, value=value)


def _score(session, post):
    return session.execute(select(Post.score).where(Post.id == post.id)).scalar_one()


def test_upvote_raises_score(session, users, ask):
    question = ask(users["member"])
    assert _cast(session, users["other"], question, 1) == (1, 1)
    assert _score(session, question) == 1


def test_downvote_lowers_score(session, users, ask):
    question = ask(users["member"])
    assert _cast(session, users["other"], question, -1) == (-1, -1)


def test_votes_of_several_users_add_up(session, users, ask):
    question = ask(users["member"])
    _cast(session, users["other"], question, 1)
    _cast(session, users["moderator"], question, 1)
    _cast(session, users["admin"], question, -1)
    assert _score(session, question) == 1


def test_changing_a_vote_moves_score_by_two(session, users, ask):
    question = ask(users["member"])
    _cast(session, users["other"], question, 1)
    assert _cast(session, users["other"], question, -1) == (-1, -1)
    assert session.scalar(select(func.count(Vote.id))) == 1


def test_retracting_a_vote_restores_score_and_removes_row(session, users, ask):
    question = ask(users["member"])
    _cast(session, users["other"], question, -1)
    assert _cast(session, users["other"], question, 0) == (0, 0)
    assert session.scalar(select(func.count(Vote.id))) == 0


def test_repeating_the_same_vote_changes_nothing(session, users, ask):
    question = ask(users["member"])
    _cast(session, users["other"], question, 1)
    assert _cast(session, users["other"], question, 1) == (1, 1)


def test_retracting_without_a_vote_changes_nothing(session, users, ask):
    question = ask(users["member"])
    assert _cast(session, users["other"], question, 0) == (0, 0)


def test_voting_on_answers_works(session, users, ask, answer):
    post = answer(users["other"], ask(users["member"]))
    assert _cast(session, users["member"], post, 1) == (1, 1)


def test_voting_on_own_post_is_denied(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        _cast(session, users["member"], question, 1)


@pytest.mark.parametrize("value", [2, -2, True, False, "1", None, 0.5], ids=repr)
def test_invalid_vote_values_are_refused(session, users, ask, value):
    question = ask(users["member"])
    with pytest.raises(RuleViolation) as exc:
        _cast(session, users["other"], question, value)
    assert "value" in exc.value.fields


def test_voting_on_deleted_post_is_refused_for_staff(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(RuleViolation):
        _cast(session, users["moderator"], question, 1)


def test_voting_on_deleted_post_is_not_found_for_members(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(NotFound):
        _cast(session, users["other"], question, 1)


def test_anonymous_cannot_vote(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        _cast(session, None, question, 1)


def test_vote_records_vote_changed_event(session, users, ask, events):
    question = ask(users["member"])
    events.clear()
    _cast(session, users["other"], question, 1)
    assert [(e["name"], e["payload"]["score"]) for e in events if e["room"].startswith("question:")] == [
        ("vote_changed", 1)
    ]
    # the author's reputation change goes to their own room
    assert [(e["name"], e["room"], e["payload"]["delta"]) for e in events if e["name"] == "reputation_changed"] == [
        ("reputation_changed", f"user:{question.author_id}", 10)
    ]


def test_my_votes_returns_the_users_votes_by_post(session, users, ask, answer):
    question = ask(users["member"])
    first, second = answer(users["other"], question), answer(users["moderator"], question)
    _cast(session, users["admin"], question, 1)
    _cast(session, users["admin"], first, -1)
    _cast(session, users["member"], second, 1)  # someone else's vote
    result = votes.my_votes(session, user=users["admin"], post_ids=[question.id, first.id, second.id])
    assert result == {question.id: 1, first.id: -1}


def test_my_votes_for_anonymous_or_no_posts_is_empty(session, users, ask):
    question = ask(users["member"])
    assert votes.my_votes(session, user=None, post_ids=[question.id]) == {}
    assert votes.my_votes(session, user=users["other"], post_ids=[]) == {}


def test_voting_on_an_answer_of_a_deleted_question_is_refused(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises((NotFound, RuleViolation)):
        _cast(session, users["admin"], post, 1)
