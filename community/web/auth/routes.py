"""Auth pages: register, log in and out, forgotten and changed passwords."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from community.db import transaction
from community.extensions import db, limiter
from community.services import accounts
from community.services.errors import AuthenticationFailed, DomainError, RuleViolation
from community.web.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from community.web.forms import apply_domain_error

bp = Blueprint("auth", __name__)

FORGOT_MESSAGE = (
    "If an account exists for that email, we sent a link to reset its password. The link works for one hour."
)


def _auth_limit():
    return current_app.config["RATELIMIT_AUTH"]


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a same-site relative path, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _after_login():
    return redirect(safe_next(request.args.get("next")) or url_for("qa.questions"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def register():
    """Create an account and log in."""
    if current_user.is_authenticated:
        return _after_login()
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            with transaction():
                user = accounts.register(db.session, email=form.email.data, display_name=form.display_name.data,
                                         password=form.password.data)  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            login_user(user)
            flash(f"Welcome, {user.display_name}! Your account is ready.", "success")
            return _after_login()
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def login():
    """Log in with email and password; a failure never says which of the two was wrong."""
    if current_user.is_authenticated and request.method == "GET":
        return _after_login()
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction():
                user = accounts.authenticate(db.session, email=form.email.data, password=form.password.data)
        except AuthenticationFailed as exc:
            form.form_errors.append(exc.message)
            status = 401
        else:
            login_user(user, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.display_name}.", "success")
            return _after_login()
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session (POST only, so a link or image cannot log anyone out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("qa.questions"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.request_password_reset(
                    db.session, email=form.email.data, secret_key=current_app.config["SECRET_KEY"],
                    base_url=current_app.config["BASE_URL"],
                )  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash(FORGOT_MESSAGE, "info")
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


def _invalid_link(message: str):
    return render_template("auth/reset_invalid.html", message=message), 400


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link (signed, one hour, works once)."""
    secret, max_age = current_app.config["SECRET_KEY"], current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        accounts.check_reset_token(db.session, token=token, secret_key=secret, max_age=max_age)
    except RuleViolation as exc:
        return _invalid_link(exc.message)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                accounts.reset_password(db.session, token=token, new_password=form.password.data,
                                        secret_key=secret, max_age=max_age)  # fmt: skip
        except DomainError as exc:
            if not exc.fields:
                return _invalid_link(exc.message)
            apply_domain_error(form, exc)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash("Your password has been changed. Log in with the new one.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form, token=token), status


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_auth_limit, methods=["POST"])
def change_password():
    """Change the password; other sessions end, this one is renewed."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            with transaction():
                accounts.change_password(db.session, user=user, current_password=form.current_password.data,
                                         new_password=form.new_password.data)  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            # the session (and remember cookie) carry the password fingerprint: renew them
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(user, remember=remembered)
            flash("Your password has been changed. Other devices have been logged out.", "success")
            return redirect(url_for("auth.change_password"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status
