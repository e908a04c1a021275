"""CRM delivery through RQ against a real Redis (database 15, flushed before and after).

Skipped with the reason when no Redis answers (TEST_REDIS_URL or REDIS_URL, else 127.0.0.1:6379).
"""


import crm_fakes
import crm_recorder
import pytest
from sqlalchemy import select

from community.db import transaction
from community.integrations import crm_jobs
from community.models import OutboxMessage
from community.models.outbox import DONE, PENDING
from community.services import crm, crm_sync, votes
from tests.conftest import REDIS_TEST_URL, redis_unreachable

REDIS_URL = REDIS_TEST_URL

_REASON = redis_unreachable()
pytestmark = [pytest.mark.redis, pytest.mark.skipif(_REASON is not None, reason=_REASON or "")]


@pytest.fixture
def redis_db():
    conn = crm_jobs.connection(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def rq_crm(app, users, crm_settings, redis_db):
    """REDIS_URL set, HubSpot on (an in-memory connector unless a test points it at a fake)."""
    crm_settings(CRM_CONNECTORS="hubspot", REDIS_URL=REDIS_URL)
    return crm_jobs.queue(app.config)


def _vote(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=question.id, value=1)
    return question


def _work(queue):
    from rq import SimpleWorker

    return SimpleWorker([queue], connection=queue.connection).work(burst=True)


def _rows(session, status=None):
    session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.topic == crm.topic("hubspot"))
    return list(session.scalars(stmt if status is None else stmt.where(OutboxMessage.status == status)))


def test_a_vote_queues_one_job(session, users, ask, rq_crm):
    rq_crm.empty()
    _vote(session, users, ask)
    assert rq_crm.count == 1
    assert rq_crm.jobs[0].func_name == "community.integrations.crm_jobs.run_relay"


def test_more_commits_while_a_job_waits_add_no_job(session, users, ask, rq_crm):
    question = _vote(session, users, ask)
    with transaction(session):
        votes.cast(session, actor=users["admin"], post_id=question.id, value=1)
    assert rq_crm.count == 1


def test_no_redis_url_means_no_job(session, users, ask, rq_crm, crm_settings):
    crm_settings(REDIS_URL=None)
    _vote(session, users, ask)
    assert rq_crm.count == 0


def test_a_burst_worker_delivers_to_the_fake_hubspot(session, users, ask, rq_crm, crm_settings):
    with crm_fakes.FakeHubSpot() as hs:
        crm_settings(HUBSPOT_BASE_URL=hs.url, HUBSPOT_TOKEN=hs.token, HUBSPOT_ID_PROPERTY="email",
                     CRM_HTTP_TIMEOUT=3.0)  # fmt: skip
        _vote(session, users, ask)
        assert _work(rq_crm)
        assert _rows(session, PENDING) == [] and _rows(session, DONE)
        contact = hs.contact_by_email("member@example.com")
        assert contact["properties"]["community_reputation"] == "210"  # 200 + an upvote


def test_a_change_committed_during_a_run_wakes_the_next_job(session, users, rq_crm, monkeypatch, app):
    recorder = crm_recorder.use(monkeypatch, app)
    calls = []

    def upsert(records):
        if not calls:  # a member changes while the first job is sending
            with transaction(session):
                crm.members_changed(session, [users["admin"].id])
        calls.append([r.user_id for r in records])
        return crm_recorder.Recorder.upsert(recorder, records)

    monkeypatch.setattr(recorder, "upsert", upsert)
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    _work(rq_crm)
    assert calls == [[users["member"].id], [users["admin"].id]]


def test_rows_waiting_for_a_retry_schedule_a_delayed_job(session, users, rq_crm, monkeypatch, app):
    from rq.registry import ScheduledJobRegistry

    recorder = crm_recorder.use(monkeypatch, app)
    recorder.down = True
    with transaction(session):
        crm.members_changed(session, [users["member"].id])
    _work(rq_crm)
    assert [m.last_error for m in _rows(session, PENDING)] == ["hubspot: HTTP 503"]
    scheduled = ScheduledJobRegistry(queue=rq_crm)
    assert scheduled.count == 1 and rq_crm.count == 0
    assert crm_jobs.enqueue(app.config, delay=5) is False  # one delayed job at a time


def test_a_resync_and_a_retry_wake_a_worker(session, users, rq_crm, monkeypatch, app):
    crm_recorder.use(monkeypatch, app)
    with transaction(session):
        crm_sync.start_resync(session, actor=users["admin"], connector="hubspot")
    assert rq_crm.count == 1
    _work(rq_crm)
    assert len(_rows(session, DONE)) == 5


def test_flask_crm_worker_burst_runs_the_queued_jobs(session, users, rq_crm, monkeypatch, app):
    recorder = crm_recorder.use(monkeypatch, app)
    with transaction(session):
        crm.members_changed(session, [users["member"].id, users["other"].id])
    result = app.test_cli_runner().invoke(args=["crm", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "RQ worker on queue 'crm'" in result.output
    assert sorted(recorder.sent) == sorted([users["member"].id, users["other"].id])


def test_redis_down_never_breaks_the_commit(session, users, ask, app, crm_settings, caplog):
    crm_settings(CRM_CONNECTORS="hubspot", REDIS_URL="redis://127.0.0.1:1/15")
    _vote(session, users, ask)
    assert _rows(session, PENDING) and "could not queue an RQ job" in caplog.text
