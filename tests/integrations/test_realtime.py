"""After-commit events reach Socket.IO rooms; nothing is told before it is true."""

import pytest
from sqlalchemy import select

from community.db import add_event_listener, remove_event_listener, transaction
from community.extensions import socketio
from community.integrations import realtime
from community.models import Question
from community.services import comments, qa, votes
from community.services.errors import RuleViolation

BODY = "Open Billing, then Invoices, and press Recalculate to refresh it."


@pytest.fixture(autouse=True)
def _socketio_serves_this_app(app):
    """Tests that build a second app re-bind the shared SocketIO object to that app's server (which
    lacks our handlers); point it back at the server of the suite's app for this test."""
    server = app.wsgi_app.engineio_app  # flask_socketio's middleware wraps the app's socketio.Server
    saved, socketio.server = socketio.server, server
    yield
    socketio.server = saved


@pytest.fixture
def watch(app, client):
    """``watch(room)`` -> a Socket.IO test client that has joined ``room``."""
    opened = []

    def _watch(room):
        with app.app_context():
            sio = socketio.test_client(app, flask_test_client=client)
            assert sio.emit("join", {"room": room}, callback=True)["ok"] is True
        opened.append(sio)
        return sio

    yield _watch
    for sio in opened:
        if sio.is_connected():
            sio.disconnect()


def _events(sio):
    return [(m["name"], m["args"][0]) for m in sio.get_received()]


def test_committed_answer_is_pushed_to_the_question_room(session, users, ask, watch):
    question = ask(users["member"])
    sio = watch(f"question:{question.id}")
    with transaction(session):
        post = qa.answer(session, actor=users["other"], question_id=question.id, body=BODY)
    assert _events(sio) == [("answer_posted", {"question_id": question.id, "answer_id": post.id,
                                               "author": "Other Member"})]  # fmt: skip


def test_nothing_is_pushed_before_commit(session, users, ask, watch):
    question = ask(users["member"])
    sio = watch(f"question:{question.id}")
    with transaction(session):
        qa.answer(session, actor=users["other"], question_id=question.id, body=BODY)
        assert sio.get_received() == []
    assert len(sio.get_received()) == 1


def test_rolled_back_answer_pushes_nothing(session, users, ask, watch):
    question = ask(users["member"])
    sio = watch(f"question:{question.id}")
    with pytest.raises(RuntimeError), transaction(session):
        qa.answer(session, actor=users["other"], question_id=question.id, body=BODY)
        raise RuntimeError("boom")
    assert sio.get_received() == []


def test_refused_answer_pushes_nothing(session, users, ask, watch):
    question = ask(users["member"])
    sio = watch(f"question:{question.id}")
    with pytest.raises(RuleViolation), transaction(session):
        qa.answer(session, actor=users["other"], question_id=question.id, body="too short")
    assert sio.get_received() == []


def test_new_question_is_pushed_to_the_questions_room(session, users, category, watch, ask):
    sio = watch("questions")
    question = ask(users["member"])
    assert _events(sio) == [("question_posted", {"question_id": question.id, "title": question.title})]


def test_vote_comment_and_accept_are_pushed_to_the_question_room(session, users, ask, answer, watch):
    question = ask(users["member"])
    post = answer(users["other"], question)
    sio = watch(f"question:{question.id}")
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=post.id, value=1)
    with transaction(session):
        comments.add(session, actor=users["member"], post_id=post.id, body="Thanks, this solved it for me.")
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=post.id)
    assert [name for name, _ in _events(sio)] == ["vote_changed", "comment_posted", "answer_accepted"]


def test_events_of_one_question_do_not_reach_another(session, users, ask, watch):
    first, second = ask(users["member"]), ask(users["member"], title="Another question about billing")
    sio = watch(f"question:{second.id}")
    with transaction(session):
        qa.answer(session, actor=users["other"], question_id=first.id, body=BODY)
    assert sio.get_received() == []


def test_broadcast_skips_events_without_a_room(monkeypatch):
    sent = []
    monkeypatch.setattr(socketio, "emit", lambda name, payload, to: sent.append((name, to)))
    realtime.broadcast([{"name": "a", "payload": {}, "room": None}, {"name": "b", "payload": {}, "room": "questions"}])
    assert sent == [("b", "questions")]


def test_failing_listener_does_not_undo_the_commit(session, users, category, ask):
    def broken(batch):
        raise RuntimeError("listener exploded")

    add_event_listener(broken)
    try:
        question = ask(users["member"])
    finally:
        remove_event_listener(broken)
    session.expire_all()
    assert session.scalar(select(Question).where(Question.id == question.id)) is not None
