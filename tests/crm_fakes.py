"""Fake CRM servers for the tests, served over real sockets on 127.0.0.1 (docs/crm.md, "Testing
with the fake servers").

    with crm_fakes.FakeSalesforce() as sf, crm_fakes.FakeHubSpot() as hs, crm_fakes.FakeWebhook("s3cret") as hook:
        crm_settings(SALESFORCE_INSTANCE_URL=sf.url, SALESFORCE_ACCESS_TOKEN=sf.access_token, ...)

Fault knobs on each: ``fail_next(status, n=1, body=None, headers=None)``, ``down()`` / ``up()``,
``delay = seconds``, ``cut_after_apply(n=1)``, ``expire_token()``; the Salesforce and HubSpot
fakes also ``reject(...)``; HubSpot ``rate_limit(max_requests, window_seconds, retry_after=None)``.
``writes`` / ``history(record_id, field)`` give every applied write in the order applied.
"""

import hashlib
import itertools
import json

from crm_fake_base import Drop, FakeServer  # noqa: F401 (re-exported)
from crm_fake_hubspot import FakeHubSpot  # noqa: F401 (re-exported)
from crm_fake_salesforce import FakeSalesforce  # noqa: F401 (re-exported)
from werkzeug.routing import Map, Rule

from community.integrations import crm_signing

PATH = "/hooks/crm"


class FakeWebhook(FakeServer):
    """A webhook receiver: checks the HMAC signature and timestamp, applies each idempotency key once.

    ``received`` lists every authentic delivery as (headers, parsed JSON), repeats included;
    ``records`` holds the latest snapshot per community_user_id; ``rejected`` the refused requests'
    reasons. Events: advocate.snapshot, ping, case.create, case.get, contact.get.
    """

    rules = Map([Rule(PATH, methods=["POST"], endpoint="hook")])

    def __init__(self, secret: str = "webhook-secret"):
        super().__init__()
        self.secret = secret
        self.received: list[tuple[dict, dict]] = []
        self.records: dict[str, dict] = {}
        self.rejected: list[str] = []
        self.duplicates = 0
        self.cases: dict[str, dict] = {}
        self.profiles: dict[str, dict] = {}
        self._answers: dict[str, tuple[dict, int]] = {}  # idempotency key -> the answer given
        self._case_ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def expire_token(self) -> None:
        """The receiver's secret changes: every signature the community makes stops matching."""
        with self.lock:
            self.secret = f"{self.secret}-rotated"

    def set_profile(self, community_user_id, profile: dict) -> None:
        with self.lock:
            self.profiles[str(community_user_id)] = dict(profile)

    def close_case(self, case_id: str, resolution: str) -> None:
        with self.lock:
            self.cases[case_id].update(status="Closed", closed=True, resolution=resolution)

    def failure_response(self, status, body, headers):
        return self.json_response(body if body is not None else {"error": f"fake failure {status}"}, status, headers)

    def on_hook(self, request):
        raw = request.get_data()
        reason = crm_signing.verify(self.secret, request.headers, raw)
        if reason is not None:
            self.rejected.append(reason)
            return self.json_response({"error": reason}, 401)
        try:
            data = json.loads(raw)
        except ValueError:
            return self.json_response({"error": "body is not JSON"}, 400)
        self.received.append((dict(request.headers), data))
        event = data.get("event")
        if event == "ping":
            return self.json_response({"ok": True})
        if event == "case.get":
            case = self.cases.get(str(data.get("case_id")))
            return self.json_response(case, 200) if case else self.json_response({"error": "no such case"}, 404)
        if event == "contact.get":
            profile = self.profiles.get(str(data.get("community_user_id")))
            return self.json_response({"profile": profile}) if profile else self.json_response({"error": "unknown contact"}, 404)
        if event not in ("advocate.snapshot", "case.create"):
            return self.json_response({"error": f"unknown event {event!r}"}, 400)
        key = request.headers.get(crm_signing.IDEMPOTENCY_HEADER, "")
        if key != hashlib.sha256(raw).hexdigest():
            return self.json_response({"error": "missing or wrong idempotency key"}, 400)
        if key in self._answers:
            self.duplicates += 1
            answer, status = self._answers[key]
            return self.json_response({**answer, "duplicate": True}, status)
        if event == "advocate.snapshot":
            for record in data.get("records") or []:
                uid = str(record.get("community_user_id"))
                self.records[uid] = dict(record)
                self.record_write(uid, record)
            answer = {"ok": True, "applied": len(data.get("records") or [])}
        else:
            answer = self._create_case(data.get("case") or {})
        self._answers[key] = (answer, 200)
        return self.json_response(answer, 200)

    def _create_case(self, case: dict) -> dict:
        for existing in self.cases.values():
            if existing["question_id"] == case.get("question_id"):
                return {k: existing[k] for k in ("case_id", "case_number", "status")}
        case_id = f"WC-{next(self._case_ids)}"
        self.cases[case_id] = {**case, "case_id": case_id, "case_number": case_id, "status": "New", "closed": False,
                               "resolution": None}  # fmt: skip
        self._applied = True
        return {"case_id": case_id, "case_number": case_id, "status": "New"}
