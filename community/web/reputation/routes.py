"""Reputation pages: the leaderboards and a member's reputation history (public, like Stack Exchange)."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from community.extensions import db
from community.models import User
from community.services import leaderboards, policy, queries, reputation_history

bp = Blueprint("reputation", __name__)

PER_PAGE = 50


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _page_arg() -> int:
    value = request.args.get("page", type=int)
    return value if value and value > 0 else 1


@bp.route("/leaderboard")
def leaderboard():
    """Members by reputation earned: period tabs, a category or tag filter, the staff switch, the viewer's rank."""
    period = request.args.get("period", "all")
    period = period if period in leaderboards.PERIODS else "all"  # a bad tab falls back instead of failing
    tag = (request.args.get("tag") or "").strip() or None
    category = None if tag else (request.args.get("category") or "").strip() or None
    staff = request.args.get("staff") == "1"
    board = leaderboards.board(db.session, period=period, category=category, tag=tag, include_staff=staff,
                               page=_page_arg(), per_page=PER_PAGE, viewer=_viewer())  # fmt: skip
    args = {"period": None if period == "all" else period, "category": category, "tag": tag,
            "staff": "1" if staff else None}  # fmt: skip
    return render_template("reputation/leaderboard.html", board=board, period=period, tag=tag, category=category,
                           staff=staff, args=args, periods=leaderboards.PERIOD_LABELS,
                           all_categories=queries.categories(db.session))  # fmt: skip


@bp.route("/users/<int:id>/reputation")
def history(id: int):
    """A member's ledger entries grouped by day, with a chart of the total over time."""
    user = db.session.get(User, id)
    if user is None or (not user.is_active_account and not policy.is_staff(_viewer())):
        abort(404)
    data = reputation_history.history(db.session, user_id=user.id, page=_page_arg(),
                                      entry_id=request.args.get("entry", type=int))  # fmt: skip
    return render_template("reputation/history.html", user=user, data=data,
                           chart=reputation_history.chart(data["points"]))  # fmt: skip
