"""Leaderboards and tag experts: read models over the reputation caches.

All-time, site-wide ranks come from ``users.reputation`` (index ``ix_users_reputation``); every
other board (a period, a category, a tag) reads ``reputation_totals`` through its
``(scope, period, total)`` index. A page is a fixed number of queries whatever its size: the
scope lookup, the staff and deactivated members (few; their points are subtracted rather than
every counted row joined to ``users``), the page of rows, and one statement of COUNTs over the
index (the board's size, the rank of the page's first row, the viewer's rank), never loading the
rows above anyone. Equal points share a rank (1, 2, 2, 4) and list by user id.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, or_, select

from community.db import utcnow
from community.models import STAFF_ROLES, Category, Post, ReputationTotal, Tag, User, question_tags
from community.services import reputation, reputation_rules
from community.services.errors import NotFound, RuleViolation

PERIODS = ("all", "week", "month", "quarter", "year")
PERIOD_LABELS = {"all": "All time", "week": "This week", "month": "This month", "quarter": "This quarter",
                 "year": "This year"}  # fmt: skip
MAX_PER_PAGE = 100


def period_key(period: str, now: datetime | None = None) -> str:
    """The ``reputation_totals.period`` value of a named period at ``now`` ("all" stays "all")."""
    if period == "all":
        return "all"
    week, month, quarter, year = reputation.periods(now or utcnow())
    return {"week": week, "month": month, "quarter": quarter, "year": year}[period]


def _scope(session, *, category: str | None, tag: str | None) -> str:
    """"all", "c<id>" or "t<id>"; an unknown category or tag is NotFound."""
    if category and tag:
        raise RuleViolation("Choose a category or a tag, not both.", fields={"tag": "Leave this empty to filter by category."})
    if category:
        found = session.scalar(select(Category.id).where(Category.slug == category))
        if found is None:
            raise NotFound("No such category.")
        return f"c{found}"
    if tag:
        found = session.scalar(select(Tag.id).where(Tag.name == tag))
        if found is None:
            raise NotFound("No such tag.")
        return f"t{found}"
    return "all"


def _user_filters(include_staff: bool) -> list:
    where = [User.is_active_account.is_(True)]
    if not include_staff:
        where.append(User.role.not_in(STAFF_ROLES))
    return where


def _excluded(include_staff: bool):
    excluded = User.is_active_account.is_(False)
    return excluded if include_staff else or_(excluded, User.role.in_(STAFF_ROLES))


def _counts_as(viewer, include_staff: bool) -> bool:
    return bool(viewer and viewer.is_active_account and (include_staff or viewer.role not in STAFF_ROLES))


def _level(reputation_value: int, levels: list[dict]) -> dict:
    level, _next = reputation_rules.level_for(reputation_value, levels)
    return {"name": level["name"], "min": level["min"]}


class _Source:
    """Where a board's points live: ``users.reputation`` (all time, site-wide) or a slice of
    ``reputation_totals``. Counts run on the bare index; members who do not belong on the board
    (staff, deactivated) are few, so they are fetched once and subtracted."""

    def __init__(self, scope: str, key: str):
        self.users, self.scope = scope == "all" and key == "all", scope
        if self.users:
            self.table, self.points, self.user_id, self.on_board = User, User.reputation, User.id, []
        else:
            total = ReputationTotal
            self.table, self.points, self.user_id = total, total.total, total.user_id
            self.slice = [total.scope == scope, total.period == key]
            self.on_board = [*self.slice, total.total > 0]

    def count(self, *where):
        return select(func.count()).select_from(self.table).where(*self.on_board, *where).scalar_subquery()

    def rows(self, where: list):
        if self.users:
            return select(User.id, User.display_name, User.reputation, User.reputation).where(*where)
        return (select(User.id, User.display_name, User.reputation, self.points)
                .join(User, User.id == self.user_id).where(*self.on_board, *where))  # fmt: skip

    def excluded_points(self, session, include_staff: bool) -> list[int]:
        """The points of the staff and deactivated members who are on this board."""
        if self.users:
            return list(session.scalars(select(User.reputation).where(_excluded(include_staff))))
        # driven from the few off-board members into the primary key (scope, period, user_id)
        off_board = select(User.id).where(_excluded(include_staff))
        points = session.scalars(select(self.points).where(*self.slice, self.user_id.in_(off_board)))
        return [p for p in points if p > 0]  # filtered here: in SQL it would steer the planner off the primary key

    def points_of(self, user_id: int):
        where = [] if self.users else self.slice
        return select(self.points).where(*where, self.user_id == user_id).scalar_subquery()


def _ranks(rows, start: int, first_rank: int) -> list[int]:
    """Competition ranks (1, 2, 2, 4) of a page of rows ordered by points."""
    ranks, previous = [], None
    for i, row in enumerate(rows):
        points = row[3]
        ranks.append(first_rank if i == 0 else ranks[-1] if points == previous else start + i + 1)
        previous = points
    return ranks


def board(session, *, period: str = "all", category: str | None = None, tag: str | None = None,
          include_staff: bool = False, page: int = 1, per_page: int = 50, viewer=None,
          now: datetime | None = None) -> dict:  # fmt: skip
    """A page of the leaderboard for a period and an optional category or tag scope.

    ``points`` is what each member earned in that period and scope (their reputation for the
    all-time, site-wide board); equal points share a rank and list by user id. Staff are left out
    unless ``include_staff``; deactivated accounts always. At most five queries (scope, excluded
    members, the page, the counts and the viewer's rank in one statement, the ruleset). Raises
    RuleViolation for an unknown period, NotFound for an unknown category or tag.
    """
    if period not in PERIODS:
        raise RuleViolation(f"Choose a period: {', '.join(PERIODS)}.", fields={"period": "Unknown period."})
    page, per_page = max(1, int(page or 1)), min(MAX_PER_PAGE, max(1, int(per_page or 50)))
    key = period_key(period, now)
    source = _Source(_scope(session, category=category, tag=tag), key)
    excluded = source.excluded_points(session, include_staff)
    start = (page - 1) * per_page
    ordered = source.rows(_user_filters(include_staff)).order_by(source.points.desc(), source.user_id)
    rows = session.execute(ordered.limit(per_page).offset(start)).all()
    counted = _counts_as(viewer, include_staff)
    mine = source.points_of(viewer.id) if counted else literal(None)
    first = rows[0][3] if rows else None
    total, first_above, my_points, my_above = session.execute(select(
        source.count(), source.count(source.points > first) if rows else literal(0),
        mine, source.count(source.points > mine) if counted else literal(0),
    )).one()  # fmt: skip

    def rank_of(points: int, above: int) -> int:
        return 1 + above - sum(1 for p in excluded if p > points)

    levels = reputation_rules.current(session).levels
    ranks = _ranks(rows, start, rank_of(first, first_above) if rows else 0)
    items = [{"rank": rank, "user_id": uid, "name": name, "reputation": rep, "points": pts,
              "level": _level(rep, levels)} for rank, (uid, name, rep, pts) in zip(ranks, rows, strict=True)]  # fmt: skip
    on_board = my_points is not None and (source.users or my_points > 0)
    viewer_rank = {"rank": rank_of(my_points, my_above), "points": my_points} if counted and on_board else None
    total -= len(excluded)
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page)), "period": period, "period_key": key,
            "scope": "all" if source.users else source.scope, "viewer_rank": viewer_rank}  # fmt: skip


def tag_experts(session, tag_id: int, *, days: int = 180, limit: int = 10, now: datetime | None = None) -> list[dict]:
    """The top answerers of a tag over the last ``days``: by the summed score of their live answers
    in the tag, then accepted answers, then answer count (one grouped query). Answers whose
    score and acceptance add nothing do not make anyone an expert."""
    posts = Post.__table__
    a, q = posts.alias("a"), posts.alias("q")
    score = func.sum(a.c.score)
    accepted = func.sum(case((q.c.accepted_answer_id == a.c.id, 1), else_=0))
    answers = func.count(a.c.id)
    cutoff = (now or utcnow()) - timedelta(days=days)
    rows = session.execute(
        select(a.c.author_id, User.display_name, User.reputation, score, accepted, answers)
        .select_from(a)
        .join(question_tags, question_tags.c.question_id == a.c.question_id)
        .join(q, q.c.id == a.c.question_id)
        .join(User, User.id == a.c.author_id)
        .where(question_tags.c.tag_id == tag_id, a.c.type == "answer", a.c.deleted_at.is_(None),
               q.c.deleted_at.is_(None), a.c.created_at >= cutoff, User.is_active_account.is_(True))
        .group_by(a.c.author_id, User.display_name, User.reputation)
        .having(or_(score > 0, accepted > 0))
        .order_by(score.desc(), accepted.desc(), answers.desc(), a.c.author_id)
        .limit(limit)
    )  # fmt: skip
    return [{"user_id": uid, "name": name, "reputation": rep, "score": int(s or 0), "accepted": int(acc or 0),
             "answers": int(n)} for uid, name, rep, s, acc, n in rows]  # fmt: skip
