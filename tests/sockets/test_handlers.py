"""Socket.IO handlers: who may join which room; a logged-in client gets its private room."""

import pytest

from community.db import transaction
from community.extensions import socketio
from community.models import User
from community.services import qa


@pytest.fixture(autouse=True)
def _socketio_serves_this_app(app):
    """Tests that build a second app re-bind the shared SocketIO object to that app's server (which
    lacks our handlers); point it back at the server of the suite's app for this test."""
    server = app.wsgi_app.engineio_app  # flask_socketio's middleware wraps the app's socketio.Server
    saved, socketio.server = socketio.server, server
    yield
    socketio.server = saved


def _login(client, user):
    """Put the user in the Flask session cookie, as the login page would."""
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = user.get_id()
        flask_session["_fresh"] = True


@pytest.fixture
def connect(app, client):
    """``connect(user=None)`` -> a connected Socket.IO test client sharing the HTTP client's cookies.

    Socket events run in an app context of their own, so handlers that end their database
    session (``join`` does) never touch the test's session.
    """
    opened = []

    def _connect(user=None):
        if user is not None:
            _login(client, user)
        with app.app_context():
            sio = socketio.test_client(app, flask_test_client=client)
        opened.append(sio)
        return sio

    yield _connect
    for sio in opened:
        if sio.is_connected():
            sio.disconnect()


def join(app, sio, data):
    with app.app_context():
        return sio.emit("join", data, callback=True)


def emit_to(app, room, name="ping"):
    with app.app_context():
        socketio.emit(name, {"room": room}, to=room)


def received_names(sio):
    return [m["name"] for m in sio.get_received()]


def test_anonymous_client_connects(connect):
    assert connect().is_connected()


def test_joining_a_visible_question_room_works(app, connect, users, ask):
    question = ask(users["member"])
    assert join(app, connect(), {"room": f"question:{question.id}"}) == {"ok": True, "room": f"question:{question.id}"}


def test_joined_client_receives_room_messages(app, connect, users, ask):
    question = ask(users["member"])
    sio = connect()
    join(app, sio, {"room": f"question:{question.id}"})
    emit_to(app, f"question:{question.id}")
    assert received_names(sio) == ["ping"]


def test_client_does_not_receive_other_rooms(app, connect, users, ask):
    first, second = ask(users["member"]), ask(users["member"], title="Another question about billing")
    sio = connect()
    join(app, sio, {"room": f"question:{first.id}"})
    emit_to(app, f"question:{second.id}")
    assert sio.get_received() == []


def test_joining_the_questions_list_room_works(app, connect, category):
    assert join(app, connect(), {"room": "questions"})["ok"] is True


def test_joining_an_unknown_question_is_refused(app, connect, category):
    assert join(app, connect(), {"room": "question:999999"}) == {"ok": False, "error": "unknown room"}


def _deleted_question(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    return question.id, {role: user.id for role, user in users.items()}


@pytest.mark.parametrize("role", [None, "other", "marketer"])
def test_joining_a_deleted_question_is_refused_for_non_staff(app, session, connect, users, ask, role):
    qid, ids = _deleted_question(session, users, ask)
    sio = connect(session.get(User, ids[role]) if role else None)
    assert join(app, sio, {"room": f"question:{qid}"})["ok"] is False


@pytest.mark.parametrize("role", ["moderator", "member"])
def test_staff_and_the_author_may_join_a_deleted_question(app, session, connect, users, ask, role):
    qid, ids = _deleted_question(session, users, ask)
    sio = connect(session.get(User, ids[role]))
    assert join(app, sio, {"room": f"question:{qid}"})["ok"] is True


@pytest.mark.parametrize("data", [
    {"room": "question:abc"}, {"room": "question:1 "}, {"room": " question:1"}, {"room": "question:"},
    {"room": "question:" + "9" * 13}, {"room": "user:1"}, {"room": "Questions"}, {"room": ""},
    {"room": 1}, {"room": ["questions"]}, {"room": None}, {}, "questions", None, ["questions"],
])  # fmt: skip
def test_garbage_rooms_are_refused(app, connect, users, ask, data):
    ask(users["member"])  # question 1 most likely exists, so only the shape is wrong
    assert join(app, connect(), data) == {"ok": False, "error": "unknown room"}


def test_joining_another_users_private_room_is_refused(app, connect, users):
    sio = connect(users["member"])
    assert join(app, sio, {"room": f"user:{users['other'].id}"})["ok"] is False


def test_logged_in_client_is_put_in_its_user_room_on_connect(app, connect, users):
    uid = users["member"].id
    sio = connect(users["member"])
    emit_to(app, f"user:{uid}")
    assert received_names(sio) == ["ping"]


def test_anonymous_client_is_in_no_user_room(app, connect, users):
    uid = users["member"].id
    sio = connect()
    emit_to(app, f"user:{uid}")
    assert sio.get_received() == []


def test_stale_session_after_password_change_gets_no_user_room(app, session, connect, client, users):
    from community.services import accounts

    member = users["member"]
    _login(client, member)  # the cookie carries the old password fingerprint
    with transaction(session):
        accounts.change_password(session, user=member, current_password="correct horse battery",
                                 new_password="a completely new password")  # fmt: skip
    uid = member.id
    sio = connect()
    emit_to(app, f"user:{uid}")
    assert sio.get_received() == []


def test_leaving_a_room_stops_messages(app, connect, users, ask):
    question = ask(users["member"])
    sio = connect()
    join(app, sio, {"room": f"question:{question.id}"})
    with app.app_context():
        assert sio.emit("leave", {"room": f"question:{question.id}"}, callback=True) == {"ok": True}
    emit_to(app, f"question:{question.id}")
    assert sio.get_received() == []
