"""The CRM admin pages: connectors, their health, dead messages, resyncs and the field mapping.

Admins manage connectors (test connection, retry, full resync); marketers see the same pages
read-only and, with admins, edit the field mapping. The services check the same permissions.
Secrets (tokens, client secrets, webhook secrets) come from the environment and are only ever
shown as "set" or "not set".
"""

from functools import wraps

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField

from community.db import transaction
from community.extensions import db, limiter, login_manager
from community.models.crm import CONNECTORS
from community.models.outbox import DEAD, PENDING
from community.services import crm_mapping, crm_snapshot, crm_sync
from community.services.errors import DomainError
from community.web.forms import apply_domain_error

bp = Blueprint("crm_admin", __name__, url_prefix="/admin/crm")
VIEWERS = ("admin", "marketer")
PER_PAGE = 25
LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "webhook": "Signed webhook"}


@bp.before_request
def _viewers_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role not in VIEWERS:
        abort(403, "Only administrators and marketers can open the CRM pages.")
    return None


def _write_limit():
    return current_app.config["RATELIMIT_WRITE"]


def _actor():
    return current_user._get_current_object()


def _connector(name: str) -> str:
    if name not in CONNECTORS:
        abort(404)
    return name


def _action(view):
    """A POST button: CSRF (the app-wide CSRFProtect), rate limit, domain errors flashed."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            if exc.status == 403:
                abort(403, exc.message)
            flash(exc.message, "error")
            name = kwargs.get("name")
            return redirect(url_for("crm_admin.connector", name=name) if name in CONNECTORS
                            else url_for("crm_admin.index"))  # fmt: skip

    return limiter.limit(_write_limit)(wrapper)


class MappingForm(FlaskForm):
    """One text field per snapshot field (crm_snapshot.FIELDS); blank means "not sent"."""

    save = SubmitField("Save mapping")
    defaults = SubmitField("Fill in the defaults")


for _field in crm_snapshot.FIELDS:
    setattr(MappingForm, _field, StringField(_field, render_kw={"maxlength": 100, "autocomplete": "off"}))


class RetryForm(FlaskForm):
    message_id = HiddenField()


# --- pages ----------------------------------------------------------------------------------------


@bp.route("")
def index():
    """Every connector's health at a glance and the recent resyncs (a fixed number of queries)."""
    rows = crm_sync.status(db.session)
    with transaction():  # reading progress marks finished resyncs
        resyncs = crm_sync.recent_resyncs(db.session)
    return render_template("admin/crm.html", rows=rows, resyncs=resyncs, labels=LABELS,
                           can_manage=_actor().role == "admin")  # fmt: skip


@bp.route("/<name>")
def connector(name: str):
    """One connector: settings (secrets hidden), test, resync, dead and failing messages with their errors."""
    name = _connector(name)
    with transaction():  # first: the commit (finished resyncs) would expire the rows loaded below
        resyncs = [r for r in crm_sync.recent_resyncs(db.session, limit=10) if r["connector"] == name][:5]
    row = next(r for r in crm_sync.status(db.session) if r["name"] == name)
    dead = crm_sync.problems(db.session, connector=name, status=DEAD, page=request.args.get("page", 1, type=int),
                             per_page=PER_PAGE)  # fmt: skip
    failing = crm_sync.problems(db.session, connector=name, status=PENDING,
                                page=request.args.get("failing", 1, type=int), per_page=PER_PAGE)  # fmt: skip
    return render_template(
        "admin/crm_connector.html", name=name, label=LABELS[name], labels=LABELS, row=row, dead=dead, failing=failing,
        resyncs=resyncs, settings=crm_sync.settings(name, current_app.config), can_manage=_actor().role == "admin",
    )  # fmt: skip


@bp.route("/resyncs/<int:id>")
def resync_progress(id: int):
    """JSON progress of one resync, polled by static/js/crm-admin.js."""
    try:
        with transaction():
            found = crm_sync.resync_progress(db.session, id)
    except DomainError as exc:
        return jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}), exc.status
    return jsonify(found)


# --- actions (admins) -----------------------------------------------------------------------------


@bp.route("/<name>/test", methods=["POST"])
@_action
def test_connection(name: str):
    name = _connector(name)
    try:
        result = crm_sync.check_connection(actor=_actor(), connector=name, config=current_app.config)
    except DomainError as exc:
        if exc.status == 403:
            raise
        flash(f"Test connection failed. {exc.message}", "error")
    else:
        flash(f"Connection works: {result}", "success")
    return redirect(url_for("crm_admin.connector", name=name))


@bp.route("/<name>/resync", methods=["POST"])
@_action
def resync(name: str):
    name = _connector(name)
    with transaction():
        run = crm_sync.start_resync(db.session, actor=_actor(), connector=name)
    flash(f"Full resync started: {run.total:,} member{'' if run.total == 1 else 's'} queued for {LABELS[name]}.",
          "success")  # fmt: skip
    return redirect(url_for("crm_admin.connector", name=name) + f"#resync-{run.id}")


@bp.route("/retry", methods=["POST"])
@bp.route("/<name>/retry", methods=["POST"])
@_action
def retry(name: str | None = None):
    """Retry one dead message (``message_id``) or every dead one (of a connector, or of all)."""
    if name is not None:
        _connector(name)
    form = RetryForm()
    message_id = int(form.message_id.data) if (form.message_id.data or "").isdigit() else None
    with transaction():
        n = crm_sync.retry(db.session, actor=_actor(), connector=name, message_id=message_id)
    flash(f"{n:,} message{'' if n == 1 else 's'} queued again." if n else "There were no dead messages to retry.",
          "success" if n else "info")  # fmt: skip
    target = url_for("crm_admin.connector", name=name) if name else url_for("crm_admin.index")
    return redirect(target)


# --- field mapping (marketers and admins) ---------------------------------------------------------


@bp.route("/mapping/<name>", methods=["GET", "POST"])
@limiter.limit(_write_limit, methods=["POST"])
def mapping(name: str):
    """One row per snapshot field with the CRM field it goes to; errors beside the fields."""
    name = _connector(name)
    defaults = crm_mapping.DEFAULTS[name]
    try:
        required = crm_sync.required_fields(name, current_app.config)
    except (ImportError, LookupError):
        required = ()
    if request.method == "GET":
        form = MappingForm(formdata=None, data=crm_mapping.current(db.session, name))
    else:
        form = MappingForm()
        if form.defaults.data:
            form = MappingForm(formdata=None, data={f: defaults.get(f, "") for f in crm_snapshot.FIELDS})
        elif form.validate_on_submit():
            try:
                with transaction():
                    crm_mapping.save(db.session, actor=_actor(), connector=name, required=required,
                                     data={f: form[f].data for f in crm_snapshot.FIELDS})  # fmt: skip
            except DomainError as exc:
                if exc.status == 403:
                    abort(403, exc.message)
                apply_domain_error(form, exc)
            else:
                flash(f"{LABELS[name]} field mapping saved; members are sent with it from the next sync.", "success")
                return redirect(url_for("crm_admin.mapping", name=name))
    invalid = request.method == "POST" and any(form[f].errors for f in crm_snapshot.FIELDS)
    return render_template("admin/crm_mapping.html", form=form, name=name, label=LABELS[name],
                           fields=crm_snapshot.FIELDS, defaults=defaults, required=required), 422 if invalid else 200  # fmt: skip
