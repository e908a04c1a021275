"""``/admin/crm/escalation``: which categories' unanswered questions escalate to support cases
automatically, and after how many hours (services/crm_escalation.py). Administrators only."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from community.db import transaction
from community.extensions import db, limiter, login_manager
from community.services import crm_cases, crm_escalation, policy, queries
from community.services.errors import RuleViolation
from community.web.forms import apply_domain_error

bp = Blueprint("crm_escalation_admin", __name__)


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes (the ``_macros.field`` macro renders this type as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EscalationForm(FlaskForm):
    categories = MultiCheckboxField("Categories that escalate automatically", coerce=int, validate_choice=False,
                                    description="Unanswered questions in these categories become support cases.")
    hours = StringField("Hours without an answer", render_kw={"inputmode": "decimal", "autocomplete": "off"})
    submit = SubmitField("Save auto-escalation")


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not policy.is_admin(current_user._get_current_object()):
        abort(403, "Only administrators can change auto-escalation.")
    return None


@bp.route("/admin/crm/escalation", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=["POST"])
def settings():
    """Show and save the auto-escalation categories and hours."""
    config = current_app.config
    saved = crm_escalation.current(db.session, config=config)
    form = EscalationForm(data={"categories": saved["categories"],
                                "hours": f"{saved['hours']:g}" if saved["hours_saved"] else ""})  # fmt: skip
    form.categories.choices = [(c.id, c.name) for c in queries.categories(db.session)]
    default = crm_escalation.default_hours(config)
    form.hours.description = f"Leave empty for the default, {default:g} (CRM_ESCALATE_AFTER_HOURS)."
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with transaction():
                    crm_escalation.save(db.session, actor=current_user._get_current_object(),
                                        categories=form.categories.data, hours=form.hours.data)  # fmt: skip
            except RuleViolation as exc:
                apply_domain_error(form, exc)
            else:
                flash("Auto-escalation saved.", "success")
                return redirect(url_for("crm_escalation_admin.settings"))
        status = 422
    return render_template("admin/crm_escalation.html", form=form, connector=crm_cases.case_connector(config),
                           default_hours=default, every=config.get("CRM_ESCALATION_CHECK_SECONDS", 300)), status  # fmt: skip
