"""Outgoing email: always logged; written to MAIL_DIR when set; sent over SMTP when SMTP_URL is set."""

import logging
import re
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlparse

from community.db import utcnow

log = logging.getLogger("community.email")


def build(payload: dict, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message.set_content(payload["text"])
    return message


def deliver(payload: dict, *, config) -> None:
    """Deliver one email message (the ``email.send`` outbox topic). Raises on SMTP failure."""
    message = build(payload, config.get("MAIL_SENDER", "community@example.com"))
    log.info("email to %s: %s\n%s", payload["to"], payload["subject"], payload["text"])
    mail_dir = config.get("MAIL_DIR")
    if mail_dir:
        folder = Path(mail_dir)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", payload["to"])
        (folder / f"{stamp}-{safe_to}.eml").write_bytes(bytes(message))
    smtp_url = config.get("SMTP_URL")
    if smtp_url:
        url = urlparse(smtp_url)
        cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with cls(url.hostname, url.port or (465 if url.scheme == "smtps" else 25), timeout=20) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(url.username, url.password or "")
            smtp.send_message(message)
