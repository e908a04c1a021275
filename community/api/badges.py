"""Badges: the catalogue with how many members hold each one."""

from flask import url_for

from community.api import bp
from community.api.schemas import BadgeListSchema
from community.extensions import db
from community.services import badge_queries


@bp.get("/badges")
def list_badges():
    """Every badge (automatic and manual), gold first, with its holders count.
    ---
    get:
      tags: [badges]
      summary: List badges
      responses:
        200:
          description: The badges.
          content:
            application/json:
              schema: BadgeListSchema
    """
    rows = badge_queries.catalogue(db.session)
    rows.sort(key=lambda r: -("bronze", "silver", "gold").index(r["tier"]))
    items = [{**r, "url": url_for("badges.badge", slug=r["slug"], _external=True)} for r in rows]
    return BadgeListSchema().dump({"items": items})
