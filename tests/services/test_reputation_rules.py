"""Rules as data: validation, presets (config and saved) and levels."""

import pytest

from community.db import transaction
from community.services import reputation_rules
from community.services.errors import RuleViolation


def test_default_preset_is_stackexchange(session):
    ruleset = reputation_rules.current(session)
    assert ruleset.preset == "stackexchange"
    assert (ruleset["answer_upvote"], ruleset["downvote_cast"], ruleset["daily_cap"]) == (10, -1, 200)


def test_configured_preset_is_used_when_nothing_is_saved(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "REPUTATION_PRESET", "community")
    ruleset = reputation_rules.current(session)
    assert ruleset.preset == "community"
    assert (ruleset["downvote_cast"], ruleset["first_answer_bonus"]) == (0, 5)


def test_unknown_configured_preset_falls_back_to_stackexchange(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "REPUTATION_PRESET", "nonsense")
    assert reputation_rules.current(session).preset == "stackexchange"


def test_saved_rules_win_over_the_configured_preset(app, session, monkeypatch):
    with transaction(session):
        reputation_rules.save(session, actor=None, ruleset=reputation_rules.preset("stackexchange"))
    monkeypatch.setitem(app.config, "REPUTATION_PRESET", "community")
    assert reputation_rules.current(session).preset == "stackexchange"


def test_config_reads_reputation_preset_from_the_environment(monkeypatch):
    import config

    monkeypatch.setenv("REPUTATION_PRESET", "community")
    assert config.TestingConfig().REPUTATION_PRESET == "community"
    monkeypatch.delenv("REPUTATION_PRESET")
    assert config.TestingConfig().REPUTATION_PRESET == "stackexchange"


@pytest.mark.parametrize(("rules", "field", "message"), [
    ({"daily_cap": -1}, "daily_cap", "Must be between 0 and 1,000,000."),
    ({"daily_cap": "ten"}, "daily_cap", "Enter a whole number."),
    ({"answer_upvote": 2.5}, "answer_upvote", "Enter a whole number."),
    ({"answer_upvote": True}, "answer_upvote", "Enter a whole number."),
    ({"post_downvoted": 3}, "post_downvoted", "Must be between -1,000 and 0."),
])  # fmt: skip
def test_invalid_rules_are_refused_naming_the_field(rules, field, message):
    with pytest.raises(RuleViolation) as caught:
        reputation_rules.from_dict({"preset": "stackexchange", "rules": rules})
    assert caught.value.fields[field] == message


def test_numbers_written_with_separators_are_accepted():
    assert reputation_rules.from_dict({"rules": {"daily_cap": "1,000"}})["daily_cap"] == 1000


def test_a_level_without_a_number_is_refused_on_its_row():
    levels = [{"name": "A", "min": 1}, {"name": "B", "min": 10}, {"name": "C", "min": "x"}]
    with pytest.raises(RuleViolation) as caught:
        reputation_rules.from_dict({"levels": levels})
    assert caught.value.fields == {"levels.2.min": "Enter a whole number."}


def test_levels_must_start_at_one():
    with pytest.raises(RuleViolation) as caught:
        reputation_rules.from_dict({"levels": [{"name": "A", "min": 5}]})
    assert "levels.0.min" in caught.value.fields


def test_invalid_privilege_threshold_is_refused():
    with pytest.raises(RuleViolation) as caught:
        reputation_rules.from_dict({"privileges": {"vote_down": 0}})
    assert "vote_down" in caught.value.fields


@pytest.mark.parametrize(("reputation", "level", "following"), [
    (1, "Newcomer", "Contributor"), (49, "Newcomer", "Contributor"), (50, "Contributor", "Advocate"),
    (2500, "Champion", "Legend"), (10_000, "Legend", None),
])  # fmt: skip
def test_level_for_finds_the_level_and_the_next(reputation, level, following):
    current, nxt = reputation_rules.level_for(reputation, reputation_rules.DEFAULT_LEVELS)
    assert current["name"] == level
    assert (nxt or {}).get("name") == following
