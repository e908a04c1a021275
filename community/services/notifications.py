"""Notifications that leave by email through the outbox."""

from community.models import Answer, Question, User
from community.services import outbox


def new_answer(payload: dict, *, session, config) -> None:
    """Tell the asker that their question got an answer (not when they answered it themselves)."""
    question = session.get(Question, payload["question_id"])
    answer = session.get(Answer, payload["answer_id"])
    if question is None or answer is None or answer.deleted_at or question.deleted_at:
        return
    if answer.author_id == question.author_id:
        return
    asker = session.get(User, question.author_id)
    link = f"{config.get('BASE_URL', '').rstrip('/')}/questions/{question.id}#answer-{answer.id}"
    outbox.enqueue(session, "email.send", {
        "to": asker.email,
        "subject": f"New answer to: {question.title}",
        "text": f"Hello {asker.display_name},\n\n{answer.author.display_name} answered your question "
                f"\"{question.title}\":\n\n{answer.excerpt}\n\nRead it and accept it if it solved your "
                f"problem:\n{link}\n",
    })  # fmt: skip
