"""Atomic updates of cached counters (``UPDATE ... SET x = x + :d``) and their reconciliation."""

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from community.models import (
    Answer,
    Category,
    Comment,
    Post,
    Question,
    Tag,
    User,
    Vote,
    question_tags,
)  # fmt: skip


def bump(session, model, row_id: int, **deltas: int) -> None:
    """Add each delta to the named counter of one row, atomically in SQL."""
    if not deltas:
        return
    values = {name: getattr(model, name) + delta for name, delta in deltas.items() if delta}
    if values and model is User and set(values) - {"reputation"}:
        from community.services import crm  # post counts are in the member's CRM snapshot

        crm.members_changed(session, [row_id])
    if values:
        # no in-session synchronisation: scanning the identity map costs more than the UPDATE,
        # and the commit that ends every unit of work expires the loaded objects anyway
        session.execute(
            update(model).where(model.id == row_id).values(values).execution_options(synchronize_session=False)
        )


def bump_tags(session, tag_ids: list[int], delta: int) -> None:
    if tag_ids:
        session.execute(
            update(Tag)
            .where(Tag.id.in_(tag_ids))
            .values(question_count=Tag.question_count + delta)
            .execution_options(synchronize_session=False)
        )


def recount(session) -> dict[str, int]:
    """Recompute every cached counter from the rows; returns how many rows were corrected."""
    fixed = {}
    live_q = and_(Question.deleted_at.is_(None))
    live_a = and_(Answer.deleted_at.is_(None))

    def fix(label, model, column, subquery):
        stmt = (
            update(model)
            .where(column != func.coalesce(subquery, 0))
            .values({column.key: func.coalesce(subquery, 0)})
            .execution_options(synchronize_session=False)
        )
        fixed[label] = session.execute(stmt).rowcount

    fix("users.question_count", User, User.question_count,
        select(func.count(Question.id)).where(Question.author_id == User.id, live_q).scalar_subquery())
    fix("users.answer_count", User, User.answer_count,
        select(func.count(Answer.id)).where(Answer.author_id == User.id, live_a).scalar_subquery())
    accepted = select(Question.accepted_answer_id).where(live_q, Question.accepted_answer_id.is_not(None))
    fix("users.accepted_count", User, User.accepted_count,
        select(func.count(Answer.id)).where(Answer.author_id == User.id, live_a, Answer.id.in_(accepted)).scalar_subquery())
    fix("categories.question_count", Category, Category.question_count,
        select(func.count(Question.id)).where(Question.category_id == Category.id, live_q).scalar_subquery())
    fix("tags.question_count", Tag, Tag.question_count,
        select(func.count(Question.id)).join(question_tags, question_tags.c.question_id == Question.id)
        .where(question_tags.c.tag_id == Tag.id, live_q).scalar_subquery())
    fix("posts.comment_count", Post, Post.comment_count,
        select(func.count(Comment.id)).where(Comment.post_id == Post.id, Comment.deleted_at.is_(None)).scalar_subquery())
    other = aliased(Answer)
    fix("questions.answer_count", Question, Question.answer_count,
        select(func.count(other.id)).where(other.question_id == Question.id,
                                           other.deleted_at.is_(None)).scalar_subquery())
    fix("posts.score", Post, Post.score,
        select(func.sum(Vote.value)).where(Vote.post_id == Post.id).scalar_subquery())
    return fixed
