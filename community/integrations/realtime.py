"""After-commit events to Socket.IO rooms. Works across processes when REDIS_URL is the queue."""

import logging

from community.extensions import socketio

log = logging.getLogger(__name__)


def broadcast(events: list[dict]) -> None:
    """Emit each committed event to its room (events without a room are not broadcast)."""
    for event in events:
        if event.get("room"):
            socketio.emit(event["name"], event["payload"], to=event["room"])
