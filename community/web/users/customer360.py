"""Customer 360 for staff: the panel on a member's profile (refresh, link, unlink) and the CRM
chips beside authors on the question page. Members and visitors never get any of it: every
function here returns nothing for them, and the services refuse them (PermissionDenied)."""

import logging

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from community.db import transaction
from community.extensions import db, limiter
from community.models import User
from community.services import crm, crm_profiles, policy
from community.services.errors import DomainError
from community.web.forms import apply_domain_error
from community.web.users.forms import CrmLinkForm
from community.web.users.routes import _viewer, _write_limit, bp, render_profile

log = logging.getLogger(__name__)


def panel(user_id: int, viewer, *, link_form: CrmLinkForm | None = None) -> dict | None:
    """The profile panel's data for staff (None for anyone else): the cached profile, the links
    per connector and the link form. Two queries; the CRM is not called."""
    if not policy.is_staff(viewer):
        return None
    view = crm_profiles.for_users(db.session, [user_id], actor=viewer)[user_id]
    links = [link for link in crm.links_for(db.session, [user_id])[user_id] if link.contact_id or link.last_error]
    return {"profile": view, "links": links, "enabled": crm.enabled(),
            "link_form": link_form or CrmLinkForm(formdata=None)}  # fmt: skip


def author_chips(viewer, user_ids) -> dict:
    """{user id: ProfileView} for the authors on a page, in one query; {} unless staff."""
    if not policy.is_staff(viewer) or not user_ids:
        return {}
    return crm_profiles.for_users(db.session, user_ids, actor=viewer)


def queue_stale(views: dict) -> None:
    """After the page is rendered: queue pulls of stale or missing profiles (never fails the page)."""
    if not views:
        return
    try:
        with transaction():
            crm_profiles.queue_refresh(db.session, list(views), views=views)
    except Exception:  # a page view must not fail because the refresh could not be queued
        log.exception("could not queue customer-360 refreshes")


def _staff_target(id: int) -> User:
    viewer = _viewer()
    if not policy.is_staff(viewer):
        abort(403)
    user = db.session.get(User, id)
    if user is None:
        abort(404)
    return user


def _back(id: int):
    return redirect(url_for("users.profile", id=id, _anchor="customer-360"))


@bp.route("/users/<int:id>/crm/refresh", methods=["POST"])
@login_required
@limiter.limit(_write_limit)
def crm_refresh(id: int):
    """Read the member's CRM profile now (staff); a failure keeps the old data and says why."""
    _staff_target(id)
    try:
        with transaction():
            view = crm_profiles.refresh_now(db.session, actor=_viewer(), user_id=id)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        if view.unreachable:
            flash(f"CRM unreachable: {view.last_error}", "error")
        else:
            flash("Customer 360 refreshed from the CRM.", "success")
    return _back(id)


@bp.route("/users/<int:id>/crm/link", methods=["POST"])
@login_required
@limiter.limit(_write_limit)
def crm_link(id: int):
    """Link the member to a CRM contact by hand (staff); errors show beside the fields."""
    user = _staff_target(id)
    form = CrmLinkForm()
    if form.validate_on_submit():
        try:
            with transaction():
                crm.link_contact(db.session, actor=_viewer(), user_id=id, connector=form.connector.data,
                                 contact_id=form.contact_id.data, linked_by="manual")  # fmt: skip
        except DomainError as exc:
            apply_domain_error(form, exc, fallback="contact_id")
        else:
            flash(f"Linked to {form.connector.data} contact {form.contact_id.data.strip()}.", "success")
            return _back(id)
    return render_profile(user, crm_link_form=form, status=422)


@bp.route("/users/<int:id>/crm/unlink", methods=["POST"])
@login_required
@limiter.limit(_write_limit)
def crm_unlink(id: int):
    """Remove the member's link to one CRM (staff)."""
    _staff_target(id)
    connector = request.form.get("connector", "")
    try:
        with transaction():
            crm.unlink(db.session, actor=_viewer(), user_id=id, connector=connector)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Unlinked from {connector}.", "success")
    return _back(id)
