"""Up and down votes on questions and answers."""

from sqlalchemy import select

from community.db import record_event, utcnow
from community.models import Answer, Post, Question, User, Vote
from community.services import counters
from community.services.errors import PermissionDenied, RuleViolation
from community.services.qa import get_post


def cast(session, *, actor: User, post_id: int, value: int) -> tuple[int, int]:
    """Vote +1 or -1, change the vote, or retract it with 0. Never on your own or a deleted post.

    Returns ``(score, my_vote)``. Raises RuleViolation for other values, PermissionDenied for
    your own post.
    """
    if actor is None or not actor.is_active_account:
        raise PermissionDenied("Log in to vote.")
    if isinstance(value, bool) or value not in (-1, 0, 1):
        raise RuleViolation("A vote is 1, -1 or 0.", fields={"value": "Must be 1, -1 or 0."})
    post = get_post(session, post_id, viewer=actor)
    if post.author_id == actor.id:
        raise PermissionDenied("You cannot vote on your own post.")
    if post.deleted_at is not None or (
        isinstance(post, Answer) and session.get(Question, post.question_id).deleted_at is not None
    ):
        raise RuleViolation("You cannot vote on a deleted post.")
    vote = session.scalars(select(Vote).where(Vote.post_id == post.id, Vote.user_id == actor.id)).first()
    old = vote.value if vote else 0
    if value == old:
        return post.score, value
    if vote is None:
        session.add(Vote(post_id=post.id, user_id=actor.id, value=value))
    elif value == 0:
        session.delete(vote)
    else:
        vote.value = value
        vote.updated_at = utcnow()
    counters.bump(session, Post, post.id, score=value - old)
    session.flush()
    session.refresh(post, ["score"])
    qid = post.question_id if isinstance(post, Answer) else post.id
    record_event(session, "vote_changed", {"post_id": post.id, "question_id": qid, "score": post.score},
                 room=f"question:{qid}")  # fmt: skip
    return post.score, value


def my_votes(session, *, user: User | None, post_ids: list[int]) -> dict[int, int]:
    """The user's vote on each of the posts, in one query."""
    if user is None or not post_ids:
        return {}
    rows = session.execute(select(Vote.post_id, Vote.value).where(Vote.user_id == user.id, Vote.post_id.in_(post_ids)))
    return dict(rows.all())
