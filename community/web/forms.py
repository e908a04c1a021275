"""What every blueprint's forms share."""

from flask_wtf import FlaskForm

from community.services.errors import DomainError


def apply_domain_error(form: FlaskForm, exc: DomainError, *, fallback: str | None = None) -> None:
    """Put a service error's per-field messages beside the fields.

    A message for a field the form does not have goes beside ``fallback`` when given, otherwise
    above the form; an error without fields goes above the form.
    """
    for name, message in (exc.fields or {}).items():
        target = form._fields.get(name) or (form._fields.get(fallback) if fallback else None)
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = [*(target.errors or []), message]
    if not exc.fields:
        form.form_errors.append(exc.message)
