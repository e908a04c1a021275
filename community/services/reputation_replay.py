"""Replaying the source facts under a ruleset: ``reputation rebuild`` and the "what if" preview.

1. The facts (``reputation_facts``) are gathered by ``INSERT ... SELECT`` into a temporary table,
   each with its amount under the rules, its key, cap group and leaderboard scopes.
2. One Python pass over narrow rows ``(id, member, amount, cap group, day)``, sorted by the
   database and read straight from the DBAPI cursor, applies the daily cap, the lifetime
   suggested-edit cap and the floor exactly as ``reputation.apply`` does live, and writes back only
   the amounts that changed (with their note).
3. ``rebuild`` replaces the ledger and the totals (``reputation_swap``: on SQLite without their
   indexes, built once at the end), writes the leaderboard totals (``reputation_sums``) and
   ``users.reputation``, all in the caller's transaction; the preview only reads the replay.
"""

import time

from sqlalchemy import String, bindparam, func, select, update

from community.db import utcnow
from community.models import ReputationEntry, ReputationRebuild, User
from community.services import reputation, reputation_sums, reputation_swap
from community.services import reputation_facts as facts
from community.services.reputation_rules import Ruleset

LEDGER_COLUMNS = ("user_id", "delta", "kind", "source_type", "source_id", "post_id", "actor_id", "key", "note",
                  "created_at")  # fmt: skip


def _sorted_facts(session):
    """``(id, member, amount, cap group, day)`` of every fact, by member and time, straight from the
    DBAPI cursor: 2M rows are too many to build SQLAlchemy ``Row`` objects for."""
    f, connection = facts.FACTS, session.connection()
    stmt = (select(f.c.id, f.c.user_id, f.c.amount, f.c.capgroup, f.c.capday)
            .order_by(f.c.user_id, f.c.at, f.c.ord, f.c.source_id, f.c.id))  # fmt: skip
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute(str(stmt.compile(dialect=connection.dialect)))  # no parameters
    while batch := cursor.fetchmany(50_000):
        yield from batch
    cursor.close()


def _apply_rules(session, rules: dict) -> tuple[list, dict]:
    """Walk each member's facts in time order, as ``reputation.apply`` does live: the caps (per day
    for upvotes, for life for suggested edits), then the floor. Only narrow rows travel, sorted by
    the database; returns the facts whose amount changed ``(amount, note, id)`` and each member's
    replayed reputation."""
    limits = {facts.DAILY_CAP: rules["daily_cap"], facts.EDIT_CAP: rules["suggested_edit_max"]}
    floor, base = rules["floor"], reputation.BASE
    cap_note, floor_note = f"daily cap of {rules['daily_cap']} reached", f"reputation cannot go below {floor}"
    adjusted, totals = [], {}
    user, rep, used = None, base, {}
    for fid, uid, amount, capgroup, capday in _sorted_facts(session):
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
            adjusted.append((delta, note, fid))
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
            [{"amount": amount, "note": note, "fid": fid} for amount, note, fid in adjusted],
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


def rebuild(session, ruleset: Ruleset, *, actor_id: int | None = None, reason: str = "", progress=None) -> dict:
    """Replace the ledger and the totals with a replay under ``ruleset``; report what changed.

    Runs in the caller's transaction: a failure leaves the old ledger in place. ``progress(done,
    total)`` is told about the five steps.
    """
    started = time.perf_counter()
    marks = {}

    def step(done, name):
        marks[name] = time.perf_counter()
        if progress:
            progress(done, 5)

    run = ReputationRebuild(actor_id=actor_id, reason=reason, rules=ruleset.as_dict())
    session.add(run)
    with reputation_swap.large_cache(session):
        entries, totals = replay(session, ruleset)
        step(1, "replay")
        with reputation_swap.replacing(session):
            step(2, "empty")
            session.execute(ReputationEntry.__table__.insert().from_select(list(LEDGER_COLUMNS), _entries()))
            step(3, "ledger")
            reputation_sums.write(session, utcnow())
            _drop_temporary(session)
            step(4, "totals")
        marks["indexes"] = time.perf_counter()
    current = session.execute(select(User.id, User.reputation))
    changed = [{"id": uid, "reputation": totals[uid]} for uid, rep in current if totals.get(uid, rep) != rep]
    if changed:  # ORM bulk UPDATE by primary key: one executemany
        session.execute(update(User), changed)
    changed = len(changed)
    step(5, "users")
    session.expire_all()
    run.events, run.changed_users, run.finished_at = entries, changed, utcnow()
    session.info.pop("reputation_ruleset", None)
    elapsed = time.perf_counter() - started
    previous, steps = started, {}
    for name, at in marks.items():  # seconds spent in each step, in order
        steps[name], previous = round(at - previous, 3), at
    return {"events": entries, "entries": entries, "changed_users": changed, "seconds": round(elapsed, 3),
            "replay_seconds": steps["replay"], "steps": steps,
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
