"""The permission matrix: every role x every state-changing route, over HTTP.

Each case is posted by a fresh client logged in as the role (or anonymous) against objects owned by
someone else, and the outcome is classified as allowed, forbidden or login-required.
"""

import pytest

from community.db import transaction
from community.extensions import db
from community.services import comments, suggested_edits, tokens
from tests.conftest import PASSWORD, make_user

ROLES = ("anonymous", "member", "moderator", "marketer", "admin")
ALLOWED, FORBIDDEN, LOGIN = "allowed", "forbidden", "login"
EVERYONE = {"member": ALLOWED, "moderator": ALLOWED, "marketer": ALLOWED, "admin": ALLOWED}
STAFF = {"member": FORBIDDEN, "moderator": ALLOWED, "marketer": FORBIDDEN, "admin": ALLOWED}
ADMIN = {"member": FORBIDDEN, "moderator": FORBIDDEN, "marketer": FORBIDDEN, "admin": ALLOWED}
NOBODY = {"member": FORBIDDEN, "moderator": FORBIDDEN, "marketer": FORBIDDEN, "admin": FORBIDDEN}
LONG_BODY = "This is a long enough body for any post in the permission matrix tests."

# (name, path template, form data, expectations by role)
WEB_CASES = [
    ("ask", "/questions/ask", {"title": "How do I export my invoices?", "body": LONG_BODY,
                               "tags": "billing", "category": "billing"}, EVERYONE),
    ("answer", "/questions/{q}/answers", {"body": LONG_BODY}, EVERYONE),
    ("comment", "/posts/{a}/comments", {"body": "A comment that is long enough."}, EVERYONE),
    ("vote", "/posts/{a}/vote", {"value": "1"}, EVERYONE),
    ("edit others' answer", "/posts/{a}/edit", {"body": LONG_BODY + " (edited)", "reason": "matrix"}, STAFF),
    ("suggest an edit of others' question", "/posts/{q}/suggest-edit",
     {"title": "How do I export all of my invoices?", "body": LONG_BODY, "tags": "billing", "reason": "matrix"},
     EVERYONE),  # members suggest; staff are sent on to the edit form
    ("approve a suggested edit of others' answer", "/suggested-edits/{s}/approve", {"note": "ok"}, STAFF),
    ("reject a suggested edit of others' answer", "/suggested-edits/{s}/reject", {"note": "no"}, STAFF),
    ("delete others' answer", "/posts/{a}/delete", {}, STAFF),
    ("delete others' comment", "/comments/{c}/delete", {}, STAFF),
    ("accept on others' question", "/questions/{q}/accept", {"answer_id": "{a}"}, NOBODY),
    ("edit profile", "/settings/profile", {"display_name": "New Name", "about": ""}, EVERYONE),
    ("create token", "/settings/tokens", {"name": "matrix"}, EVERYONE),
    ("create category", "/admin/categories", {"name": "Security", "slug": "security",
                                              "description": "Keys", "position": "1"}, ADMIN),
    ("change a role", "/admin/users/{u}/role", {"role": "moderator"}, ADMIN),
]  # fmt: skip

API_CASES = [
    ("api ask", "/api/v1/questions", {"title": "How do I export my invoices?", "body": LONG_BODY,
                                      "tags": ["billing"], "category": "billing"}, EVERYONE),
    ("api answer", "/api/v1/questions/{q}/answers", {"body": LONG_BODY}, EVERYONE),
    ("api comment", "/api/v1/answers/{a}/comments", {"body": "A comment that is long enough."}, EVERYONE),
    ("api vote", "/api/v1/answers/{a}/vote", {"value": 1}, EVERYONE),
    ("api accept on others' question", "/api/v1/questions/{q}/accept", {"answer_id": "{a}"}, NOBODY),
    ("api render", "/api/v1/render", {"body": "**hi**"}, EVERYONE),
    ("api approve a suggested edit", "/api/v1/suggested-edits/{s}/approve", {"note": "ok"}, STAFF),
    ("api reject a suggested edit", "/api/v1/suggested-edits/{s}/reject", {"note": "no"}, STAFF),
]  # fmt: skip


@pytest.fixture
def world(session, users, ask, answer):
    """A question and answer by members other than the actors, with one comment, and an edit of the
    answer suggested by a newcomer."""
    author = users["other"]
    q = ask(author)
    a = answer(author, q)
    suggester = make_user(session, "suggester@example.com", "Sam Suggester", "member", reputation=1)
    with transaction(session):
        c = comments.add(session, actor=author, post_id=a.id, body="Owner's comment on the answer.")
        s = suggested_edits.suggest(session, actor=suggester, post_id=a.id, body=LONG_BODY + " (suggested)")
    return {"q": q.id, "a": a.id, "c": c.id, "u": author.id, "s": s.id}


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _classify(response) -> str:
    if response.status_code in (401,) or (
        response.status_code in (302, 303) and "/login" in response.headers.get("Location", "")
    ):
        return LOGIN
    if response.status_code == 403:
        return FORBIDDEN
    if response.status_code in (200, 201, 302, 303):
        return ALLOWED
    return f"unexpected {response.status_code}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,path,data,expected", WEB_CASES, ids=[c[0] for c in WEB_CASES])
def test_web_permission_matrix(app, client, users, world, role, name, path, data, expected):
    if role != "anonymous":
        client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    response = client.post(_fill(path, world), data=_fill(data, world))
    want = LOGIN if role == "anonymous" else expected[role]
    assert _classify(response) == want, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,path,data,expected", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_permission_matrix(app, client, session, users, world, role, name, path, data, expected):
    headers = {}
    if role != "anonymous":
        with transaction(session):
            _, plaintext = tokens.create(db.session, user=users[role], name="matrix")
        headers["Authorization"] = f"Bearer {plaintext}"
    payload = _fill(data, world)
    if "answer_id" in payload:
        payload["answer_id"] = int(payload["answer_id"])
    response = client.post(_fill(path, world), json=payload, headers=headers)
    want = LOGIN if role == "anonymous" else expected[role]
    assert _classify(response) == want, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) >= {"code", "message", "fields"}
