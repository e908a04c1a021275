"""Many members voting on one post at once, and retried requests: nothing counts twice.

The threaded test needs a database with concurrent writers and row locks, so it runs on
PostgreSQL only; the retry tests run on both databases.
"""

import threading
from collections import defaultdict

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from community.db import transaction
from community.extensions import db
from community.models import Post, ReputationEntry, ReputationTotal, User, Vote
from community.services import qa, reputation, votes
from tests.conftest import make_user

VOTERS = 24


def _plan(i: int) -> list[int]:
    """What voter i sends: plain votes, changes, retractions and retried (duplicate) requests."""
    return [[1], [-1], [1, -1], [-1, 1], [1, 0], [1, 1], [-1, -1, 0], [1, 0, 1]][i % 8]


def _jobs(voter_ids) -> list[tuple[int, list[int]]]:
    """One thread per voter, plus a second thread sending the same first request at the same time
    (a retry racing the original) for the voters whose plan ends where it starts."""
    jobs = [(vid, _plan(i)) for i, vid in enumerate(voter_ids)]
    return jobs + [(vid, _plan(i)[:1]) for i, vid in enumerate(voter_ids) if _plan(i)[0] == _plan(i)[-1]]


def _thread_engine(app):
    """An engine on the test database with room for every thread (same schema options as the app)."""
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    return create_engine(db.engine.url, connect_args=options.get("connect_args", {}),
                         pool_size=2 * VOTERS + 2, max_overflow=0)  # fmt: skip


def _vote_in_threads(engine, jobs, post_id):
    start, errors = threading.Barrier(len(jobs)), []

    def run(voter_id, plan):
        try:
            with Session(engine) as session:
                actor = session.get(User, voter_id)
                start.wait(timeout=30)
                for value in plan:
                    with transaction(session):
                        votes.cast(session, actor=actor, post_id=post_id, value=value)
        except Exception as exc:  # collected and reported by the test
            errors.append(f"voter {voter_id}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _expected_totals(session) -> dict:
    """reputation_totals as the ledger implies them: every entry into its periods and scopes."""
    sums = defaultdict(int)
    for entry in session.scalars(select(ReputationEntry)):
        scopes = ()
        if entry.post_id is not None:
            scopes = reputation.scopes_for_post(session, session.get(Post, entry.post_id))
        for period in reputation.periods(entry.created_at):
            sums[("all", period, entry.user_id)] += entry.delta
        for scope in scopes:
            for period in ("all", *reputation.periods(entry.created_at)):
                sums[(scope, period, entry.user_id)] += entry.delta
    return {key: total for key, total in sums.items() if total}


def test_concurrent_votes_on_one_post_keep_score_ledger_and_totals_exact(app, session, users, ask, answer):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers with row locks: PostgreSQL only (SQLite serialises every writer)")
    voters = [make_user(session, f"voter{i}@example.com", f"Voter {i}", reputation=200) for i in range(VOTERS)]
    post = answer(users["other"], ask(users["member"]))
    engine = _thread_engine(app)
    try:
        errors = _vote_in_threads(engine, _jobs([v.id for v in voters]), post.id)
    finally:
        engine.dispose()
    assert errors == []
    session.expire_all()
    final = {i: _plan(i)[-1] for i in range(VOTERS)}
    assert session.scalar(select(func.coalesce(func.sum(Vote.value), 0)).where(Vote.post_id == post.id)) \
        == sum(final.values())
    assert session.get(Post, post.id).score == sum(final.values())
    assert reputation.verify(session) == []
    stored = {(t.scope, t.period, t.user_id): t.total for t in session.scalars(select(ReputationTotal)) if t.total}
    assert stored == _expected_totals(session)
    # no duplicate grants: a standing vote has exactly one unreversed author entry (+0 once the daily
    # cap is reached), a changed or retracted vote none
    grants = session.scalars(select(ReputationEntry).where(
        ReputationEntry.source_type == "vote", ReputationEntry.user_id == post.author_id,
        ReputationEntry.reverses_id.is_(None))).all()  # fmt: skip
    reversed_ids = set(session.scalars(select(ReputationEntry.reverses_id).where(ReputationEntry.reverses_id.isnot(None))))
    unreversed = sorted(e.source_id for e in grants if e.id not in reversed_ids)
    assert unreversed == sorted(session.scalars(select(Vote.id).where(Vote.post_id == post.id)))
    assert len({e.key for e in grants}) == len(grants)

def test_a_retried_vote_counts_once(session, users, ask, answer):
    post = answer(users["other"], ask(users["member"]))
    for _attempt in range(2):
        with transaction(session):
            score, mine = votes.cast(session, actor=users["member"], post_id=post.id, value=1)
    assert (score, mine) == (1, 1)
    assert session.scalar(select(func.count()).select_from(ReputationEntry).where(
        ReputationEntry.source_type == "vote")) == 1  # fmt: skip
    session.expire_all()
    assert session.get(User, users["other"].id).reputation == 210
    assert reputation.verify(session) == []


def test_a_retried_accept_counts_once(session, users, ask, answer):
    question = ask(users["member"])
    chosen = answer(users["other"], question)
    for _attempt in range(2):
        with transaction(session):
            qa.accept(session, actor=users["member"], question_id=question.id, answer_id=chosen.id)
    kinds = sorted(session.scalars(select(ReputationEntry.kind).where(ReputationEntry.source_type == "accept")))
    assert kinds == ["accepted_an_answer", "answer_accepted"]
    session.expire_all()
    assert (session.get(User, users["other"].id).reputation, session.get(User, users["member"].id).reputation) \
        == (215, 202)
    assert reputation.verify(session) == []


def test_replaying_the_same_grant_key_writes_nothing(session, users):
    grant = reputation.Grant(users["other"].id, 10, "answer_upvoted", "vote:retry-test:author", source_type="vote")
    with transaction(session):
        first = reputation.apply(session, [grant])
    with transaction(session):
        second = reputation.apply(session, [grant])
    assert (len(first), second) == (1, [])
    session.expire_all()
    assert session.get(User, users["other"].id).reputation == 210
