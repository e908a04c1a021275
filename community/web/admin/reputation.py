"""Reputation pages: the rules editor (marketers and admins), moderator adjustments, the privileges page.

The rules page edits every rule, the levels and the privilege thresholds, switches presets, previews
what a change would do (a replay, nothing saved) and applies it (save + rebuild in one transaction).
"""

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from community.db import transaction
from community.extensions import db, limiter, login_manager
from community.models import ReputationRebuild, Setting, User
from community.services import fraud, privileges, reputation, reputation_replay, reputation_rules
from community.services.errors import DomainError, RuleViolation
from community.web import levels as web_levels
from community.web.admin.reputation_forms import AdjustForm, RulesForm
from community.web.forms import apply_domain_error

bp = Blueprint("reputation_admin", __name__)
RULE_EDITORS = ("marketer", "admin")
ADJUSTERS = ("moderator", "admin")


def _write_limit():
    return current_app.config["RATELIMIT_WRITE"]


def _roles(*roles):
    """Only these roles may open the view (checked on the server; others get 403)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403, "You are not allowed to open this page.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _actor() -> User:
    return current_user._get_current_object()


# --- the rules page -------------------------------------------------------------------------------


def _form_data(ruleset: reputation_rules.Ruleset) -> dict:
    data = {name: str(value) for name, value in ruleset.rules.items()}
    data.update({name: str(value) for name, value in ruleset.privileges.items()})
    data["levels"] = [{"name": lv["name"], "min": str(lv["min"])} for lv in ruleset.levels]
    data["preset"] = ruleset.preset
    return data


def _sort_key(row):
    text = (row.min.data or "").strip().replace(",", "")
    return (0, int(text)) if text.lstrip("-").isdigit() else (1, 0)


def _kept_levels(form: RulesForm) -> list:
    """The level rows to keep (not ticked for removal, not blank), in threshold order."""
    rows = [e.form for e in form.levels.entries]  # the row forms (FormField's own .name shadows the field)
    rows = [r for r in rows if not r.remove.data and ((r.name.data or "").strip() or (r.min.data or "").strip())]
    return sorted(rows, key=_sort_key)


def _put_errors(form: RulesForm, fields: dict, rows: list) -> None:
    """Service messages beside their fields: "daily_cap", "vote_down", "levels.2.min" (row 2 of ``rows``)."""
    form.levels_errors = []
    for key, message in fields.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            target = rows[int(parts[1])][parts[2]]
        else:
            target = None if key == "levels" else form._fields.get(key)
        if target is not None:
            target.errors = [*(target.errors or []), message]
        elif key.startswith("levels"):
            form.levels_errors.append(message)
        else:
            form.form_errors.append(message)


def _validated(form: RulesForm) -> reputation_rules.Ruleset | None:
    """The submitted ruleset, or None with every error placed beside its field."""
    rows = _kept_levels(form)
    errors: dict = {}
    sections = (
        (reputation_rules.validate_rules, {name: form[name].data for name in reputation_rules.RULE_NAMES}),
        (reputation_rules.validate_levels, [{"name": e.name.data or "", "min": e.min.data or ""} for e in rows]),
        (reputation_rules.validate_privileges, {name: form[name].data for name in reputation_rules.PRIVILEGES}),
    )
    clean = []
    for validate, value in sections:
        try:
            clean.append(validate(value))
        except RuleViolation as exc:
            errors.update(exc.fields or {"levels": exc.message})
    if errors:
        _put_errors(form, errors, rows)
        return None
    rules, level_list, privilege_map = clean
    return reputation_rules.from_dict({"preset": form.preset.data, "rules": rules, "levels": level_list,
                                       "privileges": privilege_map})  # fmt: skip


def _recent_rebuilds(limit: int = 10) -> list:
    return db.session.execute(
        select(ReputationRebuild, User.display_name).outerjoin(User, User.id == ReputationRebuild.actor_id)
        .order_by(ReputationRebuild.id.desc()).limit(limit)
    ).all()  # fmt: skip


def _page(form: RulesForm, *, status: int = 200, preview: dict | None = None):
    current = reputation_rules.current(db.session)
    html = render_template(
        "admin/reputation.html", form=form, current=current, preview=preview, rebuilds=_recent_rebuilds(),
        configured_preset=reputation_rules.configured_preset(), rule_fields=reputation_rules.RULE_FIELDS,
        privilege_names=list(reputation_rules.PRIVILEGES), preset_labels=reputation_rules.PRESET_LABELS,
        stored=db.session.get(Setting, reputation_rules.SETTING_KEY) is not None,
    )  # fmt: skip
    return html, status


def _reloaded_with_preset(form: RulesForm) -> RulesForm:
    """The submitted form with the chosen preset's rules filled in (nothing saved)."""
    name = form.preset.data if form.preset.data in reputation_rules.PRESETS else "stackexchange"
    skip = ("csrf_token", "preview", "apply", "add_level", "load_preset")
    data = {key: value for key, value in form.data.items() if key not in skip}
    data.update({key: str(value) for key, value in reputation_rules.PRESETS[name].items()})
    return RulesForm(formdata=None, data=data)


def _apply(ruleset: reputation_rules.Ruleset, reason: str):
    current = reputation_rules.current(db.session)
    needs_rebuild = ruleset.rules != current.rules
    with transaction():
        reputation_rules.save(db.session, actor=_actor(), ruleset=ruleset)
        report = None
        if needs_rebuild:
            report = reputation_replay.rebuild(db.session, ruleset, actor_id=_actor().id,
                                               reason=reason or "Rules changed on the admin page")  # fmt: skip
    web_levels.forget()
    if report is None:
        flash("Levels and privileges saved. The rules did not change, so no rebuild was needed.", "success")
    else:
        flash(f"Rules applied and reputation rebuilt: {report['events']:,} events replayed, {report['entries']:,} "
              f"ledger entries written, {report['changed_users']:,} totals changed in {report['seconds']:.2f} s.",
              "success")  # fmt: skip
    return redirect(url_for("reputation_admin.rules"))


@bp.route("/admin/reputation", methods=["GET", "POST"])
@_roles(*RULE_EDITORS)
@limiter.limit(_write_limit, methods=["POST"])
def rules():
    """Edit rules, levels and privileges; preview a change; apply it (save + rebuild)."""
    if request.method == "GET":
        return _page(RulesForm(formdata=None, data=_form_data(reputation_rules.current(db.session))))
    form = RulesForm()
    if form.load_preset.data and form.preset.validate(form):
        return _page(_reloaded_with_preset(form))
    if form.add_level.data:
        form.levels.append_entry()
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, status=422)
    ruleset = _validated(form)
    if ruleset is None:
        return _page(form, status=422)
    if form.apply.data:
        return _apply(ruleset, (form.reason.data or "").strip())
    return _page(form, preview=reputation_replay.preview(db.session, ruleset))


# --- moderator adjustment -------------------------------------------------------------------------


@bp.route("/users/<int:id>/reputation/adjust", methods=["POST"])
@_roles(*ADJUSTERS)
@limiter.limit(_write_limit)
def adjust(id: int):
    """A moderator's reputation adjustment with a reason (a moderator_adjustment ledger entry)."""
    user = db.session.get(User, id)
    if user is None:
        abort(404)
    form = AdjustForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("users.profile", id=id))
    try:
        with transaction():
            entry = reputation.adjust(db.session, actor=_actor(), user=user, delta=form.delta.data,
                                      reason=form.reason.data)  # fmt: skip
    except DomainError as exc:
        apply_domain_error(form, exc)
        messages = [
            f"{form[name].label.text}: {form[name].errors[-1]}" for name in ("delta", "reason") if form[name].errors
        ]
        flash(" ".join(messages) or exc.message, "error")
    else:
        applied = entry.delta if entry is not None else 0
        flash(f"{user.display_name}'s reputation was adjusted by {applied:+,} (now {user.reputation:,}).", "success")
    return redirect(url_for("users.profile", id=id) + "#reputation-adjust")


# --- fraud cases ----------------------------------------------------------------------------------


@bp.route("/admin/fraud")
@_roles(*ADJUSTERS)
def fraud_cases():
    """What ``flask reputation detect-fraud`` found: each case with its explanation (two queries)."""
    cases = fraud.recent_cases(db.session, limit=100)
    ids = {c.voter_id for c in cases} | {c.target_id for c in cases}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return render_template("admin/fraud.html", cases=cases, names=names)


# --- privileges -----------------------------------------------------------------------------------


@bp.route("/help/privileges")
def privileges_page():
    """Every privilege with its threshold and description; for a member, which they have."""
    viewer = _actor() if current_user.is_authenticated else None
    return render_template("reputation/privileges.html", rows=privileges.listing(db.session, viewer), viewer=viewer,
                           levels=web_levels.ruleset().levels)  # fmt: skip
