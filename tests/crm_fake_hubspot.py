"""A fake HubSpot account: CRM v3 contacts and tickets batch calls, with HubSpot's 200/207 answers,
error bodies, rate-limit headers and 429 (/work/shared/crm-api-shapes.md section 2).

Batch results come back ordered by object id, not in input order (HubSpot promises no order), so
a client has to match them by id property. Unknown properties are refused with 400
VALIDATION_ERROR for the whole batch; ``reject(email, message)`` makes one input fail in a 207.
"""

import itertools
import time
import uuid
from collections import deque
from datetime import UTC, datetime

from crm_fake_base import FakeServer, LookupIndex
from werkzeug.routing import Map, Rule

PROFILE_PROPS = {"account_name": "company", "tier": "customer_tier", "products": "products_owned",
                 "open_cases": "open_tickets", "lifetime_value": "lifetime_value", "owner": "owner_name"}  # fmt: skip
CONTACT_PROPS = {
    "email", "firstname", "lastname", "phone", "hs_object_id", "createdate", "lastmodifieddate",
    "community_user_id", "community_profile_url", "community_display_name", "community_joined_at",
    "community_last_active", "community_reputation", "community_level", "community_badges",
    "community_badges_gold", "community_badges_silver", "community_badges_bronze", "community_questions",
    "community_answers", "community_accepted_answers", "community_helpful_votes", "community_advocacy_score",
    "community_segment", "community_top_tags", "community_opt_out", *PROFILE_PROPS.values(),
}  # fmt: skip
TICKET_PROPS = {"subject", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "hs_object_id",
                "community_question_id", "community_thread_url", "community_resolution", "createdate"}  # fmt: skip
UNIQUE = {"contacts": ("email", "community_user_id"), "tickets": ("community_question_id",)}
CATEGORIES = {400: "VALIDATION_ERROR", 401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES", 404: "OBJECT_NOT_FOUND",
              409: "CONFLICT", 429: "RATE_LIMITS"}  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(message: str, category: str, **extra) -> dict:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}


class FakeHubSpot(FakeServer):
    rules = Map([
        Rule("/crm/v3/objects/<object_type>/batch/upsert", methods=["POST"], endpoint="batch_upsert"),
        Rule("/crm/v3/objects/<object_type>/batch/update", methods=["POST"], endpoint="batch_update"),
        Rule("/crm/v3/objects/<object_type>/<object_id>", methods=["GET"], endpoint="read"),
        Rule("/crm/v3/properties/<object_type>", methods=["GET"], endpoint="properties"),
        Rule("/crm/v4/objects/<from_type>/<from_id>/associations/default/<to_type>/<to_id>", methods=["PUT"],
             endpoint="associate"),
    ])  # fmt: skip

    def __init__(self, *, token: str = "pat-na1-fake-token"):
        super().__init__()
        self.token = token
        self.contacts: dict[str, dict] = {}
        self.tickets: dict[str, dict] = {}
        self.associations: list[tuple[str, str, str, str]] = []
        self.properties = {"contacts": set(CONTACT_PROPS), "tickets": set(TICKET_PROPS)}
        self._ids = {"contacts": itertools.count(1001), "tickets": itertools.count(5001)}
        self._rejects: dict[str, str] = {}
        self._indexes: dict[tuple, LookupIndex] = {}
        self._limit: tuple[int, float, float | None] | None = None
        self._window: deque = deque()

    # --- knobs and inspection -------------------------------------------------------------------
    def expire_token(self) -> None:
        """The configured token stops working (HubSpot private-app tokens are replaced by hand)."""
        with self.lock:
            self.token = f"{self.token}-revoked"

    def reject(self, email: str, message: str) -> None:
        """Inputs for this email fail with a per-record VALIDATION_ERROR in a 207."""
        with self.lock:
            self._rejects[email.lower()] = message

    def rate_limit(self, max_requests: int, window_seconds: float, retry_after: float | None = None) -> None:
        """Answer 429 once ``max_requests`` calls were accepted within a rolling ``window_seconds``."""
        with self.lock:
            self._limit, self._window = (max_requests, window_seconds, retry_after), deque()

    def contact_by_email(self, email: str) -> dict | None:
        with self.lock:
            contact = self._find(self.contacts, "email", email)
            return {"id": contact["id"], "properties": dict(contact["properties"])} if contact else None

    def add_contact(self, **properties) -> str:
        with self.lock:
            object_id = str(next(self._ids["contacts"]))
            self.contacts[object_id] = self._object(object_id, properties)
            self._touch(self.contacts, object_id)
            return object_id

    def set_profile(self, contact_id: str, profile: dict) -> None:
        """Set customer-360 properties, by normalised names (account_name ...) or property names."""
        with self.lock:
            props = self.contacts[contact_id]["properties"]
            for key, value in profile.items():
                if isinstance(value, list | tuple):
                    value = ";".join(value)
                props[PROFILE_PROPS.get(key, key)] = "" if value is None else str(value)
            self._touch(self.contacts, contact_id)

    def close_ticket(self, ticket_id: str, resolution: str) -> None:
        with self.lock:
            self.tickets[ticket_id]["properties"].update(hs_pipeline_stage="4", community_resolution=resolution)
            self._touch(self.tickets, ticket_id)

    # --- plumbing -------------------------------------------------------------------------------
    def _object(self, object_id: str, properties: dict) -> dict:
        now = _now()
        props = {k: ("" if v is None else str(v)) for k, v in properties.items()}
        return {"id": object_id, "properties": {**props, "hs_object_id": object_id, "createdate": now},
                "createdAt": now, "updatedAt": now, "archived": False}  # fmt: skip

    def _public(self, obj: dict, new: bool | None = None) -> dict:
        out = {"id": obj["id"], "properties": dict(obj["properties"]), "createdAt": obj["createdAt"],
               "updatedAt": obj["updatedAt"], "archived": False}  # fmt: skip
        if new is not None:
            out["new"] = new
        return out

    def _store(self, object_type: str) -> dict | None:
        return {"contacts": self.contacts, "tickets": self.tickets}.get(object_type)

    def failure_response(self, status, body, headers):
        if body is None:
            body = _error(f"fake failure {status}", CATEGORIES.get(status, "INTERNAL_ERROR"))
        return self.json_response(body, status, headers)

    def after(self, request, response):
        max_requests, window, _ = self._limit or (190, 10.0, None)
        response.headers.update({
            "X-HubSpot-RateLimit-Max": str(max_requests),
            "X-HubSpot-RateLimit-Remaining": str(max(0, max_requests - len(self._window))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000)),
            "X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249000",
        })  # fmt: skip
        return response

    def _gate(self, request):
        """401 for a wrong token, 429 over the rate limit; None when the call may go on."""
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.json_response(_error(
                "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                "INVALID_AUTHENTICATION"), 401)  # fmt: skip
        if self._limit is not None:
            max_requests, window, retry_after = self._limit
            now = time.monotonic()
            while self._window and self._window[0] <= now - window:
                self._window.popleft()
            if len(self._window) >= max_requests:
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                body = {"status": "error", "message": "You have reached your secondly limit.",
                        "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                        "policyName": "TEN_SECONDLY_ROLLING", "requestId": str(uuid.uuid4())}  # fmt: skip
                return self.json_response(body, 429, headers)
            self._window.append(now)
        return None

    def _bad_properties(self, object_type: str, inputs: list) -> dict | None:
        unknown = sorted({name for item in inputs for name in (item.get("properties") or {})
                          if name not in self.properties[object_type]})  # fmt: skip
        if not unknown:
            return None
        details = [{"isValid": False, "message": f'Property "{n}" does not exist', "error": "PROPERTY_DOESNT_EXIST",
                    "name": n} for n in unknown]  # fmt: skip
        return _error(f"Property values were not valid: {details}", "VALIDATION_ERROR")

    def _batch(self, request, object_type: str):
        """Common checks of a batch body; returns (inputs, None) or (None, error response)."""
        if (denied := self._gate(request)) is not None:
            return None, denied
        if self._store(object_type) is None:
            return None, self.json_response(_error(f"Unable to infer object type from: {object_type}", "OBJECT_NOT_FOUND"), 400)
        body = request.get_json(silent=True)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            return None, self.json_response(_error("Invalid input JSON on line 1", "VALIDATION_ERROR"), 400)
        if len(inputs) > 100:
            return None, self.json_response(_error(f"Batch input of {len(inputs)} exceeds the limit of 100", "VALIDATION_ERROR"), 400)
        ids = [str(item.get("id")) for item in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return None, self.json_response(_error(f"Duplicate IDs found in batch input: {duplicates}", "VALIDATION_ERROR"), 400)
        if (bad := self._bad_properties(object_type, inputs)) is not None:
            return None, self.json_response(bad, 400)
        return inputs, None

    def _answer(self, results: list, errors: list):
        started = _now()
        body = {"status": "COMPLETE", "results": sorted(results, key=lambda r: int(r["id"])),
                "requestedAt": started, "startedAt": started, "completedAt": _now(), "links": {}}  # fmt: skip
        if errors:
            body.update(errors=errors, numErrors=len(errors))
        return self.json_response(body, 207 if errors else 200)

    def _write(self, object_type: str, obj: dict, properties: dict) -> None:
        props = {k: ("" if v is None else str(v)) for k, v in properties.items()}
        obj["properties"].update(props)
        obj["updatedAt"] = obj["properties"]["lastmodifieddate"] = _now()
        self._touch(self._store(object_type), obj["id"])
        if object_type == "contacts":
            self.record_write(obj["id"], props)

    def _find(self, store: dict, prop: str, value) -> dict | None:
        key = (id(store), prop)
        if key not in self._indexes:
            normalise = (lambda v: str(v).lower()) if prop == "email" else str
            self._indexes[key] = LookupIndex(store, lambda obj, p=prop: obj["properties"].get(p), normalise)
        found = self._indexes[key].find(value)
        return store[found[0]] if found else None

    def _touch(self, store: dict, object_id: str) -> None:
        """Keep the lookup indexes of ``store`` in step after a write to one object."""
        for (store_id, _prop), index in self._indexes.items():
            if store_id == id(store):
                index.touch(object_id)

    def _rejected(self, object_type: str, email) -> str | None:
        return self._rejects.get(str(email or "").lower()) if object_type == "contacts" else None

    # --- endpoints ------------------------------------------------------------------------------
    def on_batch_upsert(self, request, object_type):
        inputs, failed = self._batch(request, object_type)
        if failed is not None:
            return failed
        bad = sorted({str(item.get("idProperty")) for item in inputs} - set(UNIQUE[object_type]))
        if bad:
            return self.json_response(_error(f"{bad[0]} is not a unique property", "VALIDATION_ERROR"), 400)
        store, results, errors = self._store(object_type), [], []
        for item in inputs:
            prop, value = item.get("idProperty"), item.get("id")
            properties = dict(item.get("properties") or {})
            email = properties.get("email", value if prop == "email" else None)
            if (message := self._rejected(object_type, email)) is not None:
                errors.append(_error(message, "VALIDATION_ERROR", context={"ids": [str(value)]}, errors=[]))
                continue
            obj = self._find(store, prop, value)
            new = obj is None
            if new:
                object_id = str(next(self._ids[object_type]))
                obj = store[object_id] = self._object(object_id, {prop: value})
            self._write(object_type, obj, properties)
            results.append(self._public(obj, new))
        return self._answer(results, errors)

    def on_batch_update(self, request, object_type):
        inputs, failed = self._batch(request, object_type)
        if failed is not None:
            return failed
        store, results, errors = self._store(object_type), [], []
        for item in inputs:
            prop, value = item.get("idProperty"), str(item.get("id"))
            obj = self._find(store, prop, value) if prop else store.get(value)
            if obj is None:
                errors.append(_error(f"Could not find {object_type} with id {value}", "OBJECT_NOT_FOUND",
                                     context={"ids": [value]}, errors=[]))  # fmt: skip
                continue
            properties = dict(item.get("properties") or {})
            if (message := self._rejected(object_type, properties.get("email", obj["properties"].get("email")))):
                errors.append(_error(message, "VALIDATION_ERROR", context={"ids": [value]}, errors=[]))
                continue
            self._write(object_type, obj, properties)
            results.append(self._public(obj))
        return self._answer(results, errors)

    def on_read(self, request, object_type, object_id):
        if (denied := self._gate(request)) is not None:
            return denied
        store = self._store(object_type)
        if store is None:
            return self.json_response(_error(f"Unable to infer object type from: {object_type}", "OBJECT_NOT_FOUND"), 400)
        prop = request.args.get("idProperty")
        obj = self._find(store, prop, object_id) if prop else store.get(object_id)
        if obj is None:
            return self.json_response(_error("Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND"), 404)
        out = self._public(obj)
        wanted = [p for p in request.args.get("properties", "").split(",") if p]
        base = {"hs_object_id", "createdate", "lastmodifieddate"}
        out["properties"] = {p: obj["properties"].get(p) for p in [*base, *wanted]}
        return self.json_response(out)

    def on_properties(self, request, object_type):
        if (denied := self._gate(request)) is not None:
            return denied
        if object_type not in self.properties:
            return self.json_response(_error(f"Unable to infer object type from: {object_type}", "OBJECT_NOT_FOUND"), 400)
        return self.json_response({"results": [{"name": n, "label": n.replace("_", " ").title(), "type": "string",
                                                "hasUniqueValue": n in UNIQUE[object_type]}
                                               for n in sorted(self.properties[object_type])]})  # fmt: skip

    def on_associate(self, request, from_type, from_id, to_type, to_id):
        if (denied := self._gate(request)) is not None:
            return denied
        stores = {"ticket": self.tickets, "tickets": self.tickets, "contact": self.contacts, "contacts": self.contacts}
        if from_id not in stores.get(from_type, {}) or to_id not in stores.get(to_type, {}):
            return self.json_response(_error("One or more objects do not exist", "OBJECT_NOT_FOUND"), 404)
        self.associations.append((from_type, from_id, to_type, to_id))
        return self.json_response({"status": "COMPLETE", "results": [
            {"from": {"id": from_id}, "to": {"id": to_id}, "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 16, "label": None}]}]})
