"""API fixtures: bearer headers for any user, and a SQL statement counter."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from community.db import transaction
from community.extensions import db
from community.services import tokens


@pytest.fixture
def bearer(session):
    """``bearer(user)`` -> headers carrying a fresh API token of ``user``."""

    def _bearer(user, name="tests"):
        with transaction(session):
            _token, plaintext = tokens.create(session, user=user, name=name)
        return {"Authorization": f"Bearer {plaintext}"}

    return _bearer


@pytest.fixture
def member_headers(users, bearer):
    return bearer(users["member"])


@pytest.fixture
def other_headers(users, bearer):
    return bearer(users["other"])


@pytest.fixture
def count_queries(app):
    """``with count_queries() as seen: ...`` then ``len(seen)`` is the number of SQL statements (cold session)."""

    @contextmanager
    def _count():
        seen: list[str] = []

        def _listener(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
            # the test shares one session (and identity map) with its requests: start cold, as a real request does
            db.session.expunge_all()
        event.listen(engine, "before_cursor_execute", _listener)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", _listener)

    return _count


def _error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


@pytest.fixture
def error_of():
    """``error_of(response, status)`` asserts the API error shape and status; returns the inner ``error``."""
    return _error_of
