"""The leaderboard totals of a replay (``reputation_totals``), computed in the database from the
replayed facts (``reputation_facts.FACTS``, amounts already capped and floored).

A rebuild writes only what a board can show: every category and tag scope's all-time sum and the
current week, month, quarter and year of every scope (the site scope's all-time board reads
``users.reputation``). Past periods are not rewritten; the live path keeps adding to whichever
period is current.

The facts are first summed per member and question (``replay_question_sums``: many votes on one
post are one row there), once; the category and the tag sums are then grouped from that much
smaller table, all five periods at once, and written in one ``INSERT ... SELECT`` per period.
"""

from sqlalchemy import Column, Integer, MetaData, String, Table, case, func, literal, select

from community.models import ReputationTotal, question_tags
from community.services import reputation
from community.services import reputation_facts as facts

_META = MetaData()
PERIOD_COLUMNS = ("t_all", "t_w", "t_m", "t_q", "t_y")
PER_QUESTION = Table(
    "replay_question_sums", _META,
    Column("question_id", Integer), Column("category_id", Integer), Column("user_id", Integer),
    *[Column(name, Integer) for name in PERIOD_COLUMNS],
    prefixes=["TEMPORARY"],
)  # fmt: skip
SUMS = Table(
    "replay_sums", _META,
    Column("kind", String(3)), Column("scope_id", Integer), Column("user_id", Integer),
    *[Column(name, Integer) for name in PERIOD_COLUMNS],
    prefixes=["TEMPORARY"],
)  # fmt: skip


def _period_sums(amount, at, starts) -> list:
    """sum(amount) over everything, then over the facts since each period's start."""
    return [func.sum(amount)] + [func.sum(case((at >= start, amount), else_=0)) for start in starts]


def drop(connection) -> None:
    for table in (SUMS, PER_QUESTION):
        table.drop(connection, checkfirst=True)


def write(session, now) -> int:
    """Insert the replay's totals into the (empty) ``reputation_totals``; returns the row count."""
    f = facts.FACTS
    connection = session.connection()
    drop(connection)
    PER_QUESTION.create(connection)
    SUMS.create(connection)
    starts = reputation.period_starts(now)
    connection.execute(PER_QUESTION.insert().from_select(
        [c.name for c in PER_QUESTION.columns],
        select(f.c.question_id, f.c.category_id, f.c.user_id, *_period_sums(f.c.amount, f.c.at, starts))
        .where(f.c.question_id.is_not(None)).group_by(f.c.question_id, f.c.category_id, f.c.user_id),
    ))  # fmt: skip
    q = PER_QUESTION.c
    q_sums = [func.sum(q[name]) for name in PERIOD_COLUMNS]
    tag = question_tags.c.tag_id
    selects = [
        # the site scope has no "all" period row (users.reputation is that board): only recent facts matter
        select(literal("all"), literal(0), f.c.user_id, *_period_sums(f.c.amount, f.c.at, starts))
        .where(f.c.at >= min(starts)).group_by(f.c.user_id),
        select(literal("c"), q.category_id, q.user_id, *q_sums)
        .where(q.category_id.is_not(None)).group_by(q.category_id, q.user_id),
        select(literal("t"), tag, q.user_id, *q_sums)
        .join(question_tags, question_tags.c.question_id == q.question_id).group_by(tag, q.user_id),
    ]  # fmt: skip
    for stmt in selects:
        connection.execute(SUMS.insert().from_select([c.name for c in SUMS.columns], stmt))
    table = ReputationTotal.__table__
    scope = case((SUMS.c.kind == "all", "all"), else_=facts.concat(SUMS.c.kind, SUMS.c.scope_id))
    periods = [("all", SUMS.c.t_all), *zip(reputation.periods(now), [SUMS.c[name] for name in PERIOD_COLUMNS[1:]],
                                          strict=True)]  # fmt: skip
    written = 0
    for period, column in periods:
        where = [column != 0] + ([SUMS.c.kind != "all"] if period == "all" else [])
        written += connection.execute(table.insert().from_select(
            ["scope", "period", "user_id", "total"], select(scope, literal(period), SUMS.c.user_id, column).where(*where),
        )).rowcount  # fmt: skip
    drop(connection)
    return written
