"""What every CRM connector offers, the records and results they exchange, and their HTTP plumbing.

A connector turns a batch of mapped member records into the vendor's batch call and reports one
:class:`RecordResult` per record. A failure of the whole call raises :class:`DeliveryError`, which
says whether trying again can help and, for rate limits, when. The relay (crm_relay.py) does the
queueing, retries and bookkeeping; connectors only speak HTTP.
"""

import email.utils
import time
from dataclasses import dataclass, field

import requests

DEFAULT_TIMEOUT = 10.0


@dataclass
class SyncRecord:
    """One member's mapped CRM fields, with what identifies the contact."""

    user_id: int
    fields: dict
    email: str
    contact_id: str | None = None  # known from the member's link, if any
    opt_out: bool = False


@dataclass
class RecordResult:
    user_id: int
    ok: bool
    contact_id: str | None = None
    created: bool = False
    error: str | None = None
    retryable: bool = False  # a per-record error that may pass (a locked row, a timeout)


@dataclass
class CaseRequest:
    """A support case for a question; ``question_id`` is its idempotency key in the CRM."""

    question_id: int
    subject: str
    description: str
    thread_url: str
    contact_id: str | None = None
    community_user_id: str | None = None
    email: str | None = None
    priority: str = "Medium"


@dataclass
class CaseResult:
    case_id: str
    case_number: str | None = None
    status: str | None = None
    closed: bool = False
    resolution: str | None = None
    extra: dict = field(default_factory=dict)


def profile(*, account_name=None, tier=None, products=None, open_cases=None, lifetime_value=None, owner=None) -> dict:
    """The normalised customer-360 dict from a CRM's raw values (strings, ";"-separated lists, numbers)."""
    if isinstance(products, str):
        products = products.split(";")
    try:
        cases = int(float(open_cases)) if open_cases not in (None, "") else 0
    except (TypeError, ValueError):
        cases = 0
    try:
        value = float(lifetime_value) if lifetime_value not in (None, "") else None
    except (TypeError, ValueError):
        value = None
    return {"account_name": str(account_name or ""), "tier": str(tier or ""),
            "products": [str(p).strip() for p in products or () if str(p).strip()],
            "open_cases": cases, "lifetime_value": value, "owner": str(owner or "")}  # fmt: skip


class DeliveryError(Exception):
    """The whole call failed. ``retryable`` false parks the messages as dead (a 4xx that won't heal).
    ``throttled`` (default: a 429) means the CRM's rate limit or quota: the relay pauses the connector
    for ``retry_after`` and the try does not count towards the attempt limit."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None,
                 status: int | None = None, throttled: bool | None = None):  # fmt: skip
        super().__init__(message)
        self.retryable, self.retry_after, self.status = retryable, retry_after, status
        self.throttled = status == 429 if throttled is None else throttled


def retry_after_seconds(response, *, default: float | None = None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), else ``default``."""
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else default


def error_text(response, limit: int = 500) -> str:
    body = (response.text or "").strip().replace("\n", " ")
    return f"HTTP {response.status_code}: {body[:limit]}" if body else f"HTTP {response.status_code}"


class Connector:
    """Base class. Subclasses set ``name`` and ``batch_size`` and implement the methods below."""

    name = ""
    batch_size = 100
    # snapshot fields that must stay mapped because they identify the record
    required_fields: tuple[str, ...] = ()

    def __init__(self, config, *, timeout: float | None = None):
        self.config = config
        self.timeout = timeout or float(config.get("CRM_HTTP_TIMEOUT", DEFAULT_TIMEOUT))
        self.http = requests.Session()  # keep-alive across batches

    # --- HTTP -----------------------------------------------------------------------------------
    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """One call; network failures become a retryable DeliveryError (the write may have happened:
        every write the connectors make is an idempotent upsert, so trying again is safe)."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.http.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise DeliveryError(f"{self.name}: timed out after {self.timeout:g} s ({exc})") from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"{self.name}: cannot reach the CRM ({type(exc).__name__}: {exc})") from exc

    def raise_for_status(self, response: requests.Response, *, default_wait: float | None = None) -> None:
        """Map a failed status to DeliveryError: 429 and 5xx retry (honouring Retry-After), other 4xx don't."""
        status = response.status_code
        if status < 400:
            return
        text = f"{self.name}: {error_text(response)}"
        if status == 429:
            raise DeliveryError(text, retry_after=retry_after_seconds(response, default=default_wait), status=status)
        if status >= 500 or status == 408:
            raise DeliveryError(text, retry_after=retry_after_seconds(response), status=status)
        raise DeliveryError(text, retryable=False, status=status)

    # --- what a connector does -----------------------------------------------------------------
    def upsert(self, records: list[SyncRecord]) -> list[RecordResult]:
        """Create or update these contacts (at most ``batch_size``); one result per record, in order."""
        raise NotImplementedError

    def ping(self) -> str:
        """Check the settings and credentials with a harmless call; returns a short description."""
        raise NotImplementedError

    def claim_contact(self, contact_id: str, record: SyncRecord) -> None:
        """After a member is linked by hand to an existing contact: make later upserts find it."""

    def fetch_profile(self, *, contact_id: str | None, record: SyncRecord) -> dict:
        """The customer-360 data for a contact: account_name, tier, products (list), open_cases,
        lifetime_value, owner. Raises DeliveryError when the CRM cannot answer."""
        raise NotImplementedError

    def upsert_case(self, case: CaseRequest) -> CaseResult:
        """Open (or find again, by question id) the support case for a question."""
        raise NotImplementedError

    def get_case(self, case_id: str) -> CaseResult:
        raise NotImplementedError


_registry: dict[str, type[Connector]] = {}
_instances: dict[tuple, Connector] = {}


def register(cls: type[Connector]) -> type[Connector]:
    _registry[cls.name] = cls
    return cls


def get(name: str, config, *, timeout: float | None = None) -> Connector:
    """The connector named ``name`` for this app's settings (one per process, so tokens are reused).
    ``timeout`` gives a separate instance with a shorter HTTP timeout (a page's "Refresh now")."""
    from community.integrations import crm_hubspot, crm_salesforce, crm_webhook  # noqa: F401 (register)

    key = (name, id(config)) if timeout is None else (name, id(config), timeout)
    if key not in _instances:
        if name not in _registry:
            raise LookupError(f"no CRM connector named {name!r}")
        _instances[key] = _registry[name](config, timeout=timeout)
    return _instances[key]


def forget(config=None) -> None:
    """Drop cached connectors (after settings change, and between tests)."""
    for key in [k for k in _instances if config is None or k[1] == id(config)]:
        _instances.pop(key).http.close()
