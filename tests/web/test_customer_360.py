"""Customer 360 on the staff pages: the profile panel (refresh, link, unlink) and the CRM chips
beside authors on the question page. Members and visitors never see any of it."""

import re

import pytest
from crm_360_support import PROFILE, FakeCrm, cache, link, profile_jobs
from flask import g

from community.extensions import db
from community.models import CrmLink
from tests.conftest import count_queries, make_user

SECRET_BITS = ("Customer 360", "Globex Corp", "crm-chip", "Dana Owner", "125,000.50")


@pytest.fixture
def fake(monkeypatch, crm_settings):
    crm_settings(CRM_CONNECTORS="salesforce,hubspot", CRM_PROFILE_TTL_SECONDS=900)
    return FakeCrm().install(monkeypatch)


def html_of(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_no_crm_data(html):
    for bit in SECRET_BITS:
        assert bit not in html, bit


def test_staff_see_the_panel_with_every_field_and_the_link(client, auth, session, users, fake):
    link(session, users["member"], contact_id="003ABC")
    cache(session, users["member"])
    auth.login(users["moderator"].email)
    html = html_of(client, f"/users/{users['member'].id}")
    panel = html[html.index('id="customer-360"'):]
    for text in ("Globex Corp", "Gold", "Analytics, Billing", "<dd>2</dd>", "125,000.50", "Dana Owner",
                 "003ABC", "sso", "Refresh now", "Link a contact by hand"):  # fmt: skip
        assert text in panel, text
    assert "stale" not in panel and "CRM unreachable" not in panel


@pytest.mark.parametrize("who", ["member", "other", "marketer", None])
def test_members_and_visitors_see_no_crm_data_on_profiles(client, auth, session, users, fake, who):
    link(session, users["member"])
    cache(session, users["member"])
    if who:
        auth.login(users[who].email)
    assert_no_crm_data(html_of(client, f"/users/{users['member'].id}"))
    assert profile_jobs(session) == []


def test_a_stale_profile_says_so_and_queues_a_refresh_without_calling_the_crm(client, auth, session, users, fake):
    link(session, users["member"])
    cache(session, users["member"], age_seconds=3600)
    auth.login(users["admin"].email)
    html = html_of(client, f"/users/{users['member'].id}")
    assert "stale" in html and "Globex Corp" in html
    assert [j.key for j in profile_jobs(session)] == [f"user:{users['member'].id}"]
    assert fake["salesforce"].calls == []


def test_refresh_now_reads_the_crm_and_shows_the_new_data(client, auth, session, users, fake):
    link(session, users["member"], contact_id="003R")
    cache(session, users["member"], age_seconds=3600)
    fake["salesforce"].profiles["003R"] = {**PROFILE, "tier": "Platinum"}
    auth.login(users["moderator"].email)
    response = client.post(f"/users/{users['member'].id}/crm/refresh")
    assert response.status_code == 302 and response.headers["Location"].endswith("#customer-360")
    html = html_of(client, f"/users/{users['member'].id}")
    assert "Platinum" in html and "Customer 360 refreshed" in html and "stale" not in html


def test_refresh_with_the_crm_unreachable_says_so_and_keeps_the_old_data(client, auth, session, users, fake):
    link(session, users["member"])
    cache(session, users["member"], age_seconds=3600)
    fake["salesforce"].down = True
    auth.login(users["moderator"].email)
    client.post(f"/users/{users['member'].id}/crm/refresh")
    html = html_of(client, f"/users/{users['member'].id}")
    assert "CRM unreachable: salesforce: cannot reach the CRM" in html
    assert "Globex Corp" in html and "Gold" in html


@pytest.mark.parametrize("path", ["refresh", "link", "unlink"])
def test_members_cannot_use_the_staff_actions(client, auth, session, users, fake, path):
    link(session, users["other"])
    auth.login(users["member"].email)
    response = client.post(f"/users/{users['other'].id}/crm/{path}", data={"connector": "salesforce", "contact_id": "X"})
    assert response.status_code == 403
    assert fake["salesforce"].calls == []
    assert session.query(CrmLink).filter_by(user_id=users["other"].id).one().contact_id != "X"


def test_visitors_are_sent_to_log_in(client, users, fake):
    response = client.post(f"/users/{users['other'].id}/crm/refresh")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_link_a_contact_by_hand(client, auth, session, users, fake):
    auth.login(users["moderator"].email)
    response = client.post(f"/users/{users['member'].id}/crm/link", data={"connector": "hubspot", "contact_id": " 77 "})
    assert response.status_code == 302
    made = session.query(CrmLink).filter_by(user_id=users["member"].id, connector="hubspot").one()
    assert (made.contact_id, made.linked_by) == ("77", "manual")


def test_link_errors_show_beside_the_field(client, auth, session, users, fake):
    link(session, users["other"], connector="hubspot", contact_id="77")
    auth.login(users["moderator"].email)
    response = client.post(f"/users/{users['member'].id}/crm/link", data={"connector": "hubspot", "contact_id": "77"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="contact_id-error".*Linked to member #{users["other"].id} already', html, re.S)
    empty = client.post(f"/users/{users['member'].id}/crm/link", data={"connector": "hubspot", "contact_id": ""})
    assert empty.status_code == 422 and "Give the CRM contact id." in empty.get_data(as_text=True)


def test_staff_unlink(client, auth, session, users, fake):
    link(session, users["member"], contact_id="003U")
    auth.login(users["admin"].email)
    assert client.post(f"/users/{users['member'].id}/crm/unlink", data={"connector": "salesforce"}).status_code == 302
    session.expire_all()
    assert session.query(CrmLink).filter_by(user_id=users["member"].id).one().contact_id is None


def test_staff_actions_need_a_csrf_token(users):
    from tests.conftest import build_app

    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from community.services import accounts

        with db.session.begin():
            staff = accounts.register(db.session, email="mod@example.com", display_name="Mod", password="p" * 12,
                                      role="moderator")  # fmt: skip
        staff_id = staff.id
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": "mod@example.com", "password": "p" * 12, "csrf_token": token})
    assert client.post(f"/users/{staff_id}/crm/refresh").status_code == 400


# --- the question page --------------------------------------------------------------------------


def _thread(session, users, ask, answer, helpers):
    q = ask(users["member"])
    for h in helpers:
        answer(h, q)
    return f"/questions/{q.id}/{q.slug}"


def _cold_queries(client, url):
    db.session.expunge_all()
    g.pop("_login_user", None)
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return statements


def test_staff_see_a_chip_by_each_author(client, auth, session, users, fake, ask, answer):
    url = _thread(session, users, ask, answer, [users["other"]])
    cache(session, users["member"], {**PROFILE, "account_name": "Asker Inc"})
    cache(session, users["other"], {**PROFILE, "account_name": "Helper LLC", "open_cases": 1}, age_seconds=3600)
    auth.login(users["moderator"].email)
    html = html_of(client, url)
    assert html.count('class="crm-chip"') == 2
    asker = re.search(r'class="crm-chip" data-crm-state="fresh".*?</span>\s*</span>', html, re.S).group(0)
    assert "Asker Inc" in asker and "Gold" in asker and "2 open cases" in asker
    helper = re.search(r'class="crm-chip" data-crm-state="stale".*?stale', html, re.S).group(0)
    assert "Helper LLC" in helper and "1 open case" in helper


@pytest.mark.parametrize("who", ["member", "other", None])
def test_members_and_visitors_see_no_chips(client, auth, session, users, fake, ask, answer, who):
    url = _thread(session, users, ask, answer, [users["other"]])
    cache(session, users["member"])
    cache(session, users["other"])
    if who:
        auth.login(users[who].email)
    assert_no_crm_data(html_of(client, url))


def test_chips_cost_the_same_queries_for_two_or_many_authors(client, auth, session, users, fake, ask, answer):
    helpers = [make_user(session, f"h{i}@example.com", f"Helper {i}", reputation=50) for i in range(6)]
    for h in helpers:
        link(session, h)
        cache(session, h, age_seconds=3600)  # stale: every view queues (or coalesces) refreshes
    small = _thread(session, users, ask, answer, helpers[:1])
    large = _thread(session, users, ask, answer, helpers)
    auth.login(users["admin"].email)
    html_of(client, small), html_of(client, large)  # first views queue the refreshes
    n_small, n_large = _cold_queries(client, small), _cold_queries(client, large)
    assert len(n_small) == len(n_large), n_large
    assert sum("FROM crm_profiles" in s for s in n_large) == 1
    assert fake["salesforce"].calls == []


def test_viewing_the_page_queues_refreshes_for_stale_and_missing_authors(client, auth, session, users, fake, ask, answer):
    url = _thread(session, users, ask, answer, [users["other"], users["marketer"]])
    link(session, users["member"])  # missing
    link(session, users["other"])
    cache(session, users["other"], age_seconds=3600)  # stale
    link(session, users["marketer"])
    cache(session, users["marketer"])  # fresh
    auth.login(users["moderator"].email)
    html_of(client, url)
    html_of(client, url)  # coalesced
    assert sorted(j.key for j in profile_jobs(session)) == sorted([f"user:{users['member'].id}", f"user:{users['other'].id}"])
    assert fake["salesforce"].calls == []


def test_member_views_queue_nothing(client, auth, session, users, fake, ask, answer):
    url = _thread(session, users, ask, answer, [users["other"]])
    link(session, users["other"])
    auth.login(users["member"].email)
    html_of(client, url)
    assert profile_jobs(session) == []


def test_refresh_against_the_fake_salesforce_down_then_up(client, auth, session, users, crm_settings):
    import crm_fakes

    with crm_fakes.FakeSalesforce() as sf:
        crm_settings(CRM_CONNECTORS="salesforce", SALESFORCE_INSTANCE_URL=sf.url,
                     SALESFORCE_ACCESS_TOKEN=sf.access_token, CRM_PROFILE_TIMEOUT=1.0)  # fmt: skip
        contact_id = sf.add_contact(LastName="Member", Email=users["member"].email)
        sf.set_profile(contact_id, {"account_name": "Vandelay Industries", "tier": "Bronze", "open_cases": 4})
        link(session, users["member"], contact_id=contact_id)
        cache(session, users["member"], age_seconds=5000)
        auth.login(users["moderator"].email)
        url = f"/users/{users['member'].id}"
        sf.down()
        client.post(f"{url}/crm/refresh")
        html = html_of(client, url)
        assert "CRM unreachable: salesforce:" in html and "Globex Corp" in html and "stale" in html
        sf.up()
        client.post(f"{url}/crm/refresh")
        html = html_of(client, url)
        assert "Vandelay Industries" in html and "CRM unreachable" not in html and "Globex Corp" not in html
