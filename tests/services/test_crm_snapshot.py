"""The advocate snapshot: its fields, the advocacy score, the segments, and its query count."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from community.db import transaction, utcnow
from community.models import Post, Question, User, Vote
from community.services import badges, crm_snapshot, qa, votes
from tests.conftest import count_queries, make_user


def _age_post(session, post_id, days):
    when = utcnow() - timedelta(days=days)
    session.execute(update(Post).where(Post.id == post_id).values(created_at=when))
    session.execute(update(Vote).where(Vote.post_id == post_id).values(created_at=when))
    session.execute(update(Question).where(Question.id == post_id).values(accepted_at=when))
    session.commit()


def test_a_new_member_is_a_lurker_with_an_empty_record(session):
    user = make_user(session, "fresh@example.com", "Fresh Face")
    snap = crm_snapshot.build(session, user.id, base_url="https://community.example.com/")
    assert snap["community_user_id"] == str(user.id)
    assert snap["profile_url"] == f"https://community.example.com/users/{user.id}"
    assert (snap["reputation"], snap["level"], snap["segment"], snap["advocacy_score"]) == (1, "Newcomer", "lurker", 0)
    assert (snap["questions"], snap["answers"], snap["helpful_votes"], snap["badges"]) == (0, 0, 0, [])
    assert snap["opt_out"] is False and snap["joined_at"].endswith("Z")


def test_score_counts_accepts_upvotes_and_answers_to_newcomers(session, users, ask, answer):
    newcomer = make_user(session, "newq@example.com", "New Asker", reputation=200)
    question = ask(newcomer)  # asked within 30 days of joining: a newcomer's question
    reply = answer(users["other"], question)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=reply.id, value=1)
        votes.cast(session, actor=users["admin"], post_id=reply.id, value=1)
    with transaction(session):
        qa.accept(session, actor=newcomer, question_id=question.id, answer_id=reply.id)
    snap = crm_snapshot.build(session, users["other"].id)
    assert snap["advocacy_score"] == 10 * 1 + 1 * 2 + 3 * 1
    assert (snap["answers"], snap["accepted_answers"], snap["helpful_votes"]) == (1, 1, 2)
    assert snap["top_tags"] == ["billing", "invoices"]
    assert snap["segment"] == "contributor"


def test_activity_older_than_90_days_does_not_count(session, users, ask, answer):
    question = ask(users["member"])
    reply = answer(users["other"], question)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=reply.id, value=1)
    _age_post(session, reply.id, 120)
    snap = crm_snapshot.build(session, users["other"].id)
    assert snap["advocacy_score"] == 0 and snap["helpful_votes"] == 1


@pytest.mark.parametrize(("now_score", "before", "reputation", "active", "expected"), [
    (100, 0, 1, True, "champion"), (0, 0, 2500, False, "champion"), (30, 0, 1, True, "advocate"),
    (5, 40, 1, True, "at-risk"), (12, 40, 1, True, "contributor"), (0, 0, 1, True, "contributor"),
    (1, 0, 1, False, "contributor"), (0, 0, 1, False, "lurker"), (0, 20, 1, False, "lurker"),
])  # fmt: skip
def test_segment_rules(now_score, before, reputation, active, expected):
    assert crm_snapshot.segment(now_score=now_score, before_score=before, reputation=reputation, active=active,
                                champion_min=2500) == expected  # fmt: skip


def test_badges_are_counted_by_tier_and_named(session, users, ask, answer):
    question = ask(users["member"])
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=question.id, value=1)
    with transaction(session):
        badges.evaluate(session, "vote", user_ids=[users["member"].id, users["other"].id], post_id=question.id)
    snap = crm_snapshot.build(session, users["member"].id)
    assert "Student" in snap["badges"] and snap["badges_bronze"] >= 1


def test_query_count_does_not_grow_with_members(session, users, ask, answer):
    question = ask(users["member"])
    answer(users["other"], question)
    few = [users["member"].id]
    many = [u.id for u in session.query(User).all()] + [make_user(session, f"x{i}@example.com", f"X {i}").id
                                                        for i in range(8)]  # fmt: skip
    crm_snapshot.build_many(session, few)  # reads the (cached) reputation rules once
    with count_queries() as small:
        crm_snapshot.build_many(session, few)
    with count_queries() as large:
        result = crm_snapshot.build_many(session, many)
    assert len(result) == len(set(many))
    assert len(large) == len(small)


def test_unknown_members_are_left_out(session):
    assert crm_snapshot.build_many(session, [987654]) == {}
