"""Auto-escalation settings: which categories' unanswered questions become support cases, and after
how many hours. Stored as the Setting ``crm.escalation`` ``{"categories": [ids], "hours": n}``; the
hours default to ``CRM_ESCALATE_AFTER_HOURS`` while none are saved. ``crm_cases.escalate_due`` acts on them.
"""

from sqlalchemy import select

from community.db import utcnow
from community.models import Category, Setting, User
from community.services import policy
from community.services.errors import PermissionDenied, RuleViolation

SETTING_KEY = "crm.escalation"
MAX_HOURS = 24 * 90


def default_hours(config) -> float:
    return float(config.get("CRM_ESCALATE_AFTER_HOURS", 24) or 24)


def current(session, *, config) -> dict:
    """``{"categories": [ids], "hours": float, "hours_saved": bool}``; no categories means no auto-escalation."""
    row = session.get(Setting, SETTING_KEY)
    stored = row.value if row is not None else {}
    hours = stored.get("hours")
    return {
        "categories": [int(c) for c in stored.get("categories") or []],
        "hours": float(hours) if hours else default_hours(config),
        "hours_saved": bool(hours),
    }


def _clean_hours(hours, errors: dict) -> float | None:
    if hours is None or str(hours).strip() == "":
        return None
    try:
        value = float(str(hours).strip().replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_HOURS:
        errors["hours"] = f"Enter a number of hours above 0 and at most {MAX_HOURS:,}."
    return value


def save(session, *, actor: User, categories, hours) -> dict:
    """Choose the categories and the hours (blank: the configured default). Admins only; unknown
    categories or hours outside (0, 2160] raise RuleViolation with the field's message."""
    if not policy.is_admin(actor):
        raise PermissionDenied("Only administrators can change auto-escalation.")
    errors: dict = {}
    try:
        wanted = sorted({int(c) for c in categories or []})
    except (TypeError, ValueError):
        wanted = [-1]
    known = set(session.scalars(select(Category.id).where(Category.id.in_(wanted)))) if wanted else set()
    if set(wanted) - known:
        errors["categories"] = "Choose among the listed categories."
    value = {"categories": wanted, "hours": _clean_hours(hours, errors)}
    if errors:
        raise RuleViolation("Please correct the marked fields.", fields=errors)
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        row = Setting(key=SETTING_KEY, value=value)
        session.add(row)
    row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
    return value
