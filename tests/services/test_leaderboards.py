"""Leaderboards (all time, periods, category and tag scopes) and tag experts."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from community.db import transaction, utcnow
from community.models import Answer, Question, User
from community.services import leaderboards, qa, reputation, votes
from community.services.errors import NotFound, RuleViolation
from tests.conftest import count_queries

NOW = datetime(2026, 12, 2, 12, 0)  # a Wednesday of ISO week 2026-49


def member(session, name, *, role="member", active=True):
    user = User(email=f"{name.lower()}@example.com", display_name=name, password_hash="x" * 20, role=role,
                avatar_seed=name, is_active_account=active)  # fmt: skip
    session.add(user)
    session.flush()
    return user


def grant(session, user, delta, when, *, scopes=(), key=None):
    reputation.apply(session, [reputation.Grant(user.id, delta, "moderator_adjustment", key or f"t:{user.id}:{when}:{delta}",
                                                source_type="adjustment", scopes=scopes)], now=when)  # fmt: skip


@pytest.fixture
def crowd(session):
    """Ann 300, Bob 120 (of which 100 this week), Cid 120, a moderator with 1,000, an inactive member with 900."""
    with transaction(session):
        people = {n: member(session, n) for n in ("Ann", "Bob", "Cid")}
        people["Mod"] = member(session, "Mod", role="moderator")
        people["Gone"] = member(session, "Gone", active=False)
        grant(session, people["Ann"], 299, NOW - timedelta(days=40))
        grant(session, people["Bob"], 19, NOW - timedelta(days=40))
        grant(session, people["Bob"], 100, NOW - timedelta(days=1))
        grant(session, people["Cid"], 119, NOW - timedelta(days=1))
        grant(session, people["Mod"], 999, NOW - timedelta(days=1))
        grant(session, people["Gone"], 899, NOW - timedelta(days=1))
    return people


def names(board):
    return [row["name"] for row in board["items"]]


def test_all_time_board_ranks_by_reputation_without_staff_or_inactive(session, crowd):
    board = leaderboards.board(session, now=NOW)
    assert names(board) == ["Ann", "Bob", "Cid"]  # Bob and Cid tie at 120: the older account first
    assert [r["rank"] for r in board["items"]] == [1, 2, 2]
    assert board["items"][0]["points"] == board["items"][0]["reputation"] == 300
    assert board["items"][0]["level"] == {"name": "Contributor", "min": 50}
    assert board["total"] == 3


def test_staff_switch_includes_moderators(session, crowd):
    assert names(leaderboards.board(session, include_staff=True, now=NOW))[0] == "Mod"


def test_week_board_counts_only_this_weeks_points(session, crowd):
    board = leaderboards.board(session, period="week", now=NOW)
    assert [(r["name"], r["points"]) for r in board["items"]] == [("Cid", 119), ("Bob", 100)]
    assert board["period_key"] == "w2026-49"


def test_month_quarter_and_year_boards_use_their_period(session, crowd):
    assert names(leaderboards.board(session, period="month", now=NOW)) == ["Cid", "Bob"]
    assert names(leaderboards.board(session, period="year", now=NOW)) == ["Ann", "Bob", "Cid"]
    assert leaderboards.board(session, period="quarter", now=NOW)["period_key"] == "q2026-4"


def test_last_weeks_board_is_not_this_weeks(session, crowd):
    assert leaderboards.board(session, period="week", now=NOW + timedelta(days=7))["items"] == []


def test_pagination_continues_the_ranks_and_ties_across_pages(session, crowd):
    board = leaderboards.board(session, page=2, per_page=2, now=NOW)
    assert [(r["rank"], r["name"]) for r in board["items"]] == [(2, "Cid")]  # tied with Bob on page 1
    assert (board["page"], board["pages"], board["total"]) == (2, 2, 3)


def test_viewer_rank_is_counted_and_ties_share_it(session, crowd):
    board = leaderboards.board(session, per_page=1, viewer=crowd["Cid"], now=NOW)
    assert board["viewer_rank"] == {"rank": 2, "points": 120}  # Mod (1,000) and Gone (900) are not counted
    week = leaderboards.board(session, period="week", viewer=crowd["Bob"], now=NOW)
    assert week["viewer_rank"] == {"rank": 2, "points": 100}


def test_viewer_without_points_or_excluded_has_no_rank(session, crowd):
    assert leaderboards.board(session, period="week", viewer=crowd["Ann"], now=NOW)["viewer_rank"] is None
    assert leaderboards.board(session, viewer=crowd["Mod"], now=NOW)["viewer_rank"] is None
    assert leaderboards.board(session, viewer=crowd["Mod"], include_staff=True, now=NOW)["viewer_rank"]["rank"] == 1


def test_unknown_period_is_a_rule_violation(session):
    with pytest.raises(RuleViolation) as exc:
        leaderboards.board(session, period="decade")
    assert "period" in exc.value.fields


def test_unknown_tag_or_category_is_not_found(session):
    with pytest.raises(NotFound):
        leaderboards.board(session, tag="nope")
    with pytest.raises(NotFound):
        leaderboards.board(session, category="nope")


def test_tag_and_category_boards_count_votes_in_them(session, users, ask, answer, category):
    question = ask(users["member"], tags=["billing"])
    other = ask(users["member"], title="Where do I change my plan now?", tags=["plans"])
    mine, theirs = answer(users["other"], question), answer(users["marketer"], other)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=mine.id, value=1)
        votes.cast(session, actor=users["member"], post_id=theirs.id, value=1)
    tag_board = leaderboards.board(session, tag="billing", viewer=users["other"])
    assert [(r["name"], r["points"]) for r in tag_board["items"]] == [("Other Member", 10)]
    assert tag_board["viewer_rank"] == {"rank": 1, "points": 10}
    assert names(leaderboards.board(session, tag="plans", period="week")) == ["Marketer User"]
    assert sorted(names(leaderboards.board(session, category=category.slug))) == ["Marketer User", "Other Member"]


def test_board_and_tag_are_exclusive(session, category):
    with pytest.raises(RuleViolation):
        leaderboards.board(session, tag="billing", category=category.slug)


def _statements(session, fn):
    with count_queries(session.get_bind()) as seen:
        fn()
    return seen


@pytest.mark.parametrize("period", ["all", "week"])
def test_a_board_page_is_a_constant_number_of_queries(session, crowd, period):
    def run():
        session.info.pop("reputation_ruleset", None)
        leaderboards.board(session, period=period, tag=None, viewer=crowd["Bob"], now=NOW)

    session.refresh(crowd["Bob"])  # the viewer is loaded before, as current_user is
    small = _statements(session, run)
    with transaction(session):
        for i in range(30):
            grant(session, member(session, f"Extra{i}"), 10 + i, NOW - timedelta(hours=1))
    session.refresh(crowd["Bob"])
    large = _statements(session, run)
    assert len(small) == len(large) <= 4, large


# --- tag experts ------------------------------------------------------------------------------


def _tag_id(question):
    return next(t.id for t in question.tags if t.name == "billing")


def test_tag_experts_rank_by_score_then_accepted(session, users, ask, answer):
    question = ask(users["member"], tags=["billing"])
    second = ask(users["admin"], title="Why is the second invoice missing?", tags=["billing"])
    a1, a2 = answer(users["other"], question), answer(users["marketer"], question)
    a3 = answer(users["marketer"], second)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=a1.id, value=1)
        votes.cast(session, actor=users["moderator"], post_id=a1.id, value=1)
        votes.cast(session, actor=users["member"], post_id=a3.id, value=1)
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=a2.id)
    experts = leaderboards.tag_experts(session, _tag_id(question))
    assert [(e["name"], e["score"], e["accepted"], e["answers"]) for e in experts] == [
        ("Other Member", 2, 0, 1), ("Marketer User", 1, 1, 2)]  # fmt: skip


def test_tag_experts_ignore_old_deleted_and_unscored_answers(session, users, ask, answer):
    question = ask(users["member"], tags=["billing"])
    old, gone = answer(users["other"], question), answer(users["marketer"], question)
    answer(users["admin"], question)  # score 0, not accepted: not an expert
    with transaction(session):
        session.execute(update(Answer).where(Answer.id.in_([old.id, gone.id])).values(score=5))
        session.execute(update(Answer).where(Answer.id == old.id).values(created_at=utcnow() - timedelta(days=181)))
        session.execute(update(Answer).where(Answer.id == gone.id).values(deleted_at=utcnow()))
    assert leaderboards.tag_experts(session, _tag_id(question)) == []
    assert [e["name"] for e in leaderboards.tag_experts(session, _tag_id(question), days=365)] == ["Other Member"]


def test_tag_experts_of_a_deleted_question_do_not_count(session, users, ask, answer):
    question = ask(users["member"], tags=["billing"])
    reply = answer(users["other"], question)
    with transaction(session):
        session.execute(update(Answer).where(Answer.id == reply.id).values(score=3))
        session.execute(update(Question).where(Question.id == question.id).values(deleted_at=utcnow()))
    assert leaderboards.tag_experts(session, _tag_id(question)) == []


# --- the history chart ------------------------------------------------------------------------


def test_history_chart_scales_the_total_over_time():
    from datetime import date

    from community.services.reputation_history import chart

    assert chart([]) is None
    drawn = chart([(date(2026, 1, 1), 11), (date(2026, 1, 11), 101), (date(2026, 1, 21), 51)], width=640, height=180)
    assert drawn["line"].startswith("M36.0,") and drawn["line"].count("L") == 2
    assert (drawn["low"], drawn["high"], drawn["current"]) == (1, 101, 51)
    assert [t["label"] for t in drawn["y_ticks"]] == ["1", "51", "101"]
    single = chart([(date(2026, 1, 1), 11)])
    assert single["line"].count("L") == 1  # a single day still draws from the starting 1
