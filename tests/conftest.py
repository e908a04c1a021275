"""Shared fixtures: an app per session, a clean database per test, users of every role.

The suite runs on in-memory SQLite by default. With ``TEST_DATABASE_URL`` set (``make test``
sets it to the local PostgreSQL when one answers), the same tests run against that database;
when it cannot be reached they are skipped with the reason.
"""

import contextvars
import os
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from community import create_app
from community.db import transaction
from community.extensions import db as _db
from community.services import accounts

accounts.PASSWORD_METHOD = "scrypt:1024:8:1"  # same KDF, a test-sized cost
PASSWORD = "correct horse battery"


def _database_unreachable(url: str) -> str | None:
    if not url or url.startswith("sqlite"):
        return None
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any connection failure means: skip, and say why
        return f"TEST_DATABASE_URL is set but unreachable ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    return None


_UNREACHABLE = _database_unreachable(os.environ.get("TEST_DATABASE_URL", ""))

# Redis for the tests: TEST_REDIS_URL or REDIS_URL, else the local server; database 15 is theirs
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379"
REDIS_TEST_URL = urlunsplit(urlsplit(REDIS_BASE_URL)._replace(path="/15"))


def redis_unreachable() -> str | None:
    """None when the tests' Redis answers, else why not (the reason a Redis test is skipped with)."""
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1, socket_timeout=2).ping()
    except Exception as exc:  # any failure: skip and say why
        return f"Redis not reachable at {REDIS_TEST_URL} ({type(exc).__name__}: {exc}); set TEST_REDIS_URL"
    return None


def pytest_collection_modifyitems(config, items):
    if _UNREACHABLE:
        skip = pytest.mark.skip(reason=_UNREACHABLE)
        for item in items:
            item.add_marker(skip)


_SHARED_STATE: dict = {}


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    pytest-flask keeps a request context pushed for the whole test, and Flask reuses an already
    pushed app context for client requests, so ``g`` (the logged-in user) and the database
    session would leak from one request into the next. Each request here starts from an empty
    context; afterwards the test's own session is expired so it reads what the request wrote.
    """

    def open(self, *args, **kwargs):
        if self.preserve_context:  # inside ``with client:`` the test wants the contexts kept
            return super().open(*args, **kwargs)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response


def build_app(**settings):
    """A second app (CSRF on, rate limits on, page cache ...) on its own in-memory SQLite, tables
    created. The shared extensions it re-binds are put back after the test by the fixture below."""
    import config

    cfg = config.TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = "sqlite://"  # the database is not what these apps test
    cfg.SQLALCHEMY_ENGINE_OPTIONS = {}
    for name, value in settings.items():
        setattr(cfg, name, value)
    new_app = create_app(cfg)
    new_app.test_client_class = IsolatedClient
    with new_app.app_context():
        _db.create_all()
    return new_app


def _private_schema(url: str):
    """On PostgreSQL each test process works in its own schema, so parallel runs never collide."""
    if not url or url.startswith("sqlite"):
        return None
    schema = f"pytest_{os.getpid()}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return engine, schema


@pytest.fixture(scope="session")
def app():
    if _UNREACHABLE:
        pytest.skip(_UNREACHABLE)
    import config

    cfg = config.TestingConfig()
    private = _private_schema(cfg.SQLALCHEMY_DATABASE_URI)
    if private:
        cfg.SQLALCHEMY_ENGINE_OPTIONS = {
            **cfg.SQLALCHEMY_ENGINE_OPTIONS,
            "connect_args": {"options": f"-csearch_path={private[1]}"},
        }
    app = create_app(cfg)
    app.test_client_class = IsolatedClient
    from community.extensions import limiter, socketio

    _SHARED_STATE.update({ext: dict(vars(ext)) for ext in (socketio, limiter)})
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()
    if private:
        engine, schema = private
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def client(app):
    """The app's isolated client. pytest-flask's own fixture enters ``with client:``, which keeps each
    request's context alive afterwards and so would defeat the isolation above."""
    return app.test_client()


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def crm_settings(app):
    """Switch CRM settings on for one test: ``crm_settings(CRM_CONNECTORS="hubspot", HUBSPOT_BASE_URL=...)``.
    The app's settings and the cached connectors are put back afterwards."""
    from community.integrations import crm_base, crm_relay

    saved = {}

    def apply(**settings):
        for name, value in settings.items():
            saved.setdefault(name, app.config.get(name))
            app.config[name] = value
        crm_base.forget()
        crm_relay._paused_until.clear()

    yield apply
    app.config.update(saved)
    crm_base.forget()
    crm_relay._paused_until.clear()


@pytest.fixture(autouse=True)
def _restore_shared_extensions():
    """``create_app`` re-binds the shared socketio and limiter objects; tests that build a second
    app (CSRF on, production config, Redis) must not leave them pointing at it."""
    yield
    for ext, state in _SHARED_STATE.items():
        vars(ext).update(state)


@pytest.fixture
def session(app):
    """The app's database session inside an app context (for service tests)."""
    with app.app_context():
        yield _db.session
        _db.session.rollback()


def make_user(session, email="member@example.com", name="Member Mia", role="member", password=PASSWORD,
              reputation=1):  # fmt: skip
    """Register a user; ``reputation`` above 1 is granted as a recorded adjustment (through the ledger)."""
    from community.services import reputation as rep

    with transaction(session):
        user = accounts.register(session, email=email, display_name=name, password=password, role=role)
        if reputation > 1:
            rep.record_adjustment(session, user_id=user.id, delta=reputation - 1, reason="test fixture")
    session.refresh(user)
    return user


@pytest.fixture
def users(session):
    """One committed user per role, keyed by role; plus ``other`` (a second member).

    Each has 200 reputation: enough to vote up and down and to comment, not to edit others' posts.
    """
    result = {role: make_user(session, f"{role}@example.com", f"{role.title()} User", role, reputation=200)
              for role in ("member", "moderator", "marketer", "admin")}  # fmt: skip
    result["other"] = make_user(session, "other@example.com", "Other Member", "member", reputation=200)
    return result


@pytest.fixture
def newbie(session):
    """A member with 10 reputation: below every privilege (edits become suggestions)."""
    return make_user(session, "newbie@example.com", "Nina Newbie", "member", reputation=10)


@pytest.fixture
def post(users, ask, answer):
    """An answer by ``other`` on a question by ``member``."""
    return answer(users["other"], ask(users["member"]))


@pytest.fixture
def category(session):
    from community.models import Category

    with transaction(session):
        cat = Category(slug="billing", name="Billing", description="Invoices and plans", is_default=True)
        session.add(cat)
    return cat


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email="member@example.com", password=PASSWORD):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


QUESTION_BODY = "I upgraded to the new plan yesterday and the invoice shows the old price. Why?"


@pytest.fixture
def ask(session, category):
    """``ask(user, **overrides)`` posts a question through the service and commits it."""
    from community.services import qa

    def _ask(user, **kw):
        data = {"title": "Invoice shows the wrong amount", "body": QUESTION_BODY,
                "tags": ["billing", "invoices"], "category": category.slug}  # fmt: skip
        data.update(kw)
        with transaction(session):
            return qa.ask(session, actor=user, **data)

    return _ask


@pytest.fixture
def answer(session):
    from community.services import qa

    def _answer(user, question, body="Open Billing, then Invoices, and press Recalculate to refresh it."):
        with transaction(session):
            return qa.answer(session, actor=user, question_id=question.id, body=body)

    return _answer


@pytest.fixture
def events(app):
    """Every after-commit event recorded during the test."""
    from community.db import add_event_listener, remove_event_listener

    seen: list = []

    def listener(batch):
        seen.extend(batch)

    add_event_listener(listener)
    yield seen
    remove_event_listener(listener)


@contextmanager
def count_queries(engine=None):
    """Collect the SQL statements run on ``engine`` (the app's by default) inside the block."""
    from sqlalchemy import event

    engine = engine if engine is not None else _db.engine
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
