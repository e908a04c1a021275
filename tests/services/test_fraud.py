"""Serial-voting detection: bursts and shares are found, reversed, explained, and only once."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from community.db import transaction
from community.models import FraudCase, FraudVote, ReputationEntry, User
from community.services import fraud, reputation, reputation_replay, reputation_rules, votes
from tests.conftest import make_user

START = datetime(2026, 11, 2, 8, 0)


@pytest.fixture
def clock(monkeypatch):
    """Votes are cast at ``clock.now``; tests move it to spread votes over time."""

    class Clock:
        now = START

    monkeypatch.setattr(votes, "utcnow", lambda: Clock.now)
    return Clock


def _questions(ask, user, n):
    return [ask(user, title=f"Invoice question number {i} about billing") for i in range(n)]


def _upvote_all(session, voter, posts, clock=None, step=timedelta(0)):
    for post in posts:
        with transaction(session):
            votes.cast(session, actor=voter, post_id=post.id, value=1)
        if clock is not None:
            clock.now += step


def _rep(session, user):
    session.expire_all()
    return session.get(User, user.id).reputation


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _detect(app, *args):
    result = app.test_cli_runner().invoke(args=["reputation", "detect-fraud", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_burst_of_upvotes_is_reversed_and_explained(app, session, users, ask):
    voter, target = users["member"], users["other"]
    _upvote_all(session, voter, _questions(ask, target, 12))
    assert _rep(session, target) == 200 + 120
    output = _detect(app)
    assert f"voter Member User (#{voter.id}) gave target Other Member (#{target.id}) 12 upvotes between" in output
    assert "120 reputation reversed" in output
    assert _rep(session, target) == 200
    case = session.scalars(select(FraudCase)).one()
    assert (case.voter_id, case.target_id, case.rule, case.vote_count) == (voter.id, target.id, "burst", 12)
    assert _count(session, FraudVote) == 12
    reversals = session.scalars(select(ReputationEntry).where(ReputationEntry.kind == "fraud_reversal")).all()
    assert len(reversals) == 12 and all(e.delta == -10 and e.reverses_id for e in reversals)
    assert reputation.verify(session) == []


def test_second_run_finds_nothing_and_writes_nothing(app, session, users, ask):
    _upvote_all(session, users["member"], _questions(ask, users["other"], 10))
    _detect(app)
    before = (_count(session, ReputationEntry), _count(session, FraudVote), _count(session, FraudCase))
    assert "No new serial voting found." in _detect(app)
    assert (_count(session, ReputationEntry), _count(session, FraudVote), _count(session, FraudCase)) == before
    assert _rep(session, users["other"]) == 200


def test_dry_run_reports_but_writes_nothing(app, session, users, ask):
    _upvote_all(session, users["member"], _questions(ask, users["other"], 10))
    entries = _count(session, ReputationEntry)
    output = _detect(app, "--dry-run")
    assert "100 reputation reversed" in output and "Dry run: nothing was written." in output
    assert (_count(session, ReputationEntry), _count(session, FraudCase)) == (entries, 0)
    assert _rep(session, users["other"]) == 300


def test_votes_spread_wider_than_the_window_are_not_a_burst(app, session, users, ask, clock):
    _upvote_all(session, users["member"], _questions(ask, users["other"], 12), clock, timedelta(hours=3))
    assert "No new serial voting found." in _detect(app, "--min-votes", "100")
    assert "12 upvotes" in _detect(app, "--min-votes", "100", "--hours", "36")


def test_target_getting_most_upvotes_from_one_voter_is_a_share_case(app, session, users, ask, clock):
    target = users["other"]
    posts = _questions(ask, target, 10)
    _upvote_all(session, users["member"], posts, clock, timedelta(hours=5))  # no burst: 5 in any 24 h
    _upvote_all(session, users["moderator"], posts[:3])
    output = _detect(app)
    assert "(share: a large share of all the upvotes they received); 100 reputation reversed" in output
    assert _rep(session, target) == 200 + 30
    case = session.scalars(select(FraudCase)).one()
    assert (case.voter_id, case.rule, case.vote_count) == (users["member"].id, "share", 10)


def test_a_later_burst_extends_the_case(app, session, users, ask, clock):
    voter, target = users["member"], users["other"]
    posts = _questions(ask, target, 20)
    _upvote_all(session, voter, posts[:10])
    _detect(app, "--min-votes", "1000")
    clock.now += timedelta(days=3)
    _upvote_all(session, voter, posts[10:])
    output = _detect(app, "--min-votes", "1000")
    assert "10 upvotes" in output
    case = session.scalars(select(FraudCase)).one()
    assert case.vote_count == 20 and case.explanation.count("\n") == 1
    assert _rep(session, target) == 200


def test_downvote_burst_gives_back_the_target_and_the_voter(app, session, users, ask, answer):
    voter, target = users["member"], users["other"]
    question = ask(users["moderator"])
    answers = [answer(target, question, body=f"Answer number {i}: open Billing, then Invoices.") for i in range(10)]
    for post in answers:
        with transaction(session):
            votes.cast(session, actor=voter, post_id=post.id, value=-1)
    assert (_rep(session, target), _rep(session, voter)) == (180, 190)
    assert "10 downvotes" in _detect(app)
    assert (_rep(session, target), _rep(session, voter)) == (200, 200)


def test_rebuild_after_detect_fraud_keeps_the_reversal(app, session, users, ask):
    _upvote_all(session, users["member"], _questions(ask, users["other"], 11))
    _upvote_all(session, users["moderator"], _questions(ask, users["other"], 2)[:1])
    _detect(app)
    assert _rep(session, users["other"]) == 210
    with transaction(session):
        report = reputation_replay.rebuild(session, reputation_rules.current(session))
    assert report["changed_users"] == 0
    assert _rep(session, users["other"]) == 210
    assert reputation.verify(session) == []


def test_self_votes_and_ordinary_voting_are_not_cases(session, users, ask):
    fans = [make_user(session, f"fan{i}@example.com", f"Fan {i}", reputation=20) for i in range(3)]
    posts = _questions(ask, users["other"], 4)
    for fan in fans:
        _upvote_all(session, fan, posts)
    with transaction(session):
        assert fraud.detect(session, burst=5, share=50, min_votes=10) == []


def test_invalid_thresholds_are_refused(session):
    with pytest.raises(ValueError):
        fraud.detect(session, burst=1)


def test_detect_fraud_after_a_rebuild_reverses_the_rebuilt_entries(app, session, users, ask):
    _upvote_all(session, users["member"], _questions(ask, users["other"], 10))
    with transaction(session):
        reputation_replay.rebuild(session, reputation_rules.current(session))
    assert "100 reputation reversed" in _detect(app)
    assert _rep(session, users["other"]) == 200
    assert reputation.verify(session) == []
