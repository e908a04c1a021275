"""The question page and the forms posted from it: ask, answer, comment."""

from flask import flash, redirect, render_template, request

from community.db import transaction
from community.extensions import db
from community.models import Post, Question
from community.services import comments, content, policy, privileges, qa, queries, suggested_edits
from community.services.errors import PermissionDenied, RuleViolation
from community.web.errors import wants_json
from community.web.forms import apply_domain_error
from community.web.qa import escalation
from community.web.qa.forms import AnswerForm, AskForm
from community.web.qa.routes import bp, login_required, post_url, question_of, question_url, viewer, write_limited
from community.web.users import customer360

PAGE_PRIVILEGES = ("vote_up", "vote_down", "comment", "edit")  # explained beside the controls they gate


def render_question(view: queries.QuestionView, *, answer_form=None, comment_error=None, status: int = 200,
                    crm_box=None):  # fmt: skip
    """Render the question page; a failed answer or comment form is shown with its errors and text."""
    user = viewer()
    refusals = {name: privileges.refusal(db.session, user, name) for name in PAGE_PRIVILEGES} if user else {}
    pending = suggested_edits.pending_on_question(db.session, viewer=user, question_id=view.question.id)
    # staff only: each author's cached CRM profile, one query for the whole page (never the CRM itself)
    crm_chips = customer360.author_chips(user, {view.question.author_id, *(a.author_id for a in view.answers)})
    html = render_template(
        "qa/question.html", view=view, q=view.question, policy=policy, user=user,
        answer_form=answer_form or AnswerForm(formdata=None), comment_error=comment_error or {},
        refusals=refusals, pending_edits=pending, crm_chips=crm_chips,
        crm_box=crm_box or escalation.case_box(user, view.question),  # staff only: the support case box
    )  # fmt: skip
    customer360.queue_stale(crm_chips)  # after rendering: its commit would expire what the page shows
    return html, status


@bp.url_value_preprocessor
def _count_view(endpoint, values):
    """Count a question page view in memory (no database write). URL value preprocessors run
    before every before_request hook, so views served by the anonymous page cache count too."""
    if endpoint != "qa.question" or request.method != "GET" or not values:
        return
    from flask import current_app
    from flask_login import current_user

    from community.integrations import relay
    from community.services import views

    user_id = current_user.id if current_user.is_authenticated else None
    views.record(values["id"], views.viewer_key(user_id, request.remote_addr))
    relay.start_view_flusher(current_app._get_current_object())


@bp.route("/questions/<int:id>/")  # an empty slug (a title without Latin letters) ends in a slash
@bp.route("/questions/<int:id>/<slug>")
@bp.route("/questions/<int:id>")
def question(id: int, slug: str | None = None):
    """A question with its answers and comments; a missing or wrong slug redirects to the canonical URL."""
    view = queries.question_view(db.session, question_id=id, viewer=viewer())
    canonical = question_url(view.question)
    if request.script_root + request.path != canonical:
        return redirect(canonical, 301)
    return render_question(view)


def _category_choices(form: AskForm) -> None:
    cats = queries.categories(db.session)
    form.category.choices = [(c.slug, c.name) for c in cats]
    if not form.category.data:
        form.category.data = next((c.slug for c in cats if c.is_default), cats[0].slug if cats else "")


@bp.route("/questions/ask", methods=["GET", "POST"])
@write_limited
@login_required
def ask():
    """Ask a question. "Preview" re-renders the form with the rendered body and writes nothing."""
    form = AskForm()
    _category_choices(form)
    preview_html, status = None, 200
    if request.method == "POST":
        if form.preview.data:
            preview_html = content.render(form.body.data or "")
        else:
            try:
                with transaction():
                    question = qa.ask(db.session, actor=viewer(), title=form.title.data, body=form.body.data,
                                      tags=form.tags.data, category=form.category.data)  # fmt: skip
                return redirect(question_url(question))
            except RuleViolation as exc:
                apply_domain_error(form, exc, fallback="body")
                status = 422
    return render_template("qa/ask.html", form=form, preview_html=preview_html), status


@bp.route("/questions/<int:id>/answers", methods=["POST"])
@write_limited
@login_required
def post_answer(id: int):
    """Answer a question; errors re-render the question page (422) with the typed text."""
    form = AnswerForm()
    try:
        with transaction():
            answer = qa.answer(db.session, actor=viewer(), question_id=id, body=form.body.data)
            target = question_url(db.session.get(Question, id), f"answer-{answer.id}")
        return redirect(target)
    except RuleViolation as exc:
        apply_domain_error(form, exc, fallback="body")
    view = queries.question_view(db.session, question_id=id, viewer=viewer())
    return render_question(view, answer_form=form, status=422)


@bp.route("/posts/<int:post_id>/comments", methods=["POST"])
@write_limited
@login_required
def comment(post_id: int):
    """Comment on a question or answer; errors re-render the page with the error beside that form."""
    body = request.form.get("body", "")
    try:
        with transaction():
            added = comments.add(db.session, actor=viewer(), post_id=post_id, body=body)
            target = question_url(question_of(db.session.get(Post, post_id)), f"comment-{added.id}")
        return redirect(target)
    except RuleViolation as exc:
        error = exc.fields.get("body") or exc.message
    except PermissionDenied as exc:  # e.g. below the comment privilege: say why, on the page
        if wants_json():
            raise
        flash(exc.message, "error")
        return redirect(post_url(qa.get_post(db.session, post_id, viewer=viewer())))
    question = question_of(qa.get_post(db.session, post_id, viewer=viewer()))
    view = queries.question_view(db.session, question_id=question.id, viewer=viewer())
    return render_question(view, comment_error={"post_id": post_id, "error": error, "body": body}, status=422)
