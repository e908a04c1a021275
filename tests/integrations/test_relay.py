"""The outbox relay: delivery, retries with backoff, dead letters, savepoints, coalescing, the loop."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from community.db import transaction, utcnow
from community.integrations import relay
from community.models import Category, OutboxMessage
from community.models.outbox import DEAD, DONE, PENDING
from community.services import outbox

TOPIC = "test.topic"


@pytest.fixture
def config(app):
    """A copy of the app's config with a low attempt limit; the app's own stays untouched."""
    cfg = dict(app.config)
    cfg["OUTBOX_MAX_ATTEMPTS"] = 3
    return cfg


@pytest.fixture
def handler():
    """Register a controllable handler for TOPIC; removed after the test."""

    class Handler:
        calls: list = []
        error: Exception | None = None
        write = None  # optional fn(session) run before failing

        def __call__(self, payload, *, session, config):
            self.calls.append(payload)
            if self.write:
                self.write(session)
            if self.error:
                raise self.error

    h = Handler()
    h.calls = []
    relay.handler(TOPIC)(h)
    yield h
    relay._handlers.pop(TOPIC, None)


def _enqueue(session, payload=None, topic=TOPIC, key=None):
    with transaction(session):
        message = outbox.enqueue(session, topic, payload or {"n": 1}, key=key)
    return message.id


def _message(session, message_id):
    session.expire_all()
    return session.get(OutboxMessage, message_id)


def _make_due(session, message_id):
    with transaction(session):
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                        .values(available_at=utcnow() - timedelta(seconds=1)))  # fmt: skip


def test_relay_delivers_pending_message(session, config, handler):
    mid = _enqueue(session, {"hello": "world"})
    counts = relay.run_once(session, config=config)
    message = _message(session, mid)
    assert handler.calls == [{"hello": "world"}]
    assert counts[DONE] == 1
    assert (message.status, message.attempts, message.last_error) == (DONE, 1, None)
    assert message.delivered_at is not None


def test_delivered_message_is_not_delivered_again(session, config, handler):
    _enqueue(session)
    relay.run_once(session, config=config)
    relay.run_once(session, config=config)
    assert len(handler.calls) == 1


def test_message_not_yet_available_is_left_alone(session, config, handler):
    mid = _enqueue(session)
    with transaction(session):
        session.execute(update(OutboxMessage).where(OutboxMessage.id == mid)
                        .values(available_at=utcnow() + timedelta(minutes=5)))  # fmt: skip
    relay.run_once(session, config=config)
    assert handler.calls == []


def test_failure_increments_attempts_and_records_error(session, config, handler):
    handler.error = ValueError("smtp is down")
    mid = _enqueue(session)
    counts = relay.run_once(session, config=config)
    message = _message(session, mid)
    assert counts[PENDING] == 1
    assert (message.status, message.attempts) == (PENDING, 1)
    assert message.last_error == "ValueError: smtp is down"


def test_failure_postpones_next_try_by_backoff(session, config, handler):
    handler.error = ValueError("nope")
    mid = _enqueue(session)
    before = utcnow()
    relay.run_once(session, config=config)
    delay = _message(session, mid).available_at - before
    assert timedelta(seconds=1.5) <= delay <= timedelta(seconds=3)  # backoff(1) is 2 seconds
    relay.run_once(session, config=config)
    assert len(handler.calls) == 1  # not due yet


def test_backoff_doubles_and_is_capped_at_an_hour():
    assert [relay.backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert relay.backoff(30) == timedelta(hours=1)


def test_message_goes_dead_after_max_attempts(session, config, handler):
    handler.error = RuntimeError("always fails")
    mid = _enqueue(session)
    for _ in range(3):
        relay.run_once(session, config=config)
        _make_due(session, mid)
    message = _message(session, mid)
    assert (message.status, message.attempts) == (DEAD, 3)
    relay.run_once(session, config=config)
    assert len(handler.calls) == 3


def test_retry_revives_dead_messages(session, config, handler):
    handler.error = RuntimeError("fails")
    config["OUTBOX_MAX_ATTEMPTS"] = 1
    mid = _enqueue(session)
    relay.run_once(session, config=config)
    assert _message(session, mid).status == DEAD
    with transaction(session):
        assert relay.retry(session) == 1
    message = _message(session, mid)
    assert (message.status, message.attempts) == (PENDING, 0)
    handler.error = None
    relay.run_once(session, config=config)
    assert _message(session, mid).status == DONE


def test_retry_of_one_message_leaves_others_dead(session, config, handler):
    handler.error = RuntimeError("fails")
    config["OUTBOX_MAX_ATTEMPTS"] = 1
    first, second = _enqueue(session), _enqueue(session)
    relay.run_once(session, config=config)
    with transaction(session):
        assert relay.retry(session, message_id=second) == 1
    assert (_message(session, first).status, _message(session, second).status) == (DEAD, PENDING)


def test_unknown_topic_is_an_error_then_dead(session, config):
    config["OUTBOX_MAX_ATTEMPTS"] = 2
    mid = _enqueue(session, topic="no.such.topic")
    relay.run_once(session, config=config)
    message = _message(session, mid)
    assert (message.status, message.attempts) == (PENDING, 1)
    assert "no handler for topic 'no.such.topic'" in message.last_error
    _make_due(session, mid)
    relay.run_once(session, config=config)
    assert _message(session, mid).status == DEAD


def test_failed_handler_writes_roll_back_but_attempt_is_recorded(session, config, handler):
    def write(db_session):
        db_session.add(Category(slug="from-handler", name="Written by the handler"))
        db_session.flush()

    handler.write, handler.error = write, RuntimeError("after writing")
    mid = _enqueue(session)
    relay.run_once(session, config=config)
    assert session.scalar(select(Category).where(Category.slug == "from-handler")) is None
    assert _message(session, mid).attempts == 1


def test_successful_handler_writes_are_committed(session, config, handler):
    handler.write = lambda db_session: db_session.add(Category(slug="from-handler", name="Written by the handler"))
    _enqueue(session)
    relay.run_once(session, config=config)
    session.expire_all()
    assert session.scalar(select(Category).where(Category.slug == "from-handler")) is not None


def test_one_failing_message_does_not_stop_the_others(session, config, handler):
    def flaky(payload, *, session, config):
        if payload["n"] == 1:
            raise RuntimeError("only the first fails")

    relay.handler("test.flaky")(flaky)
    try:
        first = _enqueue(session, {"n": 1}, topic="test.flaky")
        second = _enqueue(session, {"n": 2}, topic="test.flaky")
        counts = relay.run_once(session, config=config)
    finally:
        relay._handlers.pop("test.flaky", None)
    assert counts == {DONE: 1, PENDING: 1, DEAD: 0}
    assert (_message(session, first).status, _message(session, second).status) == (PENDING, DONE)


def test_enqueue_with_same_key_keeps_one_pending_row_with_latest_payload(session):
    _enqueue(session, {"v": 1}, key="question:1")
    _enqueue(session, {"v": 2}, key="question:1")
    rows = session.scalars(select(OutboxMessage)).all()
    assert [(r.key, r.payload) for r in rows] == [("question:1", {"v": 2})]


def test_enqueue_with_different_keys_or_no_key_adds_rows(session):
    _enqueue(session, key="question:1")
    _enqueue(session, key="question:2")
    _enqueue(session)
    _enqueue(session)
    assert len(session.scalars(select(OutboxMessage)).all()) == 4


def test_enqueue_does_not_coalesce_into_a_message_already_tried(session, config, handler):
    handler.error = RuntimeError("fails")
    _enqueue(session, {"v": 1}, key="k")
    relay.run_once(session, config=config)
    _enqueue(session, {"v": 2}, key="k")
    assert len(session.scalars(select(OutboxMessage)).all()) == 2


def test_enqueue_is_rolled_back_with_the_transaction(session):
    with pytest.raises(RuntimeError), transaction(session):
        outbox.enqueue(session, TOPIC, {"n": 1})
        raise RuntimeError("boom")
    assert session.scalars(select(OutboxMessage)).all() == []


# --- the loop -------------------------------------------------------------------------------------


def test_loop_delivers_and_stops_when_told(app, session, handler):
    _enqueue(session, {"n": 1})
    session.commit()
    passes = []

    def stop():
        passes.append(1)
        return bool(handler.calls) or len(passes) > 5

    relay.loop(app, stop=stop, sleep=lambda seconds: None)
    assert handler.calls == [{"n": 1}]


def test_loop_sleeps_the_poll_interval_when_idle(app, session):
    slept = []
    relay.loop(app, stop=lambda: len(slept) >= 2, sleep=slept.append)
    assert slept == [app.config["OUTBOX_POLL_SECONDS"]] * 2


def test_loop_survives_a_failing_pass(app, monkeypatch):
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("database went away")

    monkeypatch.setattr(relay, "run_once", broken)
    relay.loop(app, stop=lambda: len(calls) >= 2, sleep=lambda seconds: None)
    assert len(calls) == 2


# --- notifications through the relay --------------------------------------------------------------


def _emails(session):
    session.expire_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email.send")).all()


def test_new_answer_enqueues_email_to_the_asker(session, config, users, ask, answer):
    question = ask(users["member"])
    answer(users["other"], question)
    relay.run_once(session, config=config)
    [email] = _emails(session)
    assert email.payload["to"] == "member@example.com"
    assert question.title in email.payload["subject"]
    assert f"/questions/{question.id}#answer-" in email.payload["text"]


def test_answering_own_question_sends_no_email(session, config, users, ask, answer):
    question = ask(users["member"])
    answer(users["member"], question)
    relay.run_once(session, config=config)
    assert _emails(session) == []


def test_answer_deleted_before_delivery_sends_no_email(session, config, users, ask, answer):
    from community.services import qa

    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=post.id)
    relay.run_once(session, config=config)
    assert _emails(session) == []


def test_enqueue_while_relay_delivers_the_same_key_keeps_the_new_payload(app, session):
    import threading

    from sqlalchemy.orm import Session

    from community.extensions import db

    engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("needs row locks (FOR UPDATE) to interleave a relay and a writer: PostgreSQL only")
    mid = _enqueue(session, {"v": 1}, key="question:1")
    locked, done = threading.Event(), threading.Event()

    def relay_in_flight():  # what deliver_one does: lock, deliver the payload it read, mark done
        with Session(engine) as other:
            message = other.scalars(select(OutboxMessage).where(OutboxMessage.id == mid).with_for_update()).one()
            message.attempts += 1
            locked.set()
            done.wait(1.0)
            message.status = DONE
            other.commit()

    worker = threading.Thread(target=relay_in_flight)
    worker.start()
    assert locked.wait(10)
    try:
        with transaction(session):
            outbox.enqueue(session, TOPIC, {"v": 2}, key="question:1")
    finally:
        done.set()
        worker.join(10)
    session.expire_all()
    pending = session.scalars(select(OutboxMessage).where(OutboxMessage.status == PENDING)).all()
    assert [m.payload for m in pending] == [{"v": 2}]


def test_an_error_that_cannot_heal_is_parked_at_once(session, config, handler):
    from community.integrations.crm_base import DeliveryError

    with transaction(session):
        message = outbox.enqueue(session, TOPIC, {"n": 1})
    handler.error = DeliveryError("salesforce: HTTP 400: INVALID_FIELD", retryable=False, status=400)
    assert relay.deliver_one(session, message.id, config=config) == DEAD
    session.refresh(message)
    assert message.attempts == 1 and "INVALID_FIELD" in message.last_error


def test_a_rate_limited_delivery_waits_as_told(session, config, handler):
    from community.integrations.crm_base import DeliveryError

    with transaction(session):
        message = outbox.enqueue(session, TOPIC, {"n": 1})
    handler.error = DeliveryError("hubspot: HTTP 429", retry_after=600, status=429)
    assert relay.deliver_one(session, message.id, config=config) == PENDING
    session.refresh(message)
    assert message.available_at > utcnow() + timedelta(seconds=590)
