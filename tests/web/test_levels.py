"""Levels next to names across the site, the profile's level card and the privileges page."""

import re

import pytest
from flask import g

from community.db import transaction
from community.extensions import db
from community.services import reputation_rules
from tests.conftest import make_user
from tests.web.accounts_support import count_queries

CHIP = re.compile(r'<span class="level-chip"[^>]*><span class="sr-only">level </span>([^<]+)</span>')


def chips(html: str) -> list[str]:
    return CHIP.findall(html)


def cold_get(client, url: str):
    db.session.expunge_all()
    g.pop("_login_user", None)
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return response, statements


def save_levels(session, levels):
    ruleset = reputation_rules.current(session)
    with transaction(session):
        reputation_rules.save(
            session, actor=None, ruleset=reputation_rules.from_dict({**ruleset.as_dict(), "levels": levels})
        )


def test_question_list_shows_the_askers_level(client, users, ask):
    ask(users["member"])
    assert chips(client.get("/questions").text) == ["Contributor"]


def test_users_list_shows_each_members_level(client, session, users):
    make_user(session, "new@example.com", "New Person")
    make_user(session, "star@example.com", "Star Person", reputation=3000)
    html = client.get("/users").text
    assert chips(html)[:2] == ["Champion", "Contributor"]
    assert chips(html)[-1] == "Newcomer"


def test_profile_header_shows_the_level(client, users):
    html = client.get(f"/users/{users['member'].id}").text
    assert "Contributor" in chips(html)
    assert 'Level: <span class="level-name">Contributor</span>' in html


def test_admin_users_list_shows_levels(client, auth, users):
    auth.login("admin@example.com")
    assert chips(client.get("/admin/users").text).count("Contributor") == 5 + 1  # five rows and the header menu


def test_header_user_menu_shows_the_viewers_level(client, auth, users):
    auth.login("member@example.com")
    html = client.get("/questions").text
    assert "reputation · Contributor</span>" in html
    assert chips(html) == ["Contributor"]


def test_saved_levels_are_used_everywhere(client, session, users):
    save_levels(session, [{"name": "Rookie", "min": 1}, {"name": "Regular", "min": 150}])
    assert set(chips(client.get("/users").text)) == {"Regular"}


def test_users_list_reads_the_rules_once_however_many_rows(client, session, users):
    _, few = cold_get(client, "/users")
    for n in range(30):
        make_user(session, f"user{n}@example.com", f"User {n}", reputation=1 + n * 100)
    response, many = cold_get(client, "/users")
    assert len(chips(response.text)) == 35
    assert len(many) == len(few)
    assert sum("FROM settings" in s for s in many) == 1


def test_question_page_reads_the_rules_at_most_once(client, users, ask, answer):
    question = ask(users["member"])
    for helper in ("other", "moderator", "admin"):
        answer(users[helper], question)
    response, statements = cold_get(client, f"/questions/{question.id}/{question.slug}")
    assert len(chips(response.text)) >= 4
    assert sum("FROM settings" in s for s in statements) <= 1


# --- the profile's level card -------------------------------------------------------------------


def test_profile_shows_next_level_progress_and_what_it_unlocks(client, users):
    html = client.get(f"/users/{users['member'].id}").text
    assert "<strong>300</strong> more reputation to reach <strong>Advocate</strong>" in html
    assert '<progress class="level-progress" max="100" value="33"' in html
    assert "At 2,000 you can edit others&#39; posts" in html


def test_a_newcomer_sees_the_first_privileges_ahead(client, session, users):
    newcomer = make_user(session, "new@example.com", "New Person")
    html = client.get(f"/users/{newcomer.id}").text
    assert "At 15 you can vote up" in html and "At 15 you can flag posts" in html
    assert "to reach <strong>Contributor</strong>" in html


def test_the_top_level_has_no_next_level(client, session, users):
    legend = make_user(session, "legend@example.com", "Legend Person", reputation=12_000)
    html = client.get(f"/users/{legend.id}").text
    assert "The highest level." in html and "level-progress" not in html


# --- the privileges page ------------------------------------------------------------------------


def test_privileges_page_lists_every_privilege_with_its_threshold(client, users):
    html = client.get("/help/privileges").text
    for name, (threshold, _label, description) in reputation_rules.PRIVILEGES.items():
        row = re.search(rf'id="privilege-{name}">(.*?)</tr>', html, re.S).group(1)
        assert f"<td>{threshold:,}</td>" in row
        assert description.replace("'", "&#39;") in row
    assert "You have it" not in html


@pytest.mark.parametrize(
    ("name", "granted"), [("vote_down", True), ("comment", True), ("edit", False), ("close", False)]
)
def test_privileges_page_shows_what_the_viewer_has(client, auth, users, name, granted):
    auth.login("member@example.com")
    row = re.search(rf'id="privilege-{name}">(.*?)</tr>', client.get("/help/privileges").text, re.S).group(1)
    assert ("You have it" in row) is granted


def test_staff_have_every_privilege(client, auth, users):
    auth.login("moderator@example.com")
    assert client.get("/help/privileges").text.count("You have it") == len(reputation_rules.PRIVILEGES)


def test_privileges_page_follows_saved_thresholds(client, session, users):
    ruleset = reputation_rules.current(session)
    with transaction(session):
        reputation_rules.save(session, actor=None, ruleset=reputation_rules.from_dict(
            {**ruleset.as_dict(), "privileges": {**ruleset.privileges, "vote_down": 400}}))  # fmt: skip
    row = re.search(r'id="privilege-vote_down">(.*?)</tr>', client.get("/help/privileges").text, re.S).group(1)
    assert "<td>400</td>" in row
