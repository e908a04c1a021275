"""The staff "Support case" box on the question page and its forms: escalate a question to a CRM case,
refresh the case, post its resolution as an answer (services/crm_cases.py). Members never see it."""

from dataclasses import dataclass, field

from flask import abort, current_app, flash, redirect
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length

from community.db import transaction
from community.extensions import db
from community.models import CrmCase, Question
from community.services import crm_cases, policy, queries
from community.services.errors import Conflict, RuleViolation
from community.web.forms import apply_domain_error
from community.web.qa.routes import bp, login_required, question_url, viewer, write_limited

ANCHOR = "support-case"


class EscalateForm(FlaskForm):
    note = TextAreaField(
        "Note for the support team (optional)",
        validators=[Length(max=crm_cases.NOTE_MAX, message=f"At most {crm_cases.NOTE_MAX:,} characters.")],
        render_kw={"rows": 3, "maxlength": crm_cases.NOTE_MAX},
    )
    submit = SubmitField("Escalate to a support case")


class ResolutionForm(FlaskForm):
    body = TextAreaField("Answer text", description="The case's resolution; edit it before posting if needed.",
                         render_kw={"rows": 6, "maxlength": 30000})  # fmt: skip
    submit = SubmitField("Post as answer")


@dataclass
class CaseBox:
    """What the include template ``qa/_crm_case.html`` shows."""

    question_id: int
    cases: list  # crm_cases.CaseView
    connector: str | None  # where an escalation goes now
    can_escalate: bool
    escalate_form: EscalateForm
    resolution_forms: dict = field(default_factory=dict)  # case id -> ResolutionForm


def case_box(user, question: Question, *, escalate_form=None, failed_resolution=None) -> CaseBox | None:
    """The box for staff (one query), None for everyone else. ``failed_resolution`` is a
    (case id, form) pair re-shown with its errors."""
    cases = crm_cases.for_page(db.session, viewer=user, question_id=question.id)
    if cases is None:
        return None
    connector = crm_cases.case_connector(current_app.config)
    if connector is None and not cases:
        return None
    taken = any(v.case.connector == connector and v.case.state != crm_cases.FAILED for v in cases)
    forms = {}
    for view in cases:
        if view.case.state == crm_cases.CLOSED and view.case.resolution and view.case.resolution_answer_id is None:
            forms[view.case.id] = ResolutionForm(formdata=None, body=view.case.resolution, prefix=f"case{view.case.id}")
    if failed_resolution is not None:
        forms[failed_resolution[0]] = failed_resolution[1]
    return CaseBox(question_id=question.id, cases=cases, connector=connector,
                   can_escalate=connector is not None and not taken and not question.is_deleted,
                   escalate_form=escalate_form or EscalateForm(formdata=None), resolution_forms=forms)  # fmt: skip


def _staff():
    user = viewer()
    if not policy.is_staff(user):
        abort(403, "Only moderators and administrators can manage support cases.")
    return user


def _case(case_id: int) -> CrmCase:
    case = db.session.get(CrmCase, case_id)
    if case is None:
        abort(404)
    return case


def _back(question_id: int, anchor: str = ANCHOR):
    return redirect(question_url(db.session.get(Question, question_id), anchor))


def _rerender(question_id: int, **box):
    from community.web.qa.pages import render_question

    db.session.rollback()
    view = queries.question_view(db.session, question_id=question_id, viewer=viewer())
    return render_question(view, crm_box=case_box(viewer(), view.question, **box), status=422)


@bp.route("/questions/<int:id>/escalate", methods=["POST"])
@write_limited
@login_required
def escalate(id: int):
    """Escalate the question to a support case; a bad note re-renders the page with the error beside it."""
    user = _staff()
    form = EscalateForm()
    if not form.validate():
        return _rerender(id, escalate_form=form)
    try:
        with transaction():
            case = crm_cases.escalate(db.session, actor=user, question_id=id, note=form.note.data or "",
                                      config=current_app.config)  # fmt: skip
            connector = case.connector
    except RuleViolation as exc:
        if exc.fields:
            apply_domain_error(form, exc, fallback="note")
            return _rerender(id, escalate_form=form)
        flash(exc.message, "error")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(f"Support case queued in {connector}; its number shows here once the CRM has opened it.", "success")
    return _back(id)


@bp.route("/crm/cases/<int:case_id>/refresh", methods=["POST"])
@write_limited
@login_required
def refresh_case(case_id: int):
    """Read the case again from the CRM."""
    user = _staff()
    question_id = _case(case_id).question_id
    try:
        with transaction():
            case = crm_cases.refresh(db.session, actor=user, case_id=case_id, config=current_app.config)
            label = case.case_number or case.case_id
    except RuleViolation as exc:
        flash(exc.message, "error")
    else:
        flash(f"Case {label} refreshed from the CRM.", "success")
    return _back(question_id)


@bp.route("/crm/cases/<int:case_id>/post-answer", methods=["POST"])
@write_limited
@login_required
def post_resolution(case_id: int):
    """Post the case's resolution (as edited in the form) as an answer to the question."""
    user = _staff()
    question_id = _case(case_id).question_id
    form = ResolutionForm(prefix=f"case{case_id}")
    try:
        with transaction():
            answer = crm_cases.post_resolution(db.session, actor=user, case_id=case_id, body=form.body.data)
            answer_id = answer.id
    except RuleViolation as exc:
        if exc.fields:
            apply_domain_error(form, exc, fallback="body")
            return _rerender(question_id, failed_resolution=(case_id, form))
        flash(exc.message, "error")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash("The resolution was posted as an answer.", "success")
        return _back(question_id, f"answer-{answer_id}")
    return _back(question_id)
