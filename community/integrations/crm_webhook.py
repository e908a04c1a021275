"""Generic webhook connector: signed JSON POSTs to CRM_WEBHOOK_URL for any CRM or middleware.

One POST per batch of up to 100 snapshots, ``{"event": "advocate.snapshot", "records": [...]}``,
signed with HMAC-SHA256 (crm_signing) and carrying an idempotency key, the sha256 of the body: a
retry of the same batch has the same key, so the receiver can acknowledge it without applying it
twice. A 2xx means every record was applied. The receiver may answer
``{"contacts": {"<community user id>": "<its contact id>"}}``; otherwise a member's contact id is
their community user id. Cases and customer-360 reads use the events ``case.create``,
``case.get`` and ``contact.get`` (docs/crm.md, "Connectors").
"""

import hashlib
import json

from community.integrations import crm_base, crm_signing
from community.integrations.crm_base import CaseRequest, CaseResult, DeliveryError, RecordResult, SyncRecord


@crm_base.register
class WebhookConnector(crm_base.Connector):
    name = "webhook"
    batch_size = 100
    required_fields = ("community_user_id",)

    def _post(self, payload: dict):
        """Sign and send one event; returns the response (2xx), else raises DeliveryError."""
        url, secret = self.config.get("CRM_WEBHOOK_URL"), self.config.get("CRM_WEBHOOK_SECRET")
        if not url:
            raise DeliveryError("webhook: CRM_WEBHOOK_URL is not set", retryable=False)
        if not secret:
            raise DeliveryError("webhook: CRM_WEBHOOK_SECRET is not set (needed to sign the requests)", retryable=False)
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
        headers = {"Content-Type": "application/json", **crm_signing.sign(secret, body),
                   crm_signing.IDEMPOTENCY_HEADER: hashlib.sha256(body).hexdigest()}  # fmt: skip
        response = self.request("POST", url, data=body, headers=headers)
        if response.status_code == 401:
            raise DeliveryError(f"webhook: {crm_base.error_text(response)} (the receiver refused the signature: "
                                "check CRM_WEBHOOK_SECRET on both sides)", retryable=False, status=401)  # fmt: skip
        self.raise_for_status(response)
        return response

    @staticmethod
    def _json(response) -> dict:
        try:
            data = response.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def upsert(self, records: list[SyncRecord]) -> list[RecordResult]:
        rows = [{**r.fields, "community_user_id": str(r.user_id)} for r in records]
        contacts = self._json(self._post({"event": "advocate.snapshot", "records": rows})).get("contacts") or {}
        return [RecordResult(r.user_id, ok=True, contact_id=str(contacts.get(str(r.user_id)) or r.contact_id or r.user_id))
                for r in records]  # fmt: skip

    def ping(self) -> str:
        response = self._post({"event": "ping"})
        return f"{self.config.get('CRM_WEBHOOK_URL')} answered HTTP {response.status_code} to a signed ping."

    def fetch_profile(self, *, contact_id: str | None, record: SyncRecord) -> dict:
        data = self._json(self._post({"event": "contact.get", "community_user_id": str(record.user_id),
                                      "contact_id": contact_id, "email": record.email}))  # fmt: skip
        profile = data.get("profile", data)
        return crm_base.profile(**{k: profile.get(k) for k in
                                   ("account_name", "tier", "products", "open_cases", "lifetime_value", "owner")})  # fmt: skip

    def upsert_case(self, case: CaseRequest) -> CaseResult:
        payload = {"question_id": case.question_id, "subject": case.subject, "description": case.description,
                   "thread_url": case.thread_url, "contact_id": case.contact_id,
                   "community_user_id": case.community_user_id, "email": case.email, "priority": case.priority}  # fmt: skip
        data = self._json(self._post({"event": "case.create", "case": payload}))
        return self._case(data, default_id=f"Q{case.question_id}")

    def get_case(self, case_id: str) -> CaseResult:
        return self._case(self._json(self._post({"event": "case.get", "case_id": case_id})), default_id=case_id)

    @staticmethod
    def _case(data: dict, *, default_id: str) -> CaseResult:
        return CaseResult(case_id=str(data.get("case_id") or default_id), case_number=data.get("case_number"),
                          status=data.get("status"), closed=bool(data.get("closed")),
                          resolution=data.get("resolution"))  # fmt: skip
