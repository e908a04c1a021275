"""User pages: the directory, profiles, avatars and the profile and token settings."""

import hashlib

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.db import transaction
from community.extensions import db, limiter
from community.models import User
from community.services import accounts, avatars, policy, queries
from community.services import tokens as api_tokens
from community.services.errors import DomainError
from community.web.forms import apply_domain_error
from community.web.users.forms import ProfileForm, TokenForm

bp = Blueprint("users", __name__)


def _write_limit():
    return current_app.config["RATELIMIT_WRITE"]


def _page_arg() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.route("/users")
def index():
    """All active members, highest reputation first."""
    page = queries.users(db.session, page=_page_arg())
    return render_template("users/index.html", page=page)


@bp.route("/users/<int:id>")
def profile(id: int):
    """A member's public profile with counts and recent posts (a fixed number of queries)."""
    user = db.session.get(User, id)
    if user is None or (not user.is_active_account and not policy.is_staff(_viewer())):
        abort(404)
    return render_profile(user)


def render_profile(user: User, *, crm_link_form=None, status: int = 200):
    """The profile page; staff also get the Customer 360 panel (customer360.py), and a stale or
    missing CRM profile is queued for a refresh once the page is rendered."""
    questions = queries.list_questions(db.session, author_id=user.id, per_page=10)
    answers = queries.recent_answers(db.session, user_id=user.id, limit=10)
    crm_panel = customer360.panel(user.id, _viewer(), link_form=crm_link_form)
    html = render_template("users/profile.html", user=user, questions=questions, answers=answers,
                           role_label=policy.ROLE_LABELS.get(user.role, user.role), crm_panel=crm_panel)  # fmt: skip
    if crm_panel:
        customer360.queue_stale({user.id: crm_panel["profile"]})
    return html, status


@bp.route("/users/<int:id>/avatar.svg")
def avatar(id: int):
    """The generated identicon; cacheable for a day, revalidated by an ETag on the seed."""
    user = db.session.get(User, id)
    if user is None:
        abort(404)
    response = current_app.response_class(avatars.identicon_svg(user.avatar_seed), mimetype="image/svg+xml")
    response.set_etag(hashlib.sha256(user.avatar_seed.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
@limiter.limit(_write_limit, methods=["POST"])
def settings():
    """Edit display name and about text."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.update_profile(db.session, actor=user, user=user, display_name=form.display_name.data,
                                        about=form.about.data or "")  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash("Your profile has been saved.", "success")
            return redirect(url_for("users.settings"))
    status = 422 if request.method == "POST" else 200
    return render_template("users/settings.html", form=form), status


@bp.route("/settings/avatar", methods=["POST"])
@login_required
@limiter.limit(_write_limit)
def regenerate_avatar():
    """Draw a new identicon from a fresh seed."""
    with transaction():
        accounts.regenerate_avatar(db.session, user=current_user._get_current_object())
    flash("You have a new avatar.", "success")
    return redirect(url_for("users.settings"))


def _tokens_page(form: TokenForm, *, created=None, plaintext=None, status=200):
    rows = api_tokens.list_for(db.session, user=current_user._get_current_object())
    html = render_template("users/tokens.html", form=form, token_rows=rows, created=created, plaintext=plaintext)
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"  # the page may carry a plaintext token
    return response


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
@limiter.limit(_write_limit, methods=["POST"])
def tokens():
    """List API tokens and create one; the plaintext is shown on this response only."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            with transaction():
                token, plaintext = api_tokens.create(db.session, user=current_user._get_current_object(), name=form.name.data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return _tokens_page(TokenForm(formdata=None), created=token, plaintext=plaintext)
    return _tokens_page(form, status=422 if request.method == "POST" else 200)


@bp.route("/settings/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
@limiter.limit(_write_limit)
def revoke_token(token_id: int):
    """Revoke one of your tokens; it stops working at once."""
    with transaction():
        token = api_tokens.revoke(db.session, actor=current_user._get_current_object(), token_id=token_id)
    flash(f"The token “{token.name}” has been revoked.", "success")
    return redirect(url_for("users.tokens"))


from community.web.users import account_settings, customer360  # noqa: E402, F401  (routes on this blueprint)
