"""Write side effects into the outbox table, inside the caller's transaction."""

from sqlalchemy import select

from community.db import utcnow
from community.models import OutboxMessage
from community.models.outbox import PENDING


def enqueue(session, topic: str, payload: dict, *, key: str | None = None) -> OutboxMessage:
    """Queue ``payload`` for the relay under ``topic``.

    With a ``key``, a still-pending message of the same topic and key is updated instead of a
    new one added (coalescing: ten edits of one question re-index it once). Never commits.
    """
    if key is not None:
        pending = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.topic == topic,
                OutboxMessage.key == key,
                OutboxMessage.status == PENDING,
                OutboxMessage.attempts == 0,
            )
            # a row a relay is delivering right now is locked: leave it and queue a fresh one
            .with_for_update(skip_locked=True)
        ).first()
        if pending is not None:
            pending.payload = payload
            pending.updated_at = utcnow()
            return pending
    message = OutboxMessage(topic=topic, key=key or "", payload=payload)
    session.add(message)
    return message
