"""Suggested edits: suggest an edit of someone else's post, approve or reject one."""

from community.api import bp
from community.api.auth import json_body, require_actor, write_limited
from community.api.schemas import ReviewSchema, SuggestedEditSchema, SuggestEditSchema
from community.db import transaction
from community.extensions import db
from community.services import suggested_edits


@bp.post("/posts/<int:post_id>/suggested-edits")
@write_limited
def suggest_edit(post_id: int):
    """Suggest an edit of a question (title, tags, body) or an answer (body), for review.
    ---
    post:
      tags: [suggested-edits]
      summary: Suggest an edit
      description: For members below the edit privilege; one pending suggestion per post (409).
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: SuggestEditSchema
      responses:
        201:
          description: The pending suggestion.
          content:
            application/json:
              schema: SuggestedEditSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    user = require_actor()
    data = json_body(SuggestEditSchema)
    with transaction():
        suggestion = suggested_edits.suggest(db.session, actor=user, post_id=post_id, **data)
    return SuggestedEditSchema().dump(suggestion), 201


def _review(suggestion_id: int, decide):
    user = require_actor()
    data = json_body(ReviewSchema)
    with transaction():
        suggestion = decide(db.session, actor=user, suggestion_id=suggestion_id, note=data["note"])
    return SuggestedEditSchema().dump(suggestion)


@bp.post("/suggested-edits/<int:suggestion_id>/approve")
@write_limited
def approve_suggested_edit(suggestion_id: int):
    """The post's author or a moderator applies the suggestion (409 when the post changed since).
    ---
    post:
      tags: [suggested-edits]
      summary: Approve a suggested edit
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: ReviewSchema
      responses:
        200:
          description: The approved suggestion.
          content:
            application/json:
              schema: SuggestedEditSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    return _review(suggestion_id, suggested_edits.approve)


@bp.post("/suggested-edits/<int:suggestion_id>/reject")
@write_limited
def reject_suggested_edit(suggestion_id: int):
    """The post's author or a moderator rejects the suggestion.
    ---
    post:
      tags: [suggested-edits]
      summary: Reject a suggested edit
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: ReviewSchema
      responses:
        200:
          description: The rejected suggestion.
          content:
            application/json:
              schema: SuggestedEditSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    return _review(suggestion_id, suggested_edits.reject)
