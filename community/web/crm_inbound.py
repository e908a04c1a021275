"""POST /crm/inbound: changes the CRM pushes to the community, signed with CRM_WEBHOOK_SECRET.

Events (docs/crm.md, "Inbound webhook"):
    {"event": "contact.updated", "connector": "...", "contact_id" or "community_user_id", "profile": {...}}
    {"event": "case.updated", "connector": "...", "case_id": "...", "case_number", "status", "closed", "resolution"}
Answers: 401 bad or stale signature, 400 not JSON or not a known event, 404 unknown contact or case,
200 {"ok": true}. Applying the same push twice leaves the same state, so the sender may retry freely.
CSRF-exempt (the signature is the proof), rate limited by RATELIMIT_CRM_INBOUND.
"""

import json

from flask import Blueprint, current_app, jsonify, request

from community.db import transaction
from community.extensions import db, limiter
from community.integrations import crm_signing
from community.models.crm import CONNECTORS
from community.services import crm_profiles
from community.services.errors import DomainError

bp = Blueprint("crm_inbound", __name__)
EVENTS = ("contact.updated", "case.updated")


def _answer(status: int, message: str | None = None, code: str = "error"):
    if status == 200:
        return jsonify({"ok": True}), 200
    return jsonify({"error": {"code": code, "message": message, "fields": {}}}), status


def _inbound_limit():
    return current_app.config.get("RATELIMIT_CRM_INBOUND", "300 per minute")


@bp.route("/crm/inbound", methods=["POST"])
@limiter.limit(_inbound_limit)
def inbound():
    """Verify the signature over the raw body, then apply one event."""
    body = request.get_data(cache=False)
    problem = crm_signing.verify(current_app.config.get("CRM_WEBHOOK_SECRET"), request.headers, body)
    if problem:
        return _answer(401, f"Signature refused: {problem}.", "bad_signature")
    try:
        event = json.loads(body)
    except ValueError:
        return _answer(400, "The body is not JSON.", "bad_request")
    if not isinstance(event, dict) or event.get("event") not in EVENTS:
        return _answer(400, f"Expected a JSON object whose event is one of: {', '.join(EVENTS)}.", "bad_request")
    if event.get("connector") not in CONNECTORS:
        return _answer(400, f"connector must be one of: {', '.join(CONNECTORS)}.", "bad_request")
    try:
        with transaction():
            if event["event"] == "contact.updated":
                return _contact_updated(event)
            return _case_updated(event)
    except DomainError as exc:
        return _answer(exc.status, exc.message, exc.code)


def _contact_updated(event: dict):
    profile = event.get("profile")
    if not isinstance(profile, dict) or not (event.get("contact_id") or event.get("community_user_id")):
        return _answer(400, "contact.updated needs a profile object and a contact_id or community_user_id.",
                       "bad_request")  # fmt: skip
    user = crm_profiles.find_member(db.session, connector=event["connector"], contact_id=event.get("contact_id"),
                                    community_user_id=event.get("community_user_id"))  # fmt: skip
    if user is None:
        return _answer(404, "No member is linked to that contact.", "not_found")
    crm_profiles.store(db.session, user_id=user.id, connector=event["connector"], data=profile, source="push")
    return _answer(200)


def _case_updated(event: dict):
    from community.services import crm_cases

    if not event.get("case_id"):
        return _answer(400, "case.updated needs a case_id.", "bad_request")
    crm_cases.apply_update(
        db.session, connector=event["connector"], case_id=str(event["case_id"]),
        case_number=event.get("case_number"), status=event.get("status"), closed=bool(event.get("closed")),
        resolution=event.get("resolution"),
    )  # fmt: skip
    return _answer(200)
