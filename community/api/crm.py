"""A member's CRM side for staff scripts: the cached Customer 360 and linking by an external id."""

from marshmallow import Schema, fields

from community.api import bp
from community.api.auth import json_body, require_actor, write_limited
from community.api.schemas import UTCDateTime, _Input
from community.db import transaction
from community.extensions import db
from community.models.crm import CONNECTORS
from community.services import accounts, crm, crm_profiles


class CrmProfileDataSchema(Schema):
    account_name = fields.String()
    tier = fields.String()
    products = fields.List(fields.String())
    open_cases = fields.Integer()
    lifetime_value = fields.Float(allow_none=True)
    owner = fields.String()


class CrmLinkSchema(Schema):
    connector = fields.String(metadata={"enum": list(CONNECTORS)})
    contact_id = fields.String(allow_none=True)
    linked_by = fields.String(allow_none=True, metadata={"description": "email | upsert | api | sso | manual"})
    linked_at = UTCDateTime(allow_none=True)
    last_synced_at = UTCDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


class CrmProfileSchema(Schema):
    user_id = fields.Integer()
    state = fields.String(metadata={"enum": [crm_profiles.FRESH, crm_profiles.STALE, crm_profiles.MISSING],
                                    "description": "fresh, stale (older than CRM_PROFILE_TTL_SECONDS) or missing."})  # fmt: skip
    connector = fields.String(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "pull (read by the community) or push (sent by the CRM)."})
    fetched_at = UTCDateTime(allow_none=True)
    last_error = fields.String(allow_none=True, metadata={"description": "Why the last read failed (old data kept)."})
    profile = fields.Nested(CrmProfileDataSchema, allow_none=True)
    links = fields.List(fields.Nested(CrmLinkSchema))


class CrmLinkInputSchema(_Input):
    connector = fields.String(required=True, metadata={"enum": list(CONNECTORS)})
    contact_id = fields.String(required=True, metadata={"description": "The contact's id in that CRM (≤120)."})


def _link(link) -> dict:
    return {name: getattr(link, name) for name in CrmLinkSchema._declared_fields}


@bp.get("/users/<int:user_id>/crm")
def get_user_crm(user_id: int):
    """A member's cached Customer 360 and CRM links (moderators and admins). A stale or missing
    profile is queued for a refresh; the CRM is not called during the request.
    ---
    get:
      tags: [crm]
      summary: Read a member's Customer 360
      security: [{bearerAuth: []}, {cookieAuth: []}]
      responses:
        200:
          description: The cached profile, its freshness and the member's links.
          content:
            application/json:
              schema: CrmProfileSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    actor = require_actor()
    with transaction():
        view = crm_profiles.for_users(db.session, [user_id], actor=actor)[user_id]
        accounts.get_user(db.session, user_id)  # 404 after the permission check: no probing by members
        links = [_link(link) for link in crm.links_for(db.session, [user_id])[user_id]]
        crm_profiles.queue_refresh(db.session, [user_id], views={user_id: view})
    body = {"user_id": user_id, "state": view.state, "connector": view.connector, "source": view.source,
            "fetched_at": view.fetched_at, "last_error": view.last_error,
            "profile": view.data if view.has_data else None, "links": links}  # fmt: skip
    return CrmProfileSchema().dump(body)


@bp.put("/users/<int:user_id>/crm-link")
@write_limited
def put_user_crm_link(user_id: int):
    """Link a member to a CRM contact by its external id (admins; recorded as linked by "api").
    ---
    put:
      tags: [crm]
      summary: Link a member to a CRM contact
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: CrmLinkInputSchema
      responses:
        200:
          description: The link.
          content:
            application/json:
              schema: CrmLinkSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    actor = require_actor()
    data = json_body(CrmLinkInputSchema)
    with transaction():
        link = crm_profiles.link_by_api(db.session, actor=actor, user_id=user_id, connector=data["connector"],
                                        contact_id=data["contact_id"])  # fmt: skip
        body = _link(link)
    return CrmLinkSchema().dump(body)

