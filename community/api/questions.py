"""Questions: list, ask, read, answer, vote, accept, comment."""

from flask import url_for

from community.api import bp
from community.api.auth import actor, json_body, query_args, require_actor, write_limited
from community.api.schemas import (
    AcceptSchema,
    AnswerSchema,
    AskSchema,
    BodySchema,
    CommentSchema,
    QuestionDetailSchema,
    QuestionListArgsSchema,
    QuestionPageSchema,
    QuestionSummarySchema,
    VoteResultSchema,
    VoteSchema,
    present_answer,
    present_detail,
    present_summary,
)  # fmt: skip
from community.db import transaction
from community.extensions import db
from community.services import comments, qa, queries, votes


@bp.get("/questions")
def list_questions():
    """List live questions, sorted and filtered, a page at a time.
    ---
    get:
      tags: [questions]
      summary: List questions
      parameters:
        - in: query
          schema: QuestionListArgsSchema
      responses:
        200:
          description: A page of question summaries.
          content:
            application/json:
              schema: QuestionPageSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        422: {$ref: '#/components/responses/Invalid'}
    """
    args = query_args(QuestionListArgsSchema)
    page = queries.list_questions(db.session, **args)
    body = {"items": [present_summary(q) for q in page.items], "page": page.page, "pages": page.pages,
            "total": page.total}  # fmt: skip
    return QuestionPageSchema().dump(body)


@bp.post("/questions")
@write_limited
def ask_question():
    """Ask a question (the category may be left out when the community has a default one).
    ---
    post:
      tags: [questions]
      summary: Ask a question
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: AskSchema
      responses:
        201:
          description: The new question; Location points at it.
          headers:
            Location: {description: URL of the question in this API, schema: {type: string}}
          content:
            application/json:
              schema: QuestionDetailSchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    user = require_actor()
    data = json_body(AskSchema)
    with transaction():
        question = qa.ask(db.session, actor=user, **data)
    view = queries.question_view(db.session, question_id=question.id, viewer=user)
    location = url_for("api.get_question", question_id=question.id, _external=True)
    return QuestionDetailSchema().dump(present_detail(view)), 201, {"Location": location}


@bp.get("/questions/<int:question_id>")
def get_question(question_id: int):
    """A question with its comments and answers (accepted first, then by score, then oldest).
    ---
    get:
      tags: [questions]
      summary: Read a question
      responses:
        200:
          description: The question page.
          content:
            application/json:
              schema: QuestionDetailSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    view = queries.question_view(db.session, question_id=question_id, viewer=actor())
    return QuestionDetailSchema().dump(present_detail(view))


@bp.post("/questions/<int:question_id>/answers")
@write_limited
def post_answer(question_id: int):
    """Answer a question.
    ---
    post:
      tags: [answers]
      summary: Answer a question
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: BodySchema
      responses:
        201:
          description: The new answer.
          content:
            application/json:
              schema: AnswerSchema
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
        answer = qa.answer(db.session, actor=user, question_id=question_id, body=data["body"])
    location = url_for("api.get_question", question_id=question_id, _external=True) + f"#answer-{answer.id}"
    return AnswerSchema().dump(present_answer(answer, accepted_id=None)), 201, {"Location": location}


@bp.post("/questions/<int:question_id>/vote")
@write_limited
def vote_question(question_id: int):
    """Vote on a question: 1 up, -1 down, 0 retracts (never your own post).
    ---
    post:
      tags: [votes]
      summary: Vote on a question
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
        qa.get_question(db.session, question_id, viewer=user)  # an answer id here is a 404
        score, my_vote = votes.cast(db.session, actor=user, post_id=question_id, value=data["value"])
    return VoteResultSchema().dump({"score": score, "my_vote": my_vote})


@bp.post("/questions/<int:question_id>/accept")
@write_limited
def accept_answer(question_id: int):
    """The asker accepts an answer, switches to another, or withdraws (``answer_id: null``).
    ---
    post:
      tags: [answers]
      summary: Accept an answer
      security: [{bearerAuth: []}, {cookieAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: AcceptSchema
      responses:
        200:
          description: The question, with its accepted_answer_id.
          content:
            application/json:
              schema: QuestionSummarySchema
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Invalid'}
        429: {$ref: '#/components/responses/TooManyRequests'}
    """
    user = require_actor()
    data = json_body(AcceptSchema)
    with transaction():
        question = qa.accept(db.session, actor=user, question_id=question_id, answer_id=data["answer_id"])
    return QuestionSummarySchema().dump(present_summary(question))


@bp.post("/questions/<int:question_id>/comments")
@write_limited
def comment_question(question_id: int):
    """Comment on a question (inline Markdown, 15-600 characters).
    ---
    post:
      tags: [comments]
      summary: Comment on a question
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
        qa.get_question(db.session, question_id, viewer=user)
        comment = comments.add(db.session, actor=user, post_id=question_id, body=data["body"])
    return CommentSchema().dump(comment), 201
