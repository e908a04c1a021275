"""The demo seed: the promised volume, consistent counters, realistic time, determinism, idempotency.

The full demo is seeded once per module into its own database (a temporary SQLite file, or a private
PostgreSQL schema when TEST_DATABASE_URL is set), so the per-test table cleaning does not touch it.
"""

import os
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import aliased

import config
from community import create_app, demo
from community.db import transaction, utcnow
from community.extensions import db
from community.models import (
    Answer,
    BadgeAward,
    Category,
    Comment,
    OutboxMessage,
    Post,
    Question,
    ReputationEntry,
    ReputationTotal,
    User,
    Vote,
)
from community.services import accounts, counters, privileges, reputation, reputation_rules

# one full seed (~30 s of CPU on the 2-vCPU CI box, more under load or on PostgreSQL) runs in the first test's setup
pytestmark = pytest.mark.timeout(600)


def _app(url: str, schema: str | None = None):
    cfg = config.TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = url
    if schema:
        cfg.SQLALCHEMY_ENGINE_OPTIONS = {**cfg.SQLALCHEMY_ENGINE_OPTIONS,
                                         "connect_args": {"options": f"-csearch_path={schema}"}}  # fmt: skip
    app = create_app(cfg)
    with app.app_context():
        db.create_all()
    return app


def _dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """``(app, summary, seconds)`` for one full demo seed."""
    url, schema = os.environ.get("TEST_DATABASE_URL", ""), None
    if url.startswith("postgresql"):
        schema = f"demo_{os.getpid()}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    app = _app(url, schema)
    with app.app_context():
        started = time.perf_counter()
        with transaction():
            summary = demo.seed(db.session)
        seconds = time.perf_counter() - started
    yield app, summary, seconds
    _dispose(app)
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def demo_session(seeded):
    app = seeded[0]
    with app.app_context():
        yield db.session
        db.session.rollback()


def _count(session, stmt):
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


def test_seed_creates_four_categories_with_one_default(demo_session):
    cats = demo_session.scalars(select(Category).order_by(Category.position)).all()
    assert len(cats) == 4
    assert [c.slug for c in cats if c.is_default] == ["billing"]
    assert all(c.description for c in cats)


def test_seed_creates_forty_users_with_the_demo_roles(demo_session):
    roles = dict(demo_session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles == {"admin": 1, "moderator": 2, "marketer": 1, "member": 36}
    assert demo_session.scalars(select(User.role).where(User.email == "admin@example.com")).one() == "admin"


def test_every_demo_user_signs_in_with_the_demo_password(demo_session):
    member = demo_session.scalars(select(User).where(User.role == "member").order_by(User.id)).first()
    for email in ("admin@example.com", member.email):
        assert accounts.authenticate(demo_session, email=email, password=demo.DEMO_PASSWORD).email == email


def test_seed_creates_300_questions_each_with_1_to_5_tags(demo_session):
    questions = demo_session.scalars(select(Question)).all()
    assert len(questions) == 300
    assert all(1 <= len(q.tags) <= 5 for q in questions)
    assert len({q.title for q in questions}) == 300


def test_some_questions_stay_unanswered(demo_session):
    unanswered = demo_session.scalar(select(func.count(Question.id)).where(Question.answer_count == 0))
    assert 10 <= unanswered <= 60


def test_about_sixty_percent_of_answered_questions_have_an_accepted_answer(demo_session):
    answered = demo_session.scalar(select(func.count(Question.id)).where(Question.answer_count > 0))
    accepted = demo_session.scalar(select(func.count(Question.id)).where(Question.accepted_answer_id.is_not(None)))
    assert 0.45 <= accepted / answered <= 0.75


def test_questions_get_zero_to_six_answers(demo_session):
    assert demo_session.scalar(select(func.max(Question.answer_count))) <= 6
    assert demo_session.scalar(select(func.count(Answer.id))) >= 300


def test_seed_adds_comments_and_many_votes(demo_session):
    assert demo_session.scalar(select(func.count(Comment.id))) >= 300
    assert demo_session.scalar(select(func.count(Vote.id))) >= 1000


def test_nobody_votes_on_their_own_post(demo_session):
    own = select(Vote.id).join(Post, Post.id == Vote.post_id).where(Vote.user_id == Post.author_id)
    assert _count(demo_session, own) == 0


def test_cached_counters_match_the_rows(demo_session):
    assert set(counters.recount(demo_session).values()) == {0}


def test_posts_are_spread_over_the_last_180_days(demo_session):
    oldest, newest = demo_session.execute(select(func.min(Post.created_at), func.max(Post.created_at))).one()
    now = utcnow()
    assert now - timedelta(days=181) <= oldest < now - timedelta(days=150)
    assert newest <= now


def test_activity_never_precedes_creation(demo_session):
    assert _count(demo_session, select(Post.id).where(Post.last_activity_at < Post.created_at)) == 0


def test_answers_comments_and_votes_come_after_their_post(demo_session):
    q = aliased(Question)
    early_answers = select(Answer.id).join(q, q.id == Answer.question_id).where(Answer.created_at < q.created_at)
    early_comments = select(Comment.id).join(Post, Post.id == Comment.post_id).where(Comment.created_at < Post.created_at)
    early_votes = select(Vote.id).join(Post, Post.id == Vote.post_id).where(Vote.created_at < Post.created_at)
    assert [_count(demo_session, s) for s in (early_answers, early_comments, early_votes)] == [0, 0, 0]


def test_users_joined_before_they_posted(demo_session):
    early = select(Post.id).join(User, User.id == Post.author_id).where(Post.created_at < User.created_at)
    assert _count(demo_session, early) == 0


def test_seed_sends_no_notifications_about_its_past(demo_session):
    pending = select(OutboxMessage.id).where(OutboxMessage.status == "pending",
                                             OutboxMessage.topic.in_(demo.QUIET_TOPICS))  # fmt: skip
    assert _count(demo_session, pending) == 0


def test_the_ledger_explains_every_cached_reputation(demo_session):
    assert reputation.verify(demo_session) == []


def test_flask_reputation_verify_passes_after_the_seed(seeded):
    app = seeded[0]
    with app.app_context():  # `flask` pushes one for every command; the test runner does not
        result = app.test_cli_runner().invoke(args=["reputation", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_the_ledger_is_dated_by_the_back_dated_history(demo_session):
    oldest = demo_session.scalar(select(func.min(ReputationEntry.created_at)))
    assert oldest < utcnow() - timedelta(days=150)
    vote_entry_at = select(ReputationEntry.id).join(Vote, Vote.id == ReputationEntry.source_id).where(
        ReputationEntry.source_type == "vote", ReputationEntry.created_at != Vote.created_at)
    assert _count(demo_session, vote_entry_at) == 0


def test_accepted_answers_carry_their_back_dated_accept_time(demo_session):
    a = aliased(Answer)
    rows = demo_session.execute(select(Question.accepted_at, a.created_at)
                                .join(a, a.id == Question.accepted_answer_id)).all()  # fmt: skip
    assert rows and all(answered <= accepted <= utcnow() for accepted, answered in rows)
    accept_entries = (select(ReputationEntry.id).join(Question, Question.id == ReputationEntry.source_id)
                      .where(ReputationEntry.kind == "answer_accepted",
                             ReputationEntry.created_at == Question.accepted_at))  # fmt: skip
    assert _count(demo_session, accept_entries) == len(rows)  # nobody answers their own question in the demo


def test_reputation_spreads_over_the_levels(demo_session):
    levels = reputation_rules.current(demo_session).levels
    reached = Counter(reputation_rules.level_for(rep, levels)[0]["name"]
                      for rep in demo_session.scalars(select(User.reputation)))  # fmt: skip
    assert {"Contributor", "Advocate", "Champion"} <= set(reached)
    top = demo_session.scalar(select(func.max(User.reputation)))
    assert 2500 <= top <= 10_000


def test_this_weeks_and_this_months_leaderboards_have_people(demo_session):
    week, month, *_ = reputation.periods(utcnow())
    for period in (week, month):
        people = select(ReputationTotal.user_id).where(ReputationTotal.scope == "all", ReputationTotal.period == period,
                                                        ReputationTotal.total > 0)  # fmt: skip
        assert _count(demo_session, people) >= 3, period


def test_the_seed_awards_badges_from_the_history(demo_session):
    kinds = demo_session.scalars(select(BadgeAward.badge).distinct()).all()
    assert len(kinds) >= 8, kinds


def test_badges_follow_the_back_dated_history(demo_session):
    """Fast Responder (an accepted answer within an hour) is judged by the back-dated times, not by
    the seed's "everything happened just now"."""
    q = aliased(Question)
    fast = {author for author, answered, asked in demo_session.execute(
        select(Answer.author_id, Answer.created_at, q.created_at).join(q, q.accepted_answer_id == Answer.id))
        if answered - asked <= timedelta(hours=1)}  # fmt: skip
    holders = set(demo_session.scalars(select(BadgeAward.user_id).where(BadgeAward.badge == "fast-responder")))
    assert holders == fast
    assert 0 < len(holders) < 30


def test_the_marketer_awards_one_manual_badge_with_a_reason(demo_session):
    marketer = demo_session.scalars(select(User.id).where(User.role == "marketer")).one()
    manual = demo_session.scalars(select(BadgeAward).where(BadgeAward.awarded_by_id == marketer)).all()
    assert [(a.badge, a.reason) for a in manual] == [("customer-hero", demo.text.MANUAL_BADGE["reason"])]


def test_the_real_privileges_apply_after_the_seed(seeded, demo_session):
    newcomer = demo_session.scalars(select(User).where(User.role == "member").order_by(User.reputation)).first()
    assert privileges.threshold(demo_session, "vote_down") == 125
    assert privileges.has(demo_session, newcomer, "vote_down") is (newcomer.reputation >= 125)


def test_summary_names_the_admin_login(seeded):
    assert "Log in as admin@example.com / community-demo" in seeded[1]
    assert "300 questions" in seeded[1]


def test_second_seed_changes_nothing(seeded, demo_session):
    with transaction(demo_session):
        result = demo.seed(demo_session)
    assert "already present" in result
    assert demo_session.scalar(select(func.count(Question.id))) == 300


# --- small seeds in their own SQLite files ------------------------------------------------------


@pytest.fixture
def small_app(tmp_path, monkeypatch):
    """``small_app(name)``: a fresh SQLite app; demos seeded into it have 12 questions."""
    monkeypatch.setattr(demo, "QUESTION_COUNT", 12)
    apps = []

    def make(name):
        apps.append(_app(f"sqlite:///{tmp_path / name}.db"))
        return apps[-1]

    yield make
    for app in apps:
        _dispose(app)


def _content(app):
    with app.app_context():
        with transaction():
            demo.seed(db.session)
        posts = db.session.execute(select(Post.type, Post.body).order_by(Post.id)).all()
        titles = db.session.scalars(select(Question.title).order_by(Question.id)).all()
        votes = db.session.scalar(select(func.count(Vote.id)))
        return titles, [tuple(p) for p in posts], votes


def test_same_seed_gives_the_same_content_in_two_databases(small_app):
    assert _content(small_app("one")) == _content(small_app("two"))


def test_if_empty_leaves_a_database_with_users_alone(small_app):
    app = small_app("used")
    with app.app_context():
        with transaction():
            accounts.register(db.session, email="someone@example.com", display_name="Some One",
                              password="long enough password")  # fmt: skip
        with transaction():
            result = demo.seed(db.session, if_empty=True)
        assert "not seeded" in result
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_relaxed_rules_end_with_the_seed_in_the_same_transaction(small_app):
    app = small_app("rules")
    with app.app_context():
        with transaction():
            demo.seed(db.session)
            assert privileges.threshold(db.session, "comment") == 50
            assert reputation_rules.current(db.session)["votes_per_day"] == 40


def test_relaxed_rules_end_when_the_seed_fails(small_app, monkeypatch):
    app = small_app("failing")

    def boom(self):
        raise RuntimeError("seed failed")

    monkeypatch.setattr(demo._Builder, "run", boom)
    with app.app_context():
        with transaction():
            with pytest.raises(RuntimeError):
                demo.seed(db.session)
            assert privileges.threshold(db.session, "vote_down") == 125  # still inside the caller's transaction


def test_if_empty_seeds_an_empty_database(small_app):
    app = small_app("empty")
    with app.app_context():
        with transaction():
            demo.seed(db.session, if_empty=True)
        assert db.session.scalar(select(func.count(Question.id))) == 12
