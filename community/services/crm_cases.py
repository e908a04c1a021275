"""Support cases: staff escalate a question to a case in the CRM (a Salesforce Case, a HubSpot ticket,
a webhook event), the relay opens it, the CRM reports back when it closes, staff post the resolution.

A question has at most one case per connector. :func:`escalate` writes the ``CrmCase`` row (state
``queued``) and an outbox message in the caller's transaction; the relay's :func:`deliver` opens the
case with ``connector.upsert_case``, which is keyed by the question id, so a retry after a cut
connection finds the same case instead of opening a second one. A delivery that keeps failing is
parked dead by the relay and the case marked ``failed`` with the error (:func:`delivery_failed`);
escalating again queues it once more. Questions left unanswered too long in the
categories an admin chose escalate automatically (:func:`escalate_due`; settings in crm_escalation.py).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from community.db import record_event, utcnow
from community.integrations import crm_base
from community.models import CrmCase, Question, User
from community.models.crm import CONNECTORS
from community.services import crm, crm_escalation, outbox, policy, qa
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation

log = logging.getLogger(__name__)
TOPIC = "crm.case"
DUE_BATCH = 200  # questions escalated per pass at most; the next pass takes the rest
NOTE_MAX = 2000
QUEUED, OPEN, CLOSED, FAILED = "queued", "open", "closed", "failed"


def _config(config=None):
    return config if config is not None else crm.app_config()


def case_connector(config=None) -> str | None:
    """Where support cases go: ``CRM_CASE_CONNECTOR``, else the first enabled connector; ``none``
    (or an unknown name) turns escalation off."""
    config = _config(config)
    chosen = str(config.get("CRM_CASE_CONNECTOR") or "").strip().lower()
    if chosen:
        return chosen if chosen in CONNECTORS else None
    value = config.get("CRM_CONNECTORS") or ()
    if isinstance(value, str):
        value = [part.strip().lower() for part in value.split(",")]
    return next((name for name in CONNECTORS if name in value), None)


def question_key(question_id: int) -> str:
    return f"question:{question_id}"


def _require_staff(actor: User | None, what: str) -> User:
    if not policy.is_staff(actor):
        raise PermissionDenied(f"Only moderators and administrators can {what}.")
    return actor


def _load(session, case_id: int, *, lock: bool = False) -> CrmCase:
    stmt = select(CrmCase).where(CrmCase.id == case_id)
    case = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if case is None:
        raise NotFound("No such support case.")
    return case


# --- escalation -------------------------------------------------------------------------------------


def escalate(session, *, actor: User | None, question_id: int, note: str = "", automatic: bool = False,
             config=None) -> CrmCase:  # fmt: skip
    """Queue a support case for a question in the case connector.

    Staff only (``automatic`` escalations pass no actor). The question must exist and not be
    deleted; a question has one case per connector: Conflict if it has one, unless that one failed,
    which is queued again. Raises RuleViolation when no connector takes cases or the note is too long.
    """
    if not automatic:
        _require_staff(actor, "escalate questions to support cases")
    name = case_connector(config)
    if name is None:
        raise RuleViolation("No CRM connector is set up for support cases (CRM_CONNECTORS, CRM_CASE_CONNECTOR).")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RuleViolation("The note is too long.", fields={"note": f"At most {NOTE_MAX:,} characters."})
    question = session.get(Question, question_id)
    if question is None or question.deleted_at is not None:
        raise NotFound("That question does not exist or was deleted.")
    case = session.scalars(select(CrmCase).where(CrmCase.question_id == question_id, CrmCase.connector == name)
                           .with_for_update()).first()  # fmt: skip
    if case is not None and case.state != FAILED:
        raise Conflict(f"This question has a support case in {name} already.")
    now, by = utcnow(), None if automatic else actor.id
    if case is None:
        case = CrmCase(question_id=question_id, connector=name, created_at=now)
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError as exc:  # another escalation of the same question won the race
            raise Conflict(f"This question has a support case in {name} already.") from exc
    case.state, case.last_error, case.updated_at = QUEUED, None, now
    case.escalated_by_id, case.automatic, case.note = by, automatic, note or case.note or ""
    outbox.enqueue(session, TOPIC, {"case": case.id, "question_id": question_id, "connector": name},
                   key=question_key(question_id))  # fmt: skip
    return case


def escalate_due(session, *, now: datetime | None = None, config=None) -> int:
    """Escalate questions unanswered (no answer, none accepted, not deleted) for longer than the
    configured hours in the chosen categories, each once per connector; returns how many. Never commits."""
    name = case_connector(config)
    settings = crm_escalation.current(session, config=_config(config))
    if name is None or not settings["categories"]:
        return 0
    cutoff = (now or utcnow()) - timedelta(hours=settings["hours"])
    has_case = select(CrmCase.id).where(CrmCase.question_id == Question.id, CrmCase.connector == name).exists()
    ids = session.scalars(
        select(Question.id).where(
            Question.category_id.in_(settings["categories"]), Question.deleted_at.is_(None),
            Question.answer_count == 0, Question.accepted_answer_id.is_(None), Question.created_at <= cutoff,
            ~has_case,
        ).order_by(Question.id).limit(DUE_BATCH)
    ).all()  # fmt: skip
    escalated = 0
    for question_id in ids:
        try:
            escalate(session, actor=None, question_id=question_id, automatic=True, config=config)
        except Conflict:  # a concurrent pass or a staff member was quicker
            continue
        escalated += 1
    if escalated:
        log.info("escalated %s unanswered question(s) to %s", escalated, name)
    return escalated


# --- delivery (outbox relay) --------------------------------------------------------------------------


def thread_url(question_id: int, config) -> str:
    return f"{str(config.get('BASE_URL') or '').rstrip('/')}/questions/{question_id}"


def case_request(session, case: CrmCase, *, config) -> crm_base.CaseRequest:
    """What the CRM is told: the question's title and excerpt, the staff note, the link back, the asker."""
    question = session.get(Question, case.question_id)
    asker = question.author
    link = crm.get_link(session, user_id=asker.id, connector=case.connector)
    description = question.excerpt or ""
    if case.note:
        description = f"{description}\n\nNote from the community team: {case.note}"
    url = thread_url(question.id, config)
    return crm_base.CaseRequest(
        question_id=question.id, subject=(question.title or "")[:255], description=f"{description}\n\n{url}".strip(),
        thread_url=url, contact_id=link.contact_id if link is not None else None,
        community_user_id=str(asker.id), email=asker.email,
    )  # fmt: skip


def _apply_result(case: CrmCase, result: crm_base.CaseResult, now: datetime) -> None:
    case.case_id = result.case_id or case.case_id
    case.case_number = result.case_number or case.case_number or case.case_id
    case.status = result.status or case.status
    _set_closed(case, result.closed, result.resolution, now)
    case.last_error, case.updated_at = None, now


def _set_closed(case: CrmCase, closed: bool, resolution: str | None, now: datetime) -> None:
    if closed:
        case.state, case.closed_at = CLOSED, case.closed_at or now
        if resolution:
            case.resolution = resolution
    else:
        case.state, case.closed_at = OPEN, None


def deliver(payload: dict, *, session, config) -> None:
    """Relay handler of ``crm.case``: open (or find again) the case in the CRM and store its number.

    Raises on any failure, so the relay retries with backoff and finally parks the message dead.
    """
    case = session.get(CrmCase, payload["case"])
    if case is None:  # the question was purged with its case
        return
    connector = crm_base.get(case.connector, config)
    result = connector.upsert_case(case_request(session, case, config=config))
    _apply_result(case, result, utcnow())
    _announce(session, case)


def delivery_failed(payload: dict, *, session, error: str, dead: bool) -> None:
    """Relay failure handler of ``crm.case``: keep the error on the case; the last attempt fails it."""
    case = session.get(CrmCase, payload["case"])
    if case is None or case.state not in (QUEUED, FAILED):
        return
    case.last_error, case.updated_at = error, utcnow()
    if dead:
        case.state = FAILED
        _announce(session, case)


def _announce(session, case: CrmCase) -> None:
    """Tell the staff member who escalated (their private room) that the case changed."""
    payload = {"question_id": case.question_id, "case": case.id, "state": case.state,
               "case_number": case.case_number, "status": case.status}  # fmt: skip
    room = f"user:{case.escalated_by_id}" if case.escalated_by_id else None
    record_event(session, "crm_case_updated", payload, room=room)


# --- updates from the CRM -----------------------------------------------------------------------------


def apply_update(session, *, connector: str, case_id: str, case_number: str | None = None,
                 status: str | None = None, closed: bool = False, resolution: str | None = None) -> CrmCase:  # fmt: skip
    """A case changed in the CRM (inbound webhook ``case.updated``): store its number, status and,
    when closed, the resolution. Idempotent. Raises NotFound for a case the community did not open."""
    case = session.scalars(select(CrmCase).where(CrmCase.connector == connector, CrmCase.case_id == str(case_id))
                           .with_for_update()).first()  # fmt: skip
    if case is None:
        raise NotFound("No support case with that id.")
    now = utcnow()
    if case_number:
        case.case_number = str(case_number)
    if status:
        case.status = str(status)
    _set_closed(case, bool(closed), (resolution or "").strip() or None, now)
    case.updated_at = now
    _announce(session, case)
    return case


def refresh(session, *, actor: User, case_id: int, config=None) -> CrmCase:
    """Read a case again from the CRM (the staff "Refresh" button). ``case_id`` is the community's id
    of the case. Staff only; RuleViolation when the case is not in the CRM yet or the CRM fails."""
    _require_staff(actor, "refresh support cases")
    case = _load(session, case_id)
    if not case.case_id:
        raise RuleViolation("The case has not been opened in the CRM yet.")
    try:
        result = crm_base.get(case.connector, _config(config)).get_case(case.case_id)
    except (crm_base.DeliveryError, LookupError, NotImplementedError) as exc:
        raise RuleViolation(f"The CRM did not answer: {exc}") from exc
    _apply_result(case, result, utcnow())
    return case


def post_resolution(session, *, actor: User, case_id: int, body: str | None = None):
    """Post a closed case's resolution (or staff's edit of it) as an answer to the question, once.

    Staff only. RuleViolation when the case is not closed or has no resolution, or the text breaks
    the answer rules; Conflict when it was posted already. Returns the answer.
    """
    _require_staff(actor, "post case resolutions")
    case = _load(session, case_id, lock=True)
    if case.state != CLOSED or not (case.resolution or "").strip():
        raise RuleViolation("Only a closed case with a resolution can be posted as an answer.")
    if case.resolution_answer_id is not None:
        raise Conflict("This resolution was posted as an answer already.")
    text = body if body is not None and body.strip() else case.resolution
    answer = qa.answer(session, actor=actor, question_id=case.question_id, body=text)
    taken = session.execute(update(CrmCase).where(CrmCase.id == case.id, CrmCase.resolution_answer_id.is_(None))
                            .values(resolution_answer_id=answer.id, updated_at=utcnow()))  # fmt: skip
    if taken.rowcount != 1:  # another staff member posted it meanwhile; roll this answer back
        raise Conflict("This resolution was posted as an answer already.")
    session.refresh(case)
    return answer


# --- the question page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    case: CrmCase
    escalated_by: str | None  # display name


def for_page(session, *, viewer: User | None, question_id: int) -> list[CaseView] | None:
    """The question's cases for the staff box, in one query; None for everyone else (no query)."""
    if not policy.is_staff(viewer):
        return None
    by = aliased(User)
    rows = session.execute(
        select(CrmCase, by.display_name).outerjoin(by, by.id == CrmCase.escalated_by_id)
        .where(CrmCase.question_id == question_id).order_by(CrmCase.id)
    ).all()  # fmt: skip
    return [CaseView(case=row[0], escalated_by=row[1]) for row in rows]
