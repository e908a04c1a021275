"""Read models for pages and the API: each page is a fixed, small number of queries."""

import difflib
import html
import math
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from community.models import Answer, Category, Comment, Post, Question, Revision, Tag, User, question_tags
from community.services import policy, votes
from community.services.errors import NotFound, RuleViolation
from community.services.qa import get_post, get_question

SORTS = ("newest", "active", "votes", "unanswered")


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass
class QuestionView:
    question: Question
    answers: list[Answer]
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    my_votes: dict[int, int] = field(default_factory=dict)


def list_questions(session, *, sort: str = "newest", tag: str | None = None, category: str | None = None,
                   author_id: int | None = None, page: int = 1, per_page: int = 30) -> Page:  # fmt: skip
    """Live questions, sorted and filtered; the rows carry author, category and tags (3 queries)."""
    if sort not in SORTS:
        raise RuleViolation(f"Sort by one of: {', '.join(SORTS)}.", fields={"sort": "Unknown sort."})
    page = max(1, int(page or 1))
    where = [Question.deleted_at.is_(None)]
    if sort == "unanswered":
        where.append(Question.answer_count == 0)
    if tag:
        tag_id = select(Tag.id).where(Tag.name == tag).scalar_subquery()
        where.append(Question.id.in_(select(question_tags.c.question_id).where(question_tags.c.tag_id == tag_id)))
    if category:
        where.append(Question.category_id == select(Category.id).where(Category.slug == category).scalar_subquery())
    if author_id:
        where.append(Question.author_id == author_id)
    order = {
        "newest": [Question.created_at.desc(), Question.id.desc()],
        "active": [Question.last_activity_at.desc(), Question.id.desc()],
        "votes": [Question.score.desc(), Question.created_at.desc(), Question.id.desc()],
        "unanswered": [Question.created_at.desc(), Question.id.desc()],
    }[sort]
    total = session.scalar(select(func.count(Question.id)).where(*where))
    items = session.scalars(
        select(Question).where(*where).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def question_view(session, *, question_id: int, viewer: User | None) -> QuestionView:
    """The question page: question, answers (accepted first, then score, then oldest), comments
    and the viewer's votes. Queries: question, tags, answers, comments, votes; whatever the size."""
    question = get_question(session, question_id, viewer=viewer)
    accepted_first = case((Answer.id == question.accepted_answer_id, 0), else_=1)
    stmt = select(Answer).where(Answer.question_id == question.id)
    if not policy.is_staff(viewer):
        visible = Answer.deleted_at.is_(None)
        if viewer is not None:
            visible = visible | (Answer.author_id == viewer.id)
        stmt = stmt.where(visible)
    answers = list(session.scalars(stmt.order_by(accepted_first, Answer.score.desc(), Answer.created_at, Answer.id)))
    post_ids = [question.id] + [a.id for a in answers]
    comments: dict[int, list[Comment]] = {pid: [] for pid in post_ids}
    for comment in session.scalars(
        select(Comment).where(Comment.post_id.in_(post_ids), Comment.deleted_at.is_(None))
        .order_by(Comment.created_at, Comment.id)
    ):  # fmt: skip
        comments[comment.post_id].append(comment)
    return QuestionView(question, answers, comments, votes.my_votes(session, user=viewer, post_ids=post_ids))


def categories(session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.position, Category.name)))


def get_category(session, slug: str) -> Category:
    category = session.scalars(select(Category).where(Category.slug == slug)).first()
    if category is None:
        raise NotFound("No such category.")
    return category


def get_tag(session, name: str) -> Tag:
    tag = session.scalars(select(Tag).where(Tag.name == name)).first()
    if tag is None:
        raise NotFound("No such tag.")
    return tag


def tags(session, *, page: int = 1, per_page: int = 60, prefix: str | None = None) -> Page:
    where = [Tag.question_count > 0]
    if prefix:
        where.append(Tag.name.startswith(prefix.lower(), autoescape=True))
    total = session.scalar(select(func.count(Tag.id)).where(*where))
    items = session.scalars(
        select(Tag).where(*where).order_by(Tag.question_count.desc(), Tag.name)
        .limit(per_page).offset((max(1, page) - 1) * per_page)
    ).all()  # fmt: skip
    return Page(list(items), max(1, page), per_page, total)


def users(session, *, page: int = 1, per_page: int = 36) -> Page:
    where = [User.is_active_account.is_(True)]
    total = session.scalar(select(func.count(User.id)).where(*where))
    items = session.scalars(
        select(User).where(*where).order_by(User.reputation.desc(), User.id)
        .limit(per_page).offset((max(1, page) - 1) * per_page)
    ).all()  # fmt: skip
    return Page(list(items), max(1, page), per_page, total)


def recent_answers(session, *, user_id: int, limit: int = 10) -> list[tuple[Answer, Question]]:
    """The user's latest live answers with their (live) questions, in one query."""
    q = aliased(Question)
    rows = session.execute(
        select(Answer, q).join(q, Answer.question_id == q.id)
        .where(Answer.author_id == user_id, Answer.deleted_at.is_(None), q.deleted_at.is_(None))
        .order_by(Answer.created_at.desc()).limit(limit)
    ).all()  # fmt: skip
    return [(a, qq) for a, qq in rows]


def revisions(session, *, post_id: int, viewer: User | None) -> tuple[Post, list[dict]]:
    """A post's revisions, newest first, each with an HTML diff against the one before."""
    post = get_post(session, post_id, viewer=viewer)
    rows = list(session.scalars(select(Revision).where(Revision.post_id == post.id).order_by(Revision.number)))
    result, previous = [], None
    for rev in rows:
        result.append({"revision": rev, "title_diff": _diff(previous.title if previous else "", rev.title or ""),
                       "tags_diff": _diff(previous.tags if previous else "", rev.tags or ""),
                       "body_diff": _line_diff(previous.body if previous else "", rev.body)})  # fmt: skip
        previous = rev
    return post, list(reversed(result))


def _diff(old: str | None, new: str | None) -> str:
    """Word-level inline diff as escaped HTML with <ins>/<del>."""
    a, b = (old or "").split(), (new or "").split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(' '.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(' '.join(b[j1:j2]))}</ins>")
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
    return " ".join(out)


def _line_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Line diff as (kind, text) pairs; kind is 'add', 'del' or 'same'."""
    lines = []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "+ ":
            lines.append(("add", text))
        elif tag == "- ":
            lines.append(("del", text))
        elif tag == "  ":
            lines.append(("same", text))
    return lines
