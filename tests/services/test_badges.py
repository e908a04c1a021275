"""Badges: the registry's rules, idempotent awards, the backfill, manual badges and view counting."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from community.db import transaction, utcnow
from community.extensions import db
from community.models import Answer, BadgeAward, Post, Question, ReputationEntry, Vote
from community.services import badge_registry as registry
from community.services import badges, qa, reputation, reputation_replay, reputation_rules, views, votes
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from tests.conftest import count_queries, make_user


def held(session, user_id=None) -> set:
    stmt = select(BadgeAward.badge, BadgeAward.award_key).where(BadgeAward.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(BadgeAward.user_id == user_id)
    return set(session.execute(stmt).all())


def set_score(session, post_id: int, score: int) -> None:
    with transaction(session):
        session.execute(update(Post).where(Post.id == post_id).values(score=score))


def vote(session, actor, post, value=1):
    with transaction(session):
        votes.cast(session, actor=actor, post_id=post.id, value=value)


def test_registry_has_the_launch_badges_in_three_tiers():
    assert len(registry.BADGES) >= 25
    assert {b.tier for b in registry.BADGES} == {"bronze", "silver", "gold"}
    assert len(registry.BY_SLUG) == len(registry.BADGES)
    for slug in ("student", "teacher", "scholar", "guru", "great-answer", "notable-question", "necromancer",
                 "fast-responder", "mentor", "streak", "civic-duty", "editor", "tag-gold"):  # fmt: skip
        assert slug in registry.BY_SLUG


def test_first_upvote_earns_supporter_and_the_asker_student(session, users, ask, events):
    q = ask(users["member"])
    vote(session, users["other"], q)
    assert ("supporter", "") in held(session, users["other"].id)
    assert ("student", "") in held(session, users["member"].id)
    awarded = [e for e in events if e["name"] == "badge_awarded"]
    assert {(e["payload"]["user_id"], e["payload"]["badge"]) for e in awarded} == {
        (users["other"].id, "supporter"), (users["member"].id, "student")}
    assert awarded[0]["room"] == f"user:{awarded[0]['payload']['user_id']}"
    assert {"name", "tier"} <= set(awarded[0]["payload"])


def test_first_downvote_earns_critic(session, users, ask):
    q = ask(users["member"])
    vote(session, users["other"], q, -1)
    assert ("critic", "") in held(session, users["other"].id)
    assert ("student", "") not in held(session, users["member"].id)


def test_evaluating_twice_awards_once(session, users, ask):
    q = ask(users["member"])
    vote(session, users["other"], q)
    with transaction(session):
        again = badges.evaluate(session, "vote", user_ids=[users["other"].id, users["member"].id], post_id=q.id)
    assert again == []
    assert session.scalar(select(BadgeAward.id).where(BadgeAward.badge == "supporter").limit(1))
    with transaction(session):
        assert sum(badges.backfill(session).values()) == 0


def test_a_concurrent_duplicate_award_is_skipped_not_an_error(session, users):
    row = {"user_id": users["member"].id, "badge": "editor", "tier": "bronze", "award_key": "", "post_id": None,
           "tag_id": None, "created_at": utcnow()}  # fmt: skip
    with transaction(session):
        assert len(badges._grant(session, [row])) == 1
    with transaction(session):  # the "other transaction" lost the race: the insert does nothing
        assert badges._grant(session, [dict(row)]) == []
    assert held(session, users["member"].id) == {("editor", "")}


def test_nice_answer_is_awarded_per_post_at_score_10(session, users, ask, answer):
    q = ask(users["member"])
    a1, a2 = answer(users["other"], q), answer(users["other"], q, body="A second answer that is long enough to post.")
    set_score(session, a1.id, 9)
    vote(session, users["admin"], a1)  # 9 -> 10
    set_score(session, a2.id, 9)
    vote(session, users["admin"], a2)
    mine = held(session, users["other"].id)
    assert {("nice-answer", str(a1.id)), ("nice-answer", str(a2.id))} <= mine
    assert ("good-answer", str(a1.id)) not in mine


def test_tag_badge_needs_100_answer_score_in_the_tag(session, users, ask, answer):
    q = ask(users["member"], tags=["billing", "invoices"])
    a = answer(users["other"], q)
    set_score(session, a.id, 99)
    vote(session, users["admin"], a)
    mine = held(session, users["other"].id)
    assert {("tag-bronze", "billing"), ("tag-bronze", "invoices")} <= mine
    award = session.scalar(select(BadgeAward).where(BadgeAward.badge == "tag-bronze", BadgeAward.award_key == "billing"))
    assert award.tag_id is not None and award.tier == "bronze"
    assert not {k for k in mine if k[0] == "tag-silver"}


def test_accept_earns_scholar_solution_provider_fast_responder_and_mentor(session, users, ask, answer):
    q = ask(users["member"])
    a = answer(users["other"], q)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=q.id, answer_id=a.id)
    assert ("scholar", "") in held(session, users["member"].id)
    assert {("solution-provider", ""), ("fast-responder", ""), ("mentor", "")} <= held(session, users["other"].id)


def test_accepting_your_own_answer_earns_nothing(session, users, ask, answer):
    q = ask(users["member"])
    a = answer(users["member"], q)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=q.id, answer_id=a.id)
    assert held(session) == set()


def test_late_answer_is_not_a_fast_responder(session, users, ask, answer):
    q = ask(users["member"])
    a = answer(users["other"], q)
    with transaction(session):
        session.execute(update(Post).where(Post.id == a.id).values(created_at=q.created_at + timedelta(hours=2)))
        qa.accept(session, actor=users["member"], question_id=q.id, answer_id=a.id)
    assert ("fast-responder", "") not in held(session, users["other"].id)


def test_necromancer_needs_60_days_and_score_5(session, users, ask, answer):
    q = ask(users["member"])
    a = answer(users["other"], q)
    with transaction(session):
        session.execute(update(Post).where(Post.id == q.id).values(created_at=utcnow() - timedelta(days=61)))
    set_score(session, a.id, 4)
    vote(session, users["admin"], a)
    assert ("necromancer", str(a.id)) in held(session, users["other"].id)


def test_enlightened_is_the_first_answer_accepted_with_score_10(session, users, ask, answer):
    q = ask(users["member"])
    first = answer(users["other"], q)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=q.id, answer_id=first.id)
    assert ("enlightened", str(first.id)) not in held(session, users["other"].id)
    set_score(session, first.id, 9)
    vote(session, users["admin"], first)
    assert ("enlightened", str(first.id)) in held(session, users["other"].id)


def test_streak_needs_answers_on_7_consecutive_days(session, users, ask, answer):
    q = ask(users["member"])
    today = utcnow()
    for day in range(7):
        a = answer(users["other"], q, body=f"Answer number {day} with enough characters in the body.")
        with transaction(session):
            session.execute(update(Post).where(Post.id == a.id).values(created_at=today - timedelta(days=6 - day)))
            badges.evaluate(session, "answer", user_ids=[users["other"].id], post_id=a.id)
        assert (("streak", "") in held(session, users["other"].id)) == (day == 6)


def test_streak_broken_by_a_gap_is_not_awarded_by_backfill(session, users, ask, answer):
    q = ask(users["member"])
    for day in (0, 1, 2, 4, 5, 6, 7):
        a = answer(users["other"], q, body=f"Answer number {day} with enough characters in the body.")
        with transaction(session):
            session.execute(update(Post).where(Post.id == a.id).values(created_at=utcnow() - timedelta(days=20 - day)))
    with transaction(session):
        assert badges.backfill(session, badge="streak") == {"streak": 0}


def test_editor_after_a_first_edit(session, users, ask):
    q = ask(users["member"])
    with transaction(session):
        qa.edit(session, actor=users["member"], post_id=q.id, title=q.title, tags=["billing"],
                body=q.body + " Edited to add the plan name.")  # fmt: skip
    assert ("editor", "") in held(session, users["member"].id)


def test_civic_duty_counts_300_votes(session, users, ask):
    q = ask(users["member"])
    with transaction(session):  # 299 older votes, written directly
        voters_posts = [Question(author_id=users["member"].id, title=f"Q{i}", body="b", body_html="b") for i in range(299)]
        session.add_all(voters_posts)
        session.flush()
        earlier = utcnow() - timedelta(days=2)
        session.add_all([Vote(post_id=p.id, user_id=users["other"].id, value=1, created_at=earlier) for p in voters_posts])
    vote(session, users["other"], q)
    assert ("civic-duty", "") in held(session, users["other"].id)


def test_vote_evaluation_runs_two_queries_when_nothing_is_new(app, session, users, ask):
    q = ask(users["member"])
    vote(session, users["other"], q)
    ids, post_id = [users["other"].id, users["member"].id], q.id
    with count_queries() as statements, transaction(session):
        badges.evaluate(session, "vote", user_ids=ids, post_id=post_id)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 2, statements


def test_backfill_awards_what_evaluation_missed_and_reruns_safely(session, users, ask, answer):
    q = ask(users["member"])
    a = answer(users["other"], q)
    with transaction(session):  # facts written behind the evaluator's back
        session.execute(update(Post).where(Post.id == a.id).values(score=30))
        session.execute(update(Question).where(Question.id == q.id).values(accepted_answer_id=a.id, view_count=2600))
    with transaction(session):
        first = badges.backfill(session)
    assert first["nice-answer"] == first["good-answer"] == 1 and first["great-answer"] == 0
    assert first["popular-question"] == first["notable-question"] == 1
    assert first["scholar"] == first["solution-provider"] == 1
    with transaction(session):
        assert sum(badges.backfill(session).values()) == 0


def test_backfill_of_one_unknown_badge_is_refused(session):
    with pytest.raises(NotFound):
        badges.backfill(session, badge="nope")


def _bonus_rules(session, **rules):
    current = reputation_rules.current(session)
    with transaction(session):
        reputation_rules.save(session, actor=None,
                              ruleset=reputation_rules.from_dict({**current.as_dict(), "rules": {**current.rules, **rules}}))


def test_tier_bonus_goes_through_the_ledger_and_survives_a_rebuild(session, users, ask):
    _bonus_rules(session, badge_bronze=5)
    q = ask(users["member"])
    before = users["other"].reputation
    vote(session, users["other"], q)  # Supporter (bronze) for the voter
    session.refresh(users["other"])
    assert users["other"].reputation == before + 5
    entry = session.scalar(select(ReputationEntry).where(ReputationEntry.kind == "badge_bonus",
                                                         ReputationEntry.user_id == users["other"].id))  # fmt: skip
    award = session.scalar(select(BadgeAward).where(BadgeAward.badge == "supporter"))
    assert entry.key == f"badge:{award.id}" and entry.source_type == "badge" and entry.source_id == award.id
    assert reputation.verify(session) == []
    with transaction(session):
        reputation_replay.rebuild(session, reputation_rules.current(session), reason="test")
    session.refresh(users["other"])
    assert users["other"].reputation == before + 5


# --- manual badges ------------------------------------------------------------------------------


def test_members_cannot_define_manual_badges(session, users):
    with pytest.raises(PermissionDenied):
        badges.define(session, actor=users["member"], name="Beta tester", tier="gold")


def test_manual_badge_fields_are_validated(session, users):
    with pytest.raises(RuleViolation) as exc:
        badges.define(session, actor=users["marketer"], name="x", tier="platinum", description="d" * 501)
    assert set(exc.value.fields) == {"name", "tier", "description"}
    with pytest.raises(RuleViolation) as exc:
        badges.define(session, actor=users["marketer"], name="Student", tier="gold")
    assert "exists" in exc.value.fields["name"]


def test_marketer_awards_and_revokes_with_reasons_and_the_bonus_is_reversed(session, users):
    _bonus_rules(session, badge_gold=50)
    member = users["member"]
    with transaction(session):
        badges.define(session, actor=users["marketer"], name="Beta tester", tier="gold", description="Tried it first")
        award = badges.award(session, actor=users["marketer"], slug="beta-tester", user=member, reason="Joined the beta")
    session.refresh(member)
    assert (award.reason, award.awarded_by_id, award.tier) == ("Joined the beta", users["marketer"].id, "gold")
    assert member.reputation == 250
    with pytest.raises(Conflict):
        badges.award(session, actor=users["admin"], slug="beta-tester", user=member, reason="Joined the beta twice")
    session.rollback()
    with transaction(session):
        badges.revoke(session, actor=users["admin"], award_id=award.id, reason="Left the programme")
    session.refresh(member)
    session.refresh(award)
    assert (award.revoke_reason, award.revoked_by_id) == ("Left the programme", users["admin"].id)
    assert award.revoked_at is not None and member.reputation == 200
    assert session.scalar(select(ReputationEntry.kind).where(ReputationEntry.reverses_id.is_not(None),
                                                             ReputationEntry.user_id == member.id)) == "badge_revoked"
    with transaction(session):  # after a revocation it can be awarded again
        again = badges.award(session, actor=users["marketer"], slug="beta-tester", user=member, reason="Back in beta")
    assert again.award_key == "m2"


def test_automatic_badges_cannot_be_revoked(session, users, ask):
    q = ask(users["member"])
    vote(session, users["other"], q)
    award = session.scalar(select(BadgeAward).where(BadgeAward.badge == "supporter"))
    with pytest.raises(RuleViolation):
        badges.revoke(session, actor=users["admin"], award_id=award.id, reason="Not allowed anyway")


def test_award_needs_a_reason(session, users):
    with transaction(session):
        badges.define(session, actor=users["admin"], name="Speaker", tier="silver")
    with pytest.raises(RuleViolation) as exc:
        badges.award(session, actor=users["admin"], slug="speaker", user=users["member"], reason="hi")
    assert "reason" in exc.value.fields


# --- views ------------------------------------------------------------------------------------


def test_the_same_viewer_counts_once_per_15_minutes():
    now = [1000.0]
    counter = views.ViewCounter(clock=lambda: now[0])
    assert counter.record(7, "u1") and not counter.record(7, "u1")
    assert counter.record(7, "u2") and counter.record(8, "u1")
    now[0] += views.DEDUPE_SECONDS
    assert counter.record(7, "u1")
    assert counter.take() == {7: 3, 8: 1} and counter.pending() == {}


def test_anonymous_viewers_are_keyed_by_a_hash_of_their_address():
    key = views.viewer_key(None, "203.0.113.9")
    assert key != views.viewer_key(None, "203.0.113.10") and "203" not in key
    assert views.viewer_key(5, "203.0.113.9") == "u5"


def test_flush_adds_views_and_awards_popular_question(session, users, ask):
    q = ask(users["member"])
    with transaction(session):
        session.execute(update(Question).where(Question.id == q.id).values(view_count=998))
    counter = views.ViewCounter()
    counter.record(q.id, "a1")
    counter.record(q.id, "a2")
    with views.batch(counter) as counts, transaction(session):
        assert views.apply(session, counts) == 2
    session.refresh(q)
    assert q.view_count == 1000
    assert ("popular-question", str(q.id)) in held(session, users["member"].id)


def test_a_failed_flush_gives_the_counts_back():
    counter = views.ViewCounter()
    counter.record(3, "a")
    with pytest.raises(RuntimeError), views.batch(counter):
        raise RuntimeError("database away")
    assert counter.pending() == {3: 1}


def test_answers_without_votes_earn_no_teacher(session, users, ask, answer):
    q = ask(users["member"])
    answer(users["other"], q)
    assert held(session, users["other"].id) == set()
    assert session.scalar(select(Answer.id)) is not None


def test_new_member_is_shown_their_first_badge_only_once(session, users, ask):
    newbie = make_user(session, "new@example.com", "New Member", reputation=20)
    q = ask(users["member"])
    vote(session, newbie, q)
    vote(session, newbie, q, 0)
    vote(session, newbie, q)
    assert session.scalar(select(BadgeAward.id).where(BadgeAward.user_id == newbie.id).offset(1)) is None


def test_relay_flushes_views_when_due(session, users, ask):
    from community.integrations import relay

    q = ask(users["member"])
    views.counter.take()
    views.record(q.id, "relay-test-viewer")
    assert relay.flush_views_if_due(session, every=0) == 0  # 0: automatic flushing is off
    views.counter.last_flush -= 61
    assert relay.flush_views_if_due(session, every=60) == 1
    session.refresh(q)
    assert q.view_count == 1 and views.counter.pending() == {}


def test_concurrent_evaluations_award_once_on_postgresql(app, session, users, ask):
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent connections (PostgreSQL)")
    q = ask(users["member"])
    with transaction(session):
        session.execute(update(Post).where(Post.id == q.id).values(score=10))
    author_id, post_id = q.author_id, q.id  # read before the threads: the test's session is not theirs
    barrier, errors, results = threading.Barrier(4), [], []

    def worker():
        with app.app_context():
            try:
                with transaction():
                    barrier.wait()
                    results.append(len(badges.evaluate(db.session, "vote", user_ids=[author_id], post_id=post_id)))
            except Exception as exc:  # noqa: BLE001 (any failure fails the test below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results)[-1] == 2 and sum(results) == 2  # Student and Nice Question, once
    assert len(held(session, author_id)) == 2
