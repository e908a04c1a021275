"""The automatic badges, defined in code.

Each badge names the events that can earn it (``triggers``) and a predicate: a function that
builds one SQL SELECT of ``(user_id, award_key, post_id, tag_id)`` rows for everyone who has
earned it. ``badges.evaluate`` narrows the predicate to the users and the post of an event
(``Scope``); ``badges.backfill`` runs it for everybody. A once-only badge has the award key "",
a per-post badge the post id, a per-tag badge the tag name.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Integer, String, cast, func, literal, null, select
from sqlalchemy.orm import aliased

from community.db import utcnow
from community.db_functions import epoch_seconds
from community.models import Answer, Post, Question, Revision, Tag, Vote, question_tags

ONCE, PER_POST, PER_TAG = "once", "post", "tag"
TRIGGERS = ("vote", "question", "answer", "edit", "accept", "view")


@dataclass(frozen=True)
class Scope:
    """What an event may have changed: these users (None: everyone) and this post (None: any)."""

    users: tuple | None = None
    post_id: int | None = None
    since: object = None  # the start of the window event-time checks look at (Streak); None: 8 days ago


@dataclass(frozen=True)
class Badge:
    slug: str
    name: str
    tier: str
    description: str
    triggers: tuple
    predicate: Callable[[Scope], object]
    kind: str = ONCE
    rule: str = ""  # the exact rule, for the docs and the badge page


def day_number(expr):
    """The UTC day of a timestamp as a whole number (consecutive days differ by 1)."""
    return epoch_seconds(expr) // 86400


# --- building blocks ----------------------------------------------------------------------------

NO_POST = cast(null(), Integer)
NO_TAG = cast(null(), Integer)


def _once(user_col, *where):
    return select(user_col.label("user_id"), literal("").label("award_key"), NO_POST.label("post_id"),
                  NO_TAG.label("tag_id")).where(*where)  # fmt: skip


def _users(col, scope: Scope) -> list:
    return [col.in_(scope.users)] if scope.users is not None else []


def _post_score(model, threshold: int):
    """Per-post: a live question or answer with a score of at least ``threshold``."""

    def predicate(scope: Scope):
        where = [model.score >= threshold, model.deleted_at.is_(None)]
        if scope.post_id is not None:
            where.append(model.id == scope.post_id)
        else:
            where += _users(model.author_id, scope)
        return select(model.author_id.label("user_id"), cast(model.id, String).label("award_key"),
                      model.id.label("post_id"), NO_TAG.label("tag_id")).where(*where)  # fmt: skip

    return predicate


def _first_scored(model):
    """Once: the author of a live post of this type with a score of at least 1."""

    def predicate(scope: Scope):
        where = [model.score >= 1, model.deleted_at.is_(None)]
        if scope.post_id is not None:
            where.append(model.id == scope.post_id)
        else:
            where += _users(model.author_id, scope)
        return _once(model.author_id, *where).distinct()

    return predicate


def _views(threshold: int):
    def predicate(scope: Scope):
        where = [Question.view_count >= threshold, Question.deleted_at.is_(None), *_users(Question.author_id, scope)]
        if scope.post_id is not None:
            where.append(Question.id == scope.post_id)
        return select(Question.author_id.label("user_id"), cast(Question.id, String).label("award_key"),
                      Question.id.label("post_id"), NO_TAG.label("tag_id")).where(*where)  # fmt: skip

    return predicate


def _accepted_answers(scope: Scope):
    """(answer author, answer, question) of accepted answers on live questions of someone else."""
    q = aliased(Question)
    where = [Answer.deleted_at.is_(None), q.deleted_at.is_(None), q.author_id != Answer.author_id,
             *_users(Answer.author_id, scope)]  # fmt: skip
    return q, where


def _accepted_count(threshold: int):
    def predicate(scope: Scope):
        q, where = _accepted_answers(scope)
        return (_once(Answer.author_id, *where).join(q, q.accepted_answer_id == Answer.id)
                .group_by(Answer.author_id).having(func.count(Answer.id) >= threshold))  # fmt: skip

    return predicate


def _scholar(scope: Scope):
    a = aliased(Answer)
    return (_once(Question.author_id, Question.deleted_at.is_(None), a.author_id != Question.author_id,
                  *_users(Question.author_id, scope))
            .join(a, a.id == Question.accepted_answer_id).distinct())  # fmt: skip


def _enlightened(scope: Scope):
    """Per answer: the first answer to the question, accepted, with a score of 10 or more."""
    q, where = _accepted_answers(scope)
    earlier = aliased(Answer)
    first = ~select(earlier.id).where(earlier.question_id == q.id, earlier.deleted_at.is_(None),
                                      earlier.created_at < Answer.created_at).exists()  # fmt: skip
    where += [Answer.score >= 10, first]
    if scope.post_id is not None:
        where.append(Answer.id == scope.post_id)
    return (select(Answer.author_id.label("user_id"), cast(Answer.id, String).label("award_key"),
                   Answer.id.label("post_id"), NO_TAG.label("tag_id"))
            .join(q, q.accepted_answer_id == Answer.id).where(*where))  # fmt: skip


def _necromancer(scope: Scope):
    """Per answer: posted 60 days or more after its question, with a score of 5 or more."""
    q = aliased(Question)
    where = [Answer.score >= 5, Answer.deleted_at.is_(None), q.deleted_at.is_(None),
             day_number(Answer.created_at) - day_number(q.created_at) >= 60]  # fmt: skip
    if scope.post_id is not None:
        where.append(Answer.id == scope.post_id)
    else:
        where += _users(Answer.author_id, scope)
    return (select(Answer.author_id.label("user_id"), cast(Answer.id, String).label("award_key"),
                   Answer.id.label("post_id"), NO_TAG.label("tag_id"))
            .join(q, q.id == Answer.question_id).where(*where))  # fmt: skip


def _fast_responder(scope: Scope):
    q, where = _accepted_answers(scope)
    hour_later = epoch_seconds(Answer.created_at) - epoch_seconds(q.created_at) <= 3600
    return _once(Answer.author_id, *where, hour_later).join(q, q.accepted_answer_id == Answer.id).distinct()


def _mentor(scope: Scope):
    """Once: your answer was accepted on the asker's very first question."""
    q, where = _accepted_answers(scope)
    older = aliased(Question)
    first = ~select(older.id).where(older.author_id == q.author_id, older.created_at < q.created_at).exists()
    return _once(Answer.author_id, *where, first).join(q, q.accepted_answer_id == Answer.id).distinct()


def _streak(scope: Scope):
    """Once: answers on 7 consecutive days (UTC). An event only needs the last week."""
    where = [Answer.deleted_at.is_(None), *_users(Answer.author_id, scope)]
    if scope.users is not None:
        where.append(Answer.created_at >= (scope.since if scope.since is not None else utcnow() - timedelta(days=8)))
    days = select(Answer.author_id.label("uid"), day_number(Answer.created_at).label("day")).where(*where)
    days = days.distinct().subquery()
    run = (days.c.day - func.row_number().over(partition_by=days.c.uid, order_by=days.c.day)).label("run")
    runs = select(days.c.uid, run).subquery()
    return _once(runs.c.uid).group_by(runs.c.uid, runs.c.run).having(func.count() >= 7).distinct()


def _votes(value: int | None, threshold: int = 1):
    def predicate(scope: Scope):
        where = [*_users(Vote.user_id, scope)] + ([Vote.value == value] if value is not None else [])
        return _once(Vote.user_id, *where).group_by(Vote.user_id).having(func.count(Vote.id) >= threshold)

    return predicate


def _editor(scope: Scope):
    return _once(Revision.author_id, Revision.number > 1, *_users(Revision.author_id, scope)).distinct()


def _tag_score(threshold: int):
    """Per tag: a total answer score of ``threshold`` or more on live questions with the tag.
    After a vote only the tags of that post's question matter, and only when the post is an answer."""

    def predicate(scope: Scope):
        q = aliased(Question)
        where = [Answer.deleted_at.is_(None), q.deleted_at.is_(None)]
        if scope.post_id is not None:
            voted = select(Answer.question_id).where(Answer.id == scope.post_id).scalar_subquery()
            author = select(Post.author_id).where(Post.id == scope.post_id, Post.type == "answer").scalar_subquery()
            tags = select(question_tags.c.tag_id).where(question_tags.c.question_id == voted)
            where += [Answer.author_id == author, question_tags.c.tag_id.in_(tags)]
        else:
            where += _users(Answer.author_id, scope)
        return (select(Answer.author_id.label("user_id"), Tag.name.label("award_key"), NO_POST.label("post_id"),
                       Tag.id.label("tag_id"))
                .join(q, q.id == Answer.question_id)
                .join(question_tags, question_tags.c.question_id == q.id)
                .join(Tag, Tag.id == question_tags.c.tag_id)
                .where(*where)
                .group_by(Answer.author_id, Tag.id, Tag.name)
                .having(func.sum(Answer.score) >= threshold))  # fmt: skip

    return predicate


# --- the registry -------------------------------------------------------------------------------

B, S, G = "bronze", "silver", "gold"
BADGES: list[Badge] = [
    Badge("student", "Student", B, "Asked a question that scored 1 or more.", ("vote",), _first_scored(Question)),
    Badge("teacher", "Teacher", B, "Answered a question with an answer that scored 1 or more.", ("vote",),
          _first_scored(Answer)),
    Badge("scholar", "Scholar", B, "Accepted an answer to your question (not your own).", ("accept",), _scholar),
    Badge("solution-provider", "Solution Provider", B, "1 answer accepted.", ("accept",), _accepted_count(1)),
    Badge("problem-solver", "Problem Solver", S, "10 answers accepted.", ("accept",), _accepted_count(10)),
    Badge("guru", "Guru", G, "50 answers accepted.", ("accept",), _accepted_count(50)),
    Badge("nice-answer", "Nice Answer", B, "An answer that scored 10 or more.", ("vote",), _post_score(Answer, 10),
          PER_POST),
    Badge("good-answer", "Good Answer", S, "An answer that scored 25 or more.", ("vote",), _post_score(Answer, 25),
          PER_POST),
    Badge("great-answer", "Great Answer", G, "An answer that scored 100 or more.", ("vote",),
          _post_score(Answer, 100), PER_POST),
    Badge("nice-question", "Nice Question", B, "A question that scored 10 or more.", ("vote",),
          _post_score(Question, 10), PER_POST),
    Badge("good-question", "Good Question", S, "A question that scored 25 or more.", ("vote",),
          _post_score(Question, 25), PER_POST),
    Badge("great-question", "Great Question", G, "A question that scored 100 or more.", ("vote",),
          _post_score(Question, 100), PER_POST),
    Badge("popular-question", "Popular Question", B, "A question viewed 1,000 times.", ("view",), _views(1000),
          PER_POST),
    Badge("notable-question", "Notable Question", S, "A question viewed 2,500 times.", ("view",), _views(2500),
          PER_POST),
    Badge("enlightened", "Enlightened", S, "First to answer, accepted, and scored 10 or more.", ("vote", "accept"),
          _enlightened, PER_POST),
    Badge("necromancer", "Necromancer", S, "Answered 60 days or more after the question was asked, scored 5 or more.",
          ("vote",), _necromancer, PER_POST),
    Badge("fast-responder", "Fast Responder", B, "An answer, posted within an hour of the question, was accepted.",
          ("accept",), _fast_responder),
    Badge("mentor", "Mentor", S, "Your answer was accepted on a newcomer's first question.", ("accept",), _mentor),
    Badge("streak", "Streak", S, "Answered questions on 7 consecutive days (UTC).", ("answer",), _streak),
    Badge("supporter", "Supporter", B, "Cast a first upvote.", ("vote",), _votes(1)),
    Badge("critic", "Critic", B, "Cast a first downvote.", ("vote",), _votes(-1)),
    Badge("civic-duty", "Civic Duty", S, "Cast 300 votes.", ("vote",), _votes(None, 300)),
    Badge("editor", "Editor", B, "Edited a post for the first time.", ("edit",), _editor),
    Badge("tag-bronze", "Tag (bronze)", B, "A total answer score of 100 in a tag.", ("vote",), _tag_score(100),
          PER_TAG),
    Badge("tag-silver", "Tag (silver)", S, "A total answer score of 400 in a tag.", ("vote",), _tag_score(400),
          PER_TAG),
    Badge("tag-gold", "Tag (gold)", G, "A total answer score of 1,000 in a tag.", ("vote",), _tag_score(1000),
          PER_TAG),
]  # fmt: skip
BY_SLUG = {b.slug: b for b in BADGES}
BY_TRIGGER = {t: [b for b in BADGES if t in b.triggers] for t in TRIGGERS}


def get(slug: str) -> Badge | None:
    return BY_SLUG.get(slug)


def union_for(badges: list[Badge], scope: Scope):
    """One UNION ALL statement of ``(badge, user_id, award_key, post_id, tag_id)`` for the badges."""
    parts = [select(literal(b.slug).label("badge"), *b.predicate(scope).subquery().c) for b in badges]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])


