"""Redis-backed parts: rate limits stored in Redis, Socket.IO broadcasts through a Redis queue.

Needs a Redis server: TEST_REDIS_URL or REDIS_URL, else redis://127.0.0.1:6379. Skipped with the
reason when none answers. Rate-limit keys go to database 15, which is flushed before and after.
"""

import copy
import time
from contextlib import contextmanager

import pytest

from community.extensions import limiter, socketio
from tests.conftest import REDIS_BASE_URL, REDIS_TEST_URL, build_app, redis_unreachable

BASE_URL, LIMITER_URL = REDIS_BASE_URL, REDIS_TEST_URL

_REASON = redis_unreachable()
pytestmark = [pytest.mark.redis, pytest.mark.skipif(_REASON is not None, reason=_REASON or "")]


@contextmanager
def isolated_extensions():
    """Building another app re-initialises the shared Socket.IO and limiter objects; restore them."""
    saved = [(ext, {k: copy.copy(v) if isinstance(v, (list, dict, set)) else v for k, v in vars(ext).items()})
             for ext in (socketio, limiter)]  # fmt: skip
    try:
        yield
    finally:
        for ext, state in saved:
            vars(ext).clear()
            vars(ext).update(state)


@pytest.fixture
def redis_db():
    import redis

    client = redis.Redis.from_url(LIMITER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _build(**overrides):
    return build_app(**{"REDIS_URL": None, **overrides})


# --- rate limits ----------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app, redis_db):
    with isolated_extensions():
        yield _build(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=LIMITER_URL, RATELIMIT_AUTH="2 per minute")


def _login(client):
    return client.post("/login", data={"email": "nobody@example.com", "password": "wrong password"})


def test_login_is_rate_limited_with_redis_storage(limited_app):
    client = limited_app.test_client()
    assert [_login(client).status_code for _ in range(3)] == [401, 401, 429]


def test_rate_limit_counters_live_in_redis(limited_app, redis_db):
    _login(limited_app.test_client())
    assert redis_db.dbsize() > 0


def test_rate_limit_is_shared_between_clients_of_the_same_address(limited_app):
    """Two processes (here: two clients) see one counter because it lives in Redis."""
    first, second = limited_app.test_client(), limited_app.test_client()
    _login(first)
    _login(first)
    assert _login(second).status_code == 429


# --- Socket.IO message queue ----------------------------------------------------------------------


@pytest.fixture
def queued_app(app):
    with isolated_extensions():
        yield _build(REDIS_URL=BASE_URL)


def test_socketio_uses_redis_manager_when_redis_url_is_set(queued_app):
    from socketio import RedisManager

    assert isinstance(socketio.server.manager, RedisManager)


def test_emit_from_another_process_reaches_a_connected_client(queued_app, monkeypatch):
    import flask_socketio.test_client
    from flask_socketio import SocketIO

    # The test client refuses a message queue outright (it cannot see emits made elsewhere). Here
    # the queue is the point: let it connect, so the server's Redis listener delivers to it.
    monkeypatch.setattr(flask_socketio.test_client, "PubSubManager", type("NotAQueue", (), {}))
    sio = socketio.test_client(queued_app)
    try:
        sid = socketio.server.manager.sid_from_eio_sid(sio.eio_sid, "/")
        socketio.server.enter_room(sid, "question:42")
        external = SocketIO(message_queue=BASE_URL)  # write-only, like `flask outbox relay` or a worker
        received, deadline = [], time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            external.emit("answer_posted", {"question_id": 42}, to="question:42")
            time.sleep(0.3)
            received = sio.get_received()
        assert received, "nothing arrived through Redis within 10 seconds"
        assert received[0]["name"] == "answer_posted"
        assert received[0]["args"] == [{"question_id": 42}]
    finally:
        sio.disconnect()


def test_app_emit_is_published_to_redis(queued_app):
    import redis

    client = redis.Redis.from_url(BASE_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("flask-socketio")
    try:
        deadline, message = time.monotonic() + 5, None
        socketio.emit("question_posted", {"question_id": 7}, to="questions")
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
        assert message is not None
        assert b"question_posted" in message["data"]
    finally:
        pubsub.close()
        client.close()
