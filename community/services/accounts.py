"""Members: registration, sign-in, passwords, profiles and roles."""

import functools
import secrets

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from community.db import utcnow
from community.models import ROLES, User
from community.services import content, crm, outbox
from community.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    RuleViolation,
)

PASSWORD_MIN, PASSWORD_MAX = 10, 200
NAME_MIN, NAME_MAX = 2, 40
ABOUT_MAX = 3000
# werkzeug's scrypt: memory-hard. Tests lower the cost through this setting.
PASSWORD_METHOD = "scrypt"  # noqa: S105 (a hash method name, not a secret)
_RESET_SALT = "password-reset"


@functools.cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so a miss costs as much time as a hit (made on first use,
    not at import: every CLI call and worker start would pay for it)."""
    return hash_password(secrets.token_hex(8))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def normalize_email(email: str) -> str:
    """Validate the syntax and return the lower-cased address; raise RuleViolation otherwise."""
    email = content.normalize_text(email).strip()
    if not email:
        raise RuleViolation("Enter your email address.", fields={"email": "Enter your email address."})
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise RuleViolation("That email address is not valid.", fields={"email": str(exc)}) from None
    return email.lower()


def clean_display_name(name: str) -> str:
    name = " ".join(content.normalize_text(name).split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        msg = f"Display name must be {NAME_MIN} to {NAME_MAX} characters."
        raise RuleViolation(msg, fields={"display_name": msg})
    if any(ch in name for ch in "<>"):
        msg = "Display name cannot contain < or >."
        raise RuleViolation(msg, fields={"display_name": msg})
    return name


def check_password_rules(password: str, field: str = "password") -> None:
    if not password or not password.strip():
        raise RuleViolation("Enter a password.", fields={field: "Enter a password."})
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        msg = f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."
        raise RuleViolation(msg, fields={field: msg})


def find_by_email(session, email: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).first()


def get_user(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def register(session, *, email: str, display_name: str, password: str, role: str = "member") -> User:
    """Create a member. Rules: valid unique email, 2-40 character name, password of 10+.

    Raises RuleViolation (with fields) or Conflict when the email is taken.
    """
    email = normalize_email(email)
    display_name = clean_display_name(display_name)
    check_password_rules(password)
    if role not in ROLES:
        raise RuleViolation(f"Unknown role {role!r}.", fields={"role": f"Choose one of {', '.join(ROLES)}."})
    if find_by_email(session, email) is not None:
        msg = "An account with this email already exists."
        raise Conflict(msg, fields={"email": msg})
    user = User(
        email=email, display_name=display_name, password_hash=hash_password(password),
        role=role, avatar_seed=secrets.token_hex(8),
    )  # fmt: skip
    session.add(user)
    session.flush()
    crm.members_changed(session, [user.id])
    return user


def authenticate(session, *, email: str, password: str) -> User:
    """Return the user for a correct email and password.

    The error never says whether the email exists; an unknown email still costs one hash check.
    """
    user = find_by_email(session, email or "")
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        raise AuthenticationFailed("Invalid email or password.")
    if not check_password_hash(user.password_hash, password or "") or not user.is_active_account:
        raise AuthenticationFailed("Invalid email or password.")
    user.last_seen_at = utcnow()
    return user


def _check_current_password(user: User, password: str | None, *, field: str) -> None:
    if not check_password_hash(user.password_hash, password or ""):
        msg = "Your current password is not correct."
        raise RuleViolation(msg, fields={field: msg})


def change_password(session, *, user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one. Ends the user's other sessions."""
    _check_current_password(user, current_password, field="current_password")
    check_password_rules(new_password, field="new_password")
    user.password_hash = hash_password(new_password)


def change_email(session, *, user: User, new_email: str, password: str) -> User:
    """Change the member's own email after checking their current password.

    The address is normalised and must be unused (Conflict otherwise). The CRM is told: a linked
    contact is updated by its id, so it keeps its identity and only its email changes.
    Raises RuleViolation (wrong password, bad address) or Conflict.
    """
    _check_current_password(user, password, field="password")
    try:
        email = normalize_email(new_email)
    except RuleViolation as exc:
        raise RuleViolation(exc.message, fields={"new_email": exc.fields.get("email", exc.message)}) from None
    if email == user.email:
        msg = "That is your current email address."
        raise RuleViolation(msg, fields={"new_email": msg})
    other = find_by_email(session, email)
    if other is not None and other.id != user.id:
        msg = "An account with this email already exists."
        raise Conflict(msg, fields={"new_email": msg})
    user.email = email
    crm.members_changed(session, [user.id])
    return user


def update_profile(session, *, actor: User, user: User, display_name: str, about: str) -> User:
    """Change name and about text (Markdown). Only the user or an admin may."""
    if actor.id != user.id and actor.role != "admin":
        raise PermissionDenied("You can only edit your own profile.")
    user.display_name = clean_display_name(display_name)
    about = content.normalize_text(about).strip()
    if len(about) > ABOUT_MAX:
        msg = f"About must be at most {ABOUT_MAX} characters."
        raise RuleViolation(msg, fields={"about": msg})
    user.about = about
    user.about_html = content.render(about) if about else ""
    crm.members_changed(session, [user.id])
    return user


def regenerate_avatar(session, *, user: User) -> None:
    user.avatar_seed = secrets.token_hex(8)


def set_role(session, *, actor: User | None, user: User, role: str) -> User:
    """Give ``user`` a role. Only admins (or the CLI, actor None); an admin cannot demote themself."""
    if role not in ROLES:
        raise RuleViolation(f"Unknown role {role!r}.", fields={"role": f"Choose one of {', '.join(ROLES)}."})
    if actor is not None and actor.role != "admin":
        raise PermissionDenied("Only administrators can change roles.")
    if actor is not None and actor.id == user.id and role != "admin":
        raise RuleViolation("You cannot remove your own administrator role.", fields={"role": "You cannot demote yourself."})
    user.role = role
    return user


def needs_touch(user: User) -> bool:
    return user.last_seen_at is None or (utcnow() - user.last_seen_at).total_seconds() > 60


def touch(session, *, user: User) -> None:
    """Record that the user was seen; at most one write a minute."""
    if needs_touch(user):
        now = utcnow()
        if user.last_seen_at is None or user.last_seen_at.date() != now.date():
            crm.members_changed(session, [user.id])  # the CRM keeps the day of last activity
        user.last_seen_at = now


# --- password reset --------------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_RESET_SALT)


def reset_token(user: User, *, secret_key: str) -> str:
    """A signed token bound to the current password hash, so it works once."""
    return _serializer(secret_key).dumps({"uid": user.id, "fp": user.password_hash[-12:]})


def request_password_reset(session, *, email: str, secret_key: str, base_url: str) -> None:
    """Email a one-hour reset link if the account exists; silent otherwise (no account probing)."""
    email = normalize_email(email)
    user = find_by_email(session, email)
    if user is None or not user.is_active_account:
        return
    link = f"{base_url.rstrip('/')}/reset-password/{reset_token(user, secret_key=secret_key)}"
    outbox.enqueue(session, "email.send", {
        "to": user.email,
        "subject": "Reset your password",
        "text": (
            f"Hello {user.display_name},\n\nSomeone asked to reset the password of your account. "
            f"Open this link within one hour to choose a new one:\n\n{link}\n\n"
            "If it was not you, ignore this email; your password stays as it is.\n"
        ),
    })  # fmt: skip


def reset_password(session, *, token: str, new_password: str, secret_key: str, max_age: int) -> User:
    """Set a new password from a reset token. Raises RuleViolation if expired, used or forged."""
    user = check_reset_token(session, token=token, secret_key=secret_key, max_age=max_age)
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    return user


def check_reset_token(session, *, token: str, secret_key: str, max_age: int) -> User:
    """Validate a token without using it (to show the form or an error)."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise RuleViolation("This reset link has expired. Ask for a new one.") from None
    except BadSignature:
        raise RuleViolation("This reset link is not valid.") from None
    user = session.get(User, data.get("uid"))
    if user is None or user.password_hash[-12:] != data.get("fp"):
        raise RuleViolation("This reset link has already been used.")
    return user
