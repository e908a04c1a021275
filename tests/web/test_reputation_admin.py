"""The reputation rules page (marketers and admins), its preview and apply, and moderator adjustments."""

import pytest
from sqlalchemy import func, select

from community.db import transaction
from community.extensions import db
from community.models import ReputationEntry, ReputationRebuild, Setting, User
from community.services import reputation, reputation_rules, votes

URL = "/admin/reputation"


def form_data(ruleset=None, **overrides) -> dict:
    """Every field of the rules form as the page would post it."""
    ruleset = ruleset or reputation_rules.preset("stackexchange")
    data = {name: str(value) for name, value in {**ruleset.rules, **ruleset.privileges}.items()}
    for i, level in enumerate(ruleset.levels):
        data[f"levels-{i}-name"], data[f"levels-{i}-min"] = level["name"], str(level["min"])
    data.update(preset=ruleset.preset, reason="")
    data.update(overrides)
    return data


def reputation_of(user) -> int:
    return db.session.scalar(select(User.reputation).where(User.id == user.id))


@pytest.fixture
def upvoted(session, users, ask, answer):
    """Other's answer to member's question, upvoted by member: other has 200 + 10."""
    question = ask(users["member"], title="How do I export my invoices as CSV?")
    post = answer(users["other"], question)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=post.id, value=1)
    return post


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("moderator", 403), ("marketer", 200), ("admin", 200)])
def test_rules_page_is_for_marketers_and_admins(client, auth, users, role, status):
    auth.login(f"{role}@example.com")
    assert client.get(URL).status_code == status


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_posting_rules_is_refused_to_other_roles(client, auth, users, role):
    auth.login(f"{role}@example.com")
    response = client.post(URL, data=form_data(apply="Apply", answer_upvote="99"))
    assert response.status_code == 403
    assert db.session.get(Setting, reputation_rules.SETTING_KEY) is None


def test_rules_page_asks_anonymous_visitors_to_log_in(client, users):
    response = client.get(URL)
    assert response.status_code in (302, 401)


def test_rules_page_shows_every_rule_level_and_privilege(client, auth, users):
    auth.login("marketer@example.com")
    html = client.get(URL).text
    for name in reputation_rules.RULE_NAMES + list(reputation_rules.PRIVILEGES):
        assert f'name="{name}"' in html
    assert 'value="Legend"' in html and 'name="levels-4-min"' in html


@pytest.mark.parametrize(("field", "value", "message"), [
    ("daily_cap", "-5", "Must be between 0 and 1,000,000."),
    ("daily_cap", "lots", "Enter a whole number."),
    ("answer_upvote", "2.5", "Enter a whole number."),
    ("vote_down", "", "Enter a whole number."),
])  # fmt: skip
def test_invalid_values_are_refused_beside_the_field(client, auth, users, field, value, message):
    auth.login("admin@example.com")
    response = client.post(URL, data=form_data(apply="Apply", **{field: value}))
    assert response.status_code == 422
    html = response.text
    assert f'id="{field}-error"' in html and message in html
    assert html.index(f'name="{field}"') < html.index(message)
    assert db.session.get(Setting, reputation_rules.SETTING_KEY) is None


def test_level_errors_are_shown_on_their_row(client, auth, users):
    auth.login("admin@example.com")
    response = client.post(URL, data=form_data(apply="Apply", **{"levels-2-min": "many"}))
    assert response.status_code == 422
    assert 'id="levels-2-min-error"' in response.text and "Enter a whole number." in response.text


def test_two_levels_at_the_same_reputation_are_refused(client, auth, users):
    auth.login("admin@example.com")
    response = client.post(URL, data=form_data(apply="Apply", **{"levels-2-min": "50"}))
    assert response.status_code == 422
    assert "Two levels cannot start at the same reputation." in response.text


def test_preview_shows_the_changes_and_saves_nothing(client, auth, users, upvoted):
    auth.login("marketer@example.com")
    ledger_before = db.session.scalar(select(func.count(ReputationEntry.id)))
    response = client.post(URL, data=form_data(preview="Preview", answer_upvote="30"))
    assert response.status_code == 200
    html = response.text
    assert "What if" in html and "Nothing has been saved" in html
    assert '<strong class="preview-changed">1</strong>' in html  # only the answerer moves
    assert "210 → 230" in html and "+20" in html
    assert db.session.get(Setting, reputation_rules.SETTING_KEY) is None
    assert db.session.scalar(select(func.count(ReputationEntry.id))) == ledger_before
    assert db.session.scalar(select(func.count(ReputationRebuild.id))) == 0
    assert reputation_of(users["other"]) == 210


def test_apply_saves_and_rebuilds_under_the_new_rules(client, auth, users, upvoted):
    auth.login("admin@example.com")
    response = client.post(URL, data=form_data(apply="Apply", answer_upvote="25", reason="Reward answers more"))
    assert response.status_code == 302
    assert reputation_of(users["other"]) == 225
    assert reputation_rules.current(db.session)["answer_upvote"] == 25
    run = db.session.scalars(select(ReputationRebuild)).one()
    assert (run.actor_id, run.reason, run.changed_users) == (users["admin"].id, "Reward answers more", 1)
    assert reputation.verify(db.session) == []
    page = client.get(URL).text
    assert "Rules applied and reputation rebuilt" in page and "Reward answers more" in page


def test_later_votes_follow_the_applied_rules(client, auth, session, users, upvoted, ask):
    auth.login("admin@example.com")
    client.post(URL, data=form_data(apply="Apply", question_upvote="3"))
    question = ask(users["other"], title="Can I pay my invoices by bank transfer?")
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=question.id, value=1)
    assert reputation_of(users["other"]) == 213


def test_changing_only_levels_and_privileges_needs_no_rebuild(client, auth, users, upvoted):
    auth.login("marketer@example.com")
    response = client.post(URL, data=form_data(apply="Apply", vote_down="300", **{"levels-1-name": "Helper"}),
                           follow_redirects=True)  # fmt: skip
    assert "no rebuild was needed" in response.text
    assert db.session.scalar(select(func.count(ReputationRebuild.id))) == 0
    saved = reputation_rules.current(db.session)
    assert saved.privileges["vote_down"] == 300 and saved.levels[1] == {"name": "Helper", "min": 50}


def test_a_level_can_be_added_and_removed(client, auth, users):
    auth.login("admin@example.com")
    added = client.post(URL, data=form_data(add_level="Add a level"))
    assert 'name="levels-5-name"' in added.text
    data = form_data(apply="Apply", **{"levels-5-name": "Mentor", "levels-5-min": "1000", "levels-4-remove": "y"})
    client.post(URL, data=data)
    names = [lv["name"] for lv in reputation_rules.current(db.session).levels]
    assert names == ["Newcomer", "Contributor", "Advocate", "Mentor", "Champion"]


def test_loading_a_preset_fills_the_form_without_saving(client, auth, users):
    auth.login("admin@example.com")
    response = client.post(URL, data=form_data(preset="community", load_preset="Load"))
    assert response.status_code == 200
    assert 'name="first_answer_bonus" size="8" type="text" value="5"' in response.text
    assert db.session.get(Setting, reputation_rules.SETTING_KEY) is None


def test_switching_to_the_community_preset_rebuilds_without_downvote_cost(client, auth, session, users, ask, answer):
    post = answer(users["other"], ask(users["member"], title="Why was my card declined twice?"))
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=post.id, value=-1)
    assert reputation_of(users["member"]) == 199
    auth.login("admin@example.com")
    community = reputation_rules.preset("community")
    client.post(URL, data=form_data(community, apply="Apply"))
    assert reputation_rules.current(db.session).preset == "community"
    assert reputation_of(users["member"]) == 200
    assert reputation_of(users["other"]) == 203  # -2 downvoted, +5 first answer of the day


def test_saved_preset_wins_over_the_configured_one(app, client, auth, users, monkeypatch):
    monkeypatch.setitem(app.config, "REPUTATION_PRESET", "community")
    auth.login("admin@example.com")
    assert "from <code>REPUTATION_PRESET</code>" in client.get(URL).text
    client.post(URL, data=form_data(reputation_rules.preset("stackexchange"), apply="Apply"))
    assert reputation_rules.current(db.session).preset == "stackexchange"


# --- moderator adjustment ---------------------------------------------------------------------


def test_moderator_sees_the_adjust_form_on_a_profile(client, auth, users):
    auth.login("moderator@example.com")
    assert 'id="reputation-adjust"' in client.get(f"/users/{users['other'].id}").text


@pytest.mark.parametrize("role", ["member", "marketer"])
def test_adjust_form_is_hidden_from_other_roles(client, auth, users, role):
    auth.login(f"{role}@example.com")
    assert 'id="reputation-adjust"' not in client.get(f"/users/{users['other'].id}").text


def test_moderator_adjusts_reputation_with_a_reason(client, auth, users):
    auth.login("moderator@example.com")
    response = client.post(f"/users/{users['other'].id}/reputation/adjust",
                           data={"delta": "50", "reason": "Great workshop talk"}, follow_redirects=True)  # fmt: skip
    assert "adjusted by +50 (now 250)" in response.text
    assert reputation_of(users["other"]) == 250
    entry = db.session.scalars(select(ReputationEntry).order_by(ReputationEntry.id.desc())).first()
    assert (entry.kind, entry.delta, entry.note, entry.actor_id) == (
        "moderator_adjustment",
        50,
        "Great workshop talk",
        users["moderator"].id,
    )


@pytest.mark.parametrize(("delta", "reason", "message"), [
    ("lots", "A fine reason", "Enter a whole number."),
    ("0", "A fine reason", "Enter a change other than 0."),
    ("10", "no", "Give a reason of 5 to 300 characters."),
])  # fmt: skip
def test_invalid_adjustments_are_refused_with_a_message(client, auth, users, delta, reason, message):
    auth.login("admin@example.com")
    response = client.post(f"/users/{users['other'].id}/reputation/adjust", data={"delta": delta, "reason": reason},
                           follow_redirects=True)  # fmt: skip
    assert message in response.text
    assert reputation_of(users["other"]) == 200


@pytest.mark.parametrize("role", ["member", "marketer"])
def test_adjusting_is_refused_to_other_roles(client, auth, users, role):
    auth.login(f"{role}@example.com")
    response = client.post(f"/users/{users['other'].id}/reputation/adjust", data={"delta": "50", "reason": "Because"})
    assert response.status_code == 403
    assert reputation_of(users["other"]) == 200


def test_adjusting_an_unknown_user_is_404(client, auth, users):
    auth.login("moderator@example.com")
    assert client.post("/users/999999/reputation/adjust", data={"delta": "5", "reason": "Because"}).status_code == 404


def test_adjustment_is_listed_in_the_members_history(client, auth, users):
    auth.login("moderator@example.com")
    client.post(f"/users/{users['other'].id}/reputation/adjust", data={"delta": "-30", "reason": "Spam clean-up"})
    assert "Reason: Spam clean-up" in client.get(f"/users/{users['other'].id}/reputation").text


@pytest.mark.parametrize("url", [URL, "/users/1/reputation/adjust"])
def test_posts_without_a_csrf_token_are_refused(url):
    from tests.conftest import build_app

    response = build_app(WTF_CSRF_ENABLED=True).test_client().post(url, data=form_data(apply="Apply"))
    assert response.status_code == 400
