"""Outgoing email: written to MAIL_DIR as .eml, logged, and sent over SMTP when configured."""

import email
import logging

import pytest

from community.db import transaction
from community.integrations import email as mail
from community.integrations import relay
from community.services import accounts

PAYLOAD = {"to": "ann@example.com", "subject": "Hello there", "text": "Body line one.\nBody line two.\n"}


def _read(path):
    return email.message_from_bytes(path.read_bytes())


def test_deliver_writes_eml_with_subject_and_recipient(tmp_path):
    mail.deliver(PAYLOAD, config={"MAIL_DIR": str(tmp_path), "MAIL_SENDER": "forum@example.com"})
    [path] = tmp_path.glob("*.eml")
    message = _read(path)
    assert (message["To"], message["Subject"], message["From"]) == ("ann@example.com", "Hello there", "forum@example.com")
    assert "Body line two." in message.get_payload(decode=True).decode()


def test_deliver_creates_missing_mail_dir(tmp_path):
    folder = tmp_path / "instance" / "mail"
    mail.deliver(PAYLOAD, config={"MAIL_DIR": str(folder)})
    assert len(list(folder.glob("*.eml"))) == 1


def test_deliver_file_name_cannot_escape_mail_dir(tmp_path):
    folder = tmp_path / "mail"
    mail.deliver({**PAYLOAD, "to": "../../etc/evil@example.com"}, config={"MAIL_DIR": str(folder)})
    assert [p.parent for p in tmp_path.rglob("*.eml")] == [folder]


def test_deliver_without_mail_dir_only_logs(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO, logger="community.email"):
        mail.deliver(PAYLOAD, config={"MAIL_DIR": None})
    assert "ann@example.com" in caplog.text and "Hello there" in caplog.text
    assert list(tmp_path.rglob("*.eml")) == []


def test_header_injection_in_subject_is_refused():
    with pytest.raises(ValueError):
        mail.build({**PAYLOAD, "subject": "Hi\nBcc: victim@example.com"}, "forum@example.com")


def test_deliver_sends_over_smtp_when_configured(monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("starttls",))

        def login(self, user, password):
            sent.append(("login", user, password))

        def send_message(self, message):
            sent.append(("send", message["To"]))

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    mail.deliver(PAYLOAD, config={"SMTP_URL": "smtp+starttls://user:secret@mail.example.com:587"})
    assert sent == [("connect", "mail.example.com", 587), ("starttls",), ("login", "user", "secret"),
                    ("send", "ann@example.com")]  # fmt: skip


def test_password_reset_email_reaches_mail_dir_through_the_relay(app, session, users, tmp_path):
    with transaction(session):
        accounts.request_password_reset(session, email="member@example.com", secret_key="k",
                                        base_url="https://forum.example.com")  # fmt: skip
    config = {**app.config, "MAIL_DIR": str(tmp_path)}
    assert relay.run_once(session, config=config)["done"] == 1
    [path] = tmp_path.glob("*.eml")
    message = _read(path)
    assert (message["To"], message["Subject"]) == ("member@example.com", "Reset your password")
    assert "https://forum.example.com/reset-password/" in message.get_payload(decode=True).decode()
