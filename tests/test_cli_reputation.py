"""``flask reputation verify`` and ``flask reputation rebuild``."""

import pytest
from sqlalchemy import select, update

from community.db import transaction
from community.models import ReputationEntry, User
from community.services import reputation_rules, votes


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def voted(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        votes.cast(session, actor=users["admin"], post_id=post.id, value=1)
        votes.cast(session, actor=users["moderator"], post_id=question.id, value=1)
    return question, post


def _rep(session, user):
    session.expire_all()
    return session.get(User, user.id).reputation


def test_verify_passes_on_a_consistent_ledger(runner, voted):
    result = runner.invoke(args=["reputation", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_verify_names_each_user_whose_total_drifted(runner, session, users, voted):
    with transaction(session):
        session.execute(update(User).where(User.id == users["other"].id).values(reputation=5))
    result = runner.invoke(args=["reputation", "verify"])
    assert result.exit_code == 1
    assert f"user {users['other'].id} (Other Member): cached 5, ledger 210" in result.output
    assert "1 user(s) differ" in result.output


def test_rebuild_repairs_drift_and_reports_progress(runner, session, users, voted):
    with transaction(session):
        session.execute(update(User).where(User.id == users["other"].id).values(reputation=5))
    result = runner.invoke(args=["reputation", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Replaying the ledger" in result.output
    assert "1 user total(s) changed" in result.output
    assert _rep(session, users["other"]) == 210
    assert runner.invoke(args=["reputation", "verify"]).exit_code == 0


def test_rebuild_with_a_preset_saves_it_and_replays_under_it(runner, session, users, voted):
    before = session.scalar(select(ReputationEntry.key).where(ReputationEntry.kind == "answer_upvoted"))
    result = runner.invoke(args=["reputation", "rebuild", "--preset", "community"])
    assert result.exit_code == 0, result.output
    assert reputation_rules.current(session).preset == "community"
    # the same facts come back under the same keys (so a retried request after a rebuild still counts once)
    assert session.scalar(select(ReputationEntry.key).where(ReputationEntry.kind == "answer_upvoted")) == before
