"""Helpers for the auth, users and admin page tests (imported by those test modules)."""


from sqlalchemy import func, select

from community.extensions import db
from tests.conftest import (
    IsolatedClient,
    count_queries,  # noqa: F401  (re-exported for the account page tests)
)

PASSWORD = "correct horse battery"
HOSTILE = "<script>alert(1)</script>"


def make_client(app) -> IsolatedClient:
    """A fresh client (its own cookies) whose requests each run in their own app context."""
    return IsolatedClient(app, app.response_class, use_cookies=True)


def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def count_rows(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def assert_escaped(body: str) -> None:
    """The hostile payload never appears unescaped in a page."""
    assert "<script>alert" not in body


