"""Reputation: a member's ledger entries and the leaderboards."""

from community.api import bp
from community.api.auth import actor, query_args
from community.api.schemas import (
    LeaderboardArgsSchema,
    LeaderboardSchema,
    ReputationListArgsSchema,
    ReputationPageSchema,
)
from community.extensions import db
from community.models import User
from community.services import leaderboards, policy, reputation_history, reputation_rules
from community.services.errors import NotFound


def level_of(user) -> dict:
    """``{"name", "min"}`` of the level the user's reputation reaches (the profile's ``level``)."""
    level, _next = reputation_rules.level_for(user.reputation or 0, reputation_rules.current(db.session).levels)
    return {"name": level["name"], "min": level["min"]}


@bp.get("/users/<int:user_id>/reputation")
def list_reputation(user_id: int):
    """A member's reputation ledger, newest first (public, like the history page).
    ---
    get:
      tags: [reputation]
      summary: List a member's reputation entries
      parameters:
        - in: query
          schema: ReputationListArgsSchema
      responses:
        200:
          description: A page of ledger entries.
          content:
            application/json:
              schema: ReputationPageSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Invalid'}
    """
    args = query_args(ReputationListArgsSchema)
    user = db.session.get(User, user_id)
    if user is None or (not user.is_active_account and not policy.is_staff(actor())):
        raise NotFound("No such user.")
    page = reputation_history.ledger(db.session, user_id=user_id, **args)
    return ReputationPageSchema().dump({"items": page.items, "page": page.page, "pages": page.pages,
                                        "total": page.total})  # fmt: skip


@bp.get("/leaderboard")
def leaderboard():
    """Members ranked by reputation earned in a period, optionally in one category or tag.
    ---
    get:
      tags: [reputation]
      summary: Read the leaderboard
      parameters:
        - in: query
          schema: LeaderboardArgsSchema
      responses:
        200:
          description: A page of the leaderboard, with the caller's rank when they are on it.
          content:
            application/json:
              schema: LeaderboardSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Invalid'}
    """
    args = query_args(LeaderboardArgsSchema)
    board = leaderboards.board(db.session, period=args["period"], category=args["category"] or None,
                               tag=args["tag"] or None, include_staff=args["staff"], page=args["page"],
                               per_page=args["per_page"], viewer=actor())  # fmt: skip
    return LeaderboardSchema().dump(board)
