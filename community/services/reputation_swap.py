"""Replacing the ledger and the leaderboard totals wholesale, inside the caller's transaction.

On SQLite a rebuild writes millions of rows, so the tables are emptied the cheapest way each allows
and their secondary indexes are built once at the end (one sort each instead of millions of page
splits; unique ones included, creating a unique index checks uniqueness again):

- ``reputation_totals`` is dropped and created again from its own ``CREATE TABLE`` statement (as
  stored in ``sqlite_master``, so the schema stays exactly the migrated one). Its foreign key makes
  ``DELETE`` go row by row, while ``DROP TABLE`` only frees the pages;
- ``reputation_ledger`` keeps its table (dropping it measured slower) and loses its indexes for
  the load.

Everything is one transaction: readers keep seeing the old rows (WAL) until the commit, and a
failure rolls the DDL back with the rest. Elsewhere (PostgreSQL) both tables are emptied with
``DELETE``, which does not block readers the way ``DROP`` / ``TRUNCATE`` locks would.
"""

from contextlib import contextmanager

from sqlalchemy import delete, text

from community.models import ReputationEntry, ReputationTotal

CACHE_KIB = 262_144  # SQLite page cache of the main database while rebuilding: up to 256 MiB


@contextmanager
def large_cache(session):
    """A larger SQLite page cache for the rebuild, restored after (a larger cache for the temporary
    database measured slower: the facts table is written once and read in order)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    saved = {schema: connection.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar() for schema in ("main",)}
    try:
        for schema in saved:
            connection.exec_driver_sql(f"PRAGMA {schema}.cache_size = -{CACHE_KIB}")
        yield
    finally:
        for schema, size in saved.items():
            connection.exec_driver_sql(f"PRAGMA {schema}.cache_size = {int(size)}")


@contextmanager
def replacing(session):
    """Empty the ledger and the totals for a bulk load in the block; rebuild the indexes after it."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        session.execute(delete(ReputationTotal).execution_options(synchronize_session=False))
        session.execute(delete(ReputationEntry).execution_options(synchronize_session=False))
        yield
        return
    ledger, totals = ReputationEntry.__table__.name, ReputationTotal.__table__.name
    master = text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN (:a, :b) AND sql IS NOT NULL")
    rows = connection.execute(master, {"a": ledger, "b": totals}).all()
    indexes = [(name, sql) for kind, name, _table, sql in rows if kind == "index"]
    totals_sql = next(sql for kind, name, _table, sql in rows if kind == "table" and name == totals)
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    connection.exec_driver_sql(f'DROP TABLE "{totals}"')
    connection.exec_driver_sql(totals_sql)
    session.execute(delete(ReputationEntry).execution_options(synchronize_session=False))
    yield
    for _name, sql in indexes:
        connection.exec_driver_sql(sql)
