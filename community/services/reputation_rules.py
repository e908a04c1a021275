"""Reputation rules, levels and privileges as data.

The effective settings are the ones saved in the ``settings`` table (edited on the admin page),
or else the preset named by ``REPUTATION_PRESET`` (``stackexchange`` unless configured). Every
value is validated before it is saved; a bad value raises RuleViolation naming the field.
"""

from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from community.db import utcnow
from community.models import Setting, User
from community.services.errors import RuleViolation

SETTING_KEY = "reputation"

# (name, label, lowest, highest) of each numeric rule
RULE_FIELDS = [
    ("question_upvote", "Question upvoted", 0, 1000),
    ("answer_upvote", "Answer upvoted", 0, 1000),
    ("post_downvoted", "Your post downvoted", -1000, 0),
    ("downvote_cast", "Casting a downvote on an answer", -1000, 0),
    ("answer_accepted", "Your answer accepted", 0, 1000),
    ("accepted_an_answer", "Accepting an answer (asker)", 0, 1000),
    ("first_answer_bonus", "First answer of the day bonus", 0, 1000),
    ("suggested_edit", "Suggested edit approved", 0, 1000),
    ("suggested_edit_max", "Most reputation from suggested edits", 0, 100_000),
    ("badge_bronze", "Bronze badge bonus", 0, 1000),
    ("badge_silver", "Silver badge bonus", 0, 1000),
    ("badge_gold", "Gold badge bonus", 0, 1000),
    ("daily_cap", "Daily cap on vote-earned reputation", 0, 1_000_000),
    ("floor", "Lowest possible reputation (at most 1, where members start)", -1_000_000, 1),
    ("votes_per_day", "Votes a member may cast per day", 1, 10_000),
]
RULE_NAMES = [name for name, *_ in RULE_FIELDS]

STACKEXCHANGE = {
    "question_upvote": 10, "answer_upvote": 10, "post_downvoted": -2, "downvote_cast": -1,
    "answer_accepted": 15, "accepted_an_answer": 2, "first_answer_bonus": 0,
    "suggested_edit": 2, "suggested_edit_max": 1000,
    "badge_bronze": 0, "badge_silver": 0, "badge_gold": 0,
    "daily_cap": 200, "floor": 1, "votes_per_day": 40,
}  # fmt: skip
COMMUNITY = {**STACKEXCHANGE, "downvote_cast": 0, "first_answer_bonus": 5}
PRESETS = {"stackexchange": STACKEXCHANGE, "community": COMMUNITY}
PRESET_LABELS = {
    "stackexchange": "Stack Exchange (the classic rules)",
    "community": "Community (gentler: no cost for downvoting, +5 for the first answer of the day)",
}

DEFAULT_LEVELS = [
    {"name": "Newcomer", "min": 1},
    {"name": "Contributor", "min": 50},
    {"name": "Advocate", "min": 500},
    {"name": "Champion", "min": 2500},
    {"name": "Legend", "min": 10000},
]

# name -> (default threshold, what it lets you do)
PRIVILEGES = {
    "vote_up": (15, "vote up", "Vote up questions and answers you find useful."),
    "flag": (15, "flag posts", "Flag posts that need a moderator's attention."),
    "comment": (50, "comment everywhere", "Comment on any post (you can always comment on your own posts and on answers to your questions)."),
    "vote_down": (125, "vote down", "Vote down posts that are wrong or unhelpful."),
    "edit": (2000, "edit others' posts", "Edit any question or answer without review; below this you suggest edits."),
    "close": (3000, "vote to close or reopen", "Vote to close or reopen questions."),
}  # fmt: skip
DEFAULT_PRIVILEGES = {name: spec[0] for name, spec in PRIVILEGES.items()}


@dataclass(frozen=True)
class Ruleset:
    preset: str
    rules: dict
    levels: list = field(default_factory=lambda: list(DEFAULT_LEVELS))
    privileges: dict = field(default_factory=lambda: dict(DEFAULT_PRIVILEGES))

    def __getitem__(self, name):
        return self.rules[name]

    def as_dict(self) -> dict:
        return {"preset": self.preset, "rules": dict(self.rules), "levels": [dict(x) for x in self.levels],
                "privileges": dict(self.privileges)}  # fmt: skip


def configured_preset() -> str:
    name = current_app.config.get("REPUTATION_PRESET", "stackexchange") if has_app_context() else "stackexchange"
    return name if name in PRESETS else "stackexchange"


def preset(name: str) -> Ruleset:
    if name not in PRESETS:
        raise RuleViolation(f"Unknown preset {name!r}.", fields={"preset": "Choose one of the presets."})
    return Ruleset(preset=name, rules=dict(PRESETS[name]))


def current(session) -> Ruleset:
    """The effective ruleset, read once per transaction."""
    cached = session.info.get("reputation_ruleset")
    if cached is not None:
        return cached
    row = session.get(Setting, SETTING_KEY)
    ruleset = from_dict(row.value) if row is not None else preset(configured_preset())
    session.info["reputation_ruleset"] = ruleset
    return ruleset


def from_dict(data: dict) -> Ruleset:
    """Build a validated ruleset from stored or submitted data (missing rules take the preset's)."""
    name = data.get("preset") or configured_preset()
    base = preset(name if name in PRESETS else "stackexchange")
    rules = validate_rules({**base.rules, **(data.get("rules") or {})})
    levels = validate_levels(data.get("levels") or DEFAULT_LEVELS)
    privileges = validate_privileges({**DEFAULT_PRIVILEGES, **(data.get("privileges") or {})})
    return Ruleset(preset=base.preset, rules=rules, levels=levels, privileges=privileges)


def _int(value, field_name: str, low: int, high: int, errors: dict):
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        value = value.strip().replace(",", "")
        if value.lstrip("-").isdigit():
            value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        errors[field_name] = "Enter a whole number."
        return None
    if not low <= value <= high:
        errors[field_name] = f"Must be between {low:,} and {high:,}."
        return None
    return value


def _numbers(data: dict, bounds: dict, what: str) -> dict:
    """Whole numbers within ``bounds`` ({name: (low, high)}) for every name; unknown names refused."""
    errors: dict = {}
    unknown = sorted(set(data) - set(bounds))
    if unknown:
        errors[unknown[0]] = f"Unknown {what}."
    clean = {name: _int(data.get(name), name, low, high, errors) for name, (low, high) in bounds.items()}
    if errors:
        raise RuleViolation(f"Please correct the marked {what}s.", fields=errors)
    return clean


def validate_rules(data: dict) -> dict:
    return _numbers(data, {name: (low, high) for name, _label, low, high in RULE_FIELDS}, "rule")


def validate_levels(levels) -> list[dict]:
    if not isinstance(levels, list) or not levels:
        raise RuleViolation("Give at least one level.", fields={"levels": "Give at least one level."})
    errors: dict = {}
    clean = []
    for i, level in enumerate(levels):
        name = str((level or {}).get("name", "")).strip() if isinstance(level, dict) else ""
        if not 1 <= len(name) <= 30:
            errors[f"levels.{i}.name"] = "A level needs a name of 1 to 30 characters."
        low = _int(level.get("min") if isinstance(level, dict) else None, f"levels.{i}.min", 1, 10_000_000, errors)
        clean.append({"name": name, "min": low})
    if not errors:
        clean.sort(key=lambda lv: lv["min"])
        if clean[0]["min"] != 1:
            errors["levels.0.min"] = "The first level must start at 1."
        if len({lv["min"] for lv in clean}) != len(clean):
            errors["levels"] = "Two levels cannot start at the same reputation."
        if len({lv["name"].lower() for lv in clean}) != len(clean):
            errors["levels"] = "Level names must be different."
    if errors:
        raise RuleViolation("Please correct the marked levels.", fields=errors)
    return clean


def validate_privileges(data: dict) -> dict:
    return _numbers(data, dict.fromkeys(PRIVILEGES, (1, 10_000_000)), "privilege")


def save(session, *, actor: User | None, ruleset: Ruleset) -> Ruleset:
    """Store the ruleset (the caller rebuilds the ledger when the rules changed)."""
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        row = Setting(key=SETTING_KEY, value=ruleset.as_dict())
        session.add(row)
    else:
        row.value = ruleset.as_dict()
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor else None
    session.info["reputation_ruleset"] = ruleset
    return ruleset


def level_for(reputation: int, levels: list[dict]) -> tuple[dict, dict | None]:
    """The level a reputation reaches and the next one (None at the top)."""
    current_level, following = levels[0], None
    for level in levels:
        if reputation >= level["min"]:
            current_level = level
        elif following is None:
            following = level
    return current_level, following


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_cached_ruleset(session, *_args):
    """Another process may change the rules: read them afresh in every transaction."""
    session.info.pop("reputation_ruleset", None)
