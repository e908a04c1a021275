"""The source facts of a reputation replay, gathered into a temporary table by INSERT ... SELECT.

Facts: live votes (not on deleted posts, not reversed by a fraud case), accepted answers (at
``accepted_at``), moderators' adjustments, approved suggested edits on live posts, badge awards
(when the rules give a tier bonus) and first answers of the day (when the rules give a bonus). Each
becomes rows of ``(at, ord, user_id, amount, kind, source_type, source_id, post_id, actor_id, key,
capgroup, capday, note)``; ``capgroup`` 1 is the daily cap on upvote reputation (per ``capday``),
2 the lifetime cap on suggested-edit reputation. The keys are the ones the live path writes.
"""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, case, cast, func, literal, select

from community.db_functions import day_text, stamp
from community.models import BadgeAward, FraudVote, Post, ReputationAdjustment, SuggestedEdit, Vote

POSTS = Post.__table__
FACTS = Table(
    "replay_facts", MetaData(),
    Column("id", Integer, primary_key=True), Column("at", DateTime), Column("ord", Integer), Column("user_id", Integer), Column("amount", Integer),
    Column("kind", String(32)), Column("source_type", String(16)), Column("source_id", Integer),
    Column("post_id", Integer), Column("actor_id", Integer), Column("key", String(160)),
    Column("capgroup", Integer), Column("capday", String(10)), Column("note", String(300)),
    Column("question_id", Integer), Column("category_id", Integer),  # the leaderboard scopes of the entry
    prefixes=["TEMPORARY"],
)  # fmt: skip
NO_CAP, DAILY_CAP, EDIT_CAP = 0, 1, 2


def concat(*parts):
    """String concatenation of literals and columns (``||`` on both databases)."""
    out = None
    for part in parts:
        part = literal(part) if isinstance(part, str) else cast(part, String) if not isinstance(part.type, String) else part
        out = part if out is None else out + part
    return out


def _row(at, ord_, user, amount, kind, stype, sid, post, actor, key, capgroup=NO_CAP, capday="", note="",
         scope=None):  # fmt: skip
    question, category = scope if scope is not None else (literal(None, Integer), literal(None, Integer))
    return [at, literal(ord_), user, literal(amount) if isinstance(amount, int) else amount,
            literal(kind) if isinstance(kind, str) else kind, literal(stype), sid, post, actor, key,
            literal(capgroup), literal(capday) if isinstance(capday, str) else capday,
            literal(note) if isinstance(note, str) else note, question, category]  # fmt: skip


def _scope_of(p, q):
    """(question id, category id) of post ``p`` whose question (when it is an answer) is ``q``."""
    return func.coalesce(p.c.question_id, p.c.id), func.coalesce(q.c.category_id, p.c.category_id)


def _votes(rules) -> list:
    p, q = POSTS.alias("p"), POSTS.alias("q")
    fraud = select(FraudVote.id).where(FraudVote.vote_id == Vote.id, FraudVote.vote_created_at == Vote.created_at)
    base = (select().select_from(Vote).join(p, p.c.id == Vote.post_id).outerjoin(q, q.c.id == p.c.question_id)
            .where(p.c.deleted_at.is_(None), q.c.deleted_at.is_(None), Vote.user_id != p.c.author_id, ~fraud.exists()))  # fmt: skip
    key = concat("vote:", Vote.id, "@", stamp(Vote.created_at))
    scope = _scope_of(p, q)
    is_answer = p.c.type == "answer"
    up = case((is_answer, rules["answer_upvote"]), else_=rules["question_upvote"])
    up_kind = case((is_answer, "answer_upvoted"), else_="question_upvoted")
    return [
        base.where(Vote.value > 0).add_columns(*_row(Vote.created_at, 0, p.c.author_id, up, up_kind, "vote", Vote.id,
            Vote.post_id, Vote.user_id, key + ":author", DAILY_CAP, day_text(Vote.created_at), scope=scope)),
        base.where(Vote.value < 0).add_columns(*_row(Vote.created_at, 0, p.c.author_id, rules["post_downvoted"],
            "post_downvoted", "vote", Vote.id, Vote.post_id, Vote.user_id, key + ":author", scope=scope)),
        base.where(Vote.value < 0, is_answer).add_columns(*_row(Vote.created_at, 1, Vote.user_id,
            rules["downvote_cast"], "downvote_cast", "vote", Vote.id, Vote.post_id, Vote.user_id, key + ":voter",
            scope=scope)),
    ]  # fmt: skip


def _accepts(rules) -> list:
    q, a = POSTS.alias("q"), POSTS.alias("a")
    at = func.coalesce(q.c.accepted_at, a.c.created_at)
    key = concat("accept:", q.c.id, ":", a.c.id, "@", stamp(at))
    base = (select().select_from(q).join(a, a.c.id == q.c.accepted_answer_id)
            .where(q.c.deleted_at.is_(None), a.c.deleted_at.is_(None), a.c.author_id != q.c.author_id))  # fmt: skip
    return [
        base.add_columns(*_row(at, 2, a.c.author_id, rules["answer_accepted"], "answer_accepted", "accept", q.c.id,
                               a.c.id, q.c.author_id, key + ":answerer", scope=(q.c.id, q.c.category_id))),
        base.add_columns(*_row(at, 3, q.c.author_id, rules["accepted_an_answer"], "accepted_an_answer", "accept",
                               q.c.id, q.c.id, q.c.author_id, key + ":asker", scope=(q.c.id, q.c.category_id))),
    ]  # fmt: skip


def _others(rules) -> list:
    adj = ReputationAdjustment
    stmts = [select(*_row(adj.created_at, 4, adj.user_id, adj.delta, "moderator_adjustment", "adjustment", adj.id,
                          literal(None, Integer), adj.actor_id, concat("adjustment:", adj.id), note=adj.reason))]  # fmt: skip
    if rules["suggested_edit"]:
        p, q = POSTS.alias("p"), POSTS.alias("q")  # deleting the post reverses the reward (live path)
        s = SuggestedEdit
        stmts.append(select(*_row(s.reviewed_at, 5, s.author_id, rules["suggested_edit"], "suggested_edit_approved",
                                  "suggested_edit", s.id, s.post_id, s.reviewer_id, concat("suggested-edit:", s.id),
                                  EDIT_CAP, scope=_scope_of(p, q)))
                     .join(p, p.c.id == s.post_id).outerjoin(q, q.c.id == p.c.question_id)
                     .where(s.status == "approved", p.c.deleted_at.is_(None), q.c.deleted_at.is_(None)))  # fmt: skip
    bonus = {tier: rules[f"badge_{tier}"] for tier in ("bronze", "silver", "gold")}
    if any(bonus.values()):
        b = BadgeAward
        amount = case(*[(b.tier == tier, value) for tier, value in bonus.items()], else_=0)
        stmts.append(select(*_row(b.created_at, 6, b.user_id, amount, "badge_bonus", "badge", b.id,
                                  literal(None, Integer), literal(None, Integer), concat("badge:", b.id),
                                  note=b.badge)).where(b.revoked_at.is_(None)))  # fmt: skip
    if rules["first_answer_bonus"]:
        q, a = POSTS.alias("q"), POSTS.alias("a")
        day = day_text(a.c.created_at)
        nth = func.row_number().over(partition_by=[a.c.author_id, day], order_by=[a.c.created_at, a.c.id])
        firsts = (select(a.c.id, a.c.author_id, a.c.created_at, day.label("day"), nth.label("nth"),
                         q.c.id.label("qid"), q.c.category_id.label("cat"))
                  .join(q, q.c.id == a.c.question_id)
                  .where(a.c.type == "answer", a.c.deleted_at.is_(None), q.c.deleted_at.is_(None),
                         q.c.author_id != a.c.author_id).subquery())  # fmt: skip
        stmts.append(select(*_row(firsts.c.created_at, 7, firsts.c.author_id, rules["first_answer_bonus"],
                                  "first_answer_bonus", "answer", firsts.c.id, firsts.c.id, literal(None, Integer),
                                  concat("first-answer:", firsts.c.author_id, ":", firsts.c.day),
                                  scope=(firsts.c.qid, firsts.c.cat)))
                     .where(firsts.c.nth == 1))  # fmt: skip
    return stmts


def collect(session, rules: dict) -> int:
    """(Re)create the temporary facts table for this connection and fill it; returns the row count."""
    connection = session.connection()
    FACTS.drop(connection, checkfirst=True)
    FACTS.create(connection)
    columns = [c.name for c in FACTS.columns if c.name != "id"]
    for stmt in [*_votes(rules), *_accepts(rules), *_others(rules)]:
        connection.execute(FACTS.insert().from_select(columns, stmt))
    connection.execute(FACTS.delete().where(FACTS.c.amount == 0))  # a rule of 0 writes no entry
    return connection.execute(select(func.count()).select_from(FACTS)).scalar()


def drop(session) -> None:
    FACTS.drop(session.connection(), checkfirst=True)

