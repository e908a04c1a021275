"""One error mapper: domain and HTTP errors become an HTML page, or JSON under /api (and for
``Accept: application/json`` requests from the page scripts)."""

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from community.extensions import db
from community.services.errors import DomainError

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request", 401: "Log in required", 403: "Not allowed", 404: "Page not found",
    405: "Method not allowed", 409: "Conflict", 413: "Too large", 422: "Invalid input",
    429: "Slow down", 500: "Something went wrong",
}  # fmt: skip
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 500: "server_error",
}  # fmt: skip


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str, *, code: str | None = None, fields: dict | None = None):
    code = code or CODES.get(status, "error")
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        return jsonify(body), status
    html = render_template("errors/error.html", code=status, title=TITLES.get(status, "Error"), message=message)
    return html, status


def init_app(app):
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.status, exc.message, code=exc.code, fields=exc.fields)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        message = (
            "Your form could not be checked (the security token was missing or expired). "
            "Go back, reload the page and try again."
        )
        return error_response(400, message, code="csrf_failed")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        message = {
            404: "We could not find that page. It may have been moved or deleted.",
            429: f"Too many requests ({exc.description}). Wait a moment and try again.",
            401: "Log in to do that.",
        }.get(status, exc.description or TITLES.get(status, "Error"))
        response = error_response(status, message)
        if status == 405 and exc.valid_methods:
            return response[0], status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(500, "Something went wrong on our side. It has been logged; please try again.")
