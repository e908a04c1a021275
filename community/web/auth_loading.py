"""How a request gets its user: the session cookie, or ``Authorization: Bearer <token>``."""

from flask import g, request
from flask_login import current_user

from community.db import transaction
from community.extensions import db, login_manager
from community.models import User
from community.services import accounts, tokens


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        uid, _, fingerprint = user_id.partition(":")
        if not uid.isdigit():
            return None
        user = db.session.get(User, int(uid))
        # a changed password invalidates sessions that carry the old fingerprint
        if user is None or user.password_hash[-8:] != fingerprint or not user.is_active_account:
            return None
        return user

    @login_manager.request_loader
    def load_user_from_token(req):
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        g.auth_via_token = True
        with transaction():
            return tokens.authenticate(db.session, header[7:].strip())

    @app.before_request
    def _note_last_seen():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return
        user = current_user._get_current_object()
        if accounts.needs_touch(user):  # a write at most once a minute, not on every request
            with transaction():
                accounts.touch(db.session, user=user)
