"""Questions and answers: ask, answer, edit, delete, accept."""

from sqlalchemy import select

from community.db import record_event, utcnow
from community.models import Answer, Category, Post, Question, Revision, Tag, User
from community.services import badges, content, counters, outbox, policy, privileges, reputation, rules
from community.services.errors import NotFound, PermissionDenied, RuleViolation

EXCERPT_LEN = 240


def _check_active(actor: User | None) -> User:
    if actor is None:
        raise PermissionDenied("Log in to do that.")
    if not actor.is_active_account:
        raise PermissionDenied("Your account is suspended.")
    return actor


def get_post(session, post_id: int, *, viewer: User | None = None) -> Post:
    """Load a question or answer the viewer may see, or raise NotFound."""
    post = session.get(Post, post_id)
    if post is None or not policy.can_see(viewer, post):
        raise NotFound("That post does not exist or was deleted.")
    if isinstance(post, Answer):
        question = session.get(Question, post.question_id)
        if not policy.can_see(viewer, question):
            raise NotFound("That post does not exist or was deleted.")
    return post


def get_question(session, question_id: int, *, viewer: User | None = None) -> Question:
    question = session.get(Question, question_id)
    if question is None or not policy.can_see(viewer, question):
        raise NotFound("That question does not exist.")
    return question


def resolve_category(session, slug: str | None) -> Category:
    """The category by slug, or the default one when no slug is given."""
    if slug:
        category = session.scalars(select(Category).where(Category.slug == slug)).first()
        if category is None:
            raise RuleViolation("Choose one of the categories.", fields={"category": "Unknown category."})
        return category
    category = session.scalars(select(Category).where(Category.is_default.is_(True))).first()
    if category is None:
        raise RuleViolation("Choose a category.", fields={"category": "Choose a category."})
    return category


def resolve_tags(session, names: list[str]) -> list[Tag]:
    """Existing tags by name; new names become new tags."""
    existing = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    result = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
        result.append(tag)
    session.flush()
    return result


def _set_body(post: Post, body: str) -> None:
    post.body = body
    post.body_html = content.render(body)
    post.excerpt = content.plain_text(post.body_html, EXCERPT_LEN)[:300]


def _collect(fields: dict, fn, *args):
    """Run a rule and gather its field error so one response names every bad field."""
    try:
        return fn(*args)
    except RuleViolation as exc:
        fields.update(exc.fields)
        return None


def ask(session, *, actor: User, title: str, body: str, tags, category: str | None = None) -> Question:
    """Post a question. Rules: title 15-150, body 30-30,000, 1-5 valid tags, a known category."""
    _check_active(actor)
    errors: dict = {}
    title = _collect(errors, rules.title, title)
    body = _collect(errors, rules.body, body)
    names = _collect(errors, rules.tags, tags)
    cat = _collect(errors, resolve_category, session, category)
    if errors:
        raise RuleViolation("Please correct the marked fields.", fields=errors)
    question = Question(author_id=actor.id, title=title, category_id=cat.id)
    _set_body(question, body)
    question.tags = resolve_tags(session, names)
    session.add(question)
    session.flush()
    session.add(Revision(post_id=question.id, number=1, author_id=actor.id, title=title,
                         body=body, tags=" ".join(names), reason="Initial version"))
    counters.bump(session, User, actor.id, question_count=1)
    counters.bump(session, Category, cat.id, question_count=1)
    counters.bump_tags(session, [t.id for t in question.tags], 1)
    record_event(session, "question_posted", {"question_id": question.id, "title": title}, room="questions")
    badges.evaluate(session, "question", user_ids=[actor.id], post_id=question.id)
    return question


def answer(session, *, actor: User, question_id: int, body: str) -> Answer:
    """Answer a question that is visible and not deleted. Body 30-30,000 characters."""
    _check_active(actor)
    question = get_question(session, question_id, viewer=actor)
    if question.deleted_at is not None:
        raise RuleViolation("This question was deleted; it cannot take new answers.")
    body = rules.body(body)
    post = Answer(author_id=actor.id, question_id=question.id)
    _set_body(post, body)
    session.add(post)
    session.flush()
    session.add(Revision(post_id=post.id, number=1, author_id=actor.id, body=body, reason="Initial version"))
    now = utcnow()
    counters.bump(session, Question, question.id, answer_count=1)
    counters.bump(session, User, actor.id, answer_count=1)
    question.last_activity_at = now
    record_event(session, "answer_posted",
                 {"question_id": question.id, "answer_id": post.id, "author": actor.display_name},
                 room=f"question:{question.id}")  # fmt: skip
    outbox.enqueue(session, "notify.answer", {"question_id": question.id, "answer_id": post.id},
                   key=f"answer:{post.id}")  # fmt: skip
    reputation.on_answer_posted(session, answer=post, question=question)
    badges.evaluate(session, "answer", user_ids=[actor.id], post_id=post.id)
    return post


def may_edit(session, actor: User | None, post: Post) -> bool:
    """Authors and moderators edit as before; members with the edit privilege edit any live post."""
    if policy.can_edit(actor, post):
        return True
    return post.deleted_at is None and actor is not None and privileges.has(session, actor, "edit")


def edit(session, *, actor: User, post_id: int, body: str, reason: str = "",
         title: str | None = None, tags=None) -> Post:  # fmt: skip
    """Edit a post as a new revision. The author may edit their live posts; moderators any post.

    For questions, title and tags are edited too. An edit that changes nothing is refused.
    """
    _check_active(actor)
    post = get_post(session, post_id, viewer=actor)
    if not may_edit(session, actor, post):
        if post.deleted_at is not None:
            raise PermissionDenied("Only moderators can edit a deleted post.")
        privileges.require(session, actor, "edit")
    change = clean_edit(session, post, body=body, reason=reason, title=title, tags=tags)
    write_revision(session, post, author_id=actor.id, change=change)
    badges.evaluate(session, "edit", user_ids=[actor.id], post_id=post.id)
    return post


def clean_edit(session, post: Post, *, body, reason="", title=None, tags=None) -> dict:
    """Validate an edit of ``post`` (rules.py) and refuse one that changes nothing.

    Returns the cleaned ``{"body", "reason", "title", "tags"}`` (title/tags None for answers).
    Also used by suggested edits, so a suggestion passes exactly the rules of an edit."""
    errors: dict = {}
    body = _collect(errors, rules.body, body)
    reason = _collect(errors, rules.reason, reason)
    is_question = isinstance(post, Question)
    names = None
    if is_question:
        title = _collect(errors, rules.title, title)
        names = _collect(errors, rules.tags, tags)
    if errors:
        raise RuleViolation("Please correct the marked fields.", fields=errors)
    same_tags = is_question and sorted(names) == sorted(t.name for t in post.tags)
    changed = body != post.body or (is_question and (title != post.title or not same_tags))
    if not changed:
        raise RuleViolation("Nothing changed.", fields={"body": "Change something before saving."})
    return {"body": body, "reason": reason, "title": title if is_question else None, "tags": names}


def write_revision(session, post: Post, *, author_id: int, change: dict) -> Revision:
    """Apply a cleaned edit (see clean_edit) to the post as a new revision by ``author_id``."""
    is_question = isinstance(post, Question)
    _set_body(post, change["body"])
    if is_question:
        post.title = change["title"]
        if sorted(change["tags"]) != sorted(t.name for t in post.tags):
            old_ids = [t.id for t in post.tags]
            post.tags = resolve_tags(session, change["tags"])
            if post.deleted_at is None:
                counters.bump_tags(session, old_ids, -1)
                counters.bump_tags(session, [t.id for t in post.tags], 1)
    now = utcnow()
    post.edited_at = now
    post.last_activity_at = now
    post.revision_count = (post.revision_count or 1) + 1
    revision = Revision(post_id=post.id, number=post.revision_count, author_id=author_id,
                        title=change["title"], body=change["body"],
                        tags=" ".join(change["tags"]) if is_question else None,
                        reason=change["reason"] or "Edited", created_at=now)  # fmt: skip
    session.add(revision)
    qid = post.id if is_question else post.question_id
    record_event(session, "post_edited", {"post_id": post.id, "question_id": qid}, room=f"question:{qid}")
    return revision


def delete(session, *, actor: User, post_id: int) -> Post:
    """Soft-delete a post (author or moderator). Counters drop; an accepted answer is unaccepted."""
    _check_active(actor)
    post = get_post(session, post_id, viewer=actor)
    if post.deleted_at is not None:
        raise RuleViolation("This post is already deleted.")
    if not policy.can_delete(actor, post):
        raise PermissionDenied("You can only delete your own posts.")
    post.deleted_at = utcnow()
    post.deleted_by_id = actor.id
    if isinstance(post, Question):
        counters.bump(session, User, post.author_id, question_count=-1)
        if post.category_id:
            counters.bump(session, Category, post.category_id, question_count=-1)
        counters.bump_tags(session, [t.id for t in post.tags], -1)
        if post.accepted_answer_id:
            accepted = session.get(Answer, post.accepted_answer_id)
            counters.bump(session, User, accepted.author_id, accepted_count=-1)
        qid = post.id
    else:
        question = session.get(Question, post.question_id)
        counters.bump(session, Question, question.id, answer_count=-1)
        counters.bump(session, User, post.author_id, answer_count=-1)
        if question.accepted_answer_id == post.id:
            question.accepted_answer_id = None
            if question.deleted_at is None:
                counters.bump(session, User, post.author_id, accepted_count=-1)
        qid = question.id
    reputation.on_post_deleted(session, post=post, actor_id=actor.id)
    record_event(session, "post_deleted", {"post_id": post.id, "question_id": qid}, room=f"question:{qid}")
    return post


def accept(session, *, actor: User, question_id: int, answer_id: int | None) -> Question:
    """The asker accepts one answer, switches to another, or withdraws (answer_id None)."""
    _check_active(actor)
    question = get_question(session, question_id, viewer=actor)
    if question.author_id != actor.id:
        raise PermissionDenied("Only the person who asked can accept an answer.")
    if question.deleted_at is not None:
        raise RuleViolation("This question was deleted.")
    previous = question.accepted_answer_id
    if answer_id is not None:
        chosen = session.get(Answer, answer_id)
        if chosen is None or chosen.question_id != question.id or chosen.deleted_at is not None:
            raise NotFound("That answer does not belong to this question.", fields={"answer_id": "Unknown answer."})
    if previous == answer_id:
        return question
    if previous is not None:
        old = session.get(Answer, previous)
        counters.bump(session, User, old.author_id, accepted_count=-1)
    if answer_id is not None:
        counters.bump(session, User, chosen.author_id, accepted_count=1)
    question.accepted_answer_id = answer_id
    question.last_activity_at = utcnow()
    question.accepted_at = question.last_activity_at if answer_id is not None else None
    reputation.on_accept(session, question=question, answer=chosen if answer_id is not None else None)
    badges.evaluate(session, "accept", user_ids=[actor.id] + ([chosen.author_id] if answer_id else []),
                    post_id=answer_id)  # fmt: skip
    record_event(session, "answer_accepted",
                 {"question_id": question.id, "answer_id": answer_id, "previous_answer_id": previous},
                 room=f"question:{question.id}")  # fmt: skip
    return question
