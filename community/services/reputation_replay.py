"""Replaying the source facts under a ruleset: ``reputation rebuild`` and the "what if" preview.

The facts are the current votes (minus those a fraud case reversed, and those on deleted posts),
the accepted answers, moderators' adjustments, approved suggested edits, first answers of the day
and badge awards. They are replayed in time order with the daily cap and the floor, exactly as the
live path applies them, into a fresh ledger and fresh leaderboard totals.
"""

import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, bindparam, delete, insert, select, update

from community.db import utcnow
from community.models import (
    BadgeAward,
    FraudVote,
    Post,
    ReputationAdjustment,
    ReputationEntry,
    ReputationRebuild,
    ReputationTotal,
    SuggestedEdit,
    User,
    Vote,
    question_tags,
)
from community.services import reputation
from community.services.reputation_rules import Ruleset

POSTS = Post.__table__
# event tuple: (when, order, user_id, amount, kind, source_type, source_id, post_id, actor_id, key, capped, note)
CAPPED, UNCAPPED = True, False


@dataclass
class Replay:
    totals: dict  # user_id -> reputation after the replay
    entries: list  # ledger rows as tuples, in time order
    scopes_of: dict  # question id -> scopes
    question_of: dict  # post id -> question id
    events: int


def _fetch(session, stmt, *, chunk: int = 20_000):
    """The rows of a select, streamed. On SQLite they come straight from the DBAPI cursor:
    SQLAlchemy's per-row processing costs several times the query itself over a million votes;
    datetimes are parsed from the canonical text SQLAlchemy stores."""
    session.flush()
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    if connection.dialect.name != "sqlite" or not all(isinstance(v, str | int | float) for v in params):
        yield from session.execute(stmt).tuples()
        return
    stamps = [i for i, col in enumerate(stmt.selected_columns) if isinstance(col.type, DateTime)]
    parse = datetime.fromisoformat
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(chunk):
            if stamps:
                rows = [list(row) for row in rows]
                for row in rows:
                    for i in stamps:
                        if row[i] is not None:
                            row[i] = parse(row[i])
            yield from rows
    finally:
        cursor.close()


def _drain(items: list):
    """Yield the items, dropping the list's reference to each as it goes (so the facts and the
    entries made from them are not all in memory at once)."""
    for i in range(len(items)):
        item, items[i] = items[i], None
        yield item


def _vote_facts(session, rules):
    p, q = POSTS.alias("p"), POSTS.alias("q")
    fraud = select(FraudVote.id).where(FraudVote.vote_id == Vote.id, FraudVote.vote_created_at == Vote.created_at)
    rows = _fetch(
        session,
        select(Vote.id, Vote.created_at, Vote.user_id, Vote.value, Vote.post_id, p.c.type, p.c.author_id)
        .join(p, p.c.id == Vote.post_id)
        .outerjoin(q, q.c.id == p.c.question_id)
        .where(p.c.deleted_at.is_(None), q.c.deleted_at.is_(None), Vote.user_id != p.c.author_id, ~fraud.exists())
    )  # fmt: skip
    up = {"answer": (rules["answer_upvote"], "answer_upvoted"), "question": (rules["question_upvote"], "question_upvoted")}
    down, cost = rules["post_downvoted"], rules["downvote_cast"]
    for vid, at, voter, value, post_id, ptype, author in rows:
        key = f"vote:{vid}@{at.timestamp():.6f}"
        if value > 0:
            amount, kind = up[ptype]
            yield (at, 0, author, amount, kind, "vote", vid, post_id, voter, key + ":author", CAPPED, "")
        else:
            yield (at, 0, author, down, "post_downvoted", "vote", vid, post_id, voter, key + ":author", UNCAPPED, "")
            if ptype == "answer":
                yield (at, 1, voter, cost, "downvote_cast", "vote", vid, post_id, voter, key + ":voter", UNCAPPED, "")


def _accept_facts(session, rules):
    q, a = POSTS.alias("q"), POSTS.alias("a")
    rows = _fetch(
        session,
        select(q.c.id, q.c.author_id, q.c.accepted_at, a.c.id, a.c.author_id, a.c.created_at)
        .join(a, a.c.id == q.c.accepted_answer_id)
        .where(q.c.deleted_at.is_(None), a.c.deleted_at.is_(None), a.c.author_id != q.c.author_id)
    )  # fmt: skip
    for qid, asker, accepted_at, aid, answerer, answered_at in rows:
        at = accepted_at or answered_at
        key = f"accept:{qid}:{aid}@{at.timestamp():.6f}"
        yield (at, 2, answerer, rules["answer_accepted"], "answer_accepted", "accept", qid, aid, asker,
               key + ":answerer", UNCAPPED, "")  # fmt: skip
        yield (at, 3, asker, rules["accepted_an_answer"], "accepted_an_answer", "accept", qid, qid, asker,
               key + ":asker", UNCAPPED, "")  # fmt: skip


def _other_facts(session, rules):
    for aid, uid, delta, reason, actor, at in session.execute(
        select(ReputationAdjustment.id, ReputationAdjustment.user_id, ReputationAdjustment.delta,
               ReputationAdjustment.reason, ReputationAdjustment.actor_id, ReputationAdjustment.created_at)
    ):  # fmt: skip
        yield (at, 4, uid, delta, "moderator_adjustment", "adjustment", aid, None, actor, f"adjustment:{aid}", UNCAPPED, reason)
    if rules["suggested_edit"]:
        p, q = POSTS.alias("p"), POSTS.alias("q")  # deleting the post reverses the reward (live path)
        for sid, uid, post_id, reviewer, at in session.execute(
            select(SuggestedEdit.id, SuggestedEdit.author_id, SuggestedEdit.post_id, SuggestedEdit.reviewer_id,
                   SuggestedEdit.reviewed_at).join(p, p.c.id == SuggestedEdit.post_id)
            .outerjoin(q, q.c.id == p.c.question_id)
            .where(SuggestedEdit.status == "approved", p.c.deleted_at.is_(None), q.c.deleted_at.is_(None))
        ):  # fmt: skip
            yield (at, 5, uid, rules["suggested_edit"], "suggested_edit_approved", "suggested_edit", sid, post_id,
                   reviewer, f"suggested-edit:{sid}", "edit", "")  # fmt: skip
    bonus = {tier: rules[f"badge_{tier}"] for tier in ("bronze", "silver", "gold")}
    if any(bonus.values()):
        for bid, uid, tier, badge, at in session.execute(
            select(BadgeAward.id, BadgeAward.user_id, BadgeAward.tier, BadgeAward.badge, BadgeAward.created_at)
            .where(BadgeAward.revoked_at.is_(None))
        ):  # fmt: skip
            if bonus.get(tier):
                yield (at, 6, uid, bonus[tier], "badge_bonus", "badge", bid, None, None, f"badge:{bid}", UNCAPPED, badge)
    if rules["first_answer_bonus"]:
        seen = set()
        q, a = POSTS.alias("q"), POSTS.alias("a")
        for aid, uid, at in session.execute(
            select(a.c.id, a.c.author_id, a.c.created_at).join(q, q.c.id == a.c.question_id)
            .where(a.c.deleted_at.is_(None), q.c.deleted_at.is_(None), q.c.author_id != a.c.author_id)
            .order_by(a.c.created_at, a.c.id)
        ):  # fmt: skip
            day_key = (uid, at.date())
            if day_key not in seen:
                seen.add(day_key)
                yield (at, 7, uid, rules["first_answer_bonus"], "first_answer_bonus", "answer", aid, aid, None,
                       f"first-answer:{uid}:{at.date()}", UNCAPPED, "")  # fmt: skip


def _post_scopes(session):
    """post id -> question id, and question id -> scopes ("c<id>", "t<id>" ...), in two queries."""
    question_of, scopes = {}, defaultdict(list)
    for pid, ptype, qid, cat in _fetch(session, select(POSTS.c.id, POSTS.c.type, POSTS.c.question_id,
                                                       POSTS.c.category_id)):  # fmt: skip
        question_of[pid] = pid if ptype == "question" else qid
        if ptype == "question" and cat:
            scopes[pid].append(f"c{cat}")
    for qid, tid in _fetch(session, select(question_tags.c.question_id, question_tags.c.tag_id).order_by("tag_id")):
        scopes[qid].append(f"t{tid}")
    return question_of, {qid: tuple(v) for qid, v in scopes.items()}


def replay(session, ruleset: Ruleset, *, progress=None) -> Replay:
    """Compute the fresh ledger and totals in memory (nothing is written)."""
    rules = ruleset.rules
    facts = [*_vote_facts(session, rules), *_accept_facts(session, rules), *_other_facts(session, rules)]
    facts.sort(key=lambda f: (f[0], f[1], f[6] or 0))
    cap, floor, edit_max = rules["daily_cap"], rules["floor"], rules["suggested_edit_max"]
    totals = dict.fromkeys(session.scalars(select(User.id)), reputation.BASE)
    earned: dict = {}
    edits_earned: dict = defaultdict(int)
    entries = []
    append = entries.append
    for n, (at, _o, uid, amount, kind, stype, sid, post_id, actor, key, capped, note) in enumerate(_drain(facts)):
        if uid not in totals or not amount:
            continue
        delta = amount
        if capped is CAPPED and delta > 0:
            day = (uid, at.date())
            room = cap - earned.get(day, 0)
            if room < delta:
                delta, note = max(0, room), f"daily cap of {cap} reached"
            earned[day] = earned.get(day, 0) + delta
        elif capped == "edit":
            delta = max(0, min(delta, edit_max - edits_earned[uid]))
            edits_earned[uid] += delta
        rep = totals[uid]
        if delta < 0 and rep + delta < floor:
            delta, note = min(0, floor - rep), f"reputation cannot go below {floor}"
        totals[uid] = rep + delta
        append((uid, delta, kind, stype, sid, post_id, actor, key, note, at))
        if progress is not None and n % 50_000 == 0:
            progress(n, len(facts))
    question_of, scopes_of = _post_scopes(session)
    return Replay(totals=totals, entries=entries, scopes_of=scopes_of, question_of=question_of, events=len(facts))


def _rollups(result: Replay, now) -> dict:
    """Leaderboard sums per (scope, period, user) for the boards that can be shown: every scope's
    "all" period and the current week, month, quarter and year (``leaderboards.period_key``).
    Past periods are not written: no board reads them, and they would be most of the rows."""
    current = set(reputation.periods(now))
    since = min(reputation.day_start(now) - timedelta(days=7), now.replace(month=1, day=1, hour=0, minute=0, second=0,
                                                                           microsecond=0))  # fmt: skip
    question_of = result.question_of
    ever: dict = defaultdict(int)
    recent: dict = defaultdict(int)
    for uid, delta, _k, _s, _i, post_id, _a, _key, _n, at in result.entries:
        if delta:
            qid = question_of.get(post_id)
            ever[(uid, qid)] += delta
            if at >= since:
                recent[(uid, qid, at.date())] += delta
    sums: dict = defaultdict(int)
    scopes_of = result.scopes_of
    for (uid, qid), delta in ever.items():
        for scope in scopes_of.get(qid, ()):
            sums[(scope, "all", uid)] += delta
    period_cache: dict = {}
    for (uid, qid, day), delta in recent.items():
        periods = period_cache.get(day)
        if periods is None:
            periods = period_cache[day] = [p for p in reputation.periods(day) if p in current]
        for period in periods:
            sums[("all", period, uid)] += delta
            for scope in scopes_of.get(qid, ()):
                sums[(scope, period, uid)] += delta
    return sums


@contextmanager
def _bulk_load(session, tables: tuple):
    """On SQLite, rewrite ``tables`` without their secondary (non-unique) indexes and rebuild those
    once at the end (one sort each instead of millions of page splits), with a larger page cache.
    Same transaction, so readers keep seeing the old ledger until the commit. Elsewhere: no-op."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    indexes = [(name, sql) for name, sql, table in connection.exec_driver_sql(
        "SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        if table in tables and "UNIQUE" not in sql.upper()]  # fmt: skip
    cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql("PRAGMA cache_size = -262144")  # KiB: up to 256 MiB while loading
    try:
        for name, _sql in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        yield
        for _name, sql in indexes:
            connection.exec_driver_sql(sql)
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")


def _fast_stamp(processor, rows: list, index: int):
    """``str(datetime)`` is SQLAlchemy's SQLite text for a naive datetime, minus ".000000" on whole
    seconds, at a fraction of the cost; checked against ``processor`` on the first value."""

    def fmt(value, _str=str):
        if value is None:
            return None
        text = _str(value)
        return text if len(text) == 26 else text + ".000000"

    sample = next((row[index] for row in rows if row[index] is not None), None)
    if sample is None or fmt(sample) != processor(sample) or fmt(sample.replace(microsecond=0)) != processor(
            sample.replace(microsecond=0)):  # fmt: skip
        return processor
    return fmt


def _insert_rows(session, table, cols: tuple, rows: list, *, progress=None, chunk: int = 50_000) -> None:
    """Insert tuples in ``cols`` order. On SQLite through the DBAPI cursor's executemany (no per-row
    dicts or SQLAlchemy parameter processing: a rebuild writes millions of rows), with the
    columns' own bind processors (datetimes as SQLAlchemy writes them); elsewhere via SQLAlchemy."""
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        for start in range(0, len(rows), chunk):
            connection.execute(insert(table), [dict(zip(cols, row, strict=True)) for row in rows[start:start + chunk]])
            if progress is not None:
                progress(start, len(rows))
        return
    convert = [(i, table.c[c].type._cached_bind_processor(dialect)) for i, c in enumerate(cols)]
    convert = [(i, _fast_stamp(fn, rows, i) if isinstance(table.c[cols[i]].type, DateTime) else fn)
               for i, fn in convert if fn is not None]  # fmt: skip
    compiled = insert(table).values({c: bindparam(c) for c in cols}).compile(dialect=dialect)
    if tuple(compiled.positiontup) != tuple(cols):  # qmark parameters must come in the rows' order
        raise ValueError(f"columns {cols} compile as {compiled.positiontup}")
    sql = str(compiled)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            if len(convert) == 1 and convert[0][0] == len(cols) - 1:  # the ledger: created_at comes last
                fn = convert[0][1]
                part = [(*row[:-1], fn(row[-1])) for row in part]
            elif convert:
                part = [list(row) for row in part]
                for row in part:
                    for i, fn in convert:
                        row[i] = fn(row[i])
            cursor.executemany(sql, part)
            if progress is not None:
                progress(start, len(rows))
    finally:
        cursor.close()


def rebuild(session, ruleset: Ruleset, *, actor_id: int | None = None, reason: str = "", progress=None) -> dict:
    """Replace the ledger and the totals with a replay under ``ruleset``; report what changed.

    Runs in the caller's transaction: a failure leaves the old ledger in place.
    """
    started = time.perf_counter()
    run = ReputationRebuild(actor_id=actor_id, reason=reason, rules=ruleset.as_dict())
    session.add(run)
    result = replay(session, ruleset, progress=progress)
    replayed = time.perf_counter()
    with _bulk_load(session, (ReputationEntry.__table__.name, ReputationTotal.__table__.name)):
        session.execute(delete(ReputationEntry).execution_options(synchronize_session=False))
        session.execute(delete(ReputationTotal).execution_options(synchronize_session=False))
        cols = ("user_id", "delta", "kind", "source_type", "source_id", "post_id", "actor_id", "key", "note",
                "created_at")  # fmt: skip
        _insert_rows(session, ReputationEntry.__table__, cols, result.entries, progress=progress)
        sums = _rollups(result, utcnow())
        # in key order, so the primary-key index grows at its end instead of splitting pages everywhere
        rows = sorted((s, p, u, t) for (s, p, u), t in sums.items() if t)
        del sums
        _insert_rows(session, ReputationTotal.__table__, ("scope", "period", "user_id", "total"), rows)
    current = dict(session.execute(select(User.id, User.reputation)).all())
    changed = [{"id": uid, "reputation": total} for uid, total in result.totals.items() if current.get(uid) != total]
    if changed:  # ORM bulk UPDATE by primary key: one executemany
        session.execute(update(User), changed)
    run.events, run.changed_users, run.finished_at = len(result.entries), len(changed), utcnow()
    session.info.pop("reputation_ruleset", None)
    elapsed = time.perf_counter() - started
    return {"events": result.events, "entries": len(result.entries), "changed_users": len(changed),
            "seconds": round(elapsed, 3), "replay_seconds": round(replayed - started, 3),
            "events_per_second": int(len(result.entries) / elapsed) if elapsed else 0}  # fmt: skip


def preview(session, ruleset: Ruleset, *, top: int = 50) -> dict:
    """What ``ruleset`` would change: how many totals move, the biggest moves, the top list before/after."""
    result = replay(session, ruleset)
    users = {u.id: u for u in session.scalars(select(User))}
    current = {uid: u.reputation for uid, u in users.items()}
    moves = [(uid, current[uid], new) for uid, new in result.totals.items() if current.get(uid) != new]
    moves.sort(key=lambda m: abs(m[2] - m[1]), reverse=True)

    def board(values):
        ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [{"rank": i + 1, "user_id": uid, "name": users[uid].display_name, "reputation": rep}
                for i, (uid, rep) in enumerate(ranked)]  # fmt: skip

    before, after = board(current), board(result.totals)
    rank_before = {row["user_id"]: row["rank"] for row in before}
    for row in after:
        row["previous_rank"] = rank_before.get(row["user_id"])
        row["previous_reputation"] = current[row["user_id"]]
    return {
        "changed_users": len(moves),
        "users": len(users),
        "events": result.events,
        "moves": [{"user_id": uid, "name": users[uid].display_name, "before": old, "after": new, "change": new - old}
                  for uid, old, new in moves[:top]],
        "before": before,
        "after": after,
    }  # fmt: skip
