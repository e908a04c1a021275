"""Levels next to names: a Jinja global that reads the ruleset once per request.

``level_of(reputation)`` returns the level dict ({"name", "min"}) a reputation reaches. The ruleset is
read from the ``settings`` row (one query, or none when a service already read it in the same
transaction) the first time a template asks, then kept on ``flask.g`` so a list of 50 names costs
nothing more.
"""

from flask import g

from community.extensions import db
from community.services import reputation_rules


def ruleset() -> reputation_rules.Ruleset:
    """The effective ruleset of this request (read once)."""
    cached = g.get("_reputation_ruleset")
    if cached is None:
        cached = g._reputation_ruleset = reputation_rules.current(db.session)
    return cached


def forget() -> None:
    """Drop the request's copy (after the rules were saved in this request)."""
    g.pop("_reputation_ruleset", None)


def level_of(reputation) -> dict:
    return reputation_rules.level_for(reputation or 0, ruleset().levels)[0]


def progress(reputation) -> dict:
    """The level, the next one, the share of the way there and the privileges that come next."""
    rules = ruleset()
    reputation = reputation or 0
    level, following = reputation_rules.level_for(reputation, rules.levels)
    percent = 100
    if following is not None:
        span = following["min"] - level["min"]
        percent = max(0, min(100, int((reputation - level["min"]) * 100 / span))) if span > 0 else 0
    upcoming = sorted(
        ({"name": name, "label": spec[1], "min": rules.privileges[name]}
         for name, spec in reputation_rules.PRIVILEGES.items() if rules.privileges[name] > reputation),
        key=lambda p: (p["min"], p["name"]),
    )  # fmt: skip
    return {"level": level, "next": following, "percent": percent, "needed": following["min"] - reputation
            if following else 0, "upcoming": upcoming[:3]}  # fmt: skip


def init_app(app) -> None:
    app.jinja_env.globals["level_of"] = level_of
    app.jinja_env.globals["level_progress"] = progress
