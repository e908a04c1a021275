"""Field mapping: which snapshot field goes to which CRM field, per connector, and value formats.

Stored as the setting ``crm.mapping.<connector>`` ({snapshot field: CRM field name, "" = not sent})
and edited on /admin/crm/mapping/<connector>. The defaults follow docs/crm.md.
"""

import hashlib
import json
import re

from community.db import utcnow
from community.models import Setting, User
from community.models.crm import CONNECTORS
from community.services.crm_snapshot import FIELDS
from community.services.errors import PermissionDenied, RuleViolation

_SF = {
    "community_user_id": "Community_User_Id__c", "profile_url": "Community_Profile_Url__c",
    "display_name": "LastName", "email": "Email", "joined_at": "Community_Joined_At__c",
    "last_active_at": "Community_Last_Active__c", "reputation": "Community_Reputation__c",
    "level": "Community_Level__c", "badges": "Community_Badges__c",
    "accepted_answers": "Community_Accepted_Answers__c", "advocacy_score": "Community_Advocacy_Score__c",
    "segment": "Community_Segment__c", "opt_out": "Community_Opt_Out__c",
}  # fmt: skip
_HS = {
    "community_user_id": "community_user_id", "profile_url": "community_profile_url", "email": "email",
    "reputation": "community_reputation", "level": "community_level", "badges": "community_badges",
    "accepted_answers": "community_accepted_answers", "advocacy_score": "community_advocacy_score",
    "segment": "community_segment", "last_active_at": "community_last_active", "opt_out": "community_opt_out",
}  # fmt: skip
DEFAULTS = {"salesforce": _SF, "hubspot": _HS, "webhook": {name: name for name in FIELDS}}
# sent even to members who opted out, so that the CRM record says so
OPT_OUT_FIELDS = ("community_user_id", "email", "opt_out")
_NAME = {"salesforce": re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$"),
         "hubspot": re.compile(r"^[a-z][a-z0-9_]{0,99}$"),
         "webhook": re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")}  # fmt: skip


def setting_key(connector: str) -> str:
    return f"crm.mapping.{connector}"


def current(session, connector: str) -> dict[str, str]:
    """The effective mapping: stored choices over the defaults, every snapshot field present."""
    row = session.get(Setting, setting_key(connector))
    stored = row.value if row is not None else {}
    base = DEFAULTS[connector]
    return {field: stored.get(field, base.get(field, "")) for field in FIELDS}


def validate(connector: str, data: dict, *, required: tuple[str, ...] = ()) -> dict[str, str]:
    """Check submitted names; raises RuleViolation with a message per bad field."""
    errors, mapping, seen = {}, {}, {}
    for field in FIELDS:
        name = str(data.get(field) or "").strip()
        if name and not _NAME[connector].match(name):
            errors[field] = "Letters, digits and underscores only" + (
                " (lower case)" if connector == "hubspot" else "") + "."
        elif name and name in seen:
            errors[field] = f"{name} is mapped from {seen[name]} already."
        elif not name and field in required:
            errors[field] = "This field identifies the record in the CRM; it must be mapped."
        if name:
            seen.setdefault(name, field)
        mapping[field] = name
    if errors:
        raise RuleViolation("Some field names are not valid.", fields=errors)
    return mapping


def save(session, *, actor: User, connector: str, data: dict, required: tuple[str, ...] = ()) -> dict[str, str]:
    if actor.role not in ("admin", "marketer"):
        raise PermissionDenied("Only admins and marketers can change the CRM field mapping.")
    if connector not in CONNECTORS:
        raise RuleViolation(f"Unknown connector {connector!r}.")
    mapping = validate(connector, data, required=required)
    row = session.get(Setting, setting_key(connector))
    if row is None:
        row = Setting(key=setting_key(connector), value={})
        session.add(row)
    row.value, row.updated_at, row.updated_by_id = mapping, utcnow(), actor.id
    return mapping


def _format(connector: str, value):
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if connector == "hubspot":  # HubSpot takes every property value as a string
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)
    return value


def record(connector: str, snapshot: dict, mapping: dict[str, str]) -> dict:
    """The CRM fields for one snapshot; a member who opted out sends only the opt-out fields."""
    fields = OPT_OUT_FIELDS if snapshot.get("opt_out") else FIELDS
    return {mapping[f]: _format(connector, snapshot.get(f)) for f in fields if mapping.get(f)}


def fingerprint(fields: dict) -> str:
    """A stable hash of what is sent: an unchanged record is not sent again."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
