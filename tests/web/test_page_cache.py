"""The anonymous page cache: hits for visitors without cookies, retired by any visible change."""

import pytest

from community.db import transaction
from community.extensions import db
from community.services import accounts, qa
from tests.conftest import PASSWORD, build_app


@pytest.fixture(scope="module")
def cached_app():
    app = build_app(PAGE_CACHE_SECONDS=60)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(cached_app):
    from community.models import Category

    with cached_app.app_context():
        with transaction():
            db.session.add(Category(slug="billing", name="Billing", is_default=True))
            asker = accounts.register(db.session, email="a@example.com", display_name="Asker", password=PASSWORD)
            helper = accounts.register(db.session, email="h@example.com", display_name="Helper", password=PASSWORD)
            q = qa.ask(db.session, actor=asker, title="Where do I download invoices?",
                       body="I cannot find the invoice download button anywhere in the app.", tags="billing")
        ids = {"q": q.id, "asker": asker.id, "helper": helper.id}
    yield ids
    with cached_app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        cached_app.extensions["page_cache"].bump()


def test_second_anonymous_view_is_served_from_the_cache(cached_app, world):
    client = cached_app.test_client()
    first = client.get(f"/questions/{world['q']}/where-do-i-download-invoices")
    second = client.get(f"/questions/{world['q']}/where-do-i-download-invoices")
    assert first.headers["X-Page-Cache"] == "miss"
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert "Content-Security-Policy" in second.headers


def test_a_committed_answer_retires_cached_pages(cached_app, world):
    client = cached_app.test_client()
    url = f"/questions/{world['q']}/where-do-i-download-invoices"
    client.get(url)
    with cached_app.app_context():
        with transaction():
            helper = db.session.get(accounts.User, world["helper"])
            qa.answer(db.session, actor=helper, question_id=world["q"],
                      body="Open Billing, then Invoices; each row has a PDF download link.")
    response = client.get(url)
    assert response.headers["X-Page-Cache"] == "miss"
    assert "each row has a PDF download link" in response.get_data(as_text=True)


def test_visitors_with_a_session_are_never_served_from_the_cache(cached_app, world):
    client = cached_app.test_client()
    client.post("/login", data={"email": "h@example.com", "password": PASSWORD})
    client.get("/questions")
    response = client.get("/questions")
    assert "X-Page-Cache" not in response.headers
    assert "Log out" in response.get_data(as_text=True)


def test_bearer_requests_bypass_the_cache(cached_app, world):
    client = cached_app.test_client()
    client.get("/questions")
    response = client.get("/questions", headers={"Authorization": "Bearer adv_x"})
    assert "X-Page-Cache" not in response.headers


def test_last_seen_updates_do_not_retire_cached_pages(cached_app, world):
    client = cached_app.test_client()
    client.get("/questions")
    with cached_app.app_context():
        with transaction():
            user = db.session.get(accounts.User, world["asker"])
            user.last_seen_at = user.last_seen_at.replace(year=2020)
    assert client.get("/questions").headers["X-Page-Cache"] == "hit"


def test_a_bulk_insert_retires_cached_pages(cached_app, world):
    """Badge awards are written with INSERT ... ON CONFLICT statements, not ORM objects."""
    from sqlalchemy import insert

    from community.models import BadgeAward

    client = cached_app.test_client()
    url = f"/users/{world['helper']}"
    client.get(url)
    assert client.get(url).headers["X-Page-Cache"] == "hit"
    with cached_app.app_context():
        with transaction():
            db.session.execute(insert(BadgeAward.__table__).values(user_id=world["helper"], badge="supporter",
                                                                   tier="bronze", award_key=""))  # fmt: skip
    response = client.get(url)
    assert response.headers["X-Page-Cache"] == "miss"
    assert "Supporter" in response.get_data(as_text=True)
