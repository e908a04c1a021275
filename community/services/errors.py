"""Domain errors. One mapper in ``community.web.errors`` turns them into pages, form errors or JSON."""


class DomainError(Exception):
    """Base class: a message for people, a machine ``code`` and optional per-field messages."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


class RuleViolation(DomainError):
    """Input breaks a rule (length, format, a state the object cannot take)."""

    code = "invalid"
    status = 422


class Conflict(DomainError):
    """The change clashes with the current state (a duplicate email, a stale edit)."""

    code = "conflict"
    status = 409


class AuthenticationFailed(DomainError):
    code = "unauthorized"
    status = 401
