"""Marshmallow schemas of the JSON API: what requests may carry and what responses look like.

Input schemas reject unknown fields and wrong types (422 with ``fields``); the length and tag rules
stay in the services so the pages and the API say the same thing. Output schemas dump ORM objects
or the dicts that the ``present_*`` helpers at the bottom build from them (no query per row: the
helpers only read what the read models already loaded). The OpenAPI document is generated from
these classes.
"""

from flask import request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.routing import BuildError

from community.services.queries import SORTS

RENDER_MAX = 30_000


class UTCDateTime(fields.DateTime):
    """Naive UTC timestamps as ISO 8601 with a ``Z``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def _not_bool(value):
    if isinstance(value, bool):
        raise ValidationError("Not a valid integer.")


class _Input(Schema):
    class Meta:
        unknown = RAISE


# --- requests ---------------------------------------------------------------


class QuestionListArgsSchema(Schema):
    """Query string of GET /questions (unknown parameters are ignored, like any web page)."""

    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS), metadata={"description": "Order."})
    tag = fields.String(load_default=None, metadata={"description": "Only questions with this tag."})
    category = fields.String(load_default=None, metadata={"description": "Only questions in this category (slug)."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=30, validate=validate.Range(min=1, max=100))


class AskSchema(_Input):
    title = fields.String(required=True, metadata={"description": "15-150 characters."})
    body = fields.String(required=True, metadata={"description": "Markdown, 30-30,000 characters."})
    tags = fields.List(fields.String(), required=True, metadata={"description": "1-5 tags, [a-z0-9+#.-], ≤25 chars."})
    category = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "Category slug; the default category when left out."})  # fmt: skip


class BodySchema(_Input):
    """An answer or a comment."""

    body = fields.String(required=True, metadata={"description": "Markdown (answers) or inline Markdown (comments)."})


class VoteSchema(_Input):
    value = fields.Integer(required=True, strict=True, validate=[_not_bool, validate.OneOf([-1, 0, 1])],
                           metadata={"description": "1 up, -1 down, 0 retracts."})  # fmt: skip


class AcceptSchema(_Input):
    answer_id = fields.Integer(required=True, strict=True, allow_none=True, validate=_not_bool,
                               metadata={"description": "The answer to accept, or null to withdraw."})  # fmt: skip


class RenderSchema(_Input):
    body = fields.String(required=True, validate=validate.Length(max=RENDER_MAX))


# --- responses --------------------------------------------------------------


class AuthorSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    reputation = fields.Integer()


class CategoryRefSchema(Schema):
    slug = fields.String()
    name = fields.String()


class CommentSchema(Schema):
    id = fields.Integer()
    post_id = fields.Integer()
    body_html = fields.String(metadata={"description": "Sanitised HTML."})
    author = fields.Nested(AuthorSchema)
    created_at = UTCDateTime()


class QuestionSummarySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    excerpt = fields.String()
    tags = fields.List(fields.String())
    category = fields.Nested(CategoryRefSchema, allow_none=True)
    score = fields.Integer()
    answer_count = fields.Integer()
    accepted_answer_id = fields.Integer(allow_none=True)
    is_answered = fields.Boolean()
    author = fields.Nested(AuthorSchema)
    created_at = UTCDateTime()
    last_activity_at = UTCDateTime()
    url = fields.String(metadata={"description": "The question's web page."})


class AnswerSchema(Schema):
    id = fields.Integer()
    question_id = fields.Integer()
    body_html = fields.String()
    score = fields.Integer()
    is_accepted = fields.Boolean()
    deleted = fields.Boolean(metadata={"description": "Only the author and moderators see deleted answers."})
    my_vote = fields.Integer(metadata={"description": "The caller's vote: 1, -1 or 0."})
    author = fields.Nested(AuthorSchema)
    comments = fields.List(fields.Nested(CommentSchema))
    created_at = UTCDateTime()
    edited_at = UTCDateTime(allow_none=True)


class QuestionDetailSchema(QuestionSummarySchema):
    body_html = fields.String()
    deleted = fields.Boolean(metadata={"description": "Only the author and moderators see deleted questions."})
    my_vote = fields.Integer()
    edited_at = UTCDateTime(allow_none=True)
    comments = fields.List(fields.Nested(CommentSchema))
    answers = fields.List(fields.Nested(AnswerSchema), metadata={"description": "Accepted first, then score, oldest."})


class QuestionPageSchema(Schema):
    items = fields.List(fields.Nested(QuestionSummarySchema))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class VoteResultSchema(Schema):
    score = fields.Integer()
    my_vote = fields.Integer()


class RenderResultSchema(Schema):
    html = fields.String(metadata={"description": "The sanitised HTML the post would get."})


class UserSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    reputation = fields.Integer()
    question_count = fields.Integer()
    answer_count = fields.Integer()
    accepted_count = fields.Integer()
    role = fields.String()
    created_at = UTCDateTime()
    last_seen_at = UTCDateTime()
    about_html = fields.String()
    avatar_url = fields.String()
    url = fields.String()
    level = fields.Nested("LevelSchema", metadata={"description": "The level the reputation reaches."})
    badges = fields.List(fields.Nested("UserBadgeSchema"), metadata={"description": "Live badge awards, oldest first."})


class UserBadgeSchema(Schema):
    name = fields.String(metadata={"description": "The badge's name (a tag badge is named after its tag)."})
    tier = fields.String(metadata={"enum": ["bronze", "silver", "gold"]})
    awarded_at = UTCDateTime()


class BadgeSchema(Schema):
    slug = fields.String()
    name = fields.String()
    tier = fields.String(metadata={"enum": ["bronze", "silver", "gold"]})
    description = fields.String()
    kind = fields.String(metadata={"description": "once, post (per post), tag (per tag) or manual"})
    holders = fields.Integer(metadata={"description": "Members holding it."})
    url = fields.String()


class BadgeListSchema(Schema):
    items = fields.List(fields.Nested(BadgeSchema))


class MeSchema(UserSchema):
    email = fields.String()


# --- reputation: levels, ledger entries, leaderboards ------------------------


class LevelSchema(Schema):
    name = fields.String(metadata={"example": "Contributor"})
    min = fields.Integer(metadata={"description": "The reputation the level starts at."})


class ReputationListArgsSchema(Schema):
    """Query string of GET /users/<id>/reputation."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=30, validate=validate.Range(min=1, max=100))


class ReputationEntrySchema(Schema):
    id = fields.Integer()
    delta = fields.Integer(metadata={"description": "What the entry changed (after the daily cap and the floor)."})
    kind = fields.String(metadata={"example": "answer_upvoted"})
    source_type = fields.String(metadata={"description": "vote, accept, badge, adjustment, suggested_edit, answer"})
    source_id = fields.Integer(allow_none=True)
    post_id = fields.Integer(allow_none=True)
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "The entry this one compensates."})
    note = fields.String(metadata={"description": "Adjustment reason, badge, or a cap/floor note."})
    created_at = UTCDateTime()


class ReputationPageSchema(Schema):
    items = fields.List(fields.Nested(ReputationEntrySchema), metadata={"description": "Newest first."})
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class LeaderboardArgsSchema(Schema):
    """Query string of GET /leaderboard."""

    period = fields.String(load_default="all", validate=validate.OneOf(("all", "week", "month", "quarter", "year")))
    tag = fields.String(load_default=None, metadata={"description": "Points earned in this tag."})
    category = fields.String(load_default=None, metadata={"description": "Points earned in this category (slug)."})
    staff = fields.Boolean(load_default=False, metadata={"description": "Include moderators and admins."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class LeaderboardRowSchema(Schema):
    rank = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    reputation = fields.Integer()
    points = fields.Integer(metadata={"description": "Earned in the period and scope (reputation for all time)."})
    level = fields.Nested(LevelSchema)


class ViewerRankSchema(Schema):
    rank = fields.Integer()
    points = fields.Integer()


class LeaderboardSchema(Schema):
    items = fields.List(fields.Nested(LeaderboardRowSchema))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()
    period = fields.String()
    period_key = fields.String(metadata={"example": "w2026-49"})
    viewer_rank = fields.Nested(ViewerRankSchema, allow_none=True,
                                metadata={"description": "The caller's place on this board, when they are on it."})


class ErrorDetailSchema(Schema):
    code = fields.String(metadata={"example": "invalid"})
    message = fields.String()
    fields = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "field -> message"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


class SuggestEditSchema(_Input):
    body = fields.String(required=True, metadata={"description": "Markdown, 30-30,000 characters."})
    title = fields.String(load_default=None, metadata={"description": "Questions only: 15-150 characters."})
    tags = fields.List(fields.String(), load_default=None, metadata={"description": "Questions only: 1-5 tags."})
    reason = fields.String(load_default="", metadata={"description": "Edit summary, at most 300 characters."})


class ReviewSchema(_Input):
    note = fields.String(load_default="", metadata={"description": "Optional note to the suggester (≤300)."})


class SuggestedEditSchema(Schema):
    id = fields.Integer()
    post_id = fields.Integer()
    author = fields.Nested(AuthorSchema)
    title = fields.String(allow_none=True)
    body = fields.String()
    tags = fields.Function(lambda s: s.tags.split() if s.tags is not None else None)
    reason = fields.String()
    status = fields.String(metadata={"description": "pending, approved or rejected."})
    review_note = fields.String()
    created_at = UTCDateTime()
    reviewed_at = UTCDateTime(allow_none=True)


# Every schema the OpenAPI document lists, by component name.
COMPONENTS = {
    "UserBadge": UserBadgeSchema, "Badge": BadgeSchema, "BadgeList": BadgeListSchema,
    "QuestionListArgs": QuestionListArgsSchema, "Ask": AskSchema, "Body": BodySchema, "Vote": VoteSchema,
    "Accept": AcceptSchema, "Render": RenderSchema, "Author": AuthorSchema, "CategoryRef": CategoryRefSchema,
    "Comment": CommentSchema, "QuestionSummary": QuestionSummarySchema, "Answer": AnswerSchema,
    "QuestionDetail": QuestionDetailSchema, "QuestionPage": QuestionPageSchema, "VoteResult": VoteResultSchema,
    "RenderResult": RenderResultSchema,
    "Level": LevelSchema, "User": UserSchema, "Me": MeSchema, "ErrorDetail": ErrorDetailSchema,
    "Error": ErrorSchema,
    "ReputationListArgs": ReputationListArgsSchema, "ReputationEntry": ReputationEntrySchema,
    "ReputationPage": ReputationPageSchema, "LeaderboardArgs": LeaderboardArgsSchema,
    "LeaderboardRow": LeaderboardRowSchema, "ViewerRank": ViewerRankSchema, "Leaderboard": LeaderboardSchema,
    "SuggestEdit": SuggestEditSchema, "Review": ReviewSchema, "SuggestedEdit": SuggestedEditSchema,
}  # fmt: skip


# --- presenters: ORM rows (already loaded) -> dicts the response schemas dump ----


def _site_url(path: str) -> str:
    return request.host_url.rstrip("/") + path


def avatar_url(user) -> str:
    """The user's identicon; the users blueprint serves it (falls back to its agreed path)."""
    try:
        return url_for("users.avatar", user_id=user.id, _external=True)
    except BuildError:
        return _site_url(f"/users/{user.id}/avatar.svg")


def present_summary(question) -> dict:
    """A question row of the list (``is_answered``: accepted, or at least one answer)."""
    return {
        "id": question.id, "title": question.title, "excerpt": question.excerpt,
        "tags": [t.name for t in question.tags], "category": question.category, "score": question.score,
        "answer_count": question.answer_count or 0, "accepted_answer_id": question.accepted_answer_id,
        "is_answered": question.accepted_answer_id is not None or (question.answer_count or 0) > 0,
        "author": question.author, "created_at": question.created_at,
        "last_activity_at": question.last_activity_at,
        "url": _site_url(f"/questions/{question.id}/{question.slug}"),
    }  # fmt: skip


def present_answer(answer, *, accepted_id, comments=(), my_vote=0) -> dict:
    return {
        "id": answer.id, "question_id": answer.question_id, "body_html": answer.body_html, "score": answer.score,
        "is_accepted": answer.id == accepted_id, "deleted": answer.deleted_at is not None,
        "my_vote": my_vote or 0, "author": answer.author, "comments": list(comments),
        "created_at": answer.created_at, "edited_at": answer.edited_at,
    }  # fmt: skip


def present_detail(view) -> dict:
    """A whole question page from a ``queries.QuestionView`` (everything already loaded)."""
    question = view.question
    data = present_summary(question)
    data.update(
        body_html=question.body_html, deleted=question.deleted_at is not None, edited_at=question.edited_at,
        my_vote=view.my_votes.get(question.id, 0), comments=view.comments.get(question.id, []),
        answers=[present_answer(a, accepted_id=question.accepted_answer_id, comments=view.comments.get(a.id, []),
                                my_vote=view.my_votes.get(a.id, 0)) for a in view.answers],
    )  # fmt: skip
    return data


def present_user(user) -> dict:
    data = {name: getattr(user, name) for name in MeSchema._declared_fields if hasattr(user, name)}
    data.update(avatar_url=avatar_url(user), url=_site_url(f"/users/{user.id}"))
    return data
