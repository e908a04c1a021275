"""A fake Salesforce org: the REST calls the connector makes, with Salesforce's status codes and
bodies (/work/shared/crm-api-shapes.md section 1).

Contacts and Cases live in dicts keyed by their 18-character Id. Unknown field names are refused
with 400 INVALID_FIELD, inserts without LastName with REQUIRED_FIELD_MISSING, a wrong or expired
bearer token with 401 INVALID_SESSION_ID. Every answer carries ``Sforce-Limit-Info``.
"""

import itertools
import json

from crm_fake_base import FakeServer, LookupIndex
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

V = "/services/data/<version>"
EXT_FIELD = "Community_User_Id__c"
CASE_EXT_FIELD = "Community_Question_Id__c"
PROFILE_FIELDS = {"account_name": "Account_Name__c", "tier": "Customer_Tier__c", "products": "Products_Owned__c",
                  "open_cases": "Open_Cases__c", "lifetime_value": "Lifetime_Value__c", "owner": "Owner_Name__c"}  # fmt: skip
CONTACT_FIELDS = {
    "Id", "FirstName", "LastName", "Email", "AccountId", "OwnerId", "Phone", "Title", EXT_FIELD,
    "Community_Profile_Url__c", "Community_Joined_At__c", "Community_Last_Active__c", "Community_Reputation__c",
    "Community_Level__c", "Community_Badges__c", "Community_Accepted_Answers__c", "Community_Advocacy_Score__c",
    "Community_Segment__c", "Community_Opt_Out__c", "Community_Questions__c", "Community_Answers__c",
    "Community_Helpful_Votes__c", "Community_Top_Tags__c", "Community_Badges_Gold__c",
    "Community_Badges_Silver__c", "Community_Badges_Bronze__c", *PROFILE_FIELDS.values(),
}  # fmt: skip
CASE_FIELDS = {"Id", "CaseNumber", "Subject", "Description", "Origin", "Priority", "Status", "IsClosed", "ContactId",
               "Community_Thread_Url__c", CASE_EXT_FIELD, "Resolution__c"}  # fmt: skip
DEFAULT_ERRORS = {400: ("MALFORMED_QUERY", "Malformed request"), 401: ("INVALID_SESSION_ID", "Session expired or invalid"),
                  403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                  404: ("NOT_FOUND", "The requested resource does not exist"),
                  500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId."),
                  503: ("SERVER_UNAVAILABLE", "Server is busy, try again later.")}  # fmt: skip


def _errors(code: str, message: str, fields=None) -> list[dict]:
    return [{"message": message, "errorCode": code, **({"fields": fields} if fields is not None else {})}]


class FakeSalesforce(FakeServer):
    rules = Map([
        Rule("/services/oauth2/token", methods=["POST"], endpoint="token"),
        Rule(f"{V}/limits", methods=["GET"], endpoint="limits"),
        Rule(f"{V}/composite/sobjects", methods=["PATCH"], endpoint="collection_update"),
        Rule(f"{V}/composite/sobjects/<sobject>/<field>", methods=["PATCH"], endpoint="collection_upsert"),
        Rule(f"{V}/sobjects/<sobject>/<field>/<path:value>", methods=["GET", "PATCH"], endpoint="by_ext"),
        Rule(f"{V}/sobjects/<sobject>/<record_id>", methods=["GET", "PATCH"], endpoint="by_id"),
    ])  # fmt: skip
    exempt_endpoints = ("token",)

    def __init__(self, *, ext_field: str = EXT_FIELD, client_id: str = "community-app",
                 client_secret: str = "fake-client-secret", daily_max: int = 5000):  # fmt: skip
        super().__init__()
        self.ext_field, self.client_id, self.client_secret = ext_field, client_id, client_secret
        self.contact_fields = CONTACT_FIELDS | {ext_field}
        self.contacts: dict[str, dict] = {}
        self.cases: dict[str, dict] = {}
        self.daily_max, self.api_used = daily_max, 0
        self.token_requests = 0
        self._tokens = itertools.count(2)
        self.access_token = "sf-token-1"
        self._valid = {self.access_token}
        self._ids = itertools.count(1)
        self._rejects: dict[str, tuple[str, str]] = {}
        self._locked: dict[str, int] = {}
        self._indexes: dict[tuple, LookupIndex] = {}

    @property
    def token_url(self) -> str:
        return f"{self.url}/services/oauth2/token"

    # --- knobs and inspection -------------------------------------------------------------------
    def expire_token(self) -> None:
        """Every token issued so far stops working (the next call gets 401 INVALID_SESSION_ID)."""
        with self.lock:
            self._valid.clear()

    def contact_by_ext(self, ext_id) -> dict | None:
        with self.lock:
            found = self._matches(self.contacts, self.ext_field, ext_id)
            return dict(self.contacts[found[0]]) if found else None

    def add_contact(self, **fields) -> str:
        """Create a contact directly (as a salesperson would); returns its Id."""
        with self.lock:
            record_id = self._new_id("003")
            self.contacts[record_id] = {"Id": record_id, **fields}
            self._touch(self.contacts, record_id)
            return record_id

    def set_profile(self, contact_id: str, profile: dict) -> None:
        """Set customer-360 fields, given by their normalised names (account_name ...) or API names."""
        with self.lock:
            contact = self.contacts[contact_id]
            for key, value in profile.items():
                if key == "products" and isinstance(value, list | tuple):
                    value = ";".join(value)
                contact[PROFILE_FIELDS.get(key, key)] = value
            self._touch(self.contacts, contact_id)

    def close_case(self, case_id: str, resolution: str) -> None:
        with self.lock:
            self.cases[case_id].update(Status="Closed", IsClosed=True, Resolution__c=resolution)
            self._touch(self.cases, case_id)

    def reject(self, ext_id, message: str, code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION") -> None:
        """Refuse the record with this external id in collection upserts (a per-record error)."""
        with self.lock:
            self._rejects[str(ext_id)] = (code, message)

    def lock_row(self, ext_id, n: int = 1) -> None:
        """The next ``n`` writes of this record fail with the retryable UNABLE_TO_LOCK_ROW."""
        with self.lock:
            self._locked[str(ext_id)] = n

    # --- plumbing -------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"

    def failure_response(self, status, body, headers):
        if body is None:
            body = _errors(*DEFAULT_ERRORS.get(status, ("UNKNOWN_EXCEPTION", f"fake failure {status}")))
        return self.json_response(body, status, headers)

    def after(self, request, response):
        if not request.path.endswith("/oauth2/token"):
            self.api_used += 1
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.daily_max}"
        return response

    def _authorized(self, request) -> Response | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and header[7:] in self._valid:
            return None
        return self.json_response(_errors("INVALID_SESSION_ID", "Session expired or invalid"), 401)

    def _store(self, sobject: str) -> tuple[dict, set, str] | None:
        if sobject == "Contact":
            return self.contacts, self.contact_fields, "003"
        if sobject == "Case":
            return self.cases, CASE_FIELDS, "500"
        return None

    def _check_fields(self, sobject: str, fields: dict, allowed: set) -> Response | None:
        for name in fields:
            if name != "attributes" and name not in allowed:
                return self.json_response(_errors(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"), 400)  # fmt: skip
        return None

    def _matches(self, store: dict, field: str, value) -> list[str]:
        key = (id(store), field)
        if key not in self._indexes:
            self._indexes[key] = LookupIndex(store, lambda rec, f=field: rec.get(f))
        return self._indexes[key].find(value)

    def _touch(self, store: dict, record_id: str) -> None:
        """Keep the lookup indexes of ``store`` in step after a write to one record."""
        for (store_id, _field), index in self._indexes.items():
            if store_id == id(store):
                index.touch(record_id)

    def _apply(self, sobject: str, store: dict, prefix: str, field: str, value, fields: dict):
        """Upsert one record by external id: (id, created) or raises _RecordError."""
        matches = self._matches(store, field, value)
        if len(matches) > 1:
            raise _RecordError("DUPLICATE_EXTERNAL_ID", f"more than one record found for external id field: {matches}",
                               [field], status=300, urls=matches)  # fmt: skip
        if str(value) in self._rejects and sobject == "Contact":
            code, message = self._rejects[str(value)]
            raise _RecordError(code, message, [])
        if self._locked.get(str(value)):
            self._locked[str(value)] -= 1
            raise _RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
        if matches:
            record_id = matches[0]
            store[record_id].update(fields)
            created = False
        else:
            if sobject == "Contact" and not fields.get("LastName"):
                raise _RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"])
            if sobject == "Case" and fields.get("ContactId") and fields["ContactId"] not in self.contacts:
                raise _RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ContactId"])
            record_id = self._new_id(prefix)
            store[record_id] = {"Id": record_id, field: str(value), **fields}
            if sobject == "Case":
                store[record_id].update(CaseNumber=f"{1000 + len(store):08d}", Status="New", IsClosed=False)
                store[record_id].setdefault("Origin", "Web")
            created = True
        self._touch(store, record_id)
        if sobject == "Contact":
            self.record_write(record_id, fields)
        return record_id, created

    # --- endpoints ------------------------------------------------------------------------------
    def on_token(self, request):
        self.token_requests += 1
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return self.json_response({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return self.json_response({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
        self.access_token = f"sf-token-{next(self._tokens)}"
        self._valid.add(self.access_token)
        return self.json_response({"access_token": self.access_token, "instance_url": self.url,
                                   "token_type": "Bearer", "issued_at": "1700000000000"})  # fmt: skip

    def on_limits(self, request, version):
        if (denied := self._authorized(request)) is not None:
            return denied
        return self.json_response({"DailyApiRequests": {"Max": self.daily_max, "Remaining": self.daily_max - self.api_used}})

    def on_collection_upsert(self, request, version, sobject, field):
        if (denied := self._authorized(request)) is not None:
            return denied
        if self._store(sobject) is None:
            return self.json_response(_errors("NOT_FOUND", f"sObject type '{sobject}' is not supported."), 404)
        store, allowed, prefix = self._store(sobject)
        if field not in (self.ext_field, CASE_EXT_FIELD):
            return self.json_response(_errors("INVALID_FIELD", f"Field {field} is not an External ID or Id field"), 400)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return self.json_response(_errors("JSON_PARSER_ERROR", "The request body is not a valid collection"), 400)
        records = body["records"]
        if len(records) > 200:
            return self.json_response(_errors("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"), 400)  # fmt: skip
        for rec in records:
            if (rec.get("attributes") or {}).get("type") != sobject:
                return self.json_response(_errors("INVALID_TYPE", "Each record needs attributes.type " + sobject), 400)
            if "Id" in rec:
                return self.json_response(_errors("INVALID_FIELD", "Id is not allowed in an upsert by external id"), 400)
            if (bad := self._check_fields(sobject, rec, allowed)) is not None:
                return bad
        results = []
        for rec in records:
            fields = {k: v for k, v in rec.items() if k != "attributes"}
            value = fields.get(field)
            if value in (None, ""):
                results.append({"id": None, "success": False, "errors": [
                    {"statusCode": "MISSING_ARGUMENT", "message": f"{field} not specified", "fields": [field]}]})
                continue
            try:
                record_id, created = self._apply(sobject, store, prefix, field, value, fields)
            except _RecordError as err:
                results.append({"id": None, "success": False, "errors": [
                    {"statusCode": err.code, "message": err.message, "fields": err.fields}]})
                continue
            results.append({"id": record_id, "success": True, "errors": [], "created": created})
        return self.json_response(results)

    def on_collection_update(self, request, version):
        """Update records by Id (``{"attributes": {"type": ...}, "id": ...}``); per-record results in order."""
        if (denied := self._authorized(request)) is not None:
            return denied
        body = request.get_json(silent=True)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            return self.json_response(_errors("JSON_PARSER_ERROR", "The request body is not a valid collection"), 400)
        if len(records) > 200:
            return self.json_response(_errors("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"), 400)  # fmt: skip
        for rec in records:
            sobject = (rec.get("attributes") or {}).get("type")
            if self._store(sobject) is None:
                return self.json_response(_errors("INVALID_TYPE", f"sObject type '{sobject}' is not supported."), 400)
            fields = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
            if (bad := self._check_fields(sobject, fields, self._store(sobject)[1])) is not None:
                return bad
        results = []
        for rec in records:
            sobject = rec["attributes"]["type"]
            store = self._store(sobject)[0]
            record_id = rec.get("id") or rec.get("Id")
            fields = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
            error = None
            if record_id not in store:
                error = ("ENTITY_IS_DELETED", "entity is deleted", [])
            elif sobject == "Contact" and self.ext_field in fields:
                ext = str(fields[self.ext_field])
                taken = [rid for rid in self._matches(store, self.ext_field, ext) if rid != record_id]
                if taken:
                    error = ("DUPLICATE_VALUE", f"duplicate value found: {self.ext_field} duplicates value on record "
                             f"with id: {taken[0]}", [self.ext_field])  # fmt: skip
                elif ext in self._rejects:
                    error = (*self._rejects[ext], [])
                elif self._locked.get(ext):
                    self._locked[ext] -= 1
                    error = ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
            if error:
                results.append({"id": record_id, "success": False, "errors": [
                    {"statusCode": error[0], "message": error[1], "fields": error[2]}]})
                continue
            store[record_id].update(fields)
            self._touch(store, record_id)
            if sobject == "Contact":
                self.record_write(record_id, fields)
            results.append({"id": record_id, "success": True, "errors": []})
        return self.json_response(results)

    def on_by_ext(self, request, version, sobject, field, value):
        if (denied := self._authorized(request)) is not None:
            return denied
        if self._store(sobject) is None:
            return self.json_response(_errors("NOT_FOUND", f"sObject type '{sobject}' is not supported."), 404)
        store, allowed, prefix = self._store(sobject)
        if request.method == "GET":
            matches = self._matches(store, field, value)
            if len(matches) > 1:
                return self.json_response([f"/services/data/{version}/sobjects/{sobject}/{m}" for m in matches], 300)
            if not matches:
                return self.json_response(_errors("NOT_FOUND", "The requested resource does not exist"), 404)
            return self._record(store[matches[0]], sobject, version, request.args.get("fields"))
        fields = request.get_json(silent=True)
        if not isinstance(fields, dict):
            return self.json_response(_errors("JSON_PARSER_ERROR", "The request body is not valid JSON"), 400)
        if "Id" in fields or field in fields:
            return self.json_response(_errors("INVALID_FIELD", f"Id and {field} are not allowed in the body of an upsert"), 400)  # fmt: skip
        if (bad := self._check_fields(sobject, fields, allowed)) is not None:
            return bad
        try:
            record_id, created = self._apply(sobject, store, prefix, field, value, fields)
        except _RecordError as err:
            if err.status == 300:
                return self.json_response([f"/services/data/{version}/sobjects/{sobject}/{m}" for m in err.urls], 300)
            return self.json_response(_errors(err.code, err.message, err.fields), 400)
        return self.json_response({"id": record_id, "success": True, "errors": [], "created": created},
                                  201 if created else 200)  # fmt: skip

    def on_by_id(self, request, version, sobject, record_id):
        if (denied := self._authorized(request)) is not None:
            return denied
        if self._store(sobject) is None:
            return self.json_response(_errors("NOT_FOUND", f"sObject type '{sobject}' is not supported."), 404)
        store, allowed, _prefix = self._store(sobject)
        if record_id not in store:
            return self.json_response(_errors("NOT_FOUND", "The requested resource does not exist"), 404)
        if request.method == "GET":
            return self._record(store[record_id], sobject, version, request.args.get("fields"))
        fields = request.get_json(silent=True)
        if not isinstance(fields, dict) or "Id" in fields:
            return self.json_response(_errors("INVALID_FIELD", "The body must be an object without Id"), 400)
        if (bad := self._check_fields(sobject, fields, allowed)) is not None:
            return bad
        if sobject == "Contact" and self.ext_field in fields:
            taken = [rid for rid in self._matches(store, self.ext_field, fields[self.ext_field]) if rid != record_id]
            if taken:
                return self.json_response(_errors(
                    "DUPLICATE_VALUE", f"duplicate value found: {self.ext_field} duplicates value on record with id: {taken[0]}",
                    [self.ext_field]), 400)  # fmt: skip
        store[record_id].update(fields)
        self._touch(store, record_id)
        if sobject == "Contact":
            self.record_write(record_id, fields)
        return Response(status=204)

    def _record(self, record: dict, sobject: str, version: str, fields: str | None):
        data = dict(record)
        if fields:
            wanted = [f.strip() for f in fields.split(",") if f.strip()]
            data = {name: record.get(name) for name in wanted}
            data["Id"] = record["Id"]
        data["attributes"] = {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{record['Id']}"}
        return Response(json.dumps(data), status=200, mimetype="application/json")


class _RecordError(Exception):
    def __init__(self, code, message, fields, *, status=400, urls=()):
        super().__init__(message)
        self.code, self.message, self.fields, self.status, self.urls = code, message, fields, status, urls
