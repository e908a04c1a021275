"""SQL functions over naive UTC timestamps that each database spells its own way (SQLite, PostgreSQL)."""

from sqlalchemy import BigInteger, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class epoch_seconds(FunctionElement):
    """Seconds since 1970 of a naive UTC timestamp, in the database's own arithmetic."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_seconds_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_pg(element, compiler, **kw):
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


class stamp(FunctionElement):
    """A timestamp as ``YYYYMMDDHHMMSSffffff`` text, as ``f"{dt:%Y%m%d%H%M%S%f}"`` writes it."""

    type = String()
    name = "stamp"
    inherit_cache = True


@compiles(stamp)
def _stamp_sqlite(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"(strftime('%Y%m%d%H%M%S', {value}) || substr({value} || '.000000', 21, 6))"


@compiles(stamp, "postgresql")
def _stamp_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYYMMDDHH24MISSUS')"


class day_text(FunctionElement):
    """The UTC day of a timestamp as ``YYYY-MM-DD`` text."""

    type = String()
    name = "day_text"
    inherit_cache = True


@compiles(day_text)
def _day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(day_text, "postgresql")
def _day_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"
