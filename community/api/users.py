"""Users: public profiles and the caller's own."""

from community.api import bp
from community.api.auth import actor, require_actor
from community.api.reputation import level_of
from community.api.schemas import MeSchema, UserSchema, present_user
from community.extensions import db
from community.services import accounts, badge_queries, policy
from community.services.errors import NotFound


@bp.get("/users/<int:user_id>")
def get_user(user_id: int):
    """A member's public profile and counts (suspended members: moderators only).
    ---
    get:
      tags: [users]
      summary: Read a profile
      responses:
        200:
          description: The profile.
          content:
            application/json:
              schema: UserSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    user = accounts.get_user(db.session, user_id)
    if not user.is_active_account and not policy.is_staff(actor()):  # suspended: staff only
        raise NotFound("No such user.")
    data = present_user(user)
    data["level"] = level_of(user)
    data["badges"] = badge_queries.for_api(db.session, user.id)
    return UserSchema().dump(data)


@bp.get("/me")
def me():
    """The authenticated caller, with their email.
    ---
    get:
      tags: [users]
      summary: Who am I
      security: [{bearerAuth: []}, {cookieAuth: []}]
      responses:
        200:
          description: The caller's profile.
          content:
            application/json:
              schema: MeSchema
        401: {$ref: '#/components/responses/Unauthorized'}
    """
    user = require_actor()
    data = present_user(user)
    data["level"] = level_of(user)
    return MeSchema().dump(data)
