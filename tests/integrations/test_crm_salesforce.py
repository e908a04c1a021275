"""The Salesforce connector against the fake org over real sockets: upserts, per-record errors,
token refresh, limits and faults (docs/crm.md, "Connectors")."""

import json

import crm_fakes
import pytest

from community.integrations.crm_base import CaseRequest, DeliveryError, SyncRecord
from community.integrations.crm_salesforce import SalesforceConnector

EXT = "Community_User_Id__c"


@pytest.fixture
def sf():
    with crm_fakes.FakeSalesforce() as fake:
        yield fake


def _config(sf, **overrides):
    cfg = {"SALESFORCE_INSTANCE_URL": sf.url, "SALESFORCE_ACCESS_TOKEN": sf.access_token,
           "SALESFORCE_EXTERNAL_ID_FIELD": EXT, "SALESFORCE_API_VERSION": "v59.0", "CRM_HTTP_TIMEOUT": 2.0}  # fmt: skip
    cfg.update(overrides)
    return {k: v for k, v in cfg.items() if v is not None}


def _credentials(sf):
    return {"SALESFORCE_TOKEN_URL": sf.token_url, "SALESFORCE_CLIENT_ID": sf.client_id,
            "SALESFORCE_CLIENT_SECRET": sf.client_secret}  # fmt: skip


def _record(uid, reputation=10, contact_id=None, **fields):
    base = {"LastName": f"Member {uid}", "Email": f"m{uid}@example.com", "Community_Reputation__c": reputation}
    return SyncRecord(user_id=uid, fields={**base, **fields}, email=f"m{uid}@example.com", contact_id=contact_id)


def _sent(sf, path_part):
    return [r for r in sf.requests if path_part in r["path"]]


def test_first_upsert_creates_contacts_keyed_by_community_user_id(sf):
    results = SalesforceConnector(_config(sf)).upsert([_record(1), _record(2)])
    assert [(r.user_id, r.ok, r.created) for r in results] == [(1, True, True), (2, True, True)]
    contact = sf.contact_by_ext("1")
    assert results[0].contact_id == contact["Id"] and contact["Email"] == "m1@example.com"
    [call] = _sent(sf, "/composite/sobjects/Contact/")
    assert call["method"] == "PATCH" and call["path"].endswith(f"/services/data/v59.0/composite/sobjects/Contact/{EXT}")
    body = json.loads(call["body"])
    assert body["allOrNone"] is False
    assert body["records"][0]["attributes"] == {"type": "Contact"} and body["records"][0][EXT] == "1"


def test_second_upsert_updates_the_same_contact(sf):
    connector = SalesforceConnector(_config(sf))
    first = connector.upsert([_record(1, reputation=10)])[0]
    second = connector.upsert([_record(1, reputation=25)])[0]
    assert (second.ok, second.created, second.contact_id) == (True, False, first.contact_id)
    assert len(sf.contacts) == 1
    assert sf.history(first.contact_id, "Community_Reputation__c") == [10, 25]


def test_two_hundred_members_go_in_one_call(sf):
    connector = SalesforceConnector(_config(sf))
    assert connector.batch_size == 200
    results = connector.upsert([_record(uid) for uid in range(1, 201)])
    assert all(r.ok for r in results) and len(sf.contacts) == 200
    assert len(_sent(sf, "/composite/sobjects/Contact/")) == 1


def test_per_record_errors_come_back_per_record(sf):
    sf.reject("3", "Email domain is blocked")
    sf.lock_row("4")
    results = SalesforceConnector(_config(sf)).upsert([
        _record(1), _record(2, LastName=None), _record(3), _record(4)])  # fmt: skip
    assert results[0].ok
    assert not results[1].ok and "REQUIRED_FIELD_MISSING" in results[1].error and not results[1].retryable
    assert "Email domain is blocked" in results[2].error and not results[2].retryable
    assert "UNABLE_TO_LOCK_ROW" in results[3].error and results[3].retryable
    assert sf.contact_by_ext("2") is None


def test_linked_member_is_updated_by_id_and_the_contact_gets_the_external_id(sf):
    contact_id = sf.add_contact(LastName="Existing", Email="sales@example.com")
    result = SalesforceConnector(_config(sf)).upsert([_record(7, contact_id=contact_id)])[0]
    assert (result.ok, result.contact_id, result.created) == (True, contact_id, False)
    assert len(sf.contacts) == 1 and sf.contacts[contact_id][EXT] == "7"


def test_linked_contact_deleted_in_salesforce_is_a_permanent_record_error(sf):
    result = SalesforceConnector(_config(sf)).upsert([_record(7, contact_id="003000000000000999")])[0]
    assert not result.ok and "ENTITY_IS_DELETED" in result.error and not result.retryable


def test_expired_token_is_refreshed_once_with_client_credentials(sf):
    connector = SalesforceConnector(_config(sf, **_credentials(sf)))
    connector.upsert([_record(1)])
    sf.expire_token()
    result = connector.upsert([_record(1, reputation=30)])[0]
    assert result.ok and sf.token_requests == 1
    assert sf.contact_by_ext("1")["Community_Reputation__c"] == 30


def test_second_401_after_refresh_is_a_retryable_error_with_credentials(sf):
    connector = SalesforceConnector(_config(sf, **_credentials(sf)))
    sf.fail_next(401, n=2)
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(1)])
    assert err.value.status == 401 and err.value.retryable and "INVALID_SESSION_ID" in str(err.value)
    assert sf.token_requests == 1


def test_401_without_client_credentials_is_permanent_and_names_the_setting(sf):
    sf.expire_token()
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf)).upsert([_record(1)])
    assert not err.value.retryable and "SALESFORCE_ACCESS_TOKEN" in str(err.value)


def test_token_and_instance_url_come_from_the_client_credentials_flow(sf):
    cfg = _config(sf, SALESFORCE_ACCESS_TOKEN=None, SALESFORCE_INSTANCE_URL=None, **_credentials(sf))
    assert SalesforceConnector(cfg).upsert([_record(1)])[0].ok
    assert sf.token_requests == 1


def test_wrong_client_secret_is_permanent(sf):
    cfg = _config(sf, SALESFORCE_ACCESS_TOKEN=None, **{**_credentials(sf), "SALESFORCE_CLIENT_SECRET": "wrong"})
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(cfg).upsert([_record(1)])
    assert not err.value.retryable and "invalid_client" in str(err.value)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(sf, status):
    sf.fail_next(status, headers={"Retry-After": "7"})
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf)).upsert([_record(1)])
    assert err.value.retryable and err.value.status == status and err.value.retry_after == 7
    assert not sf.contacts


def test_api_quota_exhausted_waits_an_hour_without_counting_as_a_failure(sf):
    sf.fail_next(403)
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf)).upsert([_record(1)])
    assert err.value.retryable and err.value.throttled and err.value.retry_after == 3600
    assert "REQUEST_LIMIT_EXCEEDED" in str(err.value)


def test_unknown_field_is_a_permanent_error_with_salesforce_message(sf):
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf)).upsert([_record(1, Nonexistent__c="x")])
    assert not err.value.retryable and err.value.status == 400
    assert "INVALID_FIELD: No such column 'Nonexistent__c'" in str(err.value)


def test_several_contacts_with_one_external_id_is_permanent(sf):
    sf.add_contact(LastName="A", **{EXT: "5"})
    sf.add_contact(LastName="B", **{EXT: "5"})
    connector = SalesforceConnector(_config(sf))
    with pytest.raises(DeliveryError) as err:
        connector.fetch_profile(contact_id=None, record=_record(5))
    assert err.value.status == 300 and not err.value.retryable and "more than one record" in str(err.value)
    result = connector.upsert([_record(5)])[0]
    assert not result.ok and "DUPLICATE_EXTERNAL_ID" in result.error


def test_slow_answer_times_out_as_a_retryable_error(sf):
    sf.delay = 0.6
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf, CRM_HTTP_TIMEOUT=0.2)).upsert([_record(1)])
    assert err.value.retryable and "timed out" in str(err.value)


def test_connection_cut_after_apply_is_retryable_and_the_retry_updates(sf):
    connector = SalesforceConnector(_config(sf))
    sf.cut_after_apply()
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(1)])
    assert err.value.retryable and sf.contact_by_ext("1") is not None
    result = connector.upsert([_record(1)])[0]
    assert result.ok and not result.created and len(sf.contacts) == 1


def test_org_down_is_retryable_and_up_again_works(sf):
    connector = SalesforceConnector(_config(sf))
    sf.down()
    with pytest.raises(DeliveryError) as err:
        connector.upsert([_record(1)])
    assert err.value.retryable and "cannot reach" in str(err.value)
    sf.up()
    assert connector.upsert([_record(1)])[0].ok


@pytest.mark.parametrize(("missing", "named"), [("SALESFORCE_INSTANCE_URL", "SALESFORCE_INSTANCE_URL"),
                                                ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_ACCESS_TOKEN")])  # fmt: skip
def test_missing_settings_are_permanent_and_named(sf, missing, named):
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf, **{missing: None})).upsert([_record(1)])
    assert not err.value.retryable and named in str(err.value)
    assert not sf.requests


def test_ping_reports_the_daily_api_usage(sf):
    connector = SalesforceConnector(_config(sf))
    connector.upsert([_record(1)])
    text = connector.ping()
    assert "Connected to" in text and "daily API requests used" in text
    assert connector.api_usage == (2, 5000)


def test_fetch_profile_normalises_the_customer_360_fields(sf):
    connector = SalesforceConnector(_config(sf))
    contact_id = connector.upsert([_record(1)])[0].contact_id
    sf.set_profile(contact_id, {"account_name": "Acme", "tier": "Gold", "products": ["Billing", "Payroll"],
                                "open_cases": 2, "lifetime_value": 12500.5, "owner": "Sam Seller"})  # fmt: skip
    expected = {"account_name": "Acme", "tier": "Gold", "products": ["Billing", "Payroll"], "open_cases": 2,
                "lifetime_value": 12500.5, "owner": "Sam Seller"}  # fmt: skip
    assert connector.fetch_profile(contact_id=contact_id, record=_record(1)) == expected
    assert connector.fetch_profile(contact_id=None, record=_record(1)) == expected


def test_fetch_profile_of_an_unknown_contact_is_a_404(sf):
    with pytest.raises(DeliveryError) as err:
        SalesforceConnector(_config(sf)).fetch_profile(contact_id="003000000000000404", record=_record(1))
    assert err.value.status == 404 and not err.value.retryable


def test_claim_contact_stamps_the_external_id(sf):
    contact_id = sf.add_contact(LastName="Existing")
    connector = SalesforceConnector(_config(sf))
    connector.claim_contact(contact_id, _record(9))
    assert sf.contacts[contact_id][EXT] == "9"
    other = sf.add_contact(LastName="Other")
    with pytest.raises(DeliveryError) as err:
        connector.claim_contact(other, _record(9))
    assert not err.value.retryable and "DUPLICATE_VALUE" in str(err.value)


def test_case_is_upserted_by_question_id_and_read_back(sf):
    connector = SalesforceConnector(_config(sf))
    contact_id = connector.upsert([_record(1)])[0].contact_id
    case = CaseRequest(question_id=42, subject="Invoice wrong", description="Details", priority="High",
                       thread_url="http://community.test/questions/42", contact_id=contact_id)  # fmt: skip
    first = connector.upsert_case(case)
    again = connector.upsert_case(case)
    assert first.case_id == again.case_id and len(sf.cases) == 1
    stored = sf.cases[first.case_id]
    assert stored["Origin"] == "Community" and stored["ContactId"] == contact_id
    assert stored["Community_Question_Id__c"] == "42" and stored["Community_Thread_Url__c"].endswith("/42")
    assert (first.case_number, first.status, first.closed) == (stored["CaseNumber"], "New", False)
    sf.close_case(first.case_id, "Refund issued")
    closed = connector.get_case(first.case_id)
    assert (closed.status, closed.closed, closed.resolution) == ("Closed", True, "Refund issued")
