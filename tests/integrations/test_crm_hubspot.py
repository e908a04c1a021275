"""The HubSpot connector against the fake account over real sockets: batch upsert and update,
207 partial failures, 429 and the rate-limit window, faults (docs/crm.md, "Connectors")."""

import json

import crm_fakes
import pytest

from community.integrations.crm_base import CaseRequest, DeliveryError, SyncRecord
from community.integrations.crm_hubspot import HubSpotConnector


@pytest.fixture
def hs():
    with crm_fakes.FakeHubSpot() as fake:
        yield fake


def _config(hs, **overrides):
    cfg = {"HUBSPOT_BASE_URL": hs.url, "HUBSPOT_TOKEN": hs.token, "HUBSPOT_ID_PROPERTY": "email",
           "CRM_HTTP_TIMEOUT": 2.0, **overrides}  # fmt: skip
    return {k: v for k, v in cfg.items() if v is not None}


def _record(uid, reputation=10, contact_id=None, email=None, **props):
    email = email or f"m{uid}@example.com"
    fields = {"email": email, "community_user_id": str(uid), "community_reputation": str(reputation), **props}
    return SyncRecord(user_id=uid, fields=fields, email=email, contact_id=contact_id)


def _calls(hs, suffix):
    return [r for r in hs.requests if r["path"].endswith(suffix)]


def test_first_upsert_creates_contacts_by_email(hs):
    results = HubSpotConnector(_config(hs)).upsert([_record(1), _record(2)])
    assert [(r.ok, r.created) for r in results] == [(True, True), (True, True)]
    contact = hs.contact_by_email("m1@example.com")
    assert results[0].contact_id == contact["id"] and contact["properties"]["community_reputation"] == "10"
    [call] = _calls(hs, "/contacts/batch/upsert")
    assert json.loads(call["body"])["inputs"][0] == {"idProperty": "email", "id": "m1@example.com",
                                                     "properties": _record(1).fields}  # fmt: skip


def test_second_upsert_updates_and_says_not_new(hs):
    connector = HubSpotConnector(_config(hs))
    first = connector.upsert([_record(1, 10)])[0]
    second = connector.upsert([_record(1, 20)])[0]
    assert (second.ok, second.created, second.contact_id) == (True, False, first.contact_id)
    assert hs.history(first.contact_id, "community_reputation") == ["10", "20"]


def test_results_are_matched_by_email_not_by_position(hs):
    existing = hs.add_contact(email="m2@example.com")  # lower id: HubSpot's answer lists it first
    results = HubSpotConnector(_config(hs)).upsert([_record(1), _record(2)])
    assert results[1].contact_id == existing and not results[1].created
    assert results[0].contact_id == hs.contact_by_email("m1@example.com")["id"] and results[0].created


def test_linked_members_are_updated_by_contact_id(hs):
    contact_id = hs.add_contact(email="old@example.com")
    connector = HubSpotConnector(_config(hs))
    results = connector.upsert([_record(1, contact_id=contact_id, email="new@example.com"), _record(2)])
    assert all(r.ok for r in results) and results[0].contact_id == contact_id
    assert hs.contacts[contact_id]["properties"]["email"] == "new@example.com"
    assert len(_calls(hs, "/contacts/batch/update")) == 1 and len(_calls(hs, "/contacts/batch/upsert")) == 1
    assert len(hs.contacts) == 2


def test_rejected_input_in_a_207_fails_alone(hs):
    hs.reject("m2@example.com", "Email address m2@example.com is invalid")
    results = HubSpotConnector(_config(hs)).upsert([_record(1), _record(2), _record(3)])
    assert [r.ok for r in results] == [True, False, True]
    assert "VALIDATION_ERROR" in results[1].error and "is invalid" in results[1].error
    assert not results[1].retryable


def test_update_of_a_deleted_contact_is_a_permanent_record_error(hs):
    result = HubSpotConnector(_config(hs)).upsert([_record(1, contact_id="999999")])[0]
    assert not result.ok and "OBJECT_NOT_FOUND" in result.error and not result.retryable


def test_unknown_property_fails_the_batch_permanently(hs):
    with pytest.raises(DeliveryError) as err:
        HubSpotConnector(_config(hs)).upsert([_record(1, no_such_property="x")])
    assert not err.value.retryable and err.value.status == 400 and "no_such_property" in str(err.value)


def test_hundred_inputs_go_in_one_call(hs):
    connector = HubSpotConnector(_config(hs))
    assert connector.batch_size == 100
    assert all(r.ok for r in connector.upsert([_record(uid) for uid in range(100)]))
    assert len(_calls(hs, "/contacts/batch/upsert")) == 1 and len(hs.contacts) == 100


def test_custom_unique_id_property(hs):
    connector = HubSpotConnector(_config(hs, HUBSPOT_ID_PROPERTY="community_user_id"))
    assert connector.required_fields == ()
    first = connector.upsert([_record(1)])[0]
    second = connector.upsert([_record(1, email="changed@example.com")])[0]
    assert first.contact_id == second.contact_id and not second.created
    assert json.loads(_calls(hs, "/contacts/batch/upsert")[0]["body"])["inputs"][0]["idProperty"] == "community_user_id"


def test_bad_token_is_permanent_and_names_the_setting(hs):
    connector = HubSpotConnector(_config(hs))
    hs.expire_token()
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(1)])
    assert err.value.status == 401 and not err.value.retryable and "HUBSPOT_TOKEN" in str(err.value)


def test_429_honours_retry_after(hs):
    hs.rate_limit(1, 10, retry_after=3)
    connector = HubSpotConnector(_config(hs))
    connector.upsert([_record(1)])
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(2)])
    assert (err.value.status, err.value.retry_after, err.value.retryable, err.value.throttled) == (429, 3, True, True)
    assert "secondly limit" in str(err.value)


def test_429_without_retry_after_waits_for_the_window(hs):
    hs.rate_limit(1, 2.5)
    connector = HubSpotConnector(_config(hs))
    connector.upsert([_record(1)])
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(2)])
    assert err.value.retry_after == 2.5
    assert hs.requests[-1]["path"].endswith("/batch/upsert") and len(hs.contacts) == 1


def test_server_error_is_retryable(hs):
    hs.fail_next(502)
    with pytest.raises(DeliveryError) as err:
        HubSpotConnector(_config(hs)).upsert([_record(1)])
    assert err.value.retryable and err.value.status == 502 and not hs.contacts


def test_timeout_cut_and_down_are_retryable(hs):
    connector = HubSpotConnector(_config(hs, CRM_HTTP_TIMEOUT=0.2))
    hs.delay = 0.5
    with pytest.raises(DeliveryError) as slow:
        connector.upsert([_record(1)])
    hs.delay = 0
    hs.cut_after_apply()
    with pytest.raises(DeliveryError) as cut:
        connector.upsert([_record(2)])
    assert hs.contact_by_email("m2@example.com") is not None
    hs.down()
    with pytest.raises(DeliveryError) as down:
        connector.upsert([_record(3)])
    hs.up()
    assert all(e.value.retryable for e in (slow, cut, down))
    assert "timed out" in str(slow.value) and "cannot reach" in str(down.value)
    assert connector.upsert([_record(2)])[0].created is False


def test_missing_token_is_permanent(hs):
    with pytest.raises(DeliveryError) as err:
        HubSpotConnector(_config(hs, HUBSPOT_TOKEN=None)).upsert([_record(1)])
    assert not err.value.retryable and "HUBSPOT_TOKEN" in str(err.value) and not hs.requests


def test_ping_lists_missing_properties(hs):
    assert "contact properties" in HubSpotConnector(_config(hs)).ping()
    hs.properties["contacts"].discard("community_segment")
    assert "community_segment" in HubSpotConnector(_config(hs)).ping()


def test_fetch_profile_by_id_and_by_email(hs):
    connector = HubSpotConnector(_config(hs))
    contact_id = connector.upsert([_record(1)])[0].contact_id
    hs.set_profile(contact_id, {"account_name": "Acme", "tier": "Enterprise", "products": ["Billing", "CRM"],
                                "open_cases": 3, "lifetime_value": "9900", "owner": "Olga Owner"})  # fmt: skip
    expected = {"account_name": "Acme", "tier": "Enterprise", "products": ["Billing", "CRM"], "open_cases": 3,
                "lifetime_value": 9900.0, "owner": "Olga Owner"}  # fmt: skip
    assert connector.fetch_profile(contact_id=contact_id, record=_record(1)) == expected
    assert connector.fetch_profile(contact_id=None, record=_record(1)) == expected
    with pytest.raises(DeliveryError) as err:
        connector.fetch_profile(contact_id="424242", record=_record(1))
    assert err.value.status == 404 and not err.value.retryable


def test_ticket_is_created_once_per_question_and_closes(hs):
    connector = HubSpotConnector(_config(hs))
    contact_id = connector.upsert([_record(1)])[0].contact_id
    case = CaseRequest(question_id=17, subject="Export fails", description="Body", thread_url="http://c.test/q/17",
                       contact_id=contact_id)  # fmt: skip
    first = connector.upsert_case(case)
    assert (first.case_number, first.status, first.closed) == (first.case_id, "New", False)
    props = hs.tickets[first.case_id]["properties"]
    assert (props["hs_pipeline"], props["hs_pipeline_stage"], props["community_question_id"]) == ("0", "1", "17")
    assert ("ticket", first.case_id, "contact", contact_id) in hs.associations
    hs.close_ticket(first.case_id, "Fixed in 2.3")
    assert connector.upsert_case(case).closed  # found again, not reopened
    assert len(hs.tickets) == 1
    closed = connector.get_case(first.case_id)
    assert (closed.status, closed.closed, closed.resolution) == ("Closed", True, "Fixed in 2.3")
