"""Q&A pages: the question lists (all, by category, by tag), categories and tags.

The question page, the ask/answer/comment forms live in ``pages.py``; edits, history,
deletes, votes and accepts in ``posts.py``. All of them hang off this module's ``bp``.
"""

from functools import wraps

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from community.extensions import db, limiter, login_manager
from community.models import Answer, Post, Question
from community.services import leaderboards, queries
from community.web.errors import error_response, wants_json

bp = Blueprint("qa", __name__)

POPULAR_TAGS = 12
TAGS_PER_PAGE = 60


# --- helpers shared by the qa modules -----------------------------------------------------------


def viewer():
    """The logged-in user object, or None for anonymous visitors."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def login_required(view):
    """Like flask_login's, but answers JSON 401 to script requests instead of a login redirect."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            if wants_json():
                return error_response(401, "Log in to do that.")
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapper


def write_limited(view):
    """Rate limit a state-changing view with RATELIMIT_WRITE (POST only)."""
    return limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=["POST"])(view)


def question_url(question: Question, anchor: str | None = None) -> str:
    """The canonical URL of a question (with its slug when it has one), optionally anchored."""
    return url_for("qa.question", id=question.id, slug=question.slug or None, _anchor=anchor)


def question_of(post: Post) -> Question:
    """The question a post belongs to (itself for a question); usually from the identity map."""
    return db.session.get(Question, post.question_id) if isinstance(post, Answer) else post


def post_url(post: Post) -> str:
    """The question page anchored at the post: ``#question`` or ``#answer-<id>``."""
    anchor = f"answer-{post.id}" if isinstance(post, Answer) else "question"
    return question_url(question_of(post), anchor)


def int_arg(name: str, default: int = 1) -> int:
    """A positive integer query argument; anything else gives the default."""
    value = request.args.get(name, type=int)
    return value if value and value > 0 else default


# --- lists ------------------------------------------------------------------------------------


def _sort() -> str:
    sort = request.args.get("sort", "newest")
    return sort if sort in queries.SORTS else "newest"  # a bad tab falls back instead of failing


def _list_page(template: str, *, endpoint: str, endpoint_args: dict, tag=None, category=None, **context):
    """Render a question list with sort tabs, pagination and the sidebar."""
    sort = _sort()
    page = queries.list_questions(
        db.session, sort=sort, tag=tag.name if tag else request.args.get("tag") or None,
        category=category.slug if category else request.args.get("category") or None,
        page=int_arg("page"), per_page=current_app.config["QUESTIONS_PER_PAGE"],
    )  # fmt: skip
    return render_template(
        template, page=page, sort=sort, sorts=queries.SORTS, endpoint=endpoint, endpoint_args=endpoint_args,
        tag=tag, category=category, all_categories=queries.categories(db.session),
        popular_tags=queries.tags(db.session, page=1, per_page=POPULAR_TAGS).items, **context,
    )  # fmt: skip


@bp.route("/")
@bp.route("/questions")
def questions():
    """All live questions: sort tabs, ``?tag=`` / ``?category=`` filters, pagination."""
    args = {"tag": request.args.get("tag") or None, "category": request.args.get("category") or None}
    return _list_page("qa/questions.html", endpoint="qa.questions", endpoint_args=args)


@bp.route("/categories")
def categories():
    """Every category with its description and question count."""
    return render_template("qa/categories.html", categories=queries.categories(db.session))


@bp.route("/categories/<slug>")
def category(slug: str):
    """A category's description and its questions."""
    cat = queries.get_category(db.session, slug)
    return _list_page("qa/questions.html", endpoint="qa.category", endpoint_args={"slug": cat.slug}, category=cat)


@bp.route("/tags")
def tags():
    """Tags by popularity, paginated, with an optional ``?q=`` prefix filter."""
    prefix = (request.args.get("q") or "").strip()[:25]
    page = queries.tags(db.session, page=int_arg("page"), per_page=TAGS_PER_PAGE, prefix=prefix or None)
    return render_template("qa/tags.html", page=page, q=prefix)


@bp.route("/tags/<name>")
def tag(name: str):
    """The questions carrying one tag, and its top answerers of the last 180 days."""
    found = queries.get_tag(db.session, name)
    experts = leaderboards.tag_experts(db.session, found.id)  # "Top answerers" in the sidebar
    return _list_page("qa/questions.html", endpoint="qa.tag", endpoint_args={"name": found.name}, tag=found,
                      experts=experts)  # fmt: skip


from community.web.qa import pages, posts, suggestions  # noqa: E402, F401  (registers their routes)
