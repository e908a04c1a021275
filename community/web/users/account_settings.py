"""Settings pages for the member's account: email address and privacy (CRM sharing consent)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.db import transaction
from community.extensions import db, limiter
from community.services import accounts, crm
from community.services.errors import DomainError
from community.web.forms import apply_domain_error
from community.web.users.forms import EmailForm, PrivacyForm
from community.web.users.routes import _write_limit, bp


def _sharing_label() -> str:
    return f"Share my community activity with {current_app.config.get('BRAND_NAME', 'the company')}'s customer records"


@bp.route("/settings/privacy", methods=["GET", "POST"])
@login_required
@limiter.limit(_write_limit, methods=["POST"])
def privacy():
    """Switch sharing with the customer records on or off; off, the CRM gets only the opt-out flag."""
    user = current_user._get_current_object()
    form = PrivacyForm(data={"crm_sharing": user.crm_sharing} if request.method == "GET" else None)
    form.crm_sharing.label.text = _sharing_label()
    if form.validate_on_submit():
        with transaction():
            crm.set_sharing(db.session, user=user, sharing=bool(form.crm_sharing.data))
        flash("Your activity is shared with the customer records." if form.crm_sharing.data
              else "Your activity is no longer shared; the customer records only note that you opted out.",
              "success")  # fmt: skip
        return redirect(url_for("users.privacy"))
    status = 422 if request.method == "POST" else 200
    return render_template("users/privacy.html", form=form), status


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
@limiter.limit(_write_limit, methods=["POST"])
def email():
    """Change the account's email; the current password is required."""
    user = current_user._get_current_object()
    form = EmailForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.change_email(db.session, user=user, new_email=form.new_email.data, password=form.password.data)
        except DomainError as exc:
            apply_domain_error(form, exc, fallback="new_email")
        else:
            flash(f"Your email address is now {user.email}.", "success")
            return redirect(url_for("users.email"))
    status = 422 if request.method == "POST" else 200
    return render_template("users/email.html", form=form, current_email=user.email), status
