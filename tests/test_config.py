"""Configuration: secret keys per environment, cookie flags, security headers."""

import copy
import re
from contextlib import contextmanager

import pytest
from flask import session as flask_session

import config
from community import create_app
from community.extensions import limiter, socketio


@contextmanager
def isolated_extensions():
    """Building a second app re-initialises the shared extension objects (Socket.IO server,
    limiter storage and switch); put them back afterwards so the suite's app is unaffected."""
    saved = [(ext, {k: copy.copy(v) if isinstance(v, (list, dict, set)) else v for k, v in vars(ext).items()})
             for ext in (socketio, limiter)]  # fmt: skip
    try:
        yield
    finally:
        for ext, state in saved:
            vars(ext).clear()
            vars(ext).update(state)


# --- secret keys ----------------------------------------------------------------------------------


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.ProductionConfig()


def test_production_app_factory_refuses_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_takes_secret_key_from_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert config.ProductionConfig().SECRET_KEY == "from-the-environment"


def test_development_generates_secret_key_into_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "instance")
    key = config.DevelopmentConfig().SECRET_KEY
    stored = tmp_path / "instance" / "secret_key"
    assert stored.read_text().strip() == key
    assert len(key) >= 32
    assert stored.stat().st_mode & 0o777 == 0o600


def test_development_reuses_the_generated_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    assert config.DevelopmentConfig().SECRET_KEY == config.DevelopmentConfig().SECRET_KEY


def test_development_keys_differ_between_instances(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "one")
    first = config.DevelopmentConfig().SECRET_KEY
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "two")
    assert first != config.DevelopmentConfig().SECRET_KEY


def test_development_prefers_secret_key_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "explicit")
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    assert config.DevelopmentConfig().SECRET_KEY == "explicit"
    assert not (tmp_path / "secret_key").exists()


def test_load_uses_app_env(monkeypatch):
    monkeypatch.setenv("APP_ENV", "testing")
    assert isinstance(config.load(), config.TestingConfig)


# --- cookie flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [config.TestingConfig, config.DevelopmentConfig])
def test_cookies_are_httponly_and_samesite_lax(monkeypatch, tmp_path, cls):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    cfg = cls()
    assert (cfg.SESSION_COOKIE_HTTPONLY, cfg.SESSION_COOKIE_SAMESITE) == (True, "Lax")
    assert (cfg.REMEMBER_COOKIE_HTTPONLY, cfg.REMEMBER_COOKIE_SAMESITE) == (True, "Lax")


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    cfg = config.ProductionConfig()
    assert (cfg.SESSION_COOKIE_SECURE, cfg.REMEMBER_COOKIE_SECURE) == (True, True)


def _cookie(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_login_sets_httponly_lax_session_and_remember_cookies(client, users):
    response = client.post("/login", data={"email": "member@example.com", "password": "correct horse battery",
                                           "remember": "y"})  # fmt: skip
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # the test app runs over http


@pytest.fixture
def production_app(app, monkeypatch, tmp_path):
    """A production app on in-memory SQLite, with one route that writes the session."""
    monkeypatch.setenv("SECRET_KEY", "p" * 32)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    with isolated_extensions():
        prod = create_app("production")

        @prod.route("/_touch-session")
        def _touch_session():
            flask_session["seen"] = True
            return "ok"

        yield prod


def test_production_session_cookie_is_secure_httponly_lax(production_app):
    response = production_app.test_client().get("/_touch-session", base_url="https://forum.example.com")
    cookie = _cookie(response, "session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_sends_hsts(production_app):
    response = production_app.test_client().get("/_touch-session", base_url="https://forum.example.com")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


# --- security headers -----------------------------------------------------------------------------


@pytest.fixture
def headers(client, category):
    return client.get("/login").headers


def _csp(headers) -> dict[str, str]:
    policy = headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


def test_csp_allows_scripts_only_from_self(headers):
    script = _csp(headers)["script-src"]
    assert script.split()[1:] == ["'self'"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]


def test_csp_forbids_framing_and_plugins(headers):
    csp = _csp(headers)
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"


def test_nosniff_header(headers):
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_referrer_policy_header(headers):
    assert headers["Referrer-Policy"] in {"strict-origin-when-cross-origin", "same-origin", "no-referrer", "strict-origin"}


def test_frame_options_deny(headers):
    assert headers["X-Frame-Options"] == "DENY"


def test_security_headers_are_on_error_pages_too(client):
    response = client.get("/no/such/page/at/all")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_hsts_outside_production(headers):
    assert "Strict-Transport-Security" not in headers


def test_pages_have_no_inline_scripts_or_handlers(client, category):
    html = client.get("/login").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<[^>]+\son\w+\s*=", html)
