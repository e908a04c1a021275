"""API tokens: shown once, stored as a SHA-256 hash."""

import hashlib
import secrets

from sqlalchemy import select

from community.db import utcnow
from community.models import ApiToken, User
from community.services import content
from community.services.errors import NotFound, PermissionDenied, RuleViolation

PREFIX = "adv_"
MAX_ACTIVE = 20


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create(session, *, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the plaintext (never stored)."""
    name = " ".join(content.normalize_text(name).split())
    if not 1 <= len(name) <= 60:
        raise RuleViolation("Name the token (1 to 60 characters).", fields={"name": "Name the token (1 to 60 characters)."})
    active = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    if len(active) >= MAX_ACTIVE:
        raise RuleViolation(f"You can have at most {MAX_ACTIVE} active tokens; revoke one first.")
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, prefix=plaintext[:12], token_hash=_digest(plaintext))
    session.add(token)
    session.flush()
    return token, plaintext


def authenticate(session, plaintext: str) -> User | None:
    """The active user a token belongs to, or None for unknown or revoked tokens."""
    if not plaintext or not plaintext.startswith(PREFIX) or len(plaintext) > 100:
        return None
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _digest(plaintext), ApiToken.revoked_at.is_(None))
    ).first()
    if token is None or not token.user.is_active_account:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user


def list_for(session, *, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


def revoke(session, *, actor: User, token_id: int) -> ApiToken:
    """Revoke a token; only its owner or an admin may."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token.")
    if token.user_id != actor.id and actor.role != "admin":
        raise PermissionDenied("That token is not yours.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
