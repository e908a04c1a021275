"""Configuration: one class per environment, every setting read from the environment.

Nothing is read at import time; each class reads ``os.environ`` when it is
instantiated, so tests can set variables before they build an app.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name, default):
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def _development_secret_key(instance_dir: Path) -> str:
    """Generate a secret key once into instance/ and reuse it on every start."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class BaseConfig:
    """Settings shared by every environment; subclasses override what differs."""

    ENV_NAME = "base"

    def __init__(self):
        self.INSTANCE_PATH = str(INSTANCE_DIR)
        self.SECRET_KEY = _env("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = _env(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'community.db'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = _env("REDIS_URL")
        self.SEARCH_BACKEND = _env("SEARCH_BACKEND", "whoosh")
        self.SEARCH_INDEX_DIR = _env("SEARCH_INDEX_DIR", str(INSTANCE_DIR / "search-index"))
        self.MAIL_DIR = _env("MAIL_DIR", str(INSTANCE_DIR / "mail"))
        self.MAIL_SENDER = _env("MAIL_SENDER", "community@example.com")
        self.SMTP_URL = _env("SMTP_URL")

        self.BRAND_NAME = _env("BRAND_NAME", "Acme Community")
        self.BRAND_TAGLINE = _env("BRAND_TAGLINE", "Customers helping customers")
        self.BRAND_LOGO_URL = _env("BRAND_LOGO_URL")
        self.BRAND_PRIMARY_COLOR = _env("BRAND_PRIMARY_COLOR", "#2457c5")
        self.BRAND_SUPPORT_URL = _env("BRAND_SUPPORT_URL", "https://example.com/support")
        self.BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_ENABLED = True

        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_DEFAULT = _env("RATELIMIT_DEFAULT", "600 per minute")
        self.RATELIMIT_WRITE = _env("RATELIMIT_WRITE", "30 per minute")
        self.RATELIMIT_AUTH = _env("RATELIMIT_AUTH", "10 per minute")
        self.RATELIMIT_HEADERS_ENABLED = True

        self.OUTBOX_RELAY_IN_PROCESS = _env_bool("OUTBOX_RELAY_IN_PROCESS", True)
        self.OUTBOX_POLL_SECONDS = float(_env("OUTBOX_POLL_SECONDS", "1.0"))
        self.OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 8)
        self.OUTBOX_BATCH_SIZE = _env_int("OUTBOX_BATCH_SIZE", 100)

        # anonymous page views are cached this long unless content changes first (0 turns it off)
        self.PAGE_CACHE_SECONDS = float(_env("PAGE_CACHE_SECONDS", "30"))
        self.PAGE_CACHE_ENTRIES = _env_int("PAGE_CACHE_ENTRIES", 1000)
        # question page views are counted in memory and written this often (services/views.py)
        self.VIEW_FLUSH_SECONDS = float(_env("VIEW_FLUSH_SECONDS", "60"))
        self.QUESTIONS_PER_PAGE = 30
        # reputation rules when none were saved on the admin page: stackexchange | community
        self.REPUTATION_PRESET = _env("REPUTATION_PRESET", "stackexchange")

        # `flask reputation detect-fraud` defaults (serial voting; docs/reputation.md "Anti-gaming")
        self.FRAUD_WINDOW_HOURS = _env_int("FRAUD_WINDOW_HOURS", 24)
        self.FRAUD_BURST_VOTES = _env_int("FRAUD_BURST_VOTES", 10)
        self.FRAUD_SHARE_PERCENT = _env_int("FRAUD_SHARE_PERCENT", 50)
        self.FRAUD_MIN_VOTES = _env_int("FRAUD_MIN_VOTES", 10)
        self.PASSWORD_RESET_MAX_AGE = 3600

        # CRM integration (docs/crm.md). No connector in the embedded default.
        self.CRM_CONNECTORS = _env("CRM_CONNECTORS", "")  # comma-separated: salesforce, hubspot, webhook
        self.SALESFORCE_INSTANCE_URL = _env("SALESFORCE_INSTANCE_URL")
        self.SALESFORCE_ACCESS_TOKEN = _env("SALESFORCE_ACCESS_TOKEN")
        self.SALESFORCE_CLIENT_ID = _env("SALESFORCE_CLIENT_ID")
        self.SALESFORCE_CLIENT_SECRET = _env("SALESFORCE_CLIENT_SECRET")
        self.SALESFORCE_TOKEN_URL = _env("SALESFORCE_TOKEN_URL")
        self.SALESFORCE_API_VERSION = _env("SALESFORCE_API_VERSION", "v59.0")
        self.SALESFORCE_EXTERNAL_ID_FIELD = _env("SALESFORCE_EXTERNAL_ID_FIELD", "Community_User_Id__c")
        self.HUBSPOT_BASE_URL = _env("HUBSPOT_BASE_URL", "https://api.hubapi.com")
        self.HUBSPOT_TOKEN = _env("HUBSPOT_TOKEN")
        self.HUBSPOT_ID_PROPERTY = _env("HUBSPOT_ID_PROPERTY", "email")
        self.CRM_WEBHOOK_URL = _env("CRM_WEBHOOK_URL")
        self.CRM_WEBHOOK_SECRET = _env("CRM_WEBHOOK_SECRET")
        self.CRM_HTTP_TIMEOUT = float(_env("CRM_HTTP_TIMEOUT", "10"))
        # a relay's hold on the members it is sending; must outlast CRM_HTTP_TIMEOUT
        self.CRM_LEASE_SECONDS = float(_env("CRM_LEASE_SECONDS", "120"))
        self.CRM_RETRY_BASE_SECONDS = float(_env("CRM_RETRY_BASE_SECONDS", "2"))
        self.CRM_PROFILE_TTL_SECONDS = _env_int("CRM_PROFILE_TTL_SECONDS", 900)
        # "Refresh now" on a staff page waits for the CRM at most this long (the request is blocked)
        self.CRM_PROFILE_TIMEOUT = float(_env("CRM_PROFILE_TIMEOUT", "3"))
        self.RATELIMIT_CRM_INBOUND = _env("RATELIMIT_CRM_INBOUND", "300 per minute")  # POST /crm/inbound
        self.CRM_ESCALATE_AFTER_HOURS = float(_env("CRM_ESCALATE_AFTER_HOURS", "24"))
        # with REDIS_URL: the RQ queue CRM jobs go to, and how many batches one job sends before it re-queues
        self.CRM_RQ_QUEUE = _env("CRM_RQ_QUEUE", "crm")
        self.CRM_JOB_BATCHES = _env_int("CRM_JOB_BATCHES", 50)
        # support cases go to this connector; empty: the first of CRM_CONNECTORS; "none": no escalation
        self.CRM_CASE_CONNECTOR = _env("CRM_CASE_CONNECTOR", "")
        self.CRM_ESCALATION_CHECK_SECONDS = float(_env("CRM_ESCALATION_CHECK_SECONDS", "300"))


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"

    def __init__(self):
        super().__init__()
        if not self.SECRET_KEY:
            self.SECRET_KEY = _development_secret_key(INSTANCE_DIR)


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"

    def __init__(self):
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = "testing-only-secret-key"  # noqa: S105 (tests only)
        self.SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
        self.WTF_CSRF_ENABLED = False
        self.RATELIMIT_ENABLED = False
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.OUTBOX_RELAY_IN_PROCESS = False
        self.PAGE_CACHE_SECONDS = 0  # tests that exercise the cache switch it on
        self.VIEW_FLUSH_SECONDS = 0  # tests flush views explicitly
        self.SEARCH_INDEX_DIR = None  # tests use an in-memory index unless they ask
        self.MAIL_DIR = None


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def __init__(self):
        super().__init__()
        if not self.SECRET_KEY:
            raise RuntimeError(
                "SECRET_KEY must be set in production (for example: "
                "export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))"
            )
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.OUTBOX_RELAY_IN_PROCESS = _env_bool("OUTBOX_RELAY_IN_PROCESS", False)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load(name=None):
    """Return a config object for ``name`` or the ``APP_ENV`` variable (default development)."""
    name = name or _env("APP_ENV", "development")
    return CONFIGS[name]()
