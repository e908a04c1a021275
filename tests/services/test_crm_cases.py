"""Escalating questions to CRM support cases: the rules, delivery through the fake CRMs (real HTTP),
retries and failures, updates from the CRM, posting the resolution, auto-escalation."""

import time
from datetime import timedelta

import crm_fakes
import pytest
from sqlalchemy import func, select, update

from community.db import transaction, utcnow
from community.integrations import crm_base, relay
from community.models import Answer, Category, CrmCase, OutboxMessage, Question
from community.models.outbox import DEAD, PENDING
from community.services import crm, crm_cases, crm_escalation
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation

RESOLUTION = "We re-issued the invoice with the new plan's price; it is in Billing > Invoices now."


class StubConnector(crm_base.Connector):
    """A connector without a network, for the rules; the fakes below test the real ones."""

    name = "stub"
    calls: list = []
    fail: Exception | None = None

    def upsert_case(self, case):
        StubConnector.calls.append(case)
        if StubConnector.fail:
            raise StubConnector.fail
        return crm_base.CaseResult(case_id=f"S{case.question_id}", case_number=f"000{case.question_id}", status="New")


@pytest.fixture
def stub(monkeypatch, crm_settings):
    crm_settings(CRM_CONNECTORS="webhook", CRM_CASE_CONNECTOR="", OUTBOX_MAX_ATTEMPTS=3)
    StubConnector.calls, StubConnector.fail = [], None
    monkeypatch.setattr(crm_base, "get", lambda name, config: StubConnector(config))
    return StubConnector


def escalate(session, actor, question, note=""):
    with transaction(session):
        return crm_cases.escalate(session, actor=actor, question_id=question.id, note=note)


def deliver(session, app, config=None):
    """One relay pass over everything queued, as if every message were due now."""
    with transaction(session):
        session.execute(update(OutboxMessage).where(OutboxMessage.status == PENDING).values(available_at=utcnow()))
    return relay.run_once(session, config=config or app.config)


def case_of(session, question) -> CrmCase:
    session.expire_all()
    return session.scalars(select(CrmCase).where(CrmCase.question_id == question.id)).one()


# --- the rules ------------------------------------------------------------------------------------------


def test_members_and_marketers_cannot_escalate(session, users, ask, stub):
    question = ask(users["member"])
    for role in ("member", "marketer"):
        with pytest.raises(PermissionDenied):
            escalate(session, users[role], question)
    assert session.scalar(select(func.count(CrmCase.id))) == 0


def test_escalation_queues_a_case_and_one_outbox_message(session, users, ask, stub):
    question = ask(users["member"])
    case = escalate(session, users["moderator"], question, note="Customer is on the Pro plan.")
    assert (case.state, case.connector, case.escalated_by_id, case.automatic) == ("queued", "webhook",
                                                                                  users["moderator"].id, False)
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "crm.case")).all()
    assert [(m.key, m.payload["case"]) for m in messages] == [(f"question:{question.id}", case.id)]


def test_a_second_escalation_of_the_same_question_is_a_conflict(session, users, ask, stub):
    question = ask(users["member"])
    escalate(session, users["moderator"], question)
    with pytest.raises(Conflict):
        escalate(session, users["admin"], question)


def test_deleted_or_missing_questions_cannot_be_escalated(session, users, ask, stub):
    question = ask(users["member"])
    with transaction(session):
        session.get(Question, question.id).deleted_at = utcnow()
    with pytest.raises(NotFound):
        escalate(session, users["admin"], question)
    with pytest.raises(NotFound), transaction(session):
        crm_cases.escalate(session, actor=users["admin"], question_id=999_999)


def test_escalation_needs_a_case_connector(session, users, ask, crm_settings):
    crm_settings(CRM_CONNECTORS="", CRM_CASE_CONNECTOR="")
    with pytest.raises(RuleViolation):
        escalate(session, users["admin"], ask(users["member"]))


def test_case_connector_is_the_setting_else_the_first_enabled_connector(app, crm_settings):
    crm_settings(CRM_CONNECTORS="webhook,hubspot", CRM_CASE_CONNECTOR="")
    assert crm_cases.case_connector(app.config) == "hubspot"
    crm_settings(CRM_CASE_CONNECTOR="Salesforce")
    assert crm_cases.case_connector(app.config) == "salesforce"
    crm_settings(CRM_CASE_CONNECTOR="none")
    assert crm_cases.case_connector(app.config) is None


def test_a_too_long_note_is_refused_beside_the_field(session, users, ask, stub):
    with pytest.raises(RuleViolation) as caught:
        escalate(session, users["admin"], ask(users["member"]), note="x" * (crm_cases.NOTE_MAX + 1))
    assert "note" in caught.value.fields


# --- delivery ----------------------------------------------------------------------------------------------


def test_relay_opens_the_case_with_the_question_and_the_askers_contact(session, app, users, ask, stub):
    question = ask(users["member"])
    with transaction(session):
        crm.link_contact(session, actor=None, user_id=users["member"].id, connector="webhook", contact_id="C-77",
                         linked_by="api")  # fmt: skip
    escalate(session, users["moderator"], question, note="Second time this week.")
    deliver(session, app)
    sent = stub.calls[-1]
    assert sent.subject == question.title and sent.contact_id == "C-77" and sent.email == users["member"].email
    assert sent.community_user_id == str(users["member"].id) and "Second time this week." in sent.description
    assert sent.thread_url == f"{app.config['BASE_URL'].rstrip('/')}/questions/{question.id}"
    case = case_of(session, question)
    assert (case.state, case.case_id, case.case_number, case.status) == ("open", f"S{question.id}",
                                                                         f"000{question.id}", "New")


def test_failing_delivery_keeps_the_error_then_fails_the_case_on_the_last_attempt(session, app, users, ask, stub):
    stub.fail = crm_base.DeliveryError("webhook: HTTP 503: busy")
    question = ask(users["member"])
    escalate(session, users["moderator"], question)
    deliver(session, app)
    case = case_of(session, question)
    assert case.state == "queued" and "HTTP 503" in case.last_error
    deliver(session, app), deliver(session, app)  # OUTBOX_MAX_ATTEMPTS = 3
    case = case_of(session, question)
    assert case.state == "failed" and "HTTP 503" in case.last_error
    assert session.scalars(select(OutboxMessage.status).where(OutboxMessage.topic == "crm.case")).one() == DEAD


def test_escalating_a_failed_case_queues_it_again(session, app, users, ask, stub):
    stub.fail = crm_base.DeliveryError("down")
    question = ask(users["member"])
    escalate(session, users["moderator"], question)
    for _ in range(3):
        deliver(session, app)
    stub.fail = None
    again = escalate(session, users["admin"], question)
    assert (again.state, again.last_error, again.escalated_by_id) == ("queued", None, users["admin"].id)
    deliver(session, app)
    assert case_of(session, question).state == "open"
    assert session.scalar(select(func.count(CrmCase.id))) == 1


# --- through the fake CRMs (real HTTP) -----------------------------------------------------------------


def _salesforce(crm_settings, sf):
    crm_settings(CRM_CONNECTORS="salesforce", CRM_CASE_CONNECTOR="", SALESFORCE_INSTANCE_URL=sf.url,
                 SALESFORCE_ACCESS_TOKEN=sf.access_token, SALESFORCE_TOKEN_URL=sf.token_url, CRM_HTTP_TIMEOUT=2)  # fmt: skip


def _hubspot(crm_settings, hs):
    crm_settings(CRM_CONNECTORS="hubspot", CRM_CASE_CONNECTOR="", HUBSPOT_BASE_URL=hs.url, HUBSPOT_TOKEN=hs.token,
                 CRM_HTTP_TIMEOUT=2)  # fmt: skip


def test_salesforce_case_is_upserted_by_question_id(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeSalesforce() as sf:
        _salesforce(crm_settings, sf)
        contact = sf.add_contact(LastName="Member", Email=users["member"].email)
        with transaction(session):
            crm.link_contact(session, actor=users["admin"], user_id=users["member"].id, connector="salesforce",
                             contact_id=contact)  # fmt: skip
        escalate(session, users["moderator"], question)
        deliver(session, app)
        (sf_case,) = sf.cases.values()
    assert sf_case["Community_Question_Id__c"] == str(question.id) and sf_case["Subject"] == question.title
    assert sf_case["ContactId"] == contact and sf_case["Origin"] == "Community"
    assert sf_case["Community_Thread_Url__c"].endswith(f"/questions/{question.id}")
    case = case_of(session, question)
    assert (case.state, case.case_id, case.case_number) == ("open", sf_case["Id"], sf_case["CaseNumber"])


def test_hubspot_ticket_is_upserted_by_question_id(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeHubSpot() as hs:
        _hubspot(crm_settings, hs)
        escalate(session, users["admin"], question)
        deliver(session, app)
        (ticket,) = hs.tickets.values()
    assert ticket["properties"]["community_question_id"] == str(question.id)
    assert ticket["properties"]["subject"] == question.title
    case = case_of(session, question)
    assert (case.state, case.case_id, case.case_number) == ("open", str(ticket["id"]), str(ticket["id"]))


def test_webhook_receives_a_signed_case_create(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeWebhook("hook-secret") as hook:
        crm_settings(CRM_CONNECTORS="webhook", CRM_CASE_CONNECTOR="", CRM_WEBHOOK_URL=hook.url,
                     CRM_WEBHOOK_SECRET="hook-secret", CRM_HTTP_TIMEOUT=2)  # fmt: skip
        escalate(session, users["admin"], question, note="VIP")
        deliver(session, app)
        events = [body for _, body in hook.received if body.get("event") == "case.create"]
        assert not hook.rejected
    assert len(events) == 1 and events[0]["case"]["question_id"] == question.id
    assert events[0]["case"]["email"] == users["member"].email and "VIP" in events[0]["case"]["description"]
    case = case_of(session, question)
    assert case.state == "open" and case.case_id in hook.cases


def test_retry_after_a_cut_connection_does_not_open_a_second_case(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeWebhook("hook-secret") as hook:
        crm_settings(CRM_CONNECTORS="webhook", CRM_CASE_CONNECTOR="", CRM_WEBHOOK_URL=hook.url,
                     CRM_WEBHOOK_SECRET="hook-secret", CRM_HTTP_TIMEOUT=2)  # fmt: skip
        escalate(session, users["moderator"], question)
        hook.cut_after_apply()
        deliver(session, app)
        assert hook.dropped == 1 and len(hook.cases) == 1  # applied, but the answer was lost
        assert case_of(session, question).state == "queued"
        deliver(session, app)
        assert len(hook.cases) == 1
    case = case_of(session, question)
    assert case.state == "open" and case.case_id in hook.cases and case.last_error is None


def test_retry_after_a_salesforce_timeout_finds_the_case_it_opened(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeSalesforce() as sf:
        _salesforce(crm_settings, sf)
        crm_settings(CRM_HTTP_TIMEOUT=0.3)
        escalate(session, users["moderator"], question)
        sf.delay = 0.8  # the upsert is applied after the client gave up waiting
        deliver(session, app)
        assert "timed out" in case_of(session, question).last_error
        deadline = time.monotonic() + 5
        while not sf.cases and time.monotonic() < deadline:
            time.sleep(0.05)
        sf.delay = 0
        deliver(session, app)
        assert len(sf.cases) == 1
    assert case_of(session, question).state == "open"


def test_crm_down_until_the_last_attempt_fails_the_case(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeHubSpot() as hs:
        _hubspot(crm_settings, hs)
        crm_settings(OUTBOX_MAX_ATTEMPTS=2)
        escalate(session, users["moderator"], question)
        hs.fail_next(500, n=10)
        deliver(session, app), deliver(session, app)
        assert not hs.tickets
    case = case_of(session, question)
    assert case.state == "failed" and "500" in case.last_error


def test_refresh_reads_the_closed_case_from_salesforce(session, app, users, ask, crm_settings):
    question = ask(users["member"])
    with crm_fakes.FakeSalesforce() as sf:
        _salesforce(crm_settings, sf)
        escalate(session, users["moderator"], question)
        deliver(session, app)
        case = case_of(session, question)
        sf.close_case(case.case_id, RESOLUTION)
        with pytest.raises(PermissionDenied), transaction(session):
            crm_cases.refresh(session, actor=users["member"], case_id=case.id)
        with transaction(session):
            crm_cases.refresh(session, actor=users["moderator"], case_id=case.id)
    case = case_of(session, question)
    assert (case.state, case.status, case.resolution) == ("closed", "Closed", RESOLUTION) and case.closed_at


def test_refresh_of_a_case_not_opened_yet_is_refused(session, users, ask, stub):
    case = escalate(session, users["moderator"], ask(users["member"]))
    with pytest.raises(RuleViolation), transaction(session):
        crm_cases.refresh(session, actor=users["moderator"], case_id=case.id)


# --- updates from the CRM and the resolution as an answer ---------------------------------------------


@pytest.fixture
def open_case(session, app, users, ask, stub):
    question = ask(users["member"])
    escalate(session, users["moderator"], question)
    deliver(session, app)
    return case_of(session, question)


def close(session, case, resolution=RESOLUTION):
    with transaction(session):
        return crm_cases.apply_update(session, connector=case.connector, case_id=case.case_id, case_number="00042",
                                      status="Closed", closed=True, resolution=resolution)  # fmt: skip


def test_update_from_the_crm_closes_the_case_with_its_resolution(session, open_case, events):
    close(session, open_case)
    close(session, open_case)  # the CRM may repeat itself
    case = case_of(session, session.get(Question, open_case.question_id))
    assert (case.state, case.case_number, case.status, case.resolution) == ("closed", "00042", "Closed", RESOLUTION)
    assert any(e["name"] == "crm_case_updated" and e["room"] == f"user:{case.escalated_by_id}" for e in events)


def test_update_for_an_unknown_case_is_not_found(session, open_case):
    with pytest.raises(NotFound), transaction(session):
        crm_cases.apply_update(session, connector="webhook", case_id="nope", closed=True)


def test_reopened_case_leaves_the_closed_state(session, open_case):
    close(session, open_case)
    with transaction(session):
        crm_cases.apply_update(session, connector="webhook", case_id=open_case.case_id, status="Reopened")
    case = case_of(session, session.get(Question, open_case.question_id))
    assert (case.state, case.closed_at, case.resolution) == ("open", None, RESOLUTION)


def test_posting_the_resolution_creates_exactly_one_answer(session, users, open_case):
    close(session, open_case)
    with transaction(session):
        answer = crm_cases.post_resolution(session, actor=users["moderator"], case_id=open_case.id)
    with pytest.raises(Conflict), transaction(session):
        crm_cases.post_resolution(session, actor=users["admin"], case_id=open_case.id)
    answers = session.scalars(select(Answer).where(Answer.question_id == open_case.question_id)).all()
    assert [(a.id, a.body, a.author_id) for a in answers] == [(answer.id, RESOLUTION, users["moderator"].id)]
    assert case_of(session, session.get(Question, open_case.question_id)).resolution_answer_id == answer.id


def test_staff_can_edit_the_resolution_before_posting(session, users, open_case):
    close(session, open_case)
    edited = "We re-issued the invoice; you will find it under Billing > Invoices within the hour."
    with transaction(session):
        answer = crm_cases.post_resolution(session, actor=users["admin"], case_id=open_case.id, body=edited)
    assert answer.body == edited


def test_resolution_of_an_open_case_or_by_a_member_is_refused(session, users, open_case):
    with pytest.raises(RuleViolation), transaction(session):
        crm_cases.post_resolution(session, actor=users["moderator"], case_id=open_case.id)
    close(session, open_case)
    with pytest.raises(PermissionDenied), transaction(session):
        crm_cases.post_resolution(session, actor=users["member"], case_id=open_case.id)
    assert session.scalar(select(func.count(Answer.id))) == 0


# --- auto-escalation ---------------------------------------------------------------------------------------


@pytest.fixture
def categories(session, category):
    with transaction(session):
        other = Category(slug="setup", name="Setup")
        session.add(other)
    return category, other


def save_settings(session, users, categories, hours=None):
    with transaction(session):
        crm_escalation.save(session, actor=users["admin"], categories=[c.id for c in categories], hours=hours)


def age(session, question, hours):
    with transaction(session):
        session.execute(update(Question).where(Question.id == question.id)
                        .values(created_at=utcnow() - timedelta(hours=hours)))  # fmt: skip


def run_due(session, **kw):
    with transaction(session):
        return crm_cases.escalate_due(session, **kw)


def test_auto_escalation_after_the_hours_only_in_chosen_categories_and_once(session, users, ask, answer, categories,
                                                                           stub):  # fmt: skip
    billing, setup = categories
    save_settings(session, users, [billing], hours=6)
    due = ask(users["member"])
    young = ask(users["member"])
    elsewhere = ask(users["member"], category=setup.slug)
    answered = ask(users["member"])
    answer(users["other"], answered)
    for q, hours in ((due, 7), (young, 5), (elsewhere, 30), (answered, 30)):
        age(session, q, hours)
    assert run_due(session) == 1
    assert run_due(session) == 0
    case = case_of(session, due)
    assert (case.automatic, case.escalated_by_id, case.state) == (True, None, "queued")
    assert session.scalar(select(func.count(CrmCase.id))) == 1


def test_auto_escalation_hours_default_to_the_setting_from_config(session, app, users, ask, categories, stub,
                                                                  crm_settings):  # fmt: skip
    crm_settings(CRM_ESCALATE_AFTER_HOURS=24)
    save_settings(session, users, categories[:1])
    question = ask(users["member"])
    age(session, question, 23)
    assert run_due(session) == 0
    assert run_due(session, now=utcnow() + timedelta(hours=2)) == 1


def test_no_chosen_category_escalates_nothing(session, users, ask, stub):
    age(session, ask(users["member"]), 1000)
    assert run_due(session) == 0


def test_settings_are_for_admins_and_checked(session, users, categories):
    with pytest.raises(PermissionDenied), transaction(session):
        crm_escalation.save(session, actor=users["moderator"], categories=[], hours=None)
    with pytest.raises(RuleViolation) as caught, transaction(session):
        crm_escalation.save(session, actor=users["admin"], categories=[999_999], hours="0")
    assert set(caught.value.fields) == {"categories", "hours"}


def test_relay_loop_checks_for_due_questions_at_most_every_interval(session, app, users, ask, categories, stub,
                                                                    crm_settings):  # fmt: skip
    crm_settings(CRM_ESCALATION_CHECK_SECONDS=300)
    save_settings(session, users, categories[:1], hours=1)
    first, second = ask(users["member"]), ask(users["member"])
    age(session, first, 2)
    relay._escalation_checked.clear()
    assert relay.escalate_cases_if_due(session, config=app.config, clock=lambda: 1000.0) == 1
    age(session, second, 2)
    assert relay.escalate_cases_if_due(session, config=app.config, clock=lambda: 1200.0) == 0
    assert relay.escalate_cases_if_due(session, config=app.config, clock=lambda: 1301.0) == 1
    relay._escalation_checked.clear()


def test_cli_escalate_due(app, session, users, ask, categories, stub):
    save_settings(session, users, categories[:1], hours=1)
    age(session, ask(users["member"]), 2)
    result = app.test_cli_runner().invoke(args=["crm", "escalate-due"])
    assert result.exit_code == 0, result.output
    assert "1 question(s) escalated to webhook" in result.output


def test_cli_escalate_due_without_a_connector_fails(app, crm_settings):
    crm_settings(CRM_CONNECTORS="", CRM_CASE_CONNECTOR="")
    result = app.test_cli_runner().invoke(args=["crm", "escalate-due"])
    assert result.exit_code != 0 and "No CRM connector" in result.output

