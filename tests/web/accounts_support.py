"""Helpers for the auth, users and admin page tests (imported by those test modules)."""

from contextlib import contextmanager

from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from community.extensions import db

PASSWORD = "correct horse battery"
HOSTILE = "<script>alert(1)</script>"


class IsolatedClient(FlaskClient):
    """A test client whose requests never see the previous request's user.

    pytest-flask keeps one app context pushed for the whole test, and the client's requests reuse
    it, so Flask-Login's cached ``g._login_user`` would leak from one request (or client) to the
    next. Production requests each get a fresh ``g``; this client restores that.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("auth_via_token", None)
        return super().open(*args, **kwargs)


def make_client(app) -> IsolatedClient:
    return IsolatedClient(app, app.response_class, use_cookies=True)


def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def count_rows(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def assert_escaped(body: str) -> None:
    """The hostile payload never appears unescaped in a page."""
    assert "<script>alert" not in body


@contextmanager
def count_queries():
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def _before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", _before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _before)
