"""Comments on questions and answers: inline Markdown, 15-600 characters."""

from community.db import record_event, utcnow
from community.models import Answer, Comment, Post, Question, User
from community.services import content, counters, policy, privileges, rules
from community.services.errors import NotFound, PermissionDenied, RuleViolation
from community.services.qa import get_post


def add(session, *, actor: User, post_id: int, body: str) -> Comment:
    """Comment on a live question or answer the actor can see."""
    if actor is None or not actor.is_active_account:
        raise PermissionDenied("Log in to comment.")
    post = get_post(session, post_id, viewer=actor)
    question = post if not isinstance(post, Answer) else session.get(Question, post.question_id)
    if post.deleted_at is not None or question.deleted_at is not None:
        raise RuleViolation("You cannot comment on a deleted post.")
    if actor.id not in (post.author_id, question.author_id):  # your own posts are always open to you
        privileges.require(session, actor, "comment")
    body = rules.comment(body)
    comment = Comment(post_id=post.id, author_id=actor.id, body=body, body_html=content.render_inline(body))
    session.add(comment)
    session.flush()
    counters.bump(session, Post, post.id, comment_count=1)
    qid = post.question_id if isinstance(post, Answer) else post.id
    record_event(session, "comment_posted", {"question_id": qid, "post_id": post.id, "comment_id": comment.id},
                 room=f"question:{qid}")  # fmt: skip
    return comment


def delete(session, *, actor: User, comment_id: int) -> Comment:
    """Soft-delete a comment: its author or a moderator."""
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound("That comment does not exist.")
    if actor is None or not (comment.author_id == actor.id or policy.is_staff(actor)):
        raise PermissionDenied("You can only delete your own comments.")
    comment.deleted_at = utcnow()
    counters.bump(session, Post, comment.post_id, comment_count=-1)
    return comment
