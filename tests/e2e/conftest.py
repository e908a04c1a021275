"""Browser fixtures: the real server in a subprocess and Chromium driven by Playwright.

The server is started exactly as a developer starts it (``python wsgi.py``), on a free port, with
its own instance folder and SQLite file, after the migrations (Flask-Migrate's ``upgrade``, as
``flask --app wsgi db upgrade`` runs them) and one category. Chromium is Debian's
``/usr/bin/chromium``; Playwright never downloads a browser here. Without Chromium (or the
playwright package) every browser test is skipped with the reason.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CATEGORY = {"slug": "getting-started", "name": "Getting started", "description": "First steps with the product"}


def _unavailable() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _unavailable()
    if not reason:
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(instance: Path, port: int, webhook) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "REDIS_URL", "FLASK_APP"}}
    env.update(
        HOST="127.0.0.1", PORT=str(port), APP_ENV="development", INSTANCE_PATH=str(instance),
        DATABASE_URL=f"sqlite:///{instance / 'e2e.db'}", SECRET_KEY="e2e-secret-key-not-for-production",
        RATELIMIT_ENABLED="0", BASE_URL=f"http://127.0.0.1:{port}", PYTHONUNBUFFERED="1",
        # members are synced to the fake webhook CRM below, by the server's own relay task
        CRM_CONNECTORS="webhook", CRM_WEBHOOK_URL=webhook.url, CRM_WEBHOOK_SECRET=webhook.secret,
        CRM_RETRY_BASE_SECONDS="0.5", OUTBOX_POLL_SECONDS="0.3",
    )  # fmt: skip
    return env


_SERVER: dict = {}  # the live server's environment, for run_in_app


def run_in_app(code: str, *args: str) -> str:
    """Run Python ``code`` with the live server's settings (``app`` is an app, inside its context)."""
    prelude = "import sys\nfrom community import create_app\napp = create_app()\nctx = app.app_context(); ctx.push()\n"
    done = subprocess.run([sys.executable, "-c", prelude + code, *args], cwd=ROOT, capture_output=True, timeout=60,
                          env={**_SERVER["env"], "COMMUNITY_NO_RELAY": "1"}, check=True)  # fmt: skip
    return done.stdout.decode()


@pytest.fixture(scope="session")
def crm_webhook():
    """The fake webhook CRM the live server delivers to (tests/crm_fakes.py)."""
    import crm_fakes

    with crm_fakes.FakeWebhook() as fake:
        yield fake


_PREPARE = """
import sys
from community import create_app
from community.db import transaction
from community.extensions import db
from community.models import Category

app = create_app()
with app.app_context():
    if sys.argv[1] == "upgrade":
        from flask_migrate import upgrade

        upgrade()  # what `flask --app wsgi db upgrade` runs, without a second interpreter start
    else:
        db.create_all()
    with transaction():
        db.session.add(Category(slug=sys.argv[2], name=sys.argv[3], description=sys.argv[4], is_default=True))
"""


def _prepare_database(env: dict) -> None:
    """Migrate (or create the tables while no migration exists yet), then add one category."""
    mode = "upgrade" if any((ROOT / "migrations" / "versions").glob("*.py")) else "create_all"
    subprocess.run(
        [sys.executable, "-c", _PREPARE, mode, CATEGORY["slug"], CATEGORY["name"], CATEGORY["description"]],
        cwd=ROOT, env={**env, "COMMUNITY_NO_RELAY": "1"}, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def _wait_until_serving(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} within {timeout}s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, crm_webhook):
    """Base URL of a freshly migrated server (``python wsgi.py``) with one category; stopped after."""
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    instance = tmp_path_factory.mktemp("e2e-instance")
    port = _free_port()
    env = _server_env(instance, port, crm_webhook)
    _SERVER["env"] = env
    try:
        _prepare_database(env)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"preparing the e2e database failed:\n{exc.stdout.decode()}\n{exc.stderr.decode()}")
    log_path = instance / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url + "/questions", proc, log_path)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if os.environ.get("E2E_KEEP_LOG"):
            shutil.copy(log_path, os.environ["E2E_KEEP_LOG"])


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session."""
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


class Console:
    """Console messages and page errors of every page opened through ``new_page``."""

    def __init__(self):
        self.messages: list[str] = []

    def watch(self, page):
        page.on("console", lambda msg: self.messages.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        return page

    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m]


@pytest.fixture
def console():
    return Console()


@pytest.fixture
def new_page(browser, live_server, console):
    """``new_page()`` opens a page in a fresh browser context (its own cookies: one user each)."""
    contexts = []

    def _new_page():
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return console.watch(context.new_page())

    yield _new_page
    for context in contexts:
        context.close()
