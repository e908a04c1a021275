"""The entry point: ``gunicorn wsgi:app``, ``flask --app wsgi ...`` or ``python wsgi.py``."""

import os

from community import create_app
from community.extensions import socketio

app = create_app()

if app.config.get("OUTBOX_RELAY_IN_PROCESS") and os.environ.get("COMMUNITY_NO_RELAY") != "1":
    from community.integrations import relay

    relay.start_in_background(app)


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False)
