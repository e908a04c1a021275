"""The rebuild's bulk replacement (``reputation_swap``) and its totals (``reputation_sums``): the
schema stays the migrated one, a failure leaves everything as it was, and the totals it writes
equal what the live path wrote."""

import pytest
from sqlalchemy import inspect, select

from community.db import transaction, utcnow
from community.models import ReputationEntry, ReputationTotal
from community.services import reputation, reputation_replay, reputation_rules, votes

TABLES = (ReputationEntry.__table__.name, ReputationTotal.__table__.name)


def _schema(session) -> dict:
    connection = session.connection()
    if connection.dialect.name == "sqlite":  # the exact statements, as the migrations wrote them
        return dict(connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE tbl_name IN ('reputation_ledger', 'reputation_totals')").all())  # fmt: skip
    found = inspect(connection)
    return {table: (sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table)),
                    found.get_pk_constraint(table), sorted(fk["name"] for fk in found.get_foreign_keys(table)))
            for table in TABLES}  # fmt: skip


def _rows(session):
    session.expire_all()
    ledger = session.execute(select(ReputationEntry.user_id, ReputationEntry.delta, ReputationEntry.kind,
                                    ReputationEntry.key, ReputationEntry.note).order_by(ReputationEntry.key)).all()  # fmt: skip
    totals = session.execute(select(ReputationTotal.scope, ReputationTotal.period, ReputationTotal.user_id,
                                    ReputationTotal.total).order_by(*ReputationTotal.__table__.primary_key)).all()  # fmt: skip
    return ledger, totals


@pytest.fixture
def voted(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    for voter, target, value in [(users["admin"], post, 1), (users["moderator"], post, -1),
                                 (users["marketer"], question, 1), (users["other"], question, -1)]:  # fmt: skip
        with transaction(session):
            votes.cast(session, actor=voter, post_id=target.id, value=value)
    return question, post


def test_rebuild_keeps_the_tables_indexes_and_constraints(session, voted):
    before = _schema(session)
    session.rollback()
    with transaction(session):
        reputation_replay.rebuild(session, reputation_rules.current(session))
    assert _schema(session) == before
    assert reputation.verify(session) == []


def test_a_failed_rebuild_leaves_the_old_ledger_and_totals(session, voted):
    before, schema = _rows(session), _schema(session)
    session.rollback()

    def fail_after_writing(done, total):
        if done == 4:  # ledger and totals written, indexes about to be rebuilt
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"), transaction(session):
        reputation_replay.rebuild(session, reputation_rules.current(session), progress=fail_after_writing)
    assert _rows(session) == before
    assert _schema(session) == schema


def test_rebuilt_totals_equal_the_live_ones(session, voted):
    """Every total a board reads (the scopes' all-time sums and the current periods) comes back the
    same; past periods are the only rows a rebuild does not rewrite, and this data has none."""
    current = set(reputation.periods(utcnow()))
    live = [row for row in _rows(session)[1] if row.period in current or row.period == "all"]
    session.rollback()
    with transaction(session):
        reputation_replay.rebuild(session, reputation_rules.current(session))
    assert _rows(session)[1] == live


def test_rebuild_puts_the_page_cache_size_back(session, voted):
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    reputation_replay.rebuild(session, reputation_rules.current(session))
    assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == size
    session.rollback()
