"""Badge pages. The catalogue and the holders are public; /badges/manage is for marketers and admins."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from community.db import transaction
from community.extensions import db, limiter, login_manager
from community.models import ManualBadge, User
from community.services import accounts, badge_queries, badges
from community.services.errors import DomainError
from community.web.badges.forms import AwardForm, DefineForm, RevokeForm
from community.web.forms import apply_domain_error

bp = Blueprint("badges", __name__)
HOLDERS_PER_PAGE = 50


def _write_limit():
    return current_app.config["RATELIMIT_WRITE"]


def _manager():
    """The logged-in marketer or admin; others get the login page or a 403."""
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    user = current_user._get_current_object()
    if not badges.may_manage(user):
        abort(403, "Only marketers and administrators can manage badges.")
    return user


@bp.route("/badges")
def index():
    """Every badge, gold first, with how many members hold it."""
    rows = badge_queries.catalogue(db.session)
    return render_template("badges/index.html", tiers=badge_queries.by_tier(rows))


@bp.route("/badges/<slug>")
def badge(slug: str):
    """One badge and its most recent holders, a page at a time."""
    try:
        info = badge_queries.get_badge(db.session, slug)
    except DomainError:
        abort(404)
    page = badge_queries.recent_awards(db.session, slug, page=request.args.get("page", 1, type=int) or 1,
                                       per_page=HOLDERS_PER_PAGE)  # fmt: skip
    return render_template("badges/badge.html", badge=info, page=page)


def _award_form() -> AwardForm:
    form = AwardForm(prefix="award")
    manual = db.session.execute(select(ManualBadge.slug, ManualBadge.name).order_by(ManualBadge.name)).all()
    form.badge.choices = [SelectChoice(slug, name) for slug, name in manual]
    return form


def _render_manage(define=None, award=None, status: int = 200):
    return render_template(
        "badges/manage.html", define_form=define or DefineForm(prefix="define"), award_form=award or _award_form(),
        revoke_form=RevokeForm(prefix="revoke", formdata=None), awards=badge_queries.manual_awards(db.session),
        manual=[r for r in badge_queries.catalogue(db.session) if r["manual"]],
    ), status  # fmt: skip


@bp.route("/badges/manage")
def manage():
    """Define manual badges, award them and revoke awards."""
    _manager()
    return _render_manage()


@bp.route("/badges/manage/define", methods=["POST"])
@limiter.limit(_write_limit)
def define():
    actor = _manager()
    form = DefineForm(prefix="define")
    if form.validate_on_submit():
        try:
            with transaction():
                created = badges.define(db.session, actor=actor, name=form.name.data, tier=form.tier.data,
                                        description=form.description.data)  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Badge “{created.name}” created.", "success")
            return redirect(url_for("badges.manage"))
    return _render_manage(define=form, status=422)


def _find_member(value: str):
    value = (value or "").strip()
    if value.isdigit():
        return db.session.get(User, int(value))
    return accounts.find_by_email(db.session, value) if value else None


@bp.route("/badges/manage/award", methods=["POST"])
@limiter.limit(_write_limit)
def award():
    actor = _manager()
    form = _award_form()
    if form.validate_on_submit():
        try:
            with transaction():
                given = badges.award(db.session, actor=actor, slug=form.badge.data, user=_find_member(form.user.data),
                                     reason=form.reason.data)  # fmt: skip
                name = given.user_id
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Badge awarded to member #{name}.", "success")
            return redirect(url_for("badges.manage"))
    return _render_manage(award=form, status=422)


@bp.route("/badges/awards/<int:award_id>/revoke", methods=["POST"])
@limiter.limit(_write_limit)
def revoke(award_id: int):
    actor = _manager()
    form = RevokeForm(prefix="revoke")
    if form.validate_on_submit():
        try:
            with transaction():
                badges.revoke(db.session, actor=actor, award_id=award_id, reason=form.revoke_reason.data)
        except DomainError as exc:
            flash(exc.fields.get("revoke_reason") or exc.message, "error")
        else:
            flash("Award revoked.", "success")
            return redirect(url_for("badges.manage"))
    else:
        flash(form.revoke_reason.errors[0] if form.revoke_reason.errors else "Give a reason.", "error")
    return redirect(url_for("badges.manage"))


def init_app(app) -> None:
    """``profile_badges(user_id)`` for templates (the profile's badges partial)."""
    from community.extensions import db as _db

    app.jinja_env.globals["profile_badges"] = lambda user_id: badge_queries.for_profile(_db.session, user_id)
