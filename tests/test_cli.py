"""The ``flask`` commands: users, counters and the outbox, run through Flask's CLI test runner."""

import pytest
from sqlalchemy import select, update

from community.db import transaction
from community.models import OutboxMessage, User
from community.models.outbox import DEAD, DONE, PENDING
from community.services import accounts, outbox, tokens

PASSWORD = "correct horse battery"  # the conftest users' password


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _user(session, email):
    session.expire_all()
    return session.scalars(select(User).where(User.email == email)).first()


# --- users create ----------------------------------------------------------------------------------


def test_users_create_makes_a_user_with_the_role(runner, session):
    result = runner.invoke(args=["users", "create", "new.mod@example.com", "--name", "New Mod",
                                 "--password", PASSWORD, "--role", "moderator"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "new.mod@example.com" in result.output
    user = _user(session, "new.mod@example.com")
    assert (user.display_name, user.role) == ("New Mod", "moderator")


def test_users_create_password_works_for_login(runner, session):
    runner.invoke(args=["users", "create", "login@example.com", "--name", "Log In", "--password", PASSWORD])
    assert accounts.authenticate(session, email="login@example.com", password=PASSWORD).email == "login@example.com"


def test_users_create_refuses_a_duplicate_email(runner, session, users):
    result = runner.invoke(args=["users", "create", "member@example.com", "--name", "Again", "--password", PASSWORD])
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_users_create_refuses_an_unknown_role(runner, session):
    result = runner.invoke(args=["users", "create", "x@example.com", "--name", "Xavier", "--password", PASSWORD,
                                 "--role", "emperor"])  # fmt: skip
    assert result.exit_code != 0
    assert "Unknown role" in result.output
    assert _user(session, "x@example.com") is None


def test_users_create_refuses_a_short_password(runner, session):
    result = runner.invoke(args=["users", "create", "y@example.com", "--name", "Yara", "--password", "short"])
    assert result.exit_code != 0
    assert "Password must be 10 to 200 characters" in result.output
    assert _user(session, "y@example.com") is None


# --- users token / set-role ------------------------------------------------------------------------


def test_users_token_prints_a_token_that_authenticates(runner, session, users):
    result = runner.invoke(args=["users", "token", "member@example.com"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip()
    session.expire_all()
    assert tokens.authenticate(session, plaintext).id == users["member"].id


def test_users_token_for_unknown_email_fails(runner, session):
    result = runner.invoke(args=["users", "token", "nobody@example.com"])
    assert result.exit_code != 0
    assert "No user with email nobody@example.com" in result.output


def test_users_set_role_changes_the_role(runner, session, users):
    result = runner.invoke(args=["users", "set-role", "member@example.com", "marketer"])
    assert result.exit_code == 0, result.output
    assert "member@example.com is now marketer" in result.output
    assert _user(session, "member@example.com").role == "marketer"


def test_users_set_role_for_unknown_email_fails(runner, session):
    result = runner.invoke(args=["users", "set-role", "nobody@example.com", "admin"])
    assert result.exit_code != 0
    assert "No user with email" in result.output


def test_users_set_role_refuses_an_unknown_role(runner, session, users):
    result = runner.invoke(args=["users", "set-role", "member@example.com", "overlord"])
    assert result.exit_code != 0
    assert "Unknown role" in result.output
    assert _user(session, "member@example.com").role == "member"


# --- counters --------------------------------------------------------------------------------------


def test_counters_recount_repairs_a_drifted_counter(runner, session, users, ask):
    ask(users["member"])
    with transaction(session):
        session.execute(update(User).where(User.id == users["member"].id).values(question_count=7))
    result = runner.invoke(args=["counters", "recount"])
    assert result.exit_code == 0, result.output
    assert "users.question_count: 1 corrected" in result.output
    assert _user(session, "member@example.com").question_count == 1


def test_counters_recount_reports_nothing_when_consistent(runner, session, users, ask):
    ask(users["member"])
    result = runner.invoke(args=["counters", "recount"])
    assert result.exit_code == 0, result.output
    assert "users.question_count: 0 corrected" in result.output


# --- outbox ----------------------------------------------------------------------------------------


@pytest.fixture
def delivered():
    """A handler for the ``test.cli`` topic that records what it was given."""
    from community.integrations import relay

    seen: list = []
    relay.handler("test.cli")(lambda payload, *, session, config: seen.append(payload))
    yield seen
    relay._handlers.pop("test.cli", None)


def _message(session, topic="test.cli", **values):
    with transaction(session):
        message = outbox.enqueue(session, topic, {"n": 1})
        session.flush()
        for name, value in values.items():
            setattr(message, name, value)
    return message.id


def _status(session, message_id):
    session.expire_all()
    return session.get(OutboxMessage, message_id).status


def test_outbox_relay_once_delivers_due_messages(runner, session, delivered):
    message_id = _message(session)
    result = runner.invoke(args=["outbox", "relay", "--once"])
    assert result.exit_code == 0, result.output
    assert delivered == [{"n": 1}]
    assert _status(session, message_id) == DONE


def test_outbox_status_counts_by_status_and_lists_dead_ones(runner, session):
    _message(session)
    dead_id = _message(session, status=DEAD, attempts=8, last_error="ConnectionError: refused")
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0, result.output
    assert "pending: 1" in result.output
    assert "dead: 1" in result.output
    assert f"dead #{dead_id} test.cli attempts=8 error=ConnectionError: refused" in result.output


def test_outbox_retry_requeues_dead_messages(runner, session):
    dead_id = _message(session, status=DEAD, attempts=8)
    result = runner.invoke(args=["outbox", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 message(s) queued again" in result.output
    assert _status(session, dead_id) == PENDING


def test_outbox_retry_with_id_requeues_only_that_message(runner, session):
    first = _message(session, status=DEAD, attempts=8)
    second = _message(session, status=DEAD, attempts=8)
    result = runner.invoke(args=["outbox", "retry", "--id", str(second)])
    assert "1 message(s) queued again" in result.output
    assert (_status(session, first), _status(session, second)) == (DEAD, PENDING)
