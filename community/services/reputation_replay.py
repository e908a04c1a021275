"""Replaying the source facts under a ruleset: ``reputation rebuild`` and the "what if" preview.

The replay is set-based SQL, so it runs inside the database at its speed rather than row by row
in Python: the facts (``reputation_facts``) go into a temporary table; window functions then apply
the caps and the floor exactly as the live path does (``reputation.apply``), in time order per
member:

- the daily cap on upvote reputation (per member and UTC day) and the lifetime cap on
  suggested-edit reputation: with ``cum`` the running sum of the amounts in the cap group, an
  entry keeps ``min(cap, cum) - min(cap, cum - amount)``;
- the floor: the live rule ``r = max(floor, r + d)`` has the closed form
  ``r_i = s_i - min(0, min_{j<=i}(s_j - floor))`` over the running sum ``s`` (1 + the deltas), so
  each entry keeps ``r_i - r_(i-1)``.

The result (another temporary table) becomes the fresh ledger, the leaderboard totals and
``users.reputation`` in the caller's transaction; the preview only reads it.
"""

import time
from contextlib import contextmanager

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, case, delete, func, literal, select, update

from community.db import utcnow
from community.models import (
    ReputationEntry,
    ReputationRebuild,
    ReputationTotal,
    User,
    question_tags,
)
from community.services import reputation
from community.services import reputation_facts as facts
from community.services.reputation_rules import Ruleset

LEDGER_COLUMNS = ("user_id", "delta", "kind", "source_type", "source_id", "post_id", "actor_id", "key", "note",
                  "created_at")  # fmt: skip


def _least(a, b):
    return case((a < b, a), else_=b)


def _apply_rules(session, rules: dict) -> tuple[list, dict]:
    """Walk each member's facts in time order, as ``reputation.apply`` does live: the caps (per day
    for upvotes, for life for suggested edits), then the floor. Only narrow rows travel, sorted by
    the database; returns the facts whose amount changed ``{"fid", "amount", "note"}`` and each
    member's replayed reputation."""
    f = facts.FACTS
    rows = session.connection().execute(
        select(f.c.id, f.c.user_id, f.c.amount, f.c.capgroup, f.c.capday)
        .order_by(f.c.user_id, f.c.at, f.c.ord, f.c.source_id, f.c.id)
    )  # fmt: skip
    limits = {facts.DAILY_CAP: rules["daily_cap"], facts.EDIT_CAP: rules["suggested_edit_max"]}
    floor, base = rules["floor"], reputation.BASE
    cap_note, floor_note = f"daily cap of {rules['daily_cap']} reached", f"reputation cannot go below {floor}"
    adjusted, totals = [], {}
    user, rep, used = None, base, {}
    for fid, uid, amount, capgroup, capday in rows:
        if uid != user:
            if user is not None:
                totals[user] = rep
            user, rep, used = uid, base, {}
        delta, note = amount, None
        if capgroup:
            limit, before = limits[capgroup], used.get((capgroup, capday), 0)
            used[(capgroup, capday)] = before + amount
            delta = min(limit, before + amount) - min(limit, before)
            if delta < amount and capgroup == facts.DAILY_CAP:
                note = cap_note
        if delta < 0 and rep + delta < floor:
            delta, note = min(0, floor - rep), floor_note
        rep += delta
        if delta != amount:
            adjusted.append({"fid": fid, "amount": delta, "note": note})
    if user is not None:
        totals[user] = rep
    return adjusted, totals


def replay(session, ruleset: Ruleset) -> tuple[int, dict]:
    """Gather the facts into a temporary table, apply the rules, and write the amounts they changed
    back into it; returns the number of ledger entries and every member's replayed reputation."""
    session.flush()
    events = facts.collect(session, ruleset.rules)
    adjusted, totals = _apply_rules(session, ruleset.rules)
    if adjusted:
        f = facts.FACTS
        session.connection().execute(
            f.update().where(f.c.id == bindparam("fid"))
            .values(amount=bindparam("amount"), note=func.coalesce(bindparam("note", type_=String), f.c.note)),
            adjusted,
        )  # fmt: skip
    everyone = dict.fromkeys(session.scalars(select(User.id)), reputation.BASE)
    everyone.update(totals)
    return events, everyone


def _entries():
    """The replayed ledger rows (in the order the facts were gathered; readers order by created_at)."""
    f = facts.FACTS
    return select(f.c.user_id, f.c.amount, f.c.kind, f.c.source_type, f.c.source_id, f.c.post_id, f.c.actor_id,
                  f.c.key, f.c.note, f.c.at)  # fmt: skip


def _drop_temporary(session) -> None:
    facts.drop(session)


SUMS = Table(
    "replay_sums", MetaData(),
    Column("kind", String(3)), Column("scope_id", Integer), Column("user_id", Integer), Column("t_all", Integer), Column("t_w", Integer),
    Column("t_m", Integer), Column("t_q", Integer), Column("t_y", Integer),
    prefixes=["TEMPORARY"],
)  # fmt: skip


def _write_totals(session, now) -> None:
    """Leaderboard totals of the replay: every scope's all-time sum and the current week, month,
    quarter and year (the periods the boards read). One grouped scan of the facts per kind of scope
    (site, category, tag) computes all five sums at once."""
    f = facts.FACTS
    connection = session.connection()
    SUMS.drop(connection, checkfirst=True)
    SUMS.create(connection)
    starts = reputation.period_starts(now)
    sums = [func.sum(f.c.amount)] + [func.sum(case((f.c.at >= start, f.c.amount), else_=0)) for start in starts]
    # the facts of one member on one question first (many votes on one answer are one row), then scopes
    per_question = (select(f.c.question_id, f.c.category_id, f.c.user_id, *[s.label(c.name) for s, c in
                                                                             zip(sums, SUMS.c[3:], strict=True)])
                    .where(f.c.question_id.is_not(None)).group_by(f.c.question_id, f.c.category_id, f.c.user_id)
                    .subquery())  # fmt: skip
    q_sums = [func.sum(per_question.c[c.name]) for c in SUMS.c[3:]]
    tag = question_tags.c.tag_id
    selects = [
        # the site scope has no "all" period row (users.reputation is that board): only recent facts matter
        select(literal("all"), literal(0), f.c.user_id, *sums).where(f.c.at >= min(starts)).group_by(f.c.user_id),
        select(literal("c"), per_question.c.category_id, per_question.c.user_id, *q_sums)
        .where(per_question.c.category_id.is_not(None)).group_by(per_question.c.category_id, per_question.c.user_id),
        select(literal("t"), tag, per_question.c.user_id, *q_sums)
        .join(question_tags, question_tags.c.question_id == per_question.c.question_id)
        .group_by(tag, per_question.c.user_id),
    ]  # fmt: skip
    for stmt in selects:
        connection.execute(SUMS.insert().from_select([c.name for c in SUMS.columns], stmt))
    columns = ["scope", "period", "user_id", "total"]
    scope = case((SUMS.c.kind == "all", "all"), else_=facts.concat(SUMS.c.kind, SUMS.c.scope_id))
    periods = [("all", SUMS.c.t_all), *zip(reputation.periods(now), (SUMS.c.t_w, SUMS.c.t_m, SUMS.c.t_q, SUMS.c.t_y),
                                          strict=True)]  # fmt: skip
    for period, column in periods:
        where = [column != 0] + ([SUMS.c.kind != "all"] if period == "all" else [])
        connection.execute(ReputationTotal.__table__.insert().from_select(
            columns, select(scope, literal(period), SUMS.c.user_id, column).where(*where)))  # fmt: skip
    SUMS.drop(connection, checkfirst=True)


@contextmanager
def _bulk_load(session, tables: tuple):
    """On SQLite, rewrite ``tables`` without their secondary indexes (unique ones included: creating a
    unique index checks uniqueness again) and rebuild those once at the end (one sort each instead
    of millions of page splits), with a larger page cache.
    Same transaction, so readers keep seeing the old ledger until the commit. Elsewhere: no-op."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    indexes = [(name, sql) for name, sql, table in connection.exec_driver_sql(
        "SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        if table in tables]  # fmt: skip
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


def rebuild(session, ruleset: Ruleset, *, actor_id: int | None = None, reason: str = "", progress=None) -> dict:
    """Replace the ledger and the totals with a replay under ``ruleset``; report what changed.

    Runs in the caller's transaction: a failure leaves the old ledger in place. ``progress(done,
    total)`` is told about the five steps.
    """
    started = time.perf_counter()
    step = progress or (lambda done, total: None)
    run = ReputationRebuild(actor_id=actor_id, reason=reason, rules=ruleset.as_dict())
    session.add(run)
    entries, totals = replay(session, ruleset)
    step(1, 5)
    replayed = time.perf_counter()
    ledger = ReputationEntry.__table__
    with _bulk_load(session, (ledger.name, ReputationTotal.__table__.name)):
        session.execute(delete(ReputationTotal).execution_options(synchronize_session=False))
        session.execute(delete(ReputationEntry).execution_options(synchronize_session=False))
        step(2, 5)
        session.execute(ledger.insert().from_select(list(LEDGER_COLUMNS), _entries()))
        step(3, 5)
        _write_totals(session, utcnow())
        _drop_temporary(session)
        step(4, 5)
    current = session.execute(select(User.id, User.reputation))
    changed = [{"id": uid, "reputation": totals[uid]} for uid, rep in current if totals.get(uid, rep) != rep]
    if changed:  # ORM bulk UPDATE by primary key: one executemany
        session.execute(update(User), changed)
    changed = len(changed)
    step(5, 5)
    session.expire_all()
    run.events, run.changed_users, run.finished_at = entries, changed, utcnow()
    session.info.pop("reputation_ruleset", None)
    elapsed = time.perf_counter() - started
    return {"events": entries, "entries": entries, "changed_users": changed, "seconds": round(elapsed, 3),
            "replay_seconds": round(replayed - started, 3),
            "events_per_second": int(entries / elapsed) if elapsed else 0}  # fmt: skip


def preview(session, ruleset: Ruleset, *, top: int = 50) -> dict:
    """What ``ruleset`` would change: how many totals move, the biggest moves, the top list before/after."""
    events, replayed = replay(session, ruleset)
    _drop_temporary(session)
    users = {uid: (name, rep) for uid, name, rep in session.execute(select(User.id, User.display_name, User.reputation))}
    current = {uid: rep for uid, (_name, rep) in users.items()}
    moves = [(uid, current[uid], new) for uid, new in replayed.items() if current.get(uid) != new]
    moves.sort(key=lambda m: (-abs(m[2] - m[1]), m[0]))

    def board(values):
        ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [{"rank": i + 1, "user_id": uid, "name": users[uid][0], "reputation": rep}
                for i, (uid, rep) in enumerate(ranked)]  # fmt: skip

    before, after = board(current), board(replayed)
    rank_before = {row["user_id"]: row["rank"] for row in before}
    for row in after:
        row["previous_rank"] = rank_before.get(row["user_id"])
        row["previous_reputation"] = current[row["user_id"]]
    return {
        "changed_users": len(moves),
        "users": len(users),
        "events": events,
        "moves": [{"user_id": uid, "name": users[uid][0], "before": old, "after": new, "change": new - old}
                  for uid, old, new in moves[:top]],
        "before": before,
        "after": after,
    }  # fmt: skip
