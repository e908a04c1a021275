"""The staff page of fraud cases found by ``flask reputation detect-fraud``."""

import pytest

from community.db import transaction
from community.services import fraud, votes


@pytest.fixture
def case(session, users, ask):
    voter, target = users["member"], users["other"]
    for i in range(10):
        question = ask(target, title=f"Invoice question number {i} about billing")
        with transaction(session):
            votes.cast(session, actor=voter, post_id=question.id, value=1)
    with transaction(session):
        found = fraud.detect(session)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("marketer", 403), ("moderator", 200), ("admin", 200)])
def test_fraud_page_is_for_moderators_and_admins(client, auth, users, role, status):
    auth.login(f"{role}@example.com")
    assert client.get("/admin/fraud").status_code == status


def test_fraud_page_explains_each_case_with_names(client, auth, users, case):
    auth.login("moderator@example.com")
    page = client.get("/admin/fraud").get_data(as_text=True)
    assert "Member User" in page and "Other Member" in page
    assert "10 upvotes between" in page and "100 reputation reversed" in page
    assert f'href="/users/{users["other"].id}/reputation"' in page


def test_fraud_page_without_cases_says_so(client, auth, users):
    auth.login("admin@example.com")
    assert "No serial voting has been found." in client.get("/admin/fraud").get_data(as_text=True)
