"""Answers (vote, comment) and the Markdown preview."""

from community.api import bp
from community.api.auth import json_body, require_actor, write_limited
from community.api.schemas import (
    BodySchema,
    CommentSchema,
    RenderResultSchema,
    RenderSchema,
    VoteResultSchema,
    VoteSchema,
)
from community.db import transaction
from community.extensions import db
from community.models import Answer
from community.services import comments, content, qa, votes
from community.services.errors import NotFound


def _get_answer(answer_id: int, viewer) -> Answer:
    post = qa.get_post(db.session, answer_id, viewer=viewer)
    if not isinstance(post, Answer):  # a question id here is a 404, as an answer id is on /questions
        raise NotFound("That answer does not exist.")
    return post


@bp.post("/answers/<int:answer_id>/vote")
@write_limited
def vote_answer(answer_id: int):
    """Vote on an answer: 1 up, -1 down, 0 retracts (never your own post).
    ---
    post:
      tags: [votes]
      summary: Vote on an answer
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: VoteSchema
      responses:
        200:
          description: The new score and the caller's vote.
          content:
            application/json:
              schema: VoteResultSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    user = require_actor()
    data = json_body(VoteSchema)
    with transaction():
        _get_answer(answer_id, user)
        score, my_vote = votes.cast(db.session, actor=user, post_id=answer_id, value=data["value"])
    return VoteResultSchema().dump({"score": score, "my_vote": my_vote})


@bp.post("/answers/<int:answer_id>/comments")
@write_limited
def comment_answer(answer_id: int):
    """Comment on an answer (inline Markdown, 15-600 characters).
    ---
    post:
      tags: [comments]
      summary: Comment on an answer
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: BodySchema
      responses:
        201:
          description: The new comment.
          content:
            application/json:
              schema: CommentSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    user = require_actor()
    data = json_body(BodySchema)
    with transaction():
        _get_answer(answer_id, user)
        comment = comments.add(db.session, actor=user, post_id=answer_id, body=data["body"])
    return CommentSchema().dump(comment), 201


@bp.post("/render")
def render_preview():
    """The sanitised HTML a post body would get (the live preview uses it). Logged-in callers only.

    It writes nothing, so it has the app's default rate limit rather than the tighter write limit:
    a live preview asks often.
    ---
    post:
      tags: [posts]
      summary: Render Markdown
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: RenderSchema
      responses:
        200:
          description: The HTML.
          content:
            application/json:
              schema: RenderResultSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    require_actor()
    data = json_body(RenderSchema)
    return RenderResultSchema().dump({"html": content.render(data["body"])})
