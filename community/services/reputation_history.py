"""A member's reputation history: ledger entries grouped by day (UTC), with their sources, and the
points of a chart of the total over time.

One page is a fixed number of queries: the daily sums of the whole history (they give the days,
the pagination and the chart), the entries of the page's days, the posts they point at, and the
entries that reverse them.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from community.models import Post, ReputationEntry, User
from community.services import reputation
from community.services.errors import NotFound
from community.services.queries import Page

DAYS_PER_PAGE = 20
KIND_LABELS = {
    "answer_upvoted": "Answer upvoted", "question_upvoted": "Question upvoted",
    "post_downvoted": "Post downvoted", "downvote_cast": "Downvoted an answer",
    "answer_accepted": "Answer accepted", "accepted_an_answer": "Accepted an answer",
    "badge_bonus": "Badge earned", "moderator_adjustment": "Adjusted by a moderator",
    "suggested_edit_approved": "Suggested edit approved", "first_answer_bonus": "First answer of the day",
    "vote_retracted": "Vote retracted", "unaccepted": "Accept withdrawn", "post_deleted": "Post deleted",
    "fraud_reversal": "Reversed: serial voting", "badge_revoked": "Badge revoked",
}  # fmt: skip


@dataclass
class Day:
    day: date
    change: int  # the sum of the day's entries
    balance: int  # reputation at the end of the day
    entries: list[dict] = field(default_factory=list)


def _as_date(value) -> date:
    """``date(created_at)`` is a string on SQLite and a date on PostgreSQL."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def daily_totals(session, user_id: int) -> list[tuple[date, int, int]]:
    """(day, change, balance at the end of the day) for every day with entries, oldest first."""
    day = func.date(ReputationEntry.created_at)
    rows = session.execute(
        select(day, func.sum(ReputationEntry.delta)).where(ReputationEntry.user_id == user_id)
        .group_by(day).order_by(day)
    ).all()  # fmt: skip
    balance, out = reputation.BASE, []
    for value, change in rows:
        balance += int(change or 0)
        out.append((_as_date(value), int(change or 0), balance))
    return out


def _posts(session, post_ids: set) -> dict[int, dict]:
    """post id -> {id, type, question_id, title, deleted} (answers carry their question's title)."""
    if not post_ids:
        return {}
    posts = Post.__table__
    question = posts.alias("question")
    rows = session.execute(
        select(posts.c.id, posts.c.type, func.coalesce(posts.c.question_id, posts.c.id),
               func.coalesce(posts.c.title, question.c.title), posts.c.deleted_at)
        .outerjoin(question, question.c.id == posts.c.question_id)
        .where(posts.c.id.in_(post_ids))
    )  # fmt: skip
    return {pid: {"id": pid, "type": ptype, "question_id": qid, "title": title or "", "deleted": deleted is not None}
            for pid, ptype, qid, title, deleted in rows}  # fmt: skip


def _present(entry: ReputationEntry, posts: dict, reversed_by: dict) -> dict:
    return {
        "id": entry.id, "delta": entry.delta, "kind": entry.kind, "label": KIND_LABELS.get(entry.kind, entry.kind),
        "source_type": entry.source_type, "source_id": entry.source_id, "post_id": entry.post_id,
        "post": posts.get(entry.post_id), "reverses_id": entry.reverses_id, "reversed_by": reversed_by.get(entry.id),
        "note": entry.note, "created_at": entry.created_at,
    }  # fmt: skip


def _entries(session, user_id: int, first: date, last: date) -> list[dict]:
    """The entries of days ``first``..``last`` (inclusive), newest first, with posts and reversals."""
    start, end = datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())
    entries = list(session.scalars(
        select(ReputationEntry)
        .where(ReputationEntry.user_id == user_id, ReputationEntry.created_at >= start,
               ReputationEntry.created_at < end)
        .order_by(ReputationEntry.created_at.desc(), ReputationEntry.id.desc())
    ))  # fmt: skip
    if not entries:
        return []
    posts = _posts(session, {e.post_id for e in entries if e.post_id})
    reversed_by = dict(session.execute(
        select(ReputationEntry.reverses_id, ReputationEntry.id)
        .where(ReputationEntry.reverses_id.in_([e.id for e in entries]))
    ).all())  # fmt: skip
    return [_present(e, posts, reversed_by) for e in entries]


def _page_of_entry(session, user_id: int, entry_id: int, days_newest_first: list, per_page: int) -> int | None:
    created = session.scalar(select(ReputationEntry.created_at)
                             .where(ReputationEntry.id == entry_id, ReputationEntry.user_id == user_id))  # fmt: skip
    if created is None:
        return None
    newer = sum(1 for d in days_newest_first if d > created.date())
    return newer // per_page + 1


def history(session, *, user_id: int, page: int = 1, per_page: int = DAYS_PER_PAGE,
            entry_id: int | None = None) -> dict:  # fmt: skip
    """A page of days (newest first) with their entries, and the chart points of the whole history.

    ``entry_id`` picks the page holding that entry (links to a reversed entry use it). Raises
    NotFound for an unknown user.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    daily = daily_totals(session, user_id)
    newest_first = list(reversed(daily))
    pages = max(1, math.ceil(len(daily) / per_page))
    if entry_id is not None:
        page = _page_of_entry(session, user_id, entry_id, [d for d, _c, _b in newest_first], per_page) or page
    page = min(max(1, int(page or 1)), pages)
    shown = newest_first[(page - 1) * per_page:page * per_page]
    days = [Day(day=d, change=c, balance=b) for d, c, b in shown]
    if days:
        by_day = {d.day: d for d in days}
        for entry in _entries(session, user_id, days[-1].day, days[0].day):
            by_day[entry["created_at"].date()].entries.append(entry)
    return {"user": user, "days": days, "page": page, "pages": pages, "total_days": len(daily),
            "points": [(d, b) for d, _c, b in daily]}  # fmt: skip


def ledger(session, *, user_id: int, page: int = 1, per_page: int = 30) -> Page:
    """A member's ledger entries, newest first, a page at a time (two queries). NotFound for no such user."""
    if session.get(User, user_id) is None:
        raise NotFound("No such user.")
    page = max(1, int(page or 1))
    total = session.scalar(select(func.count(ReputationEntry.id)).where(ReputationEntry.user_id == user_id))
    items = session.scalars(
        select(ReputationEntry).where(ReputationEntry.user_id == user_id)
        .order_by(ReputationEntry.created_at.desc(), ReputationEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()  # fmt: skip
    return Page(items=list(items), page=page, per_page=per_page, total=total or 0)


def chart(points: list[tuple[date, int]], *, width: int = 640, height: int = 180, pad: int = 36) -> dict | None:
    """Geometry of an SVG line chart of the total over time: path data, axis ticks and labels.

    Pure arithmetic (the template draws it), so the page needs no script. None without points.
    """
    if not points:
        return None
    if len(points) == 1:
        points = [(points[0][0] - timedelta(days=1), reputation.BASE), points[0]]
    first, last = points[0][0].toordinal(), points[-1][0].toordinal()
    low, high = min(min(v for _d, v in points), reputation.BASE), max(v for _d, v in points)
    high = high if high > low else low + 1
    span_x, span_y = max(1, last - first), high - low
    inner_w, inner_h = width - pad - 8, height - 2 * 12 - 20

    def xy(day: date, value: int) -> tuple[float, float]:
        x = pad + (day.toordinal() - first) / span_x * inner_w
        y = 12 + (high - value) / span_y * inner_h
        return round(x, 1), round(y, 1)

    coords = [xy(d, v) for d, v in points]
    line = "M" + " L".join(f"{x},{y}" for x, y in coords)
    bottom = 12 + inner_h
    area = f"{line} L{coords[-1][0]},{bottom} L{coords[0][0]},{bottom} Z"
    ticks = sorted({low, (low + high) // 2, high})
    return {
        "width": width, "height": height, "line": line, "area": area, "bottom": bottom, "left": pad,
        "right": pad + inner_w, "y_ticks": [{"y": xy(points[0][0], t)[1], "label": f"{t:,}"} for t in ticks],
        "x_labels": [{"x": coords[0][0], "label": points[0][0].isoformat(), "anchor": "start"},
                     {"x": coords[-1][0], "label": points[-1][0].isoformat(), "anchor": "end"}],
        "first": points[0][0], "last": points[-1][0], "low": low, "high": high, "current": points[-1][1],
    }  # fmt: skip
