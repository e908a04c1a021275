"""Reputation as an append-only ledger.

Every change is a ``ReputationEntry`` with a unique idempotency key; an undone change (a retracted
vote, an un-accept, a deleted post, a fraud reversal) is a compensating entry pointing at the one
it reverses. ``users.reputation`` (= 1 + the user's entries) and the leaderboard sums in
``reputation_totals`` move in the same transaction, with atomic ``x = x + :d`` updates.

The daily cap and the floor are applied when an entry is written, so an entry records what the
user really gained ("+0, daily cap reached"), and its reversal takes back exactly that.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from community.db import record_event, utcnow
from community.models import (
    Answer,
    Post,
    Question,
    ReputationAdjustment,
    ReputationEntry,
    ReputationTotal,
    User,
    question_tags,
)
from community.services import counters, crm, policy, reputation_rules
from community.services.errors import PermissionDenied, RuleViolation

BASE = 1  # the reputation of a new member; reputation = BASE + the sum of the member's entries
VOTE_EARNED = ("question_upvoted", "answer_upvoted")  # what the daily cap limits
REVERSAL_KINDS = ("vote_retracted", "unaccepted", "post_deleted", "fraud_reversal", "badge_revoked")


@dataclass
class Grant:
    user_id: int
    delta: int
    kind: str
    key: str
    source_type: str
    source_id: int | None = None
    post_id: int | None = None
    actor_id: int | None = None
    note: str = ""
    reverses_id: int | None = None
    scopes: tuple = ()  # leaderboard scopes besides "all": "c<category id>", "t<tag id>"
    capped: bool = field(default=False)


def periods(when: datetime) -> tuple[str, str, str, str]:
    """The leaderboard periods a moment falls in: ISO week, month, quarter, year (UTC)."""
    iso = when.isocalendar()
    return (f"w{iso[0]}-{iso[1]:02d}", f"m{when.year}-{when.month:02d}",
            f"q{when.year}-{(when.month - 1) // 3 + 1}", f"y{when.year}")  # fmt: skip


def period_starts(when: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """The first moments of the periods of ``periods(when)``: its ISO week, month, quarter and year."""
    day = day_start(when)
    return (day - timedelta(days=day.weekday()), day.replace(day=1),
            day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1), day.replace(day=1, month=1))  # fmt: skip


def day_start(when: datetime) -> datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


def scopes_for_question(session, question_id: int, category_id: int | None) -> tuple:
    tag_ids = session.scalars(select(question_tags.c.tag_id).where(question_tags.c.question_id == question_id))
    return ((f"c{category_id}",) if category_id else ()) + tuple(f"t{t}" for t in sorted(tag_ids))


def scopes_for_post(session, post: Post) -> tuple:
    question = post if isinstance(post, Question) else session.get(Question, post.question_id)
    return scopes_for_question(session, question.id, question.category_id)


def _lock_users(session, user_ids) -> dict[int, int]:
    """Current reputations, with the rows locked in id order (PostgreSQL) so that concurrent
    transactions touching the same members queue instead of deadlocking or losing updates."""
    stmt = select(User.id, User.reputation).where(User.id.in_(sorted(user_ids))).order_by(User.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return dict(session.execute(stmt).all())


def _earned_today(session, user_ids, now: datetime) -> dict[int, int]:
    rows = session.execute(
        select(ReputationEntry.user_id, func.coalesce(func.sum(ReputationEntry.delta), 0))
        .where(ReputationEntry.user_id.in_(user_ids), ReputationEntry.created_at >= day_start(now),
               ReputationEntry.kind.in_(VOTE_EARNED))
        .group_by(ReputationEntry.user_id)
    )  # fmt: skip
    return dict(rows.all())


def apply(session, grants: list[Grant], *, now: datetime | None = None) -> list[ReputationEntry]:
    """Write the grants as ledger entries (skipping keys already written) and move the totals."""
    grants = [g for g in grants if g.delta != 0 or g.reverses_id is not None]
    if not grants:
        return []
    session.flush()
    taken = set(session.scalars(select(ReputationEntry.key).where(ReputationEntry.key.in_([g.key for g in grants]))))
    grants = [g for g in grants if g.key not in taken]
    if not grants:
        return []
    now = now or utcnow()
    ruleset = reputation_rules.current(session)
    reputation = _lock_users(session, {g.user_id for g in grants})
    capped_users = {g.user_id for g in grants if g.capped and g.delta > 0}
    earned = _earned_today(session, capped_users, now) if capped_users else {}
    entries, pairs, moved = [], [], defaultdict(int)
    for g in grants:
        if g.user_id not in reputation:
            continue
        delta, note = g.delta, g.note
        if g.capped and delta > 0:
            room = max(0, ruleset["daily_cap"] - earned.get(g.user_id, 0))
            if room < delta:
                delta, note = room, note or f"daily cap of {ruleset['daily_cap']} reached"
            earned[g.user_id] = earned.get(g.user_id, 0) + delta
        if delta < 0:
            lowest = min(0, ruleset["floor"] - reputation[g.user_id])
            if delta < lowest:
                delta, note = lowest, note or f"reputation cannot go below {ruleset['floor']}"
        reputation[g.user_id] += delta
        moved[g.user_id] += delta
        entries.append(entry := ReputationEntry(user_id=g.user_id, delta=delta, kind=g.kind, source_type=g.source_type,
                                       source_id=g.source_id, post_id=g.post_id, actor_id=g.actor_id, key=g.key,
                                       reverses_id=g.reverses_id, note=note[:300], created_at=now))  # fmt: skip
        pairs.append((g, entry))
    session.add_all(entries)
    session.flush()
    for user_id, delta in moved.items():
        if delta:
            counters.bump(session, User, user_id, reputation=delta)
    crm.members_changed(session, [uid for uid, delta in moved.items() if delta])
    _bump_totals(session, [(g, e) for g, e in pairs if e.delta], now)
    for user_id, delta in moved.items():
        record_event(session, "reputation_changed",
                     {"user_id": user_id, "reputation": reputation[user_id], "delta": delta},
                     room=f"user:{user_id}")  # fmt: skip
    return entries


def _bump_totals(session, pairs, now: datetime) -> None:
    sums: dict[tuple, int] = defaultdict(int)
    for grant, entry in pairs:
        for period in periods(now):
            sums[("all", period, entry.user_id)] += entry.delta
        for scope in grant.scopes:
            for period in ("all", *periods(now)):
                sums[(scope, period, entry.user_id)] += entry.delta
    upsert_totals(session, sums)


def upsert_totals(session, sums: dict[tuple, int]) -> None:
    """Add ``{(scope, period, user_id): delta}`` to reputation_totals in one statement."""
    rows = [{"scope": s, "period": p, "user_id": u, "total": d} for (s, p, u), d in sums.items() if d]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ReputationTotal.__table__
    stmt = insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=["scope", "period", "user_id"],
                                      set_={"total": table.c.total + stmt.excluded.total})  # fmt: skip
    session.execute(stmt)


def live_entries(session, *where) -> list[ReputationEntry]:
    """Entries that are not reversals, not yet reversed, and moved reputation."""
    reversal = aliased(ReputationEntry)
    return list(session.scalars(
        select(ReputationEntry)
        .where(*where, ReputationEntry.reverses_id.is_(None), ReputationEntry.delta != 0,
               ~select(reversal.id).where(reversal.reverses_id == ReputationEntry.id).exists())
        .order_by(ReputationEntry.id)
    ))  # fmt: skip


def reverse(session, entries, *, kind: str, actor_id: int | None = None, note: str = "",
            now: datetime | None = None) -> list[ReputationEntry]:  # fmt: skip
    """Add a compensating entry for each entry (once: the key is derived from the entry)."""
    scope_cache: dict = {}
    grants = []
    for entry in entries:
        if entry.post_id is not None and entry.post_id not in scope_cache:
            post = session.get(Post, entry.post_id)
            scope_cache[entry.post_id] = scopes_for_post(session, post) if post else ()
        grants.append(Grant(user_id=entry.user_id, delta=-entry.delta, kind=kind, key=f"reverse:{entry.id}",
                            source_type=entry.source_type, source_id=entry.source_id, post_id=entry.post_id,
                            actor_id=actor_id, note=note, reverses_id=entry.id,
                            scopes=scope_cache.get(entry.post_id, ())))  # fmt: skip
    return apply(session, grants, now=now)


# --- the events that move reputation -----------------------------------------------------


def vote_key(vote) -> str:
    return f"vote:{vote.id}@{vote.created_at:%Y%m%d%H%M%S%f}"


def on_vote(session, *, vote, post: Post, scopes: tuple) -> list[ReputationEntry]:
    """A new vote: the author gains or loses, and a downvote on an answer costs the voter."""
    rules = reputation_rules.current(session)
    key = vote_key(vote)
    is_answer = isinstance(post, Answer)
    common = {"source_type": "vote", "source_id": vote.id, "post_id": post.id, "actor_id": vote.user_id,
              "scopes": scopes}  # fmt: skip
    if vote.value > 0:
        kind = "answer_upvoted" if is_answer else "question_upvoted"
        amount = rules["answer_upvote"] if is_answer else rules["question_upvote"]
        grants = [Grant(post.author_id, amount, kind, f"{key}:author", capped=True, **common)]
    else:
        grants = [Grant(post.author_id, rules["post_downvoted"], "post_downvoted", f"{key}:author", **common)]
        if is_answer:
            grants.append(Grant(vote.user_id, rules["downvote_cast"], "downvote_cast", f"{key}:voter", **common))
    return apply(session, grants, now=vote.created_at)


def on_vote_removed(session, *, vote) -> list[ReputationEntry]:
    entries = live_entries(session, ReputationEntry.source_type == "vote", ReputationEntry.source_id == vote.id,
                           ReputationEntry.created_at >= vote.created_at)  # fmt: skip
    return reverse(session, entries, kind="vote_retracted")


def on_accept(session, *, question: Question, answer: Answer | None) -> list[ReputationEntry]:
    """Take back the previous accept's reputation; grant +15 / +2 for the new one (not for
    accepting your own answer)."""
    previous = live_entries(session, ReputationEntry.source_type == "accept",
                            ReputationEntry.source_id == question.id)  # fmt: skip
    written = reverse(session, previous, kind="unaccepted")
    if answer is None or answer.author_id == question.author_id:
        return written
    rules = reputation_rules.current(session)
    now = question.accepted_at or utcnow()
    key = f"accept:{question.id}:{answer.id}@{now:%Y%m%d%H%M%S%f}"
    scopes = scopes_for_question(session, question.id, question.category_id)
    common = {"source_type": "accept", "source_id": question.id, "actor_id": question.author_id, "scopes": scopes}
    grants = [
        Grant(answer.author_id, rules["answer_accepted"], "answer_accepted", f"{key}:answerer", post_id=answer.id, **common),
        Grant(question.author_id, rules["accepted_an_answer"], "accepted_an_answer", f"{key}:asker", post_id=question.id, **common),
    ]  # fmt: skip
    return written + apply(session, grants, now=now)


def on_post_deleted(session, *, post: Post, actor_id: int | None) -> list[ReputationEntry]:
    """Everything earned or paid on the post (and, for a question, on its answers) is reversed."""
    post_ids = [post.id]
    if isinstance(post, Question):
        post_ids += list(session.scalars(select(Answer.id).where(Answer.question_id == post.id)))
    entries = live_entries(session, ReputationEntry.post_id.in_(post_ids))
    return reverse(session, entries, kind="post_deleted", actor_id=actor_id)


def on_answer_posted(session, *, answer: Answer, question: Question) -> list[ReputationEntry]:
    """The first answer of the day bonus, when the rules give one (the "community" preset)."""
    bonus = reputation_rules.current(session)["first_answer_bonus"]
    if bonus <= 0 or answer.author_id == question.author_id:
        return []
    now = answer.created_at or utcnow()
    scopes = scopes_for_question(session, question.id, question.category_id)
    grant = Grant(answer.author_id, bonus, "first_answer_bonus", f"first-answer:{answer.author_id}:{now.date()}",
                  source_type="answer", source_id=answer.id, post_id=answer.id, scopes=scopes)  # fmt: skip
    return apply(session, [grant], now=now)


def adjust(session, *, actor: User, user: User, delta, reason: str) -> ReputationEntry | None:
    """A moderator's manual adjustment, with a reason; recorded as a source fact."""
    if not policy.is_staff(actor):
        raise PermissionDenied("Only moderators can adjust reputation.")
    errors: dict = {}
    delta = reputation_rules._int(delta, "delta", -100_000, 100_000, errors)
    reason = " ".join(str(reason or "").split())
    if delta == 0:
        errors["delta"] = "Enter a change other than 0."
    if not 5 <= len(reason) <= 300:
        errors["reason"] = "Give a reason of 5 to 300 characters."
    if errors:
        raise RuleViolation("Please correct the marked fields.", fields=errors)
    return record_adjustment(session, user_id=user.id, delta=delta, reason=reason, actor_id=actor.id)


def record_adjustment(session, *, user_id: int, delta: int, reason: str, actor_id: int | None = None):
    """Write the adjustment fact and its ledger entry (the demo seed and tests use this directly)."""
    adjustment = ReputationAdjustment(user_id=user_id, delta=delta, reason=reason, actor_id=actor_id)
    session.add(adjustment)
    session.flush()
    entries = apply(session, [Grant(user_id, delta, "moderator_adjustment", f"adjustment:{adjustment.id}",
                                    source_type="adjustment", source_id=adjustment.id, actor_id=actor_id,
                                    note=reason)], now=adjustment.created_at)  # fmt: skip
    return entries[0] if entries else None


def verify(session) -> list[dict]:
    """Every user whose cached reputation differs from BASE + the sum of their ledger entries."""
    ledger = (select(ReputationEntry.user_id, func.sum(ReputationEntry.delta).label("total"))
              .group_by(ReputationEntry.user_id).subquery())  # fmt: skip
    expected = BASE + func.coalesce(ledger.c.total, 0)
    rows = session.execute(
        select(User.id, User.display_name, User.reputation, expected)
        .outerjoin(ledger, ledger.c.user_id == User.id)
        .where(User.reputation != expected)
        .order_by(User.id)
    )
    return [{"user_id": r[0], "name": r[1], "cached": r[2], "ledger": r[3]} for r in rows]
