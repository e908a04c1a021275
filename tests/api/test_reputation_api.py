"""GET /api/v1/users/<id> (reputation, level), /users/<id>/reputation and /leaderboard."""

import pytest

from community.db import transaction
from community.services import qa, votes

API = "/api/v1"


@pytest.fixture
def voted(session, users, ask, answer):
    question = ask(users["member"])
    reply = answer(users["other"], question)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=reply.id, value=1)
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=reply.id)
        votes.cast(session, actor=users["member"], post_id=reply.id, value=0)
    return question, reply


def test_profile_has_reputation_and_level(client, users, voted):
    body = client.get(f"{API}/users/{users['other'].id}").get_json()
    assert body["reputation"] == 215
    assert body["level"] == {"name": "Contributor", "min": 50}


def test_me_has_level_too(client, users, member_headers):
    assert client.get(f"{API}/me", headers=member_headers).get_json()["level"]["name"] == "Contributor"


def test_reputation_lists_ledger_entries_newest_first(client, users, voted):
    _question, reply = voted
    body = client.get(f"{API}/users/{users['other'].id}/reputation").get_json()
    assert (body["total"], body["page"], body["pages"]) == (4, 1, 1)
    kinds = [e["kind"] for e in body["items"]]
    assert kinds == ["vote_retracted", "answer_accepted", "answer_upvoted", "moderator_adjustment"]
    retracted, upvoted = body["items"][0], body["items"][2]
    assert retracted["reverses_id"] == upvoted["id"] and retracted["delta"] == -10
    assert set(upvoted) == {"id", "delta", "kind", "source_type", "source_id", "post_id", "reverses_id", "note",
                            "created_at"}  # fmt: skip
    assert (upvoted["source_type"], upvoted["post_id"]) == ("vote", reply.id)
    assert upvoted["created_at"].endswith("Z")


def test_reputation_paginates(client, users, voted):
    body = client.get(f"{API}/users/{users['other'].id}/reputation?page=2&per_page=3").get_json()
    assert (body["page"], body["pages"], len(body["items"])) == (2, 2, 1)
    assert body["items"][0]["kind"] == "moderator_adjustment"


def test_reputation_of_unknown_user_is_404(client, error_of):
    assert error_of(client.get(f"{API}/users/424242/reputation"), 404)["code"] == "not_found"


def test_reputation_bad_page_is_422(client, users, error_of):
    assert "page" in error_of(client.get(f"{API}/users/{users['other'].id}/reputation?page=0"), 422)["fields"]


def test_leaderboard_ranks_members_and_leaves_out_staff(client, users, voted):
    body = client.get(f"{API}/leaderboard").get_json()
    names = [row["name"] for row in body["items"]]
    assert names[0] == "Other Member" and "Moderator User" not in names
    assert set(body["items"][0]) == {"rank", "user_id", "name", "reputation", "points", "level"}
    assert body["viewer_rank"] is None and body["period"] == "all"
    assert "Moderator User" in [row["name"] for row in client.get(f"{API}/leaderboard?staff=true").get_json()["items"]]


def test_leaderboard_by_tag_and_period_with_callers_rank(client, users, voted, bearer):
    body = client.get(f"{API}/leaderboard?period=week&tag=billing", headers=bearer(users["other"])).get_json()
    assert [(r["name"], r["points"]) for r in body["items"]] == [("Other Member", 15), ("Member User", 2)]
    assert body["viewer_rank"] == {"rank": 1, "points": 15}
    assert body["period_key"].startswith("w")


def test_leaderboard_refuses_bad_period_and_unknown_tag(client, error_of):
    assert "period" in error_of(client.get(f"{API}/leaderboard?period=decade"), 422)["fields"]
    assert error_of(client.get(f"{API}/leaderboard?tag=nope"), 404)["code"] == "not_found"
    assert error_of(client.get(f"{API}/leaderboard?category=nope"), 404)["code"] == "not_found"


def test_leaderboard_is_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert f"{API}/leaderboard" in paths and f"{API}/users/{{user_id}}/reputation" in paths


def test_leaderboard_refuses_tag_and_category_together(client, category, error_of):
    assert "tag" in error_of(client.get(f"{API}/leaderboard?tag=billing&category={category.slug}"), 422)["fields"]
