"""Browser test: the CRM admin page follows a full resync live (static/js/crm-admin.js).

An admin starts a full resync to the webhook connector while the fake CRM is down: the resync shows
"in progress". The CRM comes back, the server's relay delivers, and the page says "finished" with
every member done, without a reload (a marker set in the page survives).
"""

import uuid

import pytest
from conftest import run_in_app
from test_smoke import register

pytestmark = pytest.mark.browser

PROMOTE = """
from community.db import transaction
from community.extensions import db
from community.services import accounts
with transaction():
    accounts.set_role(db.session, actor=None, user=accounts.find_by_email(db.session, sys.argv[1]), role="admin")
"""


def test_resync_progress_updates_without_a_reload(new_page, crm_webhook, console):
    from playwright.sync_api import expect

    email = f"admin-crm-{uuid.uuid4().hex[:8]}@example.com"
    page = new_page()
    register(page, email=email, name="Ada Admin")
    run_in_app(PROMOTE, email)  # the next request reads the new role

    page.goto("/admin/crm/webhook")
    crm_webhook.down()
    try:
        page.get_by_role("button", name="Full resync").click()
        item = page.locator(".crm-resync").first
        expect(item.locator(".crm-resync-state")).to_have_text("in progress")
        page.evaluate("window.__stillHere = true")
    finally:
        crm_webhook.up()
    expect(item.locator(".crm-resync-state")).to_have_text("finished", timeout=20_000)
    assert item.locator('[data-field="pending"]').inner_text() == "0"
    assert item.locator('[data-field="done"]').inner_text() == item.locator('[data-field="total"]').inner_text()
    assert page.evaluate("window.__stillHere") is True
    assert any(body.get("event") == "advocate.snapshot" and any(r.get("email") == email for r in body["records"])
               for _headers, body in crm_webhook.received)  # fmt: skip
    assert console.csp_violations() == []
