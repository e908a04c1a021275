"""The advocate snapshot: what the CRM learns about a member, built for many members in a few queries.

Advocacy score (last 90 days, docs/crm.md):
    10 x accepted answers + 1 x upvotes received + 3 x answers to newcomers + 5 x challenges completed
A newcomer's question is one asked within 30 days of its author joining. Challenges arrive with
the rewards program; until then they count 0.

Segment, first rule that matches:
    champion    score >= 100, or level Champion or above
    advocate    score >= 30
    at-risk     score < 10 now, but the 90 days before scored >= 30 (an advocate going quiet)
    contributor score >= 1, or any question or answer in the last 90 days
    lurker      everyone else
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from community.db import utcnow
from community.db_functions import epoch_seconds
from community.models import Answer, BadgeAward, ManualBadge, Post, Question, Tag, User, Vote, question_tags
from community.services import badge_registry, reputation_rules

WINDOW_DAYS = 90
NEWCOMER_DAYS = 30
WEIGHTS = {"accepted": 10, "upvotes": 1, "newcomer_answers": 3, "challenges": 5}
SEGMENTS = ("champion", "advocate", "at-risk", "contributor", "lurker")
TOP_TAGS = 3
CHAMPION_LEVEL = 2500

FIELDS = (
    "community_user_id", "profile_url", "display_name", "email", "joined_at", "last_active_at",
    "reputation", "level", "badges_gold", "badges_silver", "badges_bronze", "badges",
    "questions", "answers", "accepted_answers", "helpful_votes", "advocacy_score", "segment",
    "top_tags", "opt_out",
)  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def score(accepted: int, upvotes: int, newcomer_answers: int, challenges: int = 0) -> int:
    return (WEIGHTS["accepted"] * accepted + WEIGHTS["upvotes"] * upvotes
            + WEIGHTS["newcomer_answers"] * newcomer_answers + WEIGHTS["challenges"] * challenges)  # fmt: skip


def segment(*, now_score: int, before_score: int, reputation: int, active: bool, champion_min: int) -> str:
    if now_score >= 100 or reputation >= champion_min:
        return "champion"
    if now_score >= 30:
        return "advocate"
    if now_score < 10 and before_score >= 30:
        return "at-risk"
    if now_score >= 1 or active:
        return "contributor"
    return "lurker"


def _windowed(column, since: datetime, before: datetime):
    """(count in the last window, count in the window before it) as two SUM(CASE ...) columns."""
    return (func.sum(case((column >= since, 1), else_=0)),
            func.sum(case((and_(column >= before, column < since), 1), else_=0)))  # fmt: skip


def _activity(session, ids, since, before) -> dict[int, dict[str, list[int]]]:
    """Per member: [now, before] counts of accepted answers, upvotes, newcomer answers, posts."""
    out: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    q = aliased(Question)
    rows = session.execute(
        select(Answer.author_id, *_windowed(q.accepted_at, since, before))
        .join(q, and_(q.id == Answer.question_id, q.accepted_answer_id == Answer.id))  # by primary key
        .where(Answer.author_id.in_(ids), Answer.deleted_at.is_(None), q.accepted_at >= before)
        .group_by(Answer.author_id))
    for uid, now_n, before_n in rows:
        out[uid]["accepted"] = [now_n or 0, before_n or 0]
    rows = session.execute(
        select(Post.author_id, *_windowed(Vote.created_at, since, before))
        .join(Vote, Vote.post_id == Post.id)
        .where(Post.author_id.in_(ids), Vote.value > 0, Vote.created_at >= before, Post.deleted_at.is_(None))
        .group_by(Post.author_id))
    for uid, now_n, before_n in rows:
        out[uid]["upvotes"] = [now_n or 0, before_n or 0]
    asker = aliased(User)
    newcomer = epoch_seconds(q.created_at) - epoch_seconds(asker.created_at) <= NEWCOMER_DAYS * 86400
    rows = session.execute(
        select(Answer.author_id, *_windowed(Answer.created_at, since, before),
               func.sum(case((and_(Answer.created_at >= since, newcomer), 1), else_=0)),
               func.sum(case((and_(Answer.created_at < since, newcomer), 1), else_=0)))
        .join(q, q.id == Answer.question_id).join(asker, asker.id == q.author_id)
        .where(Answer.author_id.in_(ids), Answer.deleted_at.is_(None), Answer.created_at >= before,
               q.author_id != Answer.author_id)
        .group_by(Answer.author_id))  # fmt: skip
    for uid, _now_n, _before_n, new_now, new_before in rows:
        out[uid]["newcomer_answers"] = [new_now or 0, new_before or 0]
    rows = session.execute(
        select(Post.author_id, func.count()).where(Post.author_id.in_(ids), Post.created_at >= since,
                                                   Post.deleted_at.is_(None)).group_by(Post.author_id))
    for uid, n in rows:
        out[uid]["posts"] = [n, 0]
    return out


def _badges(session, ids) -> dict[int, list[tuple[str, str]]]:
    rows = session.execute(select(BadgeAward.user_id, BadgeAward.badge, BadgeAward.tier).where(
        BadgeAward.user_id.in_(ids), BadgeAward.revoked_at.is_(None)).order_by(BadgeAward.id)).all()
    manual = {}
    unknown = {slug for _, slug, _ in rows if badge_registry.get(slug) is None}
    if unknown:
        manual = dict(session.execute(select(ManualBadge.slug, ManualBadge.name)
                                      .where(ManualBadge.slug.in_(unknown))).all())
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for uid, slug, tier in rows:
        known = badge_registry.get(slug)
        out[uid].append((known.name if known else manual.get(slug, slug), tier))
    return out


def _helpful_votes(session, ids) -> dict[int, int]:
    return dict(session.execute(
        select(Post.author_id, func.count()).join(Vote, Vote.post_id == Post.id)
        .where(Post.author_id.in_(ids), Vote.value > 0, Post.deleted_at.is_(None)).group_by(Post.author_id)
    ).all())  # fmt: skip


def _top_tags(session, ids) -> dict[int, list[str]]:
    rows = session.execute(
        select(Answer.author_id, Tag.name, func.count(), func.sum(Answer.score))
        .join(question_tags, question_tags.c.question_id == Answer.question_id)
        .join(Tag, Tag.id == question_tags.c.tag_id)
        .where(Answer.author_id.in_(ids), Answer.deleted_at.is_(None))
        .group_by(Answer.author_id, Tag.name))
    ranked: dict[int, Counter] = defaultdict(Counter)
    for uid, name, n, total in rows:
        ranked[uid][name] = n * 1000 + (total or 0)
    return {uid: [name for name, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS]]
            for uid, c in ranked.items()}  # fmt: skip


def build_many(session, user_ids, *, base_url: str = "", now: datetime | None = None) -> dict[int, dict]:
    """The snapshot of each member (missing ids are left out), in a constant number of queries."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    now = now or utcnow()
    since, before = now - timedelta(days=WINDOW_DAYS), now - timedelta(days=2 * WINDOW_DAYS)
    users = session.execute(select(
        User.id, User.email, User.display_name, User.created_at, User.last_seen_at, User.reputation,
        User.question_count, User.answer_count, User.accepted_count, User.crm_sharing,
    ).where(User.id.in_(ids))).all()  # fmt: skip
    levels = reputation_rules.current(session).levels
    champion_min = next((lv["min"] for lv in levels if lv["name"] == "Champion"), CHAMPION_LEVEL)
    activity = _activity(session, ids, since, before)
    badges = _badges(session, ids)
    helpful = _helpful_votes(session, ids)
    tags = _top_tags(session, ids)
    root = base_url.rstrip("/")
    snapshots = {}
    for u in users:
        act = activity.get(u.id, {})
        counts = {name: act.get(name, [0, 0]) for name in ("accepted", "upvotes", "newcomer_answers", "posts")}
        now_score = score(counts["accepted"][0], counts["upvotes"][0], counts["newcomer_answers"][0])
        before_score = score(counts["accepted"][1], counts["upvotes"][1], counts["newcomer_answers"][1])
        tiers = Counter(tier for _, tier in badges.get(u.id, []))
        snapshots[u.id] = {
            "community_user_id": str(u.id),
            "profile_url": f"{root}/users/{u.id}",
            "display_name": u.display_name,
            "email": u.email,
            "joined_at": _iso(u.created_at),
            "last_active_at": u.last_seen_at.date().isoformat() if u.last_seen_at else None,
            "reputation": u.reputation,
            "level": reputation_rules.level_for(u.reputation, levels)[0]["name"],
            "badges_gold": tiers.get("gold", 0),
            "badges_silver": tiers.get("silver", 0),
            "badges_bronze": tiers.get("bronze", 0),
            "badges": sorted({name for name, _ in badges.get(u.id, [])}),
            "questions": u.question_count,
            "answers": u.answer_count,
            "accepted_answers": u.accepted_count,
            "helpful_votes": helpful.get(u.id, 0),
            "advocacy_score": now_score,
            "segment": segment(now_score=now_score, before_score=before_score, reputation=u.reputation,
                               active=counts["posts"][0] > 0, champion_min=champion_min),
            "top_tags": tags.get(u.id, []),
            "opt_out": not u.crm_sharing,
        }
    return snapshots


def build(session, user_id: int, *, base_url: str = "") -> dict | None:
    return build_many(session, [user_id], base_url=base_url).get(user_id)
