"""The generic webhook connector against the fake receiver over real sockets: signatures,
idempotency keys, batching and faults (docs/crm.md, "Connectors")."""

import hashlib
import json

import crm_fakes
import pytest

from community.integrations import crm_signing
from community.integrations.crm_base import CaseRequest, DeliveryError, SyncRecord
from community.integrations.crm_webhook import WebhookConnector

SECRET = "hook-secret"


@pytest.fixture
def hook():
    with crm_fakes.FakeWebhook(SECRET) as fake:
        yield fake


def _config(hook, **overrides):
    cfg = {"CRM_WEBHOOK_URL": hook.url, "CRM_WEBHOOK_SECRET": SECRET, "CRM_HTTP_TIMEOUT": 2.0, **overrides}
    return {k: v for k, v in cfg.items() if v is not None}


def _record(uid, reputation=10):
    fields = {"community_user_id": str(uid), "email": f"m{uid}@example.com", "reputation": reputation,
              "badges": ["Helper"], "opt_out": False}  # fmt: skip
    return SyncRecord(user_id=uid, fields=fields, email=f"m{uid}@example.com")


def test_one_signed_post_per_batch_with_the_body_hash_as_idempotency_key(hook):
    results = WebhookConnector(_config(hook)).upsert([_record(1), _record(2)])
    assert [(r.ok, r.contact_id) for r in results] == [(True, "1"), (True, "2")]
    [(headers, data)] = hook.received
    assert data["event"] == "advocate.snapshot" and [r["community_user_id"] for r in data["records"]] == ["1", "2"]
    raw = hook.requests[-1]["body"].encode()
    assert headers[crm_signing.IDEMPOTENCY_HEADER] == hashlib.sha256(raw).hexdigest()
    assert crm_signing.verify(SECRET, headers, raw) is None
    assert hook.records["1"]["reputation"] == 10


def test_a_repeated_batch_is_acknowledged_but_not_applied_twice(hook):
    connector = WebhookConnector(_config(hook))
    connector.upsert([_record(1)])
    assert connector.upsert([_record(1)])[0].ok
    assert hook.duplicates == 1 and len(hook.writes["1"]) == 1


def test_a_changed_snapshot_has_a_new_key_and_is_applied(hook):
    connector = WebhookConnector(_config(hook))
    connector.upsert([_record(1, 10)])
    connector.upsert([_record(1, 20)])
    assert hook.history("1", "reputation") == [10, 20] and hook.duplicates == 0


def test_wrong_secret_is_permanent_and_names_the_setting(hook):
    with pytest.raises(DeliveryError) as err:
        WebhookConnector(_config(hook, CRM_WEBHOOK_SECRET="other")).upsert([_record(1)])
    assert err.value.status == 401 and not err.value.retryable and "CRM_WEBHOOK_SECRET" in str(err.value)
    assert hook.rejected == ["signature does not match"] and not hook.records


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False), (410, False)])
def test_status_codes_map_to_retryable_or_permanent(hook, status, retryable):
    hook.fail_next(status)
    with pytest.raises(DeliveryError) as err:
        WebhookConnector(_config(hook)).upsert([_record(1)])
    assert err.value.retryable is retryable and err.value.status == status


def test_429_honours_retry_after(hook):
    hook.fail_next(429, headers={"Retry-After": "12"})
    with pytest.raises(DeliveryError) as err:
        WebhookConnector(_config(hook)).upsert([_record(1)])
    assert (err.value.retry_after, err.value.throttled) == (12, True)


def test_cut_after_apply_then_retry_is_deduplicated(hook):
    connector = WebhookConnector(_config(hook))
    hook.cut_after_apply()
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(1)])
    assert err.value.retryable and hook.records["1"]["reputation"] == 10
    assert connector.upsert([_record(1)])[0].ok
    assert hook.duplicates == 1 and len(hook.writes["1"]) == 1


def test_timeout_and_down_are_retryable(hook):
    connector = WebhookConnector(_config(hook, CRM_HTTP_TIMEOUT=0.2))
    hook.delay = 0.5
    with pytest.raises(DeliveryError) as slow:
        connector.upsert([_record(1)])
    hook.delay = 0
    hook.down()
    with pytest.raises(DeliveryError) as down:
        connector.upsert([_record(1)])
    hook.up()
    assert slow.value.retryable and down.value.retryable and "timed out" in str(slow.value)
    assert connector.upsert([_record(1)])[0].ok


@pytest.mark.parametrize("missing", ["CRM_WEBHOOK_URL", "CRM_WEBHOOK_SECRET"])
def test_missing_settings_are_permanent_and_named(hook, missing):
    with pytest.raises(DeliveryError) as err:
        WebhookConnector(_config(hook, **{missing: None})).upsert([_record(1)])
    assert not err.value.retryable and missing in str(err.value) and not hook.requests


def test_receiver_may_name_its_contact_ids(hook):
    hook.fail_next(200, body={"ok": True, "contacts": {"1": "C-77"}})
    assert WebhookConnector(_config(hook)).upsert([_record(1), _record(2)])[0].contact_id == "C-77"


def test_ping_profile_and_cases(hook):
    connector = WebhookConnector(_config(hook))
    assert "answered HTTP 200" in connector.ping()
    hook.set_profile(1, {"account_name": "Acme", "tier": "Silver", "products": "A;B", "open_cases": "1",
                         "lifetime_value": None, "owner": "Ola"})  # fmt: skip
    assert connector.fetch_profile(contact_id="1", record=_record(1)) == {
        "account_name": "Acme", "tier": "Silver", "products": ["A", "B"], "open_cases": 1, "lifetime_value": None,
        "owner": "Ola"}  # fmt: skip
    case = CaseRequest(question_id=5, subject="S", description="D", thread_url="http://c.test/q/5")
    first = connector.upsert_case(case)
    assert first.case_id == connector.upsert_case(case).case_id and len(hook.cases) == 1
    hook.close_case(first.case_id, "Answered by support")
    closed = connector.get_case(first.case_id)
    assert (closed.closed, closed.resolution) == (True, "Answered by support")
    body = json.loads(hook.requests[-1]["body"])
    assert body == {"event": "case.get", "case_id": first.case_id}
