"""Up and down votes on questions and answers, and the reputation they move."""

from sqlalchemy import func, select

from community.db import record_event, utcnow
from community.models import Post, Question, User, Vote
from community.services import badges, counters, privileges, reputation, reputation_rules
from community.services.errors import PermissionDenied, RuleViolation
from community.services.qa import get_post


def _check_daily_limit(session, actor: User) -> None:
    limit = reputation_rules.current(session)["votes_per_day"]
    today = reputation.day_start(utcnow())
    cast_today = session.scalar(select(func.count(Vote.id)).where(Vote.user_id == actor.id, Vote.created_at >= today))
    if cast_today >= limit:
        raise PermissionDenied(f"You have used your {limit} votes for today; votes renew at midnight UTC.")


def _lock_post(session, post: Post) -> None:
    """Votes on one post queue behind each other on PostgreSQL (SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Post.id).where(Post.id == post.id).with_for_update())


def cast(session, *, actor: User, post_id: int, value: int) -> tuple[int, int]:
    """Vote +1 or -1, change the vote, or retract it with 0. Never on your own or a deleted post.

    Voting up needs the vote_up privilege, voting down vote_down, and a member casts at most
    ``votes_per_day`` votes a day. The author's reputation (and, for a downvote on an answer, the
    voter's) moves through the ledger; a changed or retracted vote reverses its entries first.
    Returns ``(score, my_vote)``.
    """
    if actor is None or not actor.is_active_account:
        raise PermissionDenied("Log in to vote.")
    if isinstance(value, bool) or value not in (-1, 0, 1):
        raise RuleViolation("A vote is 1, -1 or 0.", fields={"value": "Must be 1, -1 or 0."})
    post = get_post(session, post_id, viewer=actor)
    if post.author_id == actor.id:
        raise PermissionDenied("You cannot vote on your own post.")
    question = post if isinstance(post, Question) else session.get(Question, post.question_id)
    if post.deleted_at is not None or question.deleted_at is not None:
        raise RuleViolation("You cannot vote on a deleted post.")
    _lock_post(session, post)
    vote = session.scalars(select(Vote).where(Vote.post_id == post.id, Vote.user_id == actor.id)).first()
    old = vote.value if vote else 0
    if value == old:  # a retried request changes nothing
        return post.score, value
    if value:
        privileges.require(session, actor, "vote_up" if value > 0 else "vote_down")
        _check_daily_limit(session, actor)
    if vote is not None:
        reputation.on_vote_removed(session, vote=vote)
        session.delete(vote)
        session.flush()
    if value:
        vote = Vote(post_id=post.id, user_id=actor.id, value=value, created_at=utcnow())
        vote.updated_at = vote.created_at
        session.add(vote)
        session.flush()
        scopes = reputation.scopes_for_question(session, question.id, question.category_id)
        reputation.on_vote(session, vote=vote, post=post, scopes=scopes)
    counters.bump(session, Post, post.id, score=value - old)
    session.flush()
    session.refresh(post, ["score"])
    badges.evaluate(session, "vote", user_ids=[actor.id, post.author_id], post_id=post.id)
    record_event(session, "vote_changed", {"post_id": post.id, "question_id": question.id, "score": post.score},
                 room=f"question:{question.id}")  # fmt: skip
    return post.score, value


def my_votes(session, *, user: User | None, post_ids: list[int]) -> dict[int, int]:
    """The user's vote on each of the posts, in one query."""
    if user is None or not post_ids:
        return {}
    rows = session.execute(select(Vote.post_id, Vote.value).where(Vote.user_id == user.id, Vote.post_id.in_(post_ids)))
    return dict(rows.all())
