"""Changing a post after it was written: edit, history, delete, vote, accept; deleting comments."""

from flask import flash, jsonify, redirect, render_template, request, url_for

from community.db import transaction
from community.extensions import db
from community.models import Comment, Post, Question
from community.services import comments, qa, queries, votes
from community.services.errors import NotFound, PermissionDenied, RuleViolation
from community.web.errors import wants_json
from community.web.forms import apply_domain_error
from community.web.qa.forms import EditAnswerForm, EditQuestionForm
from community.web.qa.routes import bp, login_required, post_url, question_of, question_url, viewer, write_limited


def _editable(post_id: int) -> Post:
    post = qa.get_post(db.session, post_id, viewer=viewer())
    if not qa.may_edit(db.session, viewer(), post):
        if post.deleted_at is not None:
            raise PermissionDenied("Only moderators can edit a deleted post.")
        raise PermissionDenied("You can only edit your own posts; you can suggest an edit instead.")
    return post


def _edit_form(post: Post):
    if isinstance(post, Question):
        form = EditQuestionForm()
        if request.method == "GET":
            form.title.data, form.body.data = post.title, post.body
            form.tags.data = " ".join(t.name for t in post.tags)
        return form
    form = EditAnswerForm()
    if request.method == "GET":
        form.body.data = post.body
    return form


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@write_limited
@login_required
def edit_post(post_id: int):
    """Edit a question (title, body, tags) or an answer (body) with a reason; each save is a revision.

    Members who may not edit the post are sent to the suggest-an-edit form instead (GET)."""
    if request.method == "GET":
        post = qa.get_post(db.session, post_id, viewer=viewer())
        if not qa.may_edit(db.session, viewer(), post) and post.deleted_at is None:
            return redirect(url_for("qa.suggest_edit", post_id=post.id))
    post = _editable(post_id)
    form, status = _edit_form(post), 200
    if request.method == "POST":
        fields = {"title": form.title.data, "tags": form.tags.data} if isinstance(post, Question) else {}
        try:
            with transaction():
                edited = qa.edit(db.session, actor=viewer(), post_id=post.id, body=form.body.data,
                                 reason=form.reason.data, **fields)  # fmt: skip
                target = post_url(edited)
            return redirect(target)
        except RuleViolation as exc:
            apply_domain_error(form, exc, fallback="body")
            status = 422
    question = question_of(post)
    return render_template("qa/edit.html", form=form, post=post, question=question), status


@bp.route("/posts/<int:post_id>/revisions")
def post_history(post_id: int):
    """Every revision of a post, newest first, with the diff against the one before."""
    post, revisions = queries.revisions(db.session, post_id=post_id, viewer=viewer())
    return render_template("qa/history.html", post=post, question=question_of(post), revisions=revisions)


@bp.route("/posts/<int:post_id>/delete", methods=["POST"])
@write_limited
@login_required
def delete_post(post_id: int):
    """Soft-delete a post; its author and moderators still see it."""
    with transaction():
        post = qa.delete(db.session, actor=viewer(), post_id=post_id)
        target = post_url(post)
    flash("The post was deleted. You and the moderators can still see it.", "success")
    return redirect(target)


@bp.route("/comments/<int:comment_id>/delete", methods=["POST"])
@write_limited
@login_required
def delete_comment(comment_id: int):
    """Soft-delete a comment (its author or a moderator)."""
    with transaction():
        removed: Comment = comments.delete(db.session, actor=viewer(), comment_id=comment_id)
        target = post_url(db.session.get(Post, removed.post_id))
    flash("The comment was deleted.", "success")
    return redirect(target)


def _vote_value(raw: str | None):
    try:
        return int(raw or "")
    except ValueError:
        return raw  # the service refuses it with a field error


@bp.route("/posts/<int:post_id>/vote", methods=["POST"])
@write_limited
@login_required
def vote(post_id: int):
    """Vote 1, -1 or 0 (retract). Scripts get ``{"score", "my_vote"}``; forms a redirect back.

    A refused vote (privilege, daily limit) is a 403 JSON error for scripts; without scripts the
    reason is flashed on the question page."""
    try:
        with transaction():
            score, my_vote = votes.cast(db.session, actor=viewer(), post_id=post_id,
                                        value=_vote_value(request.form.get("value")))  # fmt: skip
            target = None if wants_json() else post_url(db.session.get(Post, post_id))
    except PermissionDenied as exc:
        if wants_json():
            raise
        flash(exc.message, "error")
        return redirect(post_url(qa.get_post(db.session, post_id, viewer=viewer())))
    if target is None:
        return jsonify({"score": score, "my_vote": my_vote})
    return redirect(target)


@bp.route("/questions/<int:id>/accept", methods=["POST"])
@write_limited
@login_required
def accept(id: int):
    """The asker accepts an answer, switches to another, or withdraws (empty ``answer_id``)."""
    raw = (request.form.get("answer_id") or "").strip()
    if raw and not raw.isdigit():
        raise NotFound("That answer does not belong to this question.", fields={"answer_id": "Unknown answer."})
    with transaction():
        question = qa.accept(db.session, actor=viewer(), question_id=id, answer_id=int(raw) if raw else None)
        target = question_url(question, f"answer-{raw}" if raw else "question")
    return redirect(target)
