"""Badge pages: the catalogue, a badge's holders, badges on profiles, the manage page, view counting."""


import pytest
from flask import g
from sqlalchemy import select

from community.db import transaction
from community.extensions import db
from community.models import BadgeAward, ManualBadge, Question
from community.services import badges, views, votes
from tests.conftest import PASSWORD, build_app, count_queries


def cold_get(client, url):
    db.session.expunge_all()
    g.pop("_login_user", None)
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return response, statements


def give(session, user, slug, key="", tier="bronze"):
    with transaction(session):
        badges._grant(session, [{"user_id": user.id, "badge": slug, "tier": tier, "award_key": key, "post_id": None,
                                 "tag_id": None, "created_at": badges.utcnow()}])  # fmt: skip


@pytest.fixture
def voted(session, users, ask):
    q = ask(users["member"])
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=q.id, value=1)
    return q


def test_badges_page_groups_by_tier_with_holder_counts(client, voted):
    html = client.get("/badges").get_data(as_text=True)
    assert html.index("Gold badges") < html.index("Silver badges") < html.index("Bronze badges")
    assert "Supporter" in html and "Civic Duty" in html and "Necromancer" in html
    assert "1 member holds it" in html


def test_badge_page_lists_recent_holders(client, users, voted):
    html = client.get("/badges/supporter").get_data(as_text=True)
    assert users["other"].display_name in html and "1 holder" in html


def test_badge_page_paginates_holders(client, session, users, make_many=60):
    from tests.conftest import make_user

    people = [make_user(session, f"p{i}@example.com", f"Person {i:02d}") for i in range(make_many)]
    for person in people:
        give(session, person, "editor")
    first = client.get("/badges/editor").get_data(as_text=True)
    second = client.get("/badges/editor?page=2").get_data(as_text=True)
    assert "Person 59" in first and "Person 00" not in first
    assert "Person 00" in second and 'rel="next"' in first


def test_unknown_badge_is_404(client):
    assert client.get("/badges/no-such-badge").status_code == 404


def test_profile_shows_badges_with_tier_counts(client, users, voted):
    html = client.get(f"/users/{users['other'].id}").get_data(as_text=True)
    assert "badge-chip--bronze" in html and "Supporter" in html
    assert 'href="/badges/supporter"' in html


def test_profile_badges_cost_the_same_queries_for_one_or_many(client, session, users):
    member = users["member"]
    give(session, member, "editor")
    _, few = cold_get(client, f"/users/{member.id}")
    for n in range(20):
        give(session, member, "nice-answer", key=str(1000 + n))
    for slug in ("tag-bronze", "tag-silver"):
        give(session, member, slug, key="billing", tier=slug.split("-")[1])
    response, many = cold_get(client, f"/users/{member.id}")
    assert len(many) == len(few), many
    html = response.get_data(as_text=True)
    assert "×20" in html and "billing" in html


def test_question_page_shows_views(client, session, voted):
    with transaction(session):
        session.execute(Question.__table__.update().values(view_count=1234))
    html = client.get(f"/questions/{voted.id}/{voted.slug}").get_data(as_text=True)
    assert "Viewed 1,234 times" in html


# --- manage page ------------------------------------------------------------------------------


def login(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_manage_is_for_marketers_and_admins(client, users):
    assert client.get("/badges/manage").status_code == 302  # to the login page
    login(client, users["member"])
    assert client.get("/badges/manage").status_code == 403
    assert client.post("/badges/manage/define", data={"define-name": "Hacker", "define-tier": "gold"}).status_code == 403
    assert client.post("/badges/awards/1/revoke", data={"revoke-revoke_reason": "because"}).status_code == 403


def test_marketer_defines_awards_and_revokes(client, session, users):
    login(client, users["marketer"])
    assert client.get("/badges/manage").status_code == 200
    response = client.post("/badges/manage/define", data={"define-name": "Event speaker", "define-tier": "silver",
                                                          "define-description": "Spoke at our conference"})
    assert response.status_code == 302
    response = client.post("/badges/manage/award", data={"award-badge": "event-speaker",
                                                         "award-user": users["member"].email,
                                                         "award-reason": "Talk at the 2026 summit"})
    assert response.status_code == 302
    award = session.scalar(select(BadgeAward).where(BadgeAward.badge == "event-speaker"))
    assert (award.user_id, award.reason, award.awarded_by_id) == (users["member"].id, "Talk at the 2026 summit",
                                                                  users["marketer"].id)
    assert "Event speaker" in client.get(f"/users/{users['member'].id}").get_data(as_text=True)
    response = client.post(f"/badges/awards/{award.id}/revoke", data={"revoke-revoke_reason": "Talk was cancelled"})
    assert response.status_code == 302
    session.refresh(award)
    assert award.revoked_at is not None and award.revoke_reason == "Talk was cancelled"
    assert "Event speaker" not in client.get(f"/users/{users['member'].id}").get_data(as_text=True)


def test_define_errors_are_shown_beside_the_fields(client, users):
    login(client, users["admin"])
    response = client.post("/badges/manage/define", data={"define-name": "Student", "define-tier": "gold"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="define-name-error"' in html and "exists already" in html


def test_award_to_an_unknown_member_is_an_error_beside_the_field(client, session, users):
    with transaction(session):
        badges.define(session, actor=users["admin"], name="Beta tester", tier="gold")
    login(client, users["admin"])
    response = client.post("/badges/manage/award", data={"award-badge": "beta-tester", "award-user": "nobody@x.org",
                                                         "award-reason": "Joined the beta early"})  # fmt: skip
    assert response.status_code == 422
    assert 'id="award-user-error"' in response.get_data(as_text=True)
    assert session.scalar(select(ManualBadge.id)) and not session.scalar(select(BadgeAward.id))


def test_manage_forms_need_a_csrf_token():
    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from community.services import accounts

        with transaction():
            accounts.register(db.session, email="mk@example.com", display_name="Marketer", password=PASSWORD,
                              role="marketer")  # fmt: skip
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": "mk@example.com", "password": PASSWORD, "csrf_token": token})
    response = client.post("/badges/manage/define", data={"define-name": "No token", "define-tier": "gold"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ManualBadge.id)) is None
        db.session.remove()


# --- views ------------------------------------------------------------------------------------


def test_question_views_are_counted_in_memory_and_deduplicated(client, voted):
    views.counter.take()
    url = f"/questions/{voted.id}/{voted.slug}"
    client.get(url, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    client.get(url, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    client.get(url, environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert views.counter.take() == {voted.id: 2}


def test_views_served_by_the_page_cache_count_too():
    app = build_app(PAGE_CACHE_SECONDS=60)
    with app.app_context():
        from community.models import Category
        from community.services import accounts, qa

        with transaction():
            db.session.add(Category(slug="billing", name="Billing", is_default=True))
            asker = accounts.register(db.session, email="a@example.com", display_name="Asker", password=PASSWORD)
            q = qa.ask(db.session, actor=asker, title="Where do I download invoices?",
                       body="I cannot find the invoice download button anywhere in the app.", tags="billing")
        url = f"/questions/{q.id}/{q.slug}"
    client = app.test_client()
    views.counter.take()
    assert client.get(url, environ_base={"REMOTE_ADDR": "198.51.100.21"}).headers["X-Page-Cache"] == "miss"
    assert client.get(url, environ_base={"REMOTE_ADDR": "198.51.100.22"}).headers["X-Page-Cache"] == "hit"
    assert views.counter.pending() == {q.id: 2}
    with app.app_context():
        version = app.extensions["page_cache"].version()
        with views.batch() as counts, transaction():
            views.apply(db.session, counts)
        assert db.session.get(Question, q.id).view_count == 2
        assert int(app.extensions["page_cache"].version()) == int(version) + 1  # retired once per flush
        db.session.remove()


# --- CLI --------------------------------------------------------------------------------------


def test_cli_backfill_reports_and_reruns(app, session, users, ask):
    q = ask(users["member"])
    with transaction(session):
        session.execute(Question.__table__.update().where(Question.__table__.c.id == q.id).values(score=12))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["badges", "backfill"])
    assert result.exit_code == 0, result.output
    assert "nice-question: 1 new" in result.output and "student: 1 new" in result.output
    again = runner.invoke(args=["badges", "backfill", "nice-question"])
    assert again.exit_code == 0 and "0 badge(s) awarded" in again.output
    assert runner.invoke(args=["badges", "backfill", "nope"]).exit_code != 0


def test_cli_list_and_flush_views(app, session, users, ask):
    q = ask(users["member"])
    views.counter.take()
    views.record(q.id, "u99")
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["badges", "list"])
    assert listing.exit_code == 0 and "civic-duty" in listing.output
    flushed = runner.invoke(args=["badges", "flush-views"])
    assert flushed.exit_code == 0 and "1 view(s) written" in flushed.output
    session.expire_all()
    assert session.get(Question, q.id).view_count == 1


def test_a_process_without_relay_starts_one_view_flusher(monkeypatch):
    from community.extensions import socketio
    from community.integrations import relay

    started = []
    monkeypatch.setattr(socketio, "start_background_task", lambda fn, *a, **kw: started.append(fn))
    app = build_app(VIEW_FLUSH_SECONDS=60)
    relay.start_view_flusher(app)
    relay.start_view_flusher(app)
    assert started == [relay.view_flush_loop]
    with_relay = build_app(VIEW_FLUSH_SECONDS=60)
    relay.start_in_background(with_relay)
    started.clear()
    relay.start_view_flusher(with_relay)
    assert started == []


def test_profile_names_a_manual_badge(client, session, users):
    from community.db import transaction
    from community.services import badges

    with transaction(session):
        badge = badges.define(session, actor=users["marketer"], name="Launch Hero", tier="gold",
                              description="Helped at the launch")  # fmt: skip
        badges.award(session, actor=users["marketer"], slug=badge.slug, user=users["member"], reason="Launch week")
    page = client.get(f"/users/{users['member'].id}")
    assert page.status_code == 200
    assert "Launch Hero" in page.get_data(as_text=True)
