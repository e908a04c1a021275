"""HubSpot connector: contacts through the CRM v3 batch calls, tickets for cases.

Members not yet linked go to ``POST /crm/v3/objects/contacts/batch/upsert`` keyed by
HUBSPOT_ID_PROPERTY (``email`` by default, or a custom property with unique values); linked
members to ``batch/update`` by contact id, so a changed email moves with the contact. At most 100
inputs a call. A 207 carries per-input errors; results are matched by id, never by position
(HubSpot does not promise an order). 429 honours Retry-After, else waits for the rate-limit
window (``X-HubSpot-RateLimit-Interval-Milliseconds``). docs/crm.md ("Connectors").
"""

from community.integrations import crm_base
from community.integrations.crm_base import CaseRequest, CaseResult, DeliveryError, RecordResult, SyncRecord
from community.services.crm_mapping import DEFAULTS

PROFILE_PROPS = {"account_name": "company", "tier": "customer_tier", "products": "products_owned",
                 "open_cases": "open_tickets", "lifetime_value": "lifetime_value", "owner": "owner_name"}  # fmt: skip
TICKET_PROPS = "subject,hs_pipeline,hs_pipeline_stage,community_question_id,community_resolution"
STAGES = {"1": "New", "2": "Waiting on contact", "3": "Waiting on us", "4": "Closed"}  # the default support pipeline
CLOSED_STAGE = "4"
TICKET_TO_CONTACT = 16  # HubSpot-defined association type id
DEFAULT_WINDOW = 10.0  # seconds: HubSpot's TEN_SECONDLY_ROLLING policy
RETRYABLE_CATEGORIES = {"RATE_LIMITS", "INTERNAL_ERROR", "TIMEOUT", "SERVICE_UNAVAILABLE", "LOCKED"}


def _describe(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return crm_base.error_text(response)
    if isinstance(body, dict) and body.get("message"):
        kind = body.get("category") or body.get("errorType") or ""
        return f"HTTP {response.status_code} {kind}: {body['message'][:500]}".replace(" :", ":")
    return crm_base.error_text(response)


@crm_base.register
class HubSpotConnector(crm_base.Connector):
    name = "hubspot"
    batch_size = 100

    def __init__(self, config, *, timeout: float | None = None):
        super().__init__(config, timeout=timeout)
        self.base_url = (config.get("HUBSPOT_BASE_URL") or "https://api.hubapi.com").rstrip("/")
        self.id_property = config.get("HUBSPOT_ID_PROPERTY") or "email"
        self.required_fields = ("email",) if self.id_property == "email" else ()

    # --- HTTP -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, ok=(200,), **kwargs):
        token = self.config.get("HUBSPOT_TOKEN")
        if not token:
            raise DeliveryError("hubspot: HUBSPOT_TOKEN is not set (a private app's access token)", retryable=False)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        response = self.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)
        if response.status_code in ok:
            return response
        status, text = response.status_code, f"hubspot: {_describe(response)}"
        if status == 401:
            raise DeliveryError(f"{text} (check HUBSPOT_TOKEN: private-app tokens do not refresh)",
                                retryable=False, status=401)  # fmt: skip
        if status == 429:
            interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "")
            window = int(interval) / 1000 if interval.isdigit() else DEFAULT_WINDOW
            raise DeliveryError(text, retry_after=crm_base.retry_after_seconds(response, default=window), status=429)
        if status in (408, 423) or status >= 500:
            raise DeliveryError(text, retry_after=crm_base.retry_after_seconds(response), status=status)
        raise DeliveryError(text, retryable=False, status=status)

    # --- contacts -------------------------------------------------------------------------------
    def _key(self, record: SyncRecord) -> str:
        if self.id_property == "email":
            return (record.email or "").lower()
        return str(record.fields.get(self.id_property) or "")

    def _batch(self, path: str, inputs: list[tuple[str, SyncRecord, dict]], key_of) -> list[RecordResult]:
        """Send ``(match key, record, input)`` triples; results matched by ``key_of(result)``."""
        if not inputs:
            return []
        body = self._call("POST", path, ok=(200, 201, 207), json={"inputs": [i for _, _, i in inputs]}).json()
        by_key = {k: r for k, r, _ in inputs}
        out: dict[int, RecordResult] = {}
        for result in body.get("results") or []:
            record = by_key.get(key_of(result))
            if record is not None:
                out[record.user_id] = RecordResult(record.user_id, ok=True, contact_id=str(result["id"]),
                                                   created=bool(result.get("new")))  # fmt: skip
        for error in body.get("errors") or []:
            context = error.get("context") or {}
            ids = [str(i) for i in (context.get("ids") or context.get("id") or [])]
            retry = error.get("category") in RETRYABLE_CATEGORIES
            for key in ids:
                record = by_key.get(key.lower() if self.id_property == "email" and "@" in key else key)
                if record is not None and record.user_id not in out:
                    message = f"hubspot: {error.get('category', 'ERROR')}: {error.get('message', 'rejected')}"
                    if error.get("category") == "OBJECT_NOT_FOUND":
                        message += " (the linked contact no longer exists: unlink the member to create a new one)"
                    out[record.user_id] = RecordResult(record.user_id, ok=False, error=message, retryable=retry)
        missing = "hubspot: the batch answer has no result for this record"
        return [out.get(r.user_id) or RecordResult(r.user_id, ok=False, error=missing, retryable=True)
                for _, r, _ in inputs]  # fmt: skip

    def upsert(self, records: list[SyncRecord]) -> list[RecordResult]:
        updates = [(str(r.contact_id), r, {"id": str(r.contact_id), "properties": r.fields})
                   for r in records if r.contact_id]  # fmt: skip
        prop = self.id_property
        upserts = []
        for r in records:
            if not r.contact_id:
                key = self._key(r)
                upserts.append((key, r, {"idProperty": prop, "id": key, "properties": r.fields}))
        results = {x.user_id: x for x in self._batch("/crm/v3/objects/contacts/batch/update", updates,
                                                      lambda res: str(res["id"]))}  # fmt: skip
        email_key = prop == "email"
        results.update((x.user_id, x) for x in self._batch(
            "/crm/v3/objects/contacts/batch/upsert", upserts,
            lambda res: str((res.get("properties") or {}).get(prop) or "").lower() if email_key
            else str((res.get("properties") or {}).get(prop) or "")))  # fmt: skip
        return [results[r.user_id] for r in records]

    def ping(self) -> str:
        names = {p.get("name") for p in self._call("GET", "/crm/v3/properties/contacts").json().get("results") or []}
        missing = sorted(set(DEFAULTS["hubspot"].values()) - names)
        text = f"Connected to {self.base_url}; {len(names)} contact properties."
        return text + (f" Missing properties for the default mapping: {', '.join(missing)}." if missing else "")

    def fetch_profile(self, *, contact_id: str | None, record: SyncRecord) -> dict:
        params = {"properties": ",".join(PROFILE_PROPS.values())}
        if contact_id:
            path = f"/crm/v3/objects/contacts/{contact_id}"
        else:
            path = f"/crm/v3/objects/contacts/{self._key(record)}"
            params["idProperty"] = self.id_property
        props = self._call("GET", path, params=params).json().get("properties") or {}
        return crm_base.profile(**{key: props.get(name) for key, name in PROFILE_PROPS.items()})

    # --- cases ----------------------------------------------------------------------------------
    def upsert_case(self, case: CaseRequest) -> CaseResult:
        """The question's ticket: found again by community_question_id, else created (a retry never
        reopens a ticket that was closed meanwhile)."""
        try:
            found = self._call("GET", f"/crm/v3/objects/tickets/{case.question_id}",
                               params={"idProperty": "community_question_id", "properties": TICKET_PROPS}).json()  # fmt: skip
        except DeliveryError as exc:
            if exc.status != 404:
                raise
            properties = {"subject": case.subject[:255], "content": case.description,
                          "hs_pipeline": "0", "hs_pipeline_stage": "1", "community_thread_url": case.thread_url,
                          "hs_ticket_priority": case.priority.upper()}  # fmt: skip
            body = self._call("POST", "/crm/v3/objects/tickets/batch/upsert", ok=(200, 201), json={"inputs": [
                {"idProperty": "community_question_id", "id": str(case.question_id), "properties": properties}]}).json()
            found = (body.get("results") or [None])[0]
            if not found:
                raise DeliveryError(f"hubspot: the ticket upsert gave no result ({body.get('errors')})") from exc
        if case.contact_id:
            self._call("PUT", f"/crm/v4/objects/ticket/{found['id']}/associations/default/contact/{case.contact_id}",
                       ok=(200, 201))  # fmt: skip
        return self._case(found)

    def get_case(self, case_id: str) -> CaseResult:
        return self._case(self._call("GET", f"/crm/v3/objects/tickets/{case_id}",
                                     params={"properties": TICKET_PROPS}).json())  # fmt: skip

    def _case(self, ticket: dict) -> CaseResult:
        props = ticket.get("properties") or {}
        stage = str(props.get("hs_pipeline_stage") or "")
        return CaseResult(case_id=str(ticket["id"]), case_number=str(ticket["id"]), status=STAGES.get(stage, stage),
                          closed=stage == CLOSED_STAGE, resolution=props.get("community_resolution") or None)  # fmt: skip
