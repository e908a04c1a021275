"""Rooms: ``questions`` (the list), ``question:<id>`` (one thread), ``user:<id>`` (private)."""

import re

from flask_login import current_user
from flask_socketio import join_room, leave_room

from community.extensions import db, socketio
from community.services import qa
from community.services.errors import DomainError

_QUESTION_ROOM = re.compile(r"question:(\d{1,12})")


def _allowed(room: str) -> bool:
    if room == "questions":
        return True
    match = _QUESTION_ROOM.fullmatch(room or "")
    if not match:
        return False
    viewer = current_user if current_user.is_authenticated else None
    try:
        qa.get_question(db.session, int(match.group(1)), viewer=viewer)
    except DomainError:
        return False
    return True


@socketio.on("connect")
def on_connect(auth=None):
    if current_user.is_authenticated:
        join_room(f"user:{current_user.id}")


@socketio.on("join")
def on_join(data):
    room = (data or {}).get("room") if isinstance(data, dict) else None
    if not isinstance(room, str) or not _allowed(room):
        return {"ok": False, "error": "unknown room"}
    join_room(room)
    db.session.remove()
    return {"ok": True, "room": room}


@socketio.on("leave")
def on_leave(data):
    room = (data or {}).get("room") if isinstance(data, dict) else None
    if isinstance(room, str):
        leave_room(room)
    return {"ok": True}
