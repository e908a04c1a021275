"""Browser test: reputation arrives live in the header, with a toast saying why.

Everything goes through the site as people use it. Everybody starts at 1 reputation and needs 15 to
vote up, so Bob earns it first: he answers Alice's question and she accepts (+15). Then Bob asks,
Alice answers and keeps the question open; Bob votes her answer up in his own browser context, and
Alice's header figure changes from 3 to 13 without a reload while toasts announce "+10 reputation"
and her first badge (Teacher: an answer that scored 1). No page may report a CSP violation.
"""

import re
import uuid

import pytest
from test_smoke import answer_posts, post_answer, register

pytestmark = pytest.mark.browser


def _expect():
    from playwright.sync_api import expect

    return expect


def ask(page, *, title: str, body: str) -> str:
    page.goto("/questions/ask")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=body]", body)
    page.fill("input[name=tags]", "reputation")
    page.select_option("select[name=category]", label="Getting started")
    page.get_by_role("button", name="Post your question").click()
    _expect()(page.locator("h1")).to_contain_text(title)
    return page.url


def header_reputation(page):
    return page.locator(".user-menu-rep [data-live-reputation]")


def test_an_upvote_updates_the_authors_header_live_with_a_toast(new_page, console):
    expect = _expect()
    run = uuid.uuid4().hex[:8]
    alice, bob = new_page(), new_page()
    register(alice, email=f"alice-rep-{run}@example.com", name="Alice Answerer")
    register(bob, email=f"bob-rep-{run}@example.com", name="Bob Voter")

    # Bob earns the 15 reputation that voting up needs: Alice accepts his answer.
    first = ask(alice, title=f"Where do I rotate the API keys of a workspace? ({run})",
                body="Our security review asks us to rotate every API key each quarter. Where is that done?")  # fmt: skip
    bob.goto(first)
    post_answer(bob, "Open Settings, then API keys: every key has a Rotate button that keeps the old one for a day.")
    alice.reload()
    answer_posts(alice).first.locator("form[action*='accept'] [type=submit]").click()
    expect(alice.locator(".post--accepted")).to_have_count(1)

    # Bob asks; Alice answers and keeps the page open with her socket connected.
    second = ask(bob, title=f"How do I invite a whole team from a CSV file? ({run})",
                 body="We have two hundred people to invite. Is there a bulk invite instead of one by one?")  # fmt: skip
    alice.goto(second)
    post_answer(alice, "Use People, then Invite, then Upload CSV: one email address per line, roles in column two.")
    alice.goto(second)
    expect(header_reputation(alice)).to_have_text("3")  # 1 to start, +2 for accepting Bob's answer
    alice.wait_for_function("() => window.Community && window.Community.socket && window.Community.socket.connected")
    alice.evaluate("() => { window.__sameDocument = true; }")

    # Bob votes Alice's answer up through the page.
    bob.goto(second)
    theirs = answer_posts(bob).first
    theirs.locator("[data-vote=up]").click()
    expect(theirs.locator("[data-score-for]")).to_have_text("1")

    # Alice's header changes in place, and toasts explain why.
    expect(header_reputation(alice)).to_have_text("13")
    expect(alice.locator(".dropdown-rep [data-live-reputation]")).to_have_text("13", use_inner_text=False)
    toasts = alice.locator("#toast-region .toast")
    expect(toasts.filter(has_text="+10 reputation")).to_have_count(1)
    expect(toasts.filter(has_text=re.compile(r"You earned the Teacher badge"))).to_have_count(1)
    assert alice.evaluate("() => window.__sameDocument === true"), "the update reloaded the page"
    expect(header_reputation(bob)).to_have_text("16")  # Bob's page got no toast about Alice
    expect(bob.locator("#toast-region .toast").filter(has_text="+10 reputation")).to_have_count(0)

    assert console.csp_violations() == [], console.csp_violations()
