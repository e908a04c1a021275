"""Browser smoke test: two people use the forum the way a customer would.

Alice registers and asks (the live preview renders Markdown), Bob registers and answers while
Alice keeps the question open (the live banner arrives over Socket.IO), Alice accepts Bob's second
answer (it gets the accepted mark and moves to the top), and Bob, now with the 15 reputation voting
up needs, votes through the JavaScript-enhanced button (the score changes without a reload). No page
may report a CSP violation.
"""

import re
import uuid

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
TITLE = "How do I export my invoices as CSV?"
BODY = "I need **bold** numbers for the finance team: where is the export button for invoices?"
FIRST_ANSWER = "Open Billing, then Invoices, and use the Export menu at the top right of the table."
SECOND_ANSWER = "Since the March release the export also lives under Settings, Data export, as a CSV file."


def _expect():
    from playwright.sync_api import expect

    return expect


def register(page, *, email: str, name: str) -> None:
    page.goto("/register")
    page.fill("input[name=email]", email)
    page.fill("input[name=display_name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    _expect()(page.locator("body")).to_have_attribute("data-user-id", re.compile(r"^\d+$"))


def log_in(page, *, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form[method=post]").get_by_role("button", name=re.compile("^Log in$", re.I)).click()
    _expect()(page.locator("body")).to_have_attribute("data-user-id", re.compile(r"^\d+$"))


def log_out(page) -> None:
    page.locator("details.user-menu summary").click()
    page.locator("details.user-menu form.logout-form button").click()
    _expect()(page.locator("body")).to_have_attribute("data-user-id", "")


def ask_question(page) -> str:
    """Ask through the form, checking the live preview on the way; returns the question's URL."""
    expect = _expect()
    page.get_by_role("link", name="Ask a question").first.click()
    page.fill("input[name=title]", TITLE)
    body = page.locator("textarea[name=body]")
    body.fill(BODY)
    preview_id = body.get_attribute("data-preview-target")
    assert preview_id, "the body textarea names its live preview (data-preview-target)"
    expect(page.locator(f"#{preview_id} strong")).to_have_text("bold")
    page.fill("input[name=tags]", "billing export")
    page.select_option("select[name=category]", label="Getting started")
    page.get_by_role("button", name="Post your question").click()
    expect(page.locator("h1")).to_contain_text(TITLE)
    assert re.search(r"/questions/\d+", page.url), page.url
    return page.url


def post_answer(page, body: str) -> None:
    page.fill("#your-answer textarea[name=body]", body)
    page.locator("#your-answer").get_by_role("button", name="Post your answer").click()
    _expect()(answer_posts(page).filter(has_text=body)).to_have_count(1)


def answer_posts(page):
    """The answer articles in page order."""
    return page.locator("article.post[id^='answer-']")


def test_register_ask_answer_vote_accept_in_a_real_browser(new_page, console):
    expect = _expect()
    run = uuid.uuid4().hex[:8]
    alice_email, bob_email = f"alice-{run}@example.com", f"bob-{run}@example.com"

    # Alice registers, asks (with a rendered preview), and logs out.
    first = new_page()
    register(first, email=alice_email, name="Alice Asker")
    question_url = ask_question(first)
    log_out(first)

    # Bob registers in the same browser and opens the question.
    register(first, email=bob_email, name="Bob Builder")
    first.goto(question_url)

    # Alice, in her own browser context, keeps the question open while Bob answers.
    alice = new_page()
    log_in(alice, email=alice_email)
    alice.goto(question_url)
    expect(alice.locator("#live-banner")).to_be_empty()
    alice.wait_for_function("() => window.Community && window.Community.socket && window.Community.socket.connected")
    alice.wait_for_timeout(300)  # the join ack; the banner test below waits anyway

    post_answer(first, FIRST_ANSWER)
    expect(alice.locator("#live-banner")).to_contain_text("Bob Builder posted a new answer")

    first.goto(question_url)
    post_answer(first, SECOND_ANSWER)

    # Alice accepts the second (newer) answer: it is marked and shown first.
    alice.reload()
    second = answer_posts(alice).filter(has_text=SECOND_ANSWER)
    second.locator("form[action*='accept'] [type=submit]").click()
    expect(alice.locator(".post--accepted")).to_contain_text(SECOND_ANSWER)
    expect(answer_posts(alice).first).to_contain_text(SECOND_ANSWER)
    expect(answer_posts(alice).first).to_have_class(re.compile(r"\bpost--accepted\b"))

    # The accept earned Bob the 15 reputation voting up needs. He votes the question up through the
    # enhanced button: the score changes, the page stays.
    first.goto(question_url)
    first.evaluate("() => { window.__sameDocument = true; }")
    question_score = first.locator("#question [data-score-for]")
    expect(question_score).to_have_text("0")
    first.locator("#question [data-vote=up]").click()
    expect(question_score).to_have_text("1")
    assert first.evaluate("() => window.__sameDocument === true"), "voting reloaded the page"

    assert console.csp_violations() == [], console.csp_violations()
