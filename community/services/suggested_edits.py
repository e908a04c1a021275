"""Suggested edits: members below the edit privilege propose an edit; the post's author or a
moderator approves it (it becomes a revision by the suggester, who earns reputation) or rejects it.
"""

from sqlalchemy import func, or_, select

from community.db import record_event, utcnow
from community.models import Answer, Post, Question, ReputationEntry, SuggestedEdit, User
from community.services import badges, policy, qa, queries, reputation, reputation_rules
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation

KIND = "suggested_edit_approved"


def _check_active(actor: User | None) -> User:
    if actor is None:
        raise PermissionDenied("Log in to suggest an edit.")
    if not actor.is_active_account:
        raise PermissionDenied("Your account is suspended.")
    return actor


def _lock_post(session, post: Post) -> None:
    """Suggestions and reviews on one post queue behind each other on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Post.id).where(Post.id == post.id).with_for_update())


def pending_for_post(session, post_id: int) -> SuggestedEdit | None:
    return session.scalars(
        select(SuggestedEdit).where(SuggestedEdit.post_id == post_id, SuggestedEdit.status == "pending")
    ).first()


def suggest(session, *, actor: User, post_id: int, body: str, title: str | None = None, tags=None,
            reason: str = "") -> SuggestedEdit:  # fmt: skip
    """Suggest an edit of someone else's live post, for review by its author or a moderator.

    The same rules as an edit apply (rules.py, and a suggestion must change something). Members who
    may edit the post (its author, staff, the edit privilege) edit directly instead; a post takes one
    pending suggestion at a time (Conflict). Raises RuleViolation, PermissionDenied, NotFound, Conflict.
    """
    _check_active(actor)
    post = qa.get_post(session, post_id, viewer=actor)
    question = post if isinstance(post, Question) else session.get(Question, post.question_id)
    if post.deleted_at is not None or question.deleted_at is not None:
        raise RuleViolation("You cannot suggest an edit of a deleted post.")
    if qa.may_edit(session, actor, post):
        raise RuleViolation("You can edit this post directly; there is no need to suggest an edit.")
    change = qa.clean_edit(session, post, body=body, reason=reason, title=title, tags=tags)
    _lock_post(session, post)
    if pending_for_post(session, post.id) is not None:
        raise Conflict("This post already has a suggested edit waiting for review; try again once it is reviewed.")
    suggestion = SuggestedEdit(post_id=post.id, author_id=actor.id, title=change["title"], body=change["body"],
                               tags=" ".join(change["tags"]) if change["tags"] is not None else None,
                               reason=change["reason"], created_at=utcnow())  # fmt: skip
    session.add(suggestion)
    session.flush()
    record_event(session, "suggested_edit_created", {"suggestion_id": suggestion.id, "post_id": post.id,
                                                     "question_id": question.id}, room=f"user:{post.author_id}")  # fmt: skip
    return suggestion


def may_review(actor: User | None, post: Post) -> bool:
    """The post's author and moderators review suggestions on it."""
    return actor is not None and actor.is_active_account and (actor.id == post.author_id or policy.is_staff(actor))


def get(session, suggestion_id: int, *, viewer: User | None) -> SuggestedEdit:
    """A suggestion its suggester, the post's author or a moderator may look at, or NotFound."""
    suggestion = session.get(SuggestedEdit, suggestion_id)
    if suggestion is None or viewer is None:
        raise NotFound("That suggested edit does not exist.")
    post = session.get(Post, suggestion.post_id)
    if viewer.id != suggestion.author_id and not may_review(viewer, post):
        raise NotFound("That suggested edit does not exist.")
    return suggestion


def _reviewable(session, actor: User, suggestion_id: int) -> tuple[SuggestedEdit, Post]:
    if actor is None or not actor.is_active_account:
        raise PermissionDenied("Log in to review suggested edits.")
    suggestion = session.get(SuggestedEdit, suggestion_id)
    if suggestion is None:
        raise NotFound("That suggested edit does not exist.")
    post = session.get(Post, suggestion.post_id)
    if not may_review(actor, post):
        raise PermissionDenied("Only the post's author or a moderator can review this suggested edit.")
    _lock_post(session, post)
    session.refresh(suggestion, ["status"])
    if suggestion.status != "pending":
        raise Conflict(f"This suggested edit was already {suggestion.status}.")
    return suggestion, post


def _close(suggestion: SuggestedEdit, actor: User, status: str, note: str) -> None:
    suggestion.status, suggestion.reviewer_id = status, actor.id
    suggestion.review_note, suggestion.reviewed_at = note, utcnow()


def _note(note) -> str:
    note = " ".join(str(note or "").split())
    if len(note) > 300:
        raise RuleViolation("Keep the note under 300 characters.", fields={"note": "At most 300 characters."})
    return note


def approve(session, *, actor: User, suggestion_id: int, note: str = "") -> SuggestedEdit:
    """Apply a pending suggestion as a new revision by its suggester, who earns +suggested_edit
    (never more than suggested_edit_max in total). Refused (Conflict) when the post changed since
    the suggestion was made, or the suggestion was already reviewed; RuleViolation on a deleted post."""
    note = _note(note)
    suggestion, post = _reviewable(session, actor, suggestion_id)
    question = post if isinstance(post, Question) else session.get(Question, post.question_id)
    if post.deleted_at is not None or question.deleted_at is not None:
        raise RuleViolation("The post was deleted; reject the suggestion instead.")
    if post.edited_at is not None and post.edited_at > suggestion.created_at:
        raise Conflict("The post was edited after this suggestion was made, so approving it would undo that "
                       "edit. Reject it; the suggester can suggest again on the new version.")  # fmt: skip
    tags = suggestion.tags.split() if suggestion.tags is not None else None
    try:
        change = qa.clean_edit(session, post, body=suggestion.body, reason=suggestion.reason,
                               title=suggestion.title, tags=tags)  # fmt: skip
    except RuleViolation as exc:
        raise Conflict(f"This suggestion no longer applies: {exc.message}") from exc
    if not change["reason"]:
        change["reason"] = "Suggested edit"
    qa.write_revision(session, post, author_id=suggestion.author_id, change=change)
    _close(suggestion, actor, "approved", note)
    session.flush()
    _reward(session, suggestion, post, question, actor)
    badges.evaluate(session, "edit", user_ids=[suggestion.author_id], post_id=post.id)
    _announce(session, suggestion, question)
    return suggestion


def _reward(session, suggestion: SuggestedEdit, post: Post, question: Question, actor: User) -> None:
    rules = reputation_rules.current(session)
    earned = sum(e.delta for e in reputation.live_entries(session, ReputationEntry.user_id == suggestion.author_id,
                                                          ReputationEntry.kind == KIND))  # fmt: skip
    amount = max(0, min(rules["suggested_edit"], rules["suggested_edit_max"] - earned))
    if not amount:
        return
    scopes = reputation.scopes_for_question(session, question.id, question.category_id)
    reputation.apply(session, [reputation.Grant(
        suggestion.author_id, amount, KIND, f"suggested-edit:{suggestion.id}", source_type="suggested_edit",
        source_id=suggestion.id, post_id=post.id, actor_id=actor.id, scopes=scopes,
    )], now=suggestion.reviewed_at)  # fmt: skip


def reject(session, *, actor: User, suggestion_id: int, note: str = "") -> SuggestedEdit:
    """Reject a pending suggestion, with an optional note to the suggester."""
    note = _note(note)
    suggestion, post = _reviewable(session, actor, suggestion_id)
    _close(suggestion, actor, "rejected", note)
    question = post if isinstance(post, Question) else session.get(Question, post.question_id)
    _announce(session, suggestion, question)
    return suggestion


def _announce(session, suggestion: SuggestedEdit, question: Question) -> None:
    record_event(session, "suggested_edit_reviewed",
                 {"suggestion_id": suggestion.id, "post_id": suggestion.post_id, "question_id": question.id,
                  "status": suggestion.status}, room=f"user:{suggestion.author_id}")  # fmt: skip


def _reviewable_by(viewer: User):
    """The pending suggestions ``viewer`` may review: all for moderators, else those on their posts."""
    stmt = (select(SuggestedEdit).join(Post, Post.id == SuggestedEdit.post_id)
            .where(SuggestedEdit.status == "pending"))  # fmt: skip
    return stmt if policy.is_staff(viewer) else stmt.where(Post.author_id == viewer.id)


def queue(session, *, viewer: User, page: int = 1, per_page: int = 20) -> queries.Page:
    """The review queue, oldest first, with each suggestion's post loaded (three queries)."""
    if viewer is None:
        raise PermissionDenied("Log in to review suggested edits.")
    stmt = _reviewable_by(viewer)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = list(session.scalars(stmt.order_by(SuggestedEdit.created_at, SuggestedEdit.id)
                                 .limit(per_page).offset((max(1, page) - 1) * per_page)))  # fmt: skip
    _load_posts(session, items)
    return queries.Page(items, max(1, page), per_page, total)


def _load_posts(session, items) -> None:
    """Put each suggestion's post and question in the identity map with one query."""
    post_ids = {s.post_id for s in items}
    if not post_ids:
        return
    posts = list(session.scalars(select(Post).where(Post.id.in_(post_ids))))
    question_ids = {p.question_id for p in posts if isinstance(p, Answer)} - post_ids
    if question_ids:
        list(session.scalars(select(Question).where(Question.id.in_(question_ids))))


def pending_on_question(session, *, viewer: User | None, question_id: int) -> list[SuggestedEdit]:
    """Pending suggestions on a question and its answers that ``viewer`` may review (one query)."""
    if viewer is None:
        return []
    stmt = _reviewable_by(viewer).where(or_(Post.id == question_id, Post.__table__.c.question_id == question_id))
    return list(session.scalars(stmt.order_by(SuggestedEdit.created_at)))


def changes(session, suggestion: SuggestedEdit) -> dict:
    """What the suggestion changes against the post as it is now, shaped like a revision in the
    history page: escaped word diffs of title and tags, and a line diff of the body."""
    post = session.get(Post, suggestion.post_id)
    result = {"body_diff": queries._line_diff(post.body, suggestion.body), "title_diff": "", "tags_diff": ""}
    if isinstance(post, Question):
        result["title_diff"] = queries._diff(post.title, suggestion.title)
        result["tags_diff"] = queries._diff(" ".join(t.name for t in post.tags), suggestion.tags)
    return result
