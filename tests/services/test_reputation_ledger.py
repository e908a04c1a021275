"""The ledger: grants, reversals, cap, floor, idempotency, verify and rebuild agree with the live path."""

from sqlalchemy import func, select

from community.db import transaction
from community.models import ReputationEntry, ReputationTotal, User
from community.services import qa, reputation, reputation_replay, reputation_rules, votes
from tests.conftest import make_user


def _vote(session, actor, post, value):
    with transaction(session):
        return votes.cast(session, actor=actor, post_id=post.id, value=value)


def _ledger(session, user):
    return session.scalar(select(func.coalesce(func.sum(ReputationEntry.delta), 0)).where(ReputationEntry.user_id == user.id))


def _rep(session, user):
    session.expire_all()
    return session.get(User, user.id).reputation


def test_upvote_retract_and_downvote_write_compensating_entries(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    before = _rep(session, users["other"])
    _vote(session, users["member"], post, 1)
    assert _rep(session, users["other"]) == before + 10
    _vote(session, users["member"], post, -1)
    assert _rep(session, users["other"]) == before - 2
    _vote(session, users["member"], post, 0)
    assert _rep(session, users["other"]) == before
    kinds = [(e.kind, e.delta, e.reverses_id is not None) for e in session.scalars(
        select(ReputationEntry).where(ReputationEntry.source_type == "vote").order_by(ReputationEntry.id))]
    assert kinds == [("answer_upvoted", 10, False), ("vote_retracted", -10, True), ("post_downvoted", -2, False),
                     ("downvote_cast", -1, False), ("vote_retracted", 2, True), ("vote_retracted", 1, True)]
    assert reputation.verify(session) == []


def test_accept_switch_and_rebuild_match_live_ledger(session, users, ask, answer):
    question = ask(users["member"])
    first, second = answer(users["other"], question), answer(users["moderator"], question)
    for target in (first.id, second.id, None, first.id):
        with transaction(session):
            qa.accept(session, actor=users["member"], question_id=question.id, answer_id=target)
    _vote(session, users["admin"], question, 1)
    live = {u.id: _rep(session, u) for u in users.values()}
    assert live[users["other"].id] == 200 + 15
    assert live[users["moderator"].id] == 200
    assert live[users["member"].id] == 200 + 2 + 10
    with transaction(session):
        report = reputation_replay.rebuild(session, reputation_rules.current(session))
    assert report["changed_users"] == 0
    assert {u.id: _rep(session, u) for u in users.values()} == live
    assert reputation.verify(session) == []
    week = reputation.periods(question.created_at)[0]
    total = session.scalar(select(ReputationTotal.total).where(
        ReputationTotal.scope == "all", ReputationTotal.period == week, ReputationTotal.user_id == users["member"].id))
    assert total == 199 + 12  # the fixture adjustment was granted this week too


def test_daily_cap_limits_vote_earned_reputation_but_not_accepts(session, users, ask, answer, category):
    author = users["other"]
    voters = [make_user(session, f"v{i}@example.com", f"Voter {i}", reputation=20) for i in range(22)]
    question = ask(users["member"])
    post = answer(author, question)
    start = _rep(session, author)
    for voter in voters:
        _vote(session, voter, post, 1)
    assert _rep(session, author) == start + 200
    capped = session.scalars(select(ReputationEntry).where(ReputationEntry.user_id == author.id,
                                                           ReputationEntry.delta == 0)).all()
    assert len(capped) == 2 and all("daily cap of 200" in e.note for e in capped)
    with transaction(session):  # the replay caps the same votes
        assert reputation_replay.rebuild(session, reputation_rules.current(session))["changed_users"] == 0
    assert session.scalar(select(func.count()).where(ReputationEntry.user_id == author.id,
                                                     ReputationEntry.note.like("daily cap%"))) == 2
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=post.id)
    assert _rep(session, author) == start + 215
    # retracting a capped vote takes back exactly what it gave (0), a full one its 10
    _vote(session, voters[-1], post, 0)
    _vote(session, voters[0], post, 0)
    assert _rep(session, author) == start + 205
    assert reputation.verify(session) == []


def test_floor_keeps_reputation_at_one_and_reversal_returns_only_what_was_taken(session, users, ask):
    low = make_user(session, "low@example.com", "Low Rep")
    question = ask(low)
    _vote(session, users["member"], question, -1)
    assert _rep(session, low) == 1
    entry = session.scalars(select(ReputationEntry).where(ReputationEntry.user_id == low.id)).one()
    assert (entry.kind, entry.delta, entry.note) == ("post_downvoted", 0, "reputation cannot go below 1")
    _vote(session, users["member"], question, 1)
    assert _rep(session, low) == 11
    assert reputation.verify(session) == []


def test_replay_matches_the_live_path_on_mixed_votes_at_the_cap_and_the_floor(session, users, ask, answer):
    import random

    rng = random.Random(7)
    authors = [make_user(session, f"a{i}@example.com", f"Author {i}") for i in range(4)]
    voters = [make_user(session, f"m{i}@example.com", f"Member {i}", reputation=300) for i in range(24)]
    posts = []
    for author in authors:
        question = ask(author, title=f"Question number {author.id} about invoices and billing")
        posts += [question, answer(users["other"], question), answer(authors[(authors.index(author) + 1) % 4], question)]
    for voter in voters:
        for post in rng.sample(posts, 6):
            _vote(session, voter, post, rng.choice((1, 1, -1)))
    live = {u.id: _rep(session, u) for u in [*authors, *voters, users["other"]]}
    assert any("below 1" in (e.note or "") for e in session.scalars(select(ReputationEntry)))
    with transaction(session):
        report = reputation_replay.rebuild(session, reputation_rules.current(session))
    assert report["changed_users"] == 0
    assert {uid: _rep(session, session.get(User, uid)) for uid in live} == live
    assert reputation.verify(session) == []


def test_deleting_a_question_reverses_its_and_its_answers_reputation(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    _vote(session, users["admin"], post, -1)  # costs the voter 1
    _vote(session, users["moderator"], question, 1)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=post.id)
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    assert {k: _rep(session, u) for k, u in users.items()} == {k: 200 for k in users}
    reversed_kinds = {e.kind for e in session.scalars(select(ReputationEntry).where(ReputationEntry.reverses_id.is_not(None)))}
    assert reversed_kinds == {"post_deleted"}
    with transaction(session):
        report = reputation_replay.rebuild(session, reputation_rules.current(session))
    assert report["changed_users"] == 0


def test_apply_is_idempotent_by_key(session, users):
    grant = reputation.Grant(users["member"].id, 5, "moderator_adjustment", "test:once", source_type="adjustment")
    with transaction(session):
        first = reputation.apply(session, [grant])
    with transaction(session):
        second = reputation.apply(session, [grant])
    assert len(first) == 1 and second == []
    assert _rep(session, users["member"]) == 205


def test_reverse_twice_writes_one_compensation(session, users):
    with transaction(session):
        entry = reputation.apply(session, [reputation.Grant(users["member"].id, 7, "moderator_adjustment", "test:r",
                                                            source_type="adjustment")])[0]
    for _ in range(2):
        with transaction(session):
            reputation.reverse(session, [entry], kind="fraud_reversal")
    assert _rep(session, users["member"]) == 200
    assert reputation.live_entries(session, ReputationEntry.key == "test:r") == []


def test_retried_vote_and_accept_count_once(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    for _ in range(2):
        _vote(session, users["admin"], post, 1)
        with transaction(session):
            qa.accept(session, actor=users["member"], question_id=question.id, answer_id=post.id)
    assert _rep(session, users["other"]) == 200 + 10 + 15
    assert _rep(session, users["member"]) == 202


def test_community_preset_first_answer_bonus_once_a_day_and_free_downvotes(session, users, ask, answer):
    with transaction(session):
        reputation_rules.save(session, actor=None, ruleset=reputation_rules.preset("community"))
    question, second = ask(users["member"]), ask(users["member"], title="How do I export my invoices as CSV files?")
    answer(users["other"], question)
    answer(users["other"], second)
    assert _rep(session, users["other"]) == 205
    post = answer(users["moderator"], question)
    _vote(session, users["other"], post, -1)
    assert _rep(session, users["other"]) == 205  # downvoting costs nothing under "community"
    with transaction(session):
        assert reputation_replay.rebuild(session, reputation_rules.current(session))["changed_users"] == 0


def test_rebuild_under_new_rules_changes_totals_and_records_the_run(session, users, ask, answer):
    from community.models import ReputationRebuild

    question = ask(users["member"])
    _vote(session, users["other"], answer(users["other"], question) and question, 1)
    ruleset = reputation_rules.from_dict({"rules": {"question_upvote": 5}})
    preview = reputation_replay.preview(session, ruleset)
    assert preview["changed_users"] == 1 and preview["moves"][0]["change"] == -5
    assert _rep(session, users["member"]) == 210  # the preview wrote nothing
    with transaction(session):
        reputation_rules.save(session, actor=users["admin"], ruleset=ruleset)
        reputation_replay.rebuild(session, ruleset, actor_id=users["admin"].id, reason="halve question votes")
    assert _rep(session, users["member"]) == 205
    run = session.scalars(select(ReputationRebuild)).one()
    assert (run.reason, run.changed_users, run.rules["rules"]["question_upvote"]) == ("halve question votes", 1, 5)
    assert reputation.verify(session) == []


def test_adjust_is_for_staff_and_validated(session, users):
    import pytest

    from community.services.errors import PermissionDenied, RuleViolation

    with pytest.raises(PermissionDenied):
        reputation.adjust(session, actor=users["member"], user=users["other"], delta=10, reason="because I can")
    with pytest.raises(RuleViolation) as err:
        reputation.adjust(session, actor=users["moderator"], user=users["other"], delta="ten", reason="x")
    assert set(err.value.fields) == {"delta", "reason"}
    with transaction(session):
        entry = reputation.adjust(session, actor=users["moderator"], user=users["other"], delta=-50,
                                  reason="Reputation from a sock puppet")
    assert (entry.kind, entry.delta, entry.note) == ("moderator_adjustment", -50, "Reputation from a sock puppet")
    assert _rep(session, users["other"]) == 150


def test_verify_reports_a_tampered_total(session, users):
    from sqlalchemy import update

    with transaction(session):
        session.execute(update(User).where(User.id == users["other"].id).values(reputation=999))
    assert [(r["user_id"], r["cached"], r["ledger"]) for r in reputation.verify(session)] == [(users["other"].id, 999, 200)]
