"""Who is asking, and the gate every API request passes: token check, CSRF for cookie sessions,
JSON parsing and the API's own error handlers.

A request is authenticated by the session cookie (the page scripts) or by
``Authorization: Bearer <token>`` (Flask-Login's request loader in ``web/auth_loading.py`` sets
``g.auth_via_token``). Cookie-session writes must carry ``X-CSRFToken``; token writes need none,
since a browser never adds the header on its own. A bad token is refused, never treated as anonymous.
"""

from flask import current_app, g, request
from flask_login import current_user
from marshmallow import ValidationError

from community.api import bp
from community.db import transaction
from community.extensions import csrf, db, limiter
from community.models import User
from community.services import tokens
from community.services.errors import AuthenticationFailed, DomainError
from community.web.errors import error_response

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
TOKEN_REFUSED = "The API token is invalid or revoked."  # noqa: S105  (a message, not a secret)

write_limited = limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=list(WRITE_METHODS))


class BadJSON(DomainError):
    """The body is not a JSON object."""

    code = "bad_request"
    status = 400


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


@bp.before_request
def _gate():
    """Refuse bad tokens, then demand the CSRF header on cookie-session writes."""
    token = _bearer_token()
    authenticated = current_user.is_authenticated  # runs the session or token loader
    if token is not None:
        if not g.get("auth_via_token"):
            # a session cookie came too and won; the token must still be good, and it decides
            with transaction():
                user = tokens.authenticate(db.session, token)
            if user is None:
                return _refuse_token()
            current_app.login_manager._update_request_context_with_user(user)
            g.auth_via_token = True
        elif not authenticated:
            return _refuse_token()
        return None
    if request.method in WRITE_METHODS and authenticated and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None


def _refuse_token():
    return error_response(401, TOKEN_REFUSED, code="invalid_token")


@bp.after_request
def _challenge(response):
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    return error_response(422, "Please correct the marked fields.", code="invalid", fields=flatten(exc.messages))


def flatten(messages, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested message lists/dicts -> ``{"field": "first message", "tags.0": ...}``."""
    if isinstance(messages, str):
        return {prefix or "_schema": messages}
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": " ".join(messages)}
        out: dict[str, str] = {}
        for item in messages:
            out.update(flatten(item, prefix))
        return out
    out = {}
    for key, value in messages.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def actor() -> User | None:
    """The authenticated user, or None."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def require_actor() -> User:
    """The authenticated user; 401 when there is none."""
    user = actor()
    if user is None:
        raise AuthenticationFailed("Log in or send an API token (Authorization: Bearer <token>).")
    return user


def json_body(schema_cls) -> dict:
    """The request's JSON object loaded through ``schema_cls`` (400 for non-objects, 422 for bad fields)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadJSON("Expected a JSON object.")
    return schema_cls().load(data)


def query_args(schema_cls) -> dict:
    """The query string loaded through ``schema_cls`` (unknown parameters ignored)."""
    return schema_cls().load(request.args.to_dict(), unknown="exclude")
