"""Salesforce connector: Contacts by external id through sObject Collections, Cases by question id.

Members sync with ``PATCH /composite/sobjects/Contact/{SALESFORCE_EXTERNAL_ID_FIELD}`` (upsert, at
most 200 records a call, one result per record in request order); members already linked to a
contact Id are updated by that Id with ``PATCH /composite/sobjects``, which also stamps the
external id on a contact linked by hand. The bearer token is SALESFORCE_ACCESS_TOKEN or one
obtained with the OAuth client-credentials flow; a 401 gets one fresh token and one more try.
Error handling is tabled in docs/crm.md ("Connectors").
"""

import threading

from community.integrations import crm_base
from community.integrations.crm_base import CaseRequest, CaseResult, DeliveryError, RecordResult, SyncRecord

CASE_EXT_FIELD = "Community_Question_Id__c"
PROFILE_FIELDS = {"account_name": "Account_Name__c", "tier": "Customer_Tier__c", "products": "Products_Owned__c",
                  "open_cases": "Open_Cases__c", "lifetime_value": "Lifetime_Value__c", "owner": "Owner_Name__c"}  # fmt: skip
# per-record errors that may pass on a later try; every other one needs a person
RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"}
QUOTA_WAIT = 3600.0  # the org's rolling 24 h API allocation is used up: look again in an hour
CREDENTIALS = ("SALESFORCE_TOKEN_URL", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET")


def _describe(response) -> str:
    """``HTTP 400 INVALID_FIELD: No such column ...`` from Salesforce's error array."""
    try:
        body = response.json()
    except ValueError:
        return crm_base.error_text(response)
    if isinstance(body, list) and body and isinstance(body[0], dict) and "errorCode" in body[0]:
        return f"HTTP {response.status_code} " + "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body)
    if isinstance(body, dict) and "error" in body:  # the OAuth token endpoint
        return f"HTTP {response.status_code} {body.get('error')}: {body.get('error_description', '')}".rstrip(": ")
    return crm_base.error_text(response)


def _record_errors(item: dict) -> tuple[str, bool]:
    errors = item.get("errors") or []
    text = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" + (f" (fields: {', '.join(e['fields'])})"
                     if e.get("fields") else "") for e in errors)  # fmt: skip
    retry = bool(errors) and all(e.get("statusCode") in RETRYABLE_CODES for e in errors)
    return f"salesforce: {text or 'the record was refused without a reason'}", retry


@crm_base.register
class SalesforceConnector(crm_base.Connector):
    name = "salesforce"
    batch_size = 200
    required_fields = ("community_user_id",)

    def __init__(self, config, *, timeout: float | None = None):
        super().__init__(config, timeout=timeout)
        self.ext_field = config.get("SALESFORCE_EXTERNAL_ID_FIELD") or "Community_User_Id__c"
        self.version = config.get("SALESFORCE_API_VERSION") or "v59.0"
        self.instance_url = (config.get("SALESFORCE_INSTANCE_URL") or "").rstrip("/")
        self.api_usage: tuple[int, int] | None = None  # from the last Sforce-Limit-Info header
        self._token: str | None = None
        self._lock = threading.Lock()

    # --- authentication -------------------------------------------------------------------------
    def _has_credentials(self) -> bool:
        return all(self.config.get(name) for name in CREDENTIALS)

    def _authenticate(self, *, stale: str | None = None) -> str:
        """The token to use; with ``stale`` (a token just refused) a fresh one, or DeliveryError."""
        with self._lock:
            if self._token and self._token != stale:
                return self._token  # another thread has refreshed it already
            configured = self.config.get("SALESFORCE_ACCESS_TOKEN")
            if stale is None and configured:
                self._token = configured
            elif self._has_credentials():
                self._token = self._fetch_token()
            elif stale is not None:
                raise DeliveryError("salesforce: the access token was refused (401 INVALID_SESSION_ID) and no client "
                                    "credentials are set to get a new one: renew SALESFORCE_ACCESS_TOKEN or set "
                                    + ", ".join(CREDENTIALS), retryable=False, status=401)  # fmt: skip
            else:
                raise DeliveryError("salesforce: no credentials: set SALESFORCE_ACCESS_TOKEN, or "
                                    + ", ".join(CREDENTIALS), retryable=False)  # fmt: skip
            if not self.instance_url:
                raise DeliveryError("salesforce: SALESFORCE_INSTANCE_URL is not set", retryable=False)
            return self._token

    def _fetch_token(self) -> str:
        response = self.request("POST", self.config["SALESFORCE_TOKEN_URL"], data={
            "grant_type": "client_credentials", "client_id": self.config["SALESFORCE_CLIENT_ID"],
            "client_secret": self.config["SALESFORCE_CLIENT_SECRET"]})  # fmt: skip
        if response.status_code != 200:
            raise DeliveryError(f"salesforce: the token request failed: {_describe(response)}",
                                retryable=response.status_code >= 500 or response.status_code == 429,
                                status=response.status_code)  # fmt: skip
        try:
            data = response.json()
            token = data["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(f"salesforce: the token endpoint answered without an access_token ({exc})") from exc
        if not self.config.get("SALESFORCE_INSTANCE_URL") and data.get("instance_url"):
            self.instance_url = data["instance_url"].rstrip("/")
        return token

    # --- HTTP -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs):
        """One REST call below /services/data/vXX.X/, with one token refresh on 401; raises on failure."""
        token = self._authenticate()
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401:
            response = self._send(method, path, self._authenticate(stale=token), **kwargs)
            if response.status_code == 401:
                raise DeliveryError(f"salesforce: {_describe(response)} even with a fresh token",
                                    retryable=self._has_credentials(), status=401)  # fmt: skip
        self._check(response)
        return response

    def _send(self, method: str, path: str, token: str, **kwargs):
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        response = self.request(method, f"{self.instance_url}/services/data/{self.version}/{path}",
                                headers=headers, **kwargs)  # fmt: skip
        usage = response.headers.get("Sforce-Limit-Info", "")
        if usage.startswith("api-usage="):
            used, _, limit = usage.split(";")[0][len("api-usage="):].partition("/")
            if used.isdigit() and limit.isdigit():
                self.api_usage = (int(used), int(limit))
        return response

    def _check(self, response) -> None:
        status = response.status_code
        if status < 300:
            return
        text = f"salesforce: {_describe(response)}"
        if status == 300:
            raise DeliveryError(f"{text} (more than one record has this external id; merge them in Salesforce)",
                                retryable=False, status=300)  # fmt: skip
        if status == 403 and "REQUEST_LIMIT_EXCEEDED" in response.text:
            raise DeliveryError(f"{text} (the org's daily API allocation is used up)", retry_after=QUOTA_WAIT,
                                status=403, throttled=True)  # fmt: skip
        if status in (408, 429) or status >= 500:
            raise DeliveryError(text, retry_after=crm_base.retry_after_seconds(response), status=status)
        raise DeliveryError(text, retryable=False, status=status)

    # --- contacts -------------------------------------------------------------------------------
    def _sobject(self, record: SyncRecord, *, by_id: bool) -> dict:
        fields = {k: v for k, v in record.fields.items() if k not in ("Id", "id", "attributes")}
        fields[self.ext_field] = str(record.user_id)
        return {"attributes": {"type": "Contact"}, **({"id": record.contact_id} if by_id else {}), **fields}

    def _collection(self, method_path: str, records: list[SyncRecord], *, by_id: bool) -> list[RecordResult]:
        if not records:
            return []
        body = {"allOrNone": False, "records": [self._sobject(r, by_id=by_id) for r in records]}
        items = self._call("PATCH", method_path, json=body).json()
        if not isinstance(items, list) or len(items) != len(records):
            raise DeliveryError(f"salesforce: {len(items) if isinstance(items, list) else 'no'} results for "
                                f"{len(records)} records")  # fmt: skip
        results = []
        for record, item in zip(records, items, strict=True):
            if item.get("success"):
                results.append(RecordResult(record.user_id, ok=True, contact_id=item.get("id") or record.contact_id,
                                            created=bool(item.get("created"))))  # fmt: skip
            else:
                message, retry = _record_errors(item)
                results.append(RecordResult(record.user_id, ok=False, error=message, retryable=retry))
        return results

    def upsert(self, records: list[SyncRecord]) -> list[RecordResult]:
        linked = [r for r in records if r.contact_id]
        by_ext = [r for r in records if not r.contact_id]
        results = {r.user_id: r for r in self._collection("composite/sobjects", linked, by_id=True)}
        results.update((r.user_id, r) for r in self._collection(
            f"composite/sobjects/Contact/{self.ext_field}", by_ext, by_id=False))  # fmt: skip
        return [results[r.user_id] for r in records]

    def ping(self) -> str:
        limits = self._call("GET", "limits").json().get("DailyApiRequests") or {}
        used = (limits.get("Max") or 0) - (limits.get("Remaining") or 0)
        return (f"Connected to {self.instance_url} (API {self.version}); "
                f"{used} of {limits.get('Max', '?')} daily API requests used.")  # fmt: skip

    def claim_contact(self, contact_id: str, record: SyncRecord) -> None:
        self._call("PATCH", f"sobjects/Contact/{contact_id}", json={self.ext_field: str(record.user_id)})

    def fetch_profile(self, *, contact_id: str | None, record: SyncRecord) -> dict:
        path = f"sobjects/Contact/{contact_id}" if contact_id else f"sobjects/Contact/{self.ext_field}/{record.user_id}"
        data = self._call("GET", path, params={"fields": ",".join(PROFILE_FIELDS.values())}).json()
        return crm_base.profile(**{key: data.get(field) for key, field in PROFILE_FIELDS.items()})

    # --- cases ----------------------------------------------------------------------------------
    def upsert_case(self, case: CaseRequest) -> CaseResult:
        fields = {"Subject": case.subject[:255], "Description": case.description[:32000], "Origin": "Community",
                  "Priority": case.priority, "Community_Thread_Url__c": case.thread_url}  # fmt: skip
        if case.contact_id:
            fields["ContactId"] = case.contact_id
        data = self._call("PATCH", f"sobjects/Case/{CASE_EXT_FIELD}/{case.question_id}", json=fields).json()
        return self.get_case(data["id"])

    def get_case(self, case_id: str) -> CaseResult:
        data = self._call("GET", f"sobjects/Case/{case_id}",
                          params={"fields": "CaseNumber,Status,IsClosed,Resolution__c"}).json()  # fmt: skip
        return CaseResult(case_id=case_id, case_number=data.get("CaseNumber"), status=data.get("Status"),
                          closed=bool(data.get("IsClosed")), resolution=data.get("Resolution__c"))  # fmt: skip
