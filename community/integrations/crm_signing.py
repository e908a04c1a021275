"""HMAC-SHA256 signatures for the webhooks in both directions (outbound snapshots, inbound CRM pushes).

Headers: ``X-Community-Timestamp`` (Unix seconds), ``X-Community-Signature`` (``sha256=<hex>`` of
HMAC-SHA256 over ``"<timestamp>.<raw body>"`` with the shared secret) and, outbound,
``X-Community-Idempotency-Key``. A receiver rejects a timestamp more than ``TOLERANCE`` seconds
off, which stops replays of old requests.
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Community-Timestamp"
SIGNATURE_HEADER = "X-Community-Signature"
IDEMPOTENCY_HEADER = "X-Community-Idempotency-Key"
TOLERANCE = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def sign(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The timestamp and signature headers for ``body``."""
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str | None, headers, body: bytes, *, now: float | None = None) -> str | None:
    """None when the request is authentic and fresh, else the reason it is not."""
    if not secret:
        return "no webhook secret is configured (CRM_WEBHOOK_SECRET)"
    timestamp, given = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or not given:
        return f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header"
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE:
        return "timestamp too old or in the future"
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        return "signature does not match"
    return None
