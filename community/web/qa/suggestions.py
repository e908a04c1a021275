"""Suggested edits: the suggest form (for members who may not edit a post), the review queue,
one suggestion with its diff, and approve / reject."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField

from community.db import transaction
from community.extensions import db
from community.models import Post, Question
from community.services import qa, suggested_edits
from community.services.errors import Conflict, RuleViolation
from community.web.forms import apply_domain_error
from community.web.qa.forms import EditAnswerForm, EditQuestionForm
from community.web.qa.routes import bp, int_arg, login_required, post_url, question_of, viewer, write_limited


class ReviewForm(FlaskForm):
    note = StringField("Note to the suggester", description="Optional, at most 300 characters.")


def _suggest_form(post: Post):
    form = EditQuestionForm() if isinstance(post, Question) else EditAnswerForm()
    form.submit.label.text = "Suggest edit"
    if request.method == "GET":
        form.body.data = post.body
        if isinstance(post, Question):
            form.title.data = post.title
            form.tags.data = " ".join(t.name for t in post.tags)
    return form


@bp.route("/posts/<int:post_id>/suggest-edit", methods=["GET", "POST"])
@write_limited
@login_required
def suggest_edit(post_id: int):
    """Members who may not edit a post suggest an edit (same fields as the edit form) for review."""
    post = qa.get_post(db.session, post_id, viewer=viewer())
    if qa.may_edit(db.session, viewer(), post):
        return redirect(url_for("qa.edit_post", post_id=post.id))
    form, status = _suggest_form(post), 200
    pending = suggested_edits.pending_for_post(db.session, post.id)
    if request.method == "POST":
        fields = {"title": form.title.data, "tags": form.tags.data} if isinstance(post, Question) else {}
        try:
            with transaction():
                suggested_edits.suggest(db.session, actor=viewer(), post_id=post.id, body=form.body.data,
                                        reason=form.reason.data, **fields)  # fmt: skip
                target = post_url(post)
            flash("Thank you! Your suggested edit is waiting for review by the author or a moderator.", "success")
            return redirect(target)
        except (RuleViolation, Conflict) as exc:
            apply_domain_error(form, exc, fallback="body")
            status = 409 if isinstance(exc, Conflict) else 422
    return render_template("qa/suggest.html", form=form, post=post, question=question_of(post),
                           pending=pending), status  # fmt: skip


@bp.route("/review/suggested-edits")
@login_required
def review_queue():
    """Pending suggestions the viewer may review: all of them for moderators, else those on their posts."""
    page = suggested_edits.queue(db.session, viewer=viewer(), page=int_arg("page"),
                                 per_page=current_app.config.get("QUESTIONS_PER_PAGE", 30))  # fmt: skip
    return render_template(
        "qa/review_queue.html", page=page, question_of=question_of, post_of=lambda s: db.session.get(Post, s.post_id)
    )  # loaded by queue(): no query


def _render_review(suggestion, form: ReviewForm, status: int = 200):
    post = db.session.get(Post, suggestion.post_id)
    may_review = suggestion.status == "pending" and suggested_edits.may_review(viewer(), post)
    return render_template("qa/review.html", suggestion=suggestion, post=post, question=question_of(post),
                           changes=suggested_edits.changes(db.session, suggestion), form=form,
                           may_review=may_review), status  # fmt: skip


@bp.route("/suggested-edits/<int:id>")
@login_required
def suggestion(id: int):
    """One suggestion: the diff against the current post, and the review form for its reviewers."""
    found = suggested_edits.get(db.session, id, viewer=viewer())
    return _render_review(found, ReviewForm(formdata=None))


def _review(id: int, decide, done: str):
    form = ReviewForm()
    try:
        with transaction():
            found = decide(db.session, actor=viewer(), suggestion_id=id, note=form.note.data or "")
            target = post_url(db.session.get(Post, found.post_id))
        flash(done, "success")
        return redirect(target)
    except (RuleViolation, Conflict) as exc:
        apply_domain_error(form, exc, fallback="note")
        status = 409 if isinstance(exc, Conflict) else 422
    return _render_review(suggested_edits.get(db.session, id, viewer=viewer()), form, status)


@bp.route("/suggested-edits/<int:id>/approve", methods=["POST"])
@write_limited
@login_required
def approve_suggestion(id: int):
    """The post's author or a moderator applies the suggestion as a revision by the suggester."""
    return _review(id, suggested_edits.approve, "The suggested edit was approved and applied.")


@bp.route("/suggested-edits/<int:id>/reject", methods=["POST"])
@write_limited
@login_required
def reject_suggestion(id: int):
    """The post's author or a moderator rejects the suggestion, with an optional note."""
    return _review(id, suggested_edits.reject, "The suggested edit was rejected.")
