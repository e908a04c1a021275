"""``flask crm ...``: sync, worker, resync with its progress bar, status, retry, link."""

import crm_fakes
import crm_recorder
import pytest
from sqlalchemy import func, select

from community.db import transaction
from community.integrations import relay
from community.models import CrmLink, CrmResync, OutboxMessage
from community.models.outbox import DEAD, DONE, PENDING
from community.services import crm


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def hubspot(app, users, crm_settings, monkeypatch):
    crm_settings(CRM_CONNECTORS="hubspot")
    return crm_recorder.use(monkeypatch, app)


def _count(session, status=None):
    session.expire_all()
    stmt = select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == crm.topic("hubspot"))
    return session.scalar(stmt if status is None else stmt.where(OutboxMessage.status == status))


def _queue(session, users, *roles):
    with transaction(session):
        crm.members_changed(session, [users[r].id for r in roles])


def _invoke(runner, *args):
    result = runner.invoke(args=["crm", *args])
    return result


def test_sync_once_delivers_what_is_due_and_prints_counts(runner, session, users, hubspot):
    _queue(session, users, "member", "other")
    hubspot.refuse = {"other@example.com"}
    result = _invoke(runner, "sync", "--once")
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 to retry, 1 dead" in result.output
    assert sorted(hubspot.sent) == sorted([users["member"].id, users["other"].id])


def test_sync_without_a_connector_says_so(runner, app, crm_settings):
    crm_settings(CRM_CONNECTORS="")
    result = _invoke(runner, "sync", "--once")
    assert result.exit_code == 0 and "No CRM connector is enabled" in result.output


def test_resync_delivers_with_a_progress_bar(runner, session, users, hubspot):
    result = _invoke(runner, "resync", "hubspot")
    assert result.exit_code == 0, result.output
    assert "5 member(s) queued for hubspot" in result.output and "Sending to hubspot" in result.output
    assert "5 sent, 0 dead, 0 waiting for a retry." in result.output
    assert _count(session, DONE) == 5 and session.scalar(select(CrmResync.finished_at)) is not None


def test_resync_queue_only_leaves_delivery_to_the_worker(runner, session, users, hubspot):
    result = _invoke(runner, "resync", "hubspot", "--queue-only")
    assert result.exit_code == 0 and "Sending" not in result.output
    assert _count(session, PENDING) == 5 and hubspot.sent == []


def test_resync_leaves_rows_waiting_for_a_retry_to_the_worker(runner, session, users, hubspot):
    hubspot.down = True
    result = _invoke(runner, "resync", "hubspot", "--wait", "0")
    assert result.exit_code == 0, result.output
    assert "0 sent, 0 dead, 5 waiting for a retry (a worker will send them)." in result.output


def test_resync_of_a_connector_that_is_off_fails_clearly(runner, users, hubspot):
    result = _invoke(runner, "resync", "salesforce")
    assert result.exit_code == 1 and "not enabled" in result.output


def test_status_lists_every_connector(runner, session, users, hubspot):
    _queue(session, users, "member", "other")
    hubspot.refuse = {"other@example.com"}
    _invoke(runner, "sync", "--once")
    _queue(session, users, "admin")
    result = _invoke(runner, "status")
    assert result.exit_code == 0, result.output
    lines = {line.split(":", 1)[0]: line for line in result.output.splitlines()}
    assert "enabled; waiting 1, failing 0, dead 1, delivered 1" in lines["hubspot"]
    assert "1 linked member(s)" in lines["hubspot"] and lines["salesforce"].startswith("salesforce: off")


def test_retry_needs_id_or_all(runner, users, hubspot):
    assert _invoke(runner, "retry").exit_code == 2
    assert _invoke(runner, "retry", "--id", "1", "--all").exit_code == 2


def test_retry_one_and_all(runner, session, users, hubspot):
    _queue(session, users, "member", "other")
    hubspot.refuse = {"member@example.com", "other@example.com"}
    _invoke(runner, "sync", "--once")
    first = session.scalar(select(func.min(OutboxMessage.id)).where(OutboxMessage.status == DEAD))
    result = _invoke(runner, "retry", "--id", str(first))
    assert result.exit_code == 0 and "1 message(s) queued again." in result.output
    assert _count(session, DEAD) == 1
    assert "1 message(s) queued again." in _invoke(runner, "retry", "--all").output
    assert _count(session, DEAD) == 0
    result = _invoke(runner, "retry", "--id", str(first))
    assert result.exit_code == 1 and "No dead CRM message" in result.output


def test_link_records_an_external_id_from_sso(runner, session, users, hubspot):
    result = _invoke(runner, "link", str(users["member"].id), "hubspot", "HS-777", "--by", "sso")
    assert result.exit_code == 0, result.output
    session.expire_all()
    link = session.scalars(select(CrmLink).where(CrmLink.user_id == users["member"].id)).one()
    assert (link.contact_id, link.linked_by) == ("HS-777", "sso")
    assert _count(session, PENDING) == 1  # the contact learns its community id at the next sync


def test_link_refuses_a_contact_linked_to_someone_else(runner, users, hubspot):
    _invoke(runner, "link", str(users["member"].id), "hubspot", "HS-1")
    result = _invoke(runner, "link", str(users["other"].id), "hubspot", "HS-1")
    assert result.exit_code == 1 and "linked to another member" in result.output


def test_worker_without_redis_runs_the_polling_relay(runner, app, crm_settings, monkeypatch):
    crm_settings(REDIS_URL=None)
    seen = []

    def loop(the_app, **_kw):
        seen.append(the_app)
        raise KeyboardInterrupt

    monkeypatch.setattr(relay, "loop", loop)
    result = _invoke(runner, "worker")
    assert result.exit_code == 0 and "No REDIS_URL" in result.output and "stopped" in result.output
    assert seen == [app]


def test_resync_through_the_signed_webhook_to_a_fake_receiver(runner, session, users, crm_settings):
    with crm_fakes.FakeWebhook("cli-secret") as hook:
        crm_settings(CRM_CONNECTORS="webhook", CRM_WEBHOOK_URL=hook.url, CRM_WEBHOOK_SECRET="cli-secret",
                     CRM_HTTP_TIMEOUT=3.0)  # fmt: skip
        result = _invoke(runner, "resync", "webhook")
        assert result.exit_code == 0, result.output
        assert "5 sent, 0 dead" in result.output
        assert sorted(hook.records) == sorted(str(u.id) for u in users.values())
        assert hook.rejected == []
        assert hook.records[str(users["member"].id)]["email"] == "member@example.com"
