"""Reputation-gated privileges, enforced here and explained when refused. Staff bypass them."""

from community.models import User
from community.services import policy, reputation_rules
from community.services.errors import PermissionDenied


def threshold(session, name: str) -> int:
    return reputation_rules.current(session).privileges[name]


def has(session, user: User | None, name: str) -> bool:
    if user is None:
        return False
    if policy.is_staff(user):
        return True
    return (user.reputation or 0) >= threshold(session, name)


def refusal(session, user: User | None, name: str) -> str | None:
    """Why the user lacks the privilege ("You need 125 reputation to vote down; you have 40."), or None."""
    if has(session, user, name):
        return None
    needed = threshold(session, name)
    label = reputation_rules.PRIVILEGES[name][1]
    have = (user.reputation or 0) if user is not None else 0
    return f"You need {needed:,} reputation to {label}; you have {have:,}."


def require(session, user: User | None, name: str) -> None:
    """Raise PermissionDenied with "You need 125 reputation to vote down; you have 40." """
    message = refusal(session, user, name)
    if message is not None:
        raise PermissionDenied(message)


def listing(session, user: User | None) -> list[dict]:
    """Every privilege with its threshold, description and whether the user has it."""
    ruleset = reputation_rules.current(session)
    rows = []
    for name, (_default, label, description) in reputation_rules.PRIVILEGES.items():
        rows.append({"name": name, "label": label, "description": description,
                     "min": ruleset.privileges[name], "granted": has(session, user, name)})  # fmt: skip
    rows.sort(key=lambda r: r["min"])
    return rows
