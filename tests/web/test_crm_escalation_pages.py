"""The staff "Support case" box on the question page, its buttons, and /admin/crm/escalation."""

import json

import crm_fakes
import pytest
from flask import g
from markupsafe import escape
from sqlalchemy import func, select, update

from community.db import transaction, utcnow
from community.extensions import db
from community.integrations import crm_signing, relay
from community.models import Answer, CrmCase, OutboxMessage, Setting
from community.models.outbox import PENDING
from community.services import crm_cases
from tests.conftest import count_queries

SECRET = "inbound-secret"  # noqa: S105
RESOLUTION = "We re-issued the invoice with the new plan's price; it is in Billing > Invoices now."


@pytest.fixture(autouse=True)
def _cases_to_the_webhook(crm_settings):
    crm_settings(CRM_CONNECTORS="webhook", CRM_CASE_CONNECTOR="", CRM_WEBHOOK_SECRET=SECRET)


@pytest.fixture
def question(users, ask):
    return ask(users["member"])


def url(question):
    return f"/questions/{question.id}/{question.slug}"


def login(auth, users, role):
    assert auth.login(email=users[role].email).status_code == 302


def make_case(session, question, **fields):
    values = {"connector": "webhook", "state": "open", "case_id": "WC-9", "case_number": "00001009", "status": "New"}
    values.update(fields)
    with transaction(session):
        case = CrmCase(question_id=question.id, **values)
        session.add(case)
    return case


def cases(session):
    session.expire_all()
    return session.scalars(select(CrmCase)).all()


# --- who sees and may use it --------------------------------------------------------------------------


def test_members_see_no_support_case_box(client, auth, users, session, question):
    make_case(session, question)
    login(auth, users, "member")
    html = client.get(url(question)).text
    assert "Support case" not in html and "00001009" not in html


def test_members_cannot_escalate_refresh_or_post(client, auth, users, session, question):
    case = make_case(session, question, state="closed", resolution=RESOLUTION)
    login(auth, users, "member")
    assert client.post(f"/questions/{question.id}/escalate", data={"note": ""}).status_code == 403
    assert client.post(f"/crm/cases/{case.id}/refresh").status_code == 403
    assert client.post(f"/crm/cases/{case.id}/post-answer", data={f"case{case.id}-body": RESOLUTION}).status_code == 403
    assert session.scalar(select(func.count(Answer.id))) == 0


def test_anonymous_visitors_are_sent_to_log_in(client, question):
    response = client.post(f"/questions/{question.id}/escalate", data={"note": ""})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_escalate_needs_a_csrf_token_when_csrf_is_on():
    from tests.conftest import build_app

    app = build_app(WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/questions/1/escalate", data={"note": ""})
    assert response.status_code == 400
    with app.app_context():
        db.engine.dispose()


def test_no_box_when_no_connector_takes_cases(client, auth, users, question, crm_settings):
    crm_settings(CRM_CONNECTORS="", CRM_CASE_CONNECTOR="")
    login(auth, users, "moderator")
    assert "Support case" not in client.get(url(question)).text


# --- escalating ---------------------------------------------------------------------------------------------


def test_staff_escalate_with_a_note_and_see_the_queued_case(client, auth, users, session, question):
    login(auth, users, "moderator")
    html = client.get(url(question)).text
    assert "Escalate to a support case" in html and 'name="csrf_token"' in html
    response = client.post(f"/questions/{question.id}/escalate", data={"note": "Customer is on Pro."})
    assert response.status_code == 302 and response.headers["Location"].endswith("#support-case")
    (case,) = cases(session)
    assert (case.state, case.note, case.escalated_by_id) == ("queued", "Customer is on Pro.", users["moderator"].id)
    html = client.get(url(question)).text
    assert "Queued" in html and "by Moderator User" in html and "Escalate to a support case" not in html


def test_a_too_long_note_is_shown_beside_the_field(client, auth, users, session, question):
    login(auth, users, "admin")
    response = client.post(f"/questions/{question.id}/escalate", data={"note": "x" * (crm_cases.NOTE_MAX + 1)})
    assert response.status_code == 422
    assert 'class="field-error"' in response.text and "At most 2,000 characters." in response.text
    assert cases(session) == []


def test_a_second_escalation_is_refused_with_a_message(client, auth, users, session, question):
    make_case(session, question)
    login(auth, users, "admin")
    response = client.post(f"/questions/{question.id}/escalate", data={"note": ""}, follow_redirects=True)
    assert "has a support case in webhook already" in response.text
    assert len(cases(session)) == 1


def test_the_case_opens_through_the_fake_webhook_and_shows_its_number(app, client, auth, users, session, question,
                                                                      crm_settings):  # fmt: skip
    with crm_fakes.FakeWebhook(SECRET) as hook:
        crm_settings(CRM_WEBHOOK_URL=hook.url, CRM_HTTP_TIMEOUT=2)
        login(auth, users, "admin")
        client.post(f"/questions/{question.id}/escalate", data={"note": ""})
        relay.run_once(session, config=app.config)
    (case,) = cases(session)
    html = client.get(url(question)).text
    assert case.state == "open" and case.case_number in html and "Refresh from the CRM" in html


def test_a_failed_case_shows_the_error_and_can_be_escalated_again(client, auth, users, session, question):
    make_case(session, question, state="failed", case_id=None, case_number=None, status=None,
              last_error="DeliveryError: webhook: HTTP 400: unknown field")  # fmt: skip
    login(auth, users, "moderator")
    html = client.get(url(question)).text
    assert "Failed" in html and "HTTP 400: unknown field" in html and "Escalate to a support case" in html
    client.post(f"/questions/{question.id}/escalate", data={"note": ""})
    (case,) = cases(session)
    assert case.state == "queued" and case.last_error is None


def test_a_failing_delivery_ends_failed_with_the_error_on_the_page(app, client, auth, users, session, question,
                                                                   crm_settings):  # fmt: skip
    with crm_fakes.FakeWebhook(SECRET) as hook:
        crm_settings(CRM_WEBHOOK_URL=hook.url, CRM_HTTP_TIMEOUT=2, OUTBOX_MAX_ATTEMPTS=2)
        hook.fail_next(500, n=5)
        login(auth, users, "moderator")
        client.post(f"/questions/{question.id}/escalate", data={"note": ""})
        for _ in range(2):
            with transaction(session):
                session.execute(update(OutboxMessage).where(OutboxMessage.status == PENDING).values(available_at=utcnow()))
            relay.run_once(session, config=app.config)
    (case,) = cases(session)
    assert case.state == "failed"
    html = client.get(url(question)).text
    assert "Failed" in html and "HTTP 500" in html


# --- refresh, closing, posting the resolution ---------------------------------------------------------------


def test_refresh_reads_the_case_from_the_crm(app, client, auth, users, session, question, crm_settings):
    with crm_fakes.FakeWebhook(SECRET) as hook:
        crm_settings(CRM_WEBHOOK_URL=hook.url, CRM_HTTP_TIMEOUT=2)
        login(auth, users, "admin")
        client.post(f"/questions/{question.id}/escalate", data={"note": ""})
        relay.run_once(session, config=app.config)
        (case,) = cases(session)
        hook.close_case(case.case_id, RESOLUTION)
        response = client.post(f"/crm/cases/{case.id}/refresh", follow_redirects=True)
    assert "refreshed from the CRM" in response.text
    (case,) = cases(session)
    assert (case.state, case.resolution) == ("closed", RESOLUTION)


def push(client, event):
    body = json.dumps(event).encode()
    return client.post("/crm/inbound", data=body,
                       headers={**crm_signing.sign(SECRET, body), "Content-Type": "application/json"})  # fmt: skip


def test_inbound_close_then_post_as_answer_creates_exactly_one_answer(client, auth, users, session, question):
    case = make_case(session, question)
    event = {"event": "case.updated", "connector": "webhook", "case_id": "WC-9", "case_number": "00001009",
             "status": "Solved", "closed": True, "resolution": RESOLUTION}  # fmt: skip
    assert push(client, event).status_code == 200
    assert push(client, event).status_code == 200  # repeated push: same state
    login(auth, users, "moderator")
    html = client.get(url(question)).text
    assert "Solved" in html and str(escape(RESOLUTION)) in html and "Post as answer" in html
    field = f"case{case.id}-body"
    response = client.post(f"/crm/cases/{case.id}/post-answer", data={field: RESOLUTION})
    assert response.status_code == 302 and "#answer-" in response.headers["Location"]
    again = client.post(f"/crm/cases/{case.id}/post-answer", data={field: RESOLUTION}, follow_redirects=True)
    assert "posted as an answer already" in again.text
    answers = session.scalars(select(Answer).where(Answer.question_id == question.id)).all()
    assert [(a.body, a.author_id) for a in answers] == [(RESOLUTION, users["moderator"].id)]
    html = client.get(url(question)).text
    assert "Posted as an answer." in html and "Post as answer" not in html


def test_inbound_update_for_an_unknown_case_is_404(client):
    event = {"event": "case.updated", "connector": "webhook", "case_id": "nope", "closed": True}
    assert push(client, event).status_code == 404


def test_an_edited_resolution_that_is_too_short_is_shown_beside_the_field(client, auth, users, session, question):
    case = make_case(session, question, state="closed", resolution=RESOLUTION)
    login(auth, users, "admin")
    response = client.post(f"/crm/cases/{case.id}/post-answer", data={f"case{case.id}-body": "Fixed."})
    assert response.status_code == 422 and 'class="field-error"' in response.text
    assert f'id="case{case.id}-body"' in response.text
    assert session.scalar(select(func.count(Answer.id))) == 0


# --- query count -----------------------------------------------------------------------------------------


def cold_get(client, path):
    db.session.expunge_all()
    g.pop("_login_user", None)
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return statements


def test_the_box_costs_one_query_whatever_the_case_holds(client, auth, users, session, ask, answer):
    plain = ask(users["member"], title="Invoice shows the wrong amount again")
    with_case = ask(users["member"])
    for n in range(5):
        answer(users["other"], with_case, body=f"Open Billing, then Invoices, and press Recalculate ({n}).")
    make_case(session, with_case, state="closed", resolution=RESOLUTION, escalated_by_id=users["admin"].id)
    plain_url, case_url = url(plain), url(with_case)
    member, moderator = users["member"].email, users["moderator"].email
    auth.login(email=member)
    member_view = cold_get(client, case_url)
    auth.logout()
    auth.login(email=moderator)
    without, with_ = cold_get(client, plain_url), cold_get(client, case_url)
    assert len(with_) == len(without), with_
    assert sum("crm_cases" in s for s in with_) == 1 and not any("crm_cases" in s for s in member_view)
    assert "Post as answer" in client.get(case_url).text


# --- the admin page ------------------------------------------------------------------------------------


def test_admin_page_is_for_admins(client, auth, users):
    assert client.get("/admin/crm/escalation").status_code == 302
    for role in ("member", "moderator", "marketer"):
        login(auth, users, role)
        assert client.get("/admin/crm/escalation").status_code == 403
        auth.logout()


def test_admin_chooses_categories_and_hours(client, auth, users, session, category):
    login(auth, users, "admin")
    html = client.get("/admin/crm/escalation").text
    assert 'type="checkbox"' in html and "Billing" in html and "Leave empty for the default, 24" in html
    response = client.post("/admin/crm/escalation", data={"categories": [str(category.id)], "hours": "6"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Setting, "crm.escalation").value == {"categories": [category.id], "hours": 6.0}
    assert 'checked' in client.get("/admin/crm/escalation").text


def test_bad_hours_are_shown_beside_the_field(client, auth, users, session, category):
    login(auth, users, "admin")
    response = client.post("/admin/crm/escalation", data={"categories": [str(category.id)], "hours": "-3"})
    assert response.status_code == 422 and 'class="field-error"' in response.text
    assert "Enter a number of hours above 0" in response.text
    assert session.get(Setting, "crm.escalation") is None


def test_the_crm_admin_page_links_to_auto_escalation(client, auth, users):
    login(auth, users, "admin")
    assert 'href="/admin/crm/escalation"' in client.get("/admin/crm").text
