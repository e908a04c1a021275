"""JSON API v1: the same services as the pages, for scripts and the page's JavaScript.

Mounted at /api/v1 by the app factory (CSRF-exempt there; ``auth.py`` checks it for cookie sessions).
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

from community.api import auth, badges, crm, openapi, posts, questions, reputation, suggested_edits, users  # noqa: E402, F401  (register the routes)
