"""Admin pages: overview, categories and roles. Administrators only."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from community.db import transaction
from community.extensions import db, limiter, login_manager
from community.models import ROLES, Answer, Category, OutboxMessage, Question, User
from community.models.outbox import DEAD, PENDING
from community.services import accounts, policy, queries
from community.services import categories as category_service
from community.services.errors import DomainError
from community.services.queries import Page
from community.web.admin.forms import CategoryForm, RoleForm
from community.web.forms import apply_domain_error

bp = Blueprint("admin", __name__)
USERS_PER_PAGE = 50


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not policy.is_admin(current_user._get_current_object()):
        abort(403, "Only administrators can open the admin pages.")
    return None


def _write_limit():
    return current_app.config["RATELIMIT_WRITE"]


@bp.route("/")
def index():
    """Counts at a glance and links to the admin pages."""
    count = db.session.scalar
    stats = {
        "users": count(select(func.count(User.id))),
        "questions": count(select(func.count(Question.id)).where(Question.deleted_at.is_(None))),
        "answers": count(select(func.count(Answer.id)).where(Answer.deleted_at.is_(None))),
        "outbox_pending": count(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == PENDING)),
        "outbox_dead": count(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == DEAD)),
    }
    return render_template("admin/index.html", stats=stats)


def _category_values(form: CategoryForm) -> dict:
    return {"name": form.name.data or "", "slug": form.slug.data or "", "description": form.description.data or "",
            "position": form.position.data or 0, "is_default": bool(form.is_default.data)}  # fmt: skip


@bp.route("/categories", methods=["GET", "POST"])
@limiter.limit(_write_limit, methods=["POST"])
def categories():
    """List categories and create one."""
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            with transaction():
                category = category_service.create(db.session, actor=current_user._get_current_object(), **_category_values(form))
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash(f"Category “{category.name}” created.", "success")
            return redirect(url_for("admin.categories"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/categories.html", form=form, rows=queries.categories(db.session)), status


@bp.route("/categories/<int:id>/edit", methods=["GET", "POST"])
@limiter.limit(_write_limit, methods=["POST"])
def edit_category(id: int):
    """Edit one category."""
    category = db.session.get(Category, id)
    if category is None:
        abort(404)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            with transaction():
                category_service.update(db.session, actor=current_user._get_current_object(), category_id=id,
                                  **_category_values(form))  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash("Category saved.", "success")
            return redirect(url_for("admin.categories"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/category_edit.html", form=form, category=category), status


@bp.route("/users")
def users():
    """Every account, searchable by email or name, with a role selector per row."""
    q = (request.args.get("q") or "").strip()[:100]
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    where = []
    if q:
        needle = q.lower()
        where.append(or_(func.lower(User.email).contains(needle, autoescape=True),
                         func.lower(User.display_name).contains(needle, autoescape=True)))  # fmt: skip
    total = db.session.scalar(select(func.count(User.id)).where(*where))
    rows = db.session.scalars(
        select(User).where(*where).order_by(User.id).limit(USERS_PER_PAGE).offset((page_no - 1) * USERS_PER_PAGE)
    ).all()
    page = Page(list(rows), page_no, USERS_PER_PAGE, total)
    return render_template("admin/users.html", page=page, q=q, roles=ROLES, role_labels=policy.ROLE_LABELS)


@bp.route("/users/<int:id>/role", methods=["POST"])
@limiter.limit(_write_limit)
def set_role(id: int):
    """Give a user a role; an admin cannot demote themself."""
    form = RoleForm()
    back = url_for("admin.users", q=request.args.get("q") or None, page=request.args.get("page", type=int))
    if not form.validate_on_submit():
        flash("Choose one of the roles.", "error")
        return redirect(back)
    try:
        with transaction():
            user = accounts.get_user(db.session, id)
            accounts.set_role(db.session, actor=current_user._get_current_object(), user=user, role=form.role.data)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(f"{user.display_name} is now {policy.ROLE_LABELS.get(user.role, user.role)}.", "success")
    return redirect(back)
