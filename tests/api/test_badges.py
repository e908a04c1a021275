"""GET /api/v1/badges and the badges of GET /api/v1/users/<id>."""

from community.db import transaction
from community.services import badges, votes

API = "/api/v1"


def test_badges_list_has_every_badge_with_holders(client, session, users, ask):
    q = ask(users["member"])
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=q.id, value=1)
        badges.define(session, actor=users["marketer"], name="Beta tester", tier="gold")
    response = client.get(f"{API}/badges")
    assert response.status_code == 200
    items = {b["slug"]: b for b in response.get_json()["items"]}
    assert len(items) >= 26
    assert items["supporter"]["holders"] == 1 and items["civic-duty"]["holders"] == 0
    assert items["beta-tester"]["kind"] == "manual" and items["beta-tester"]["tier"] == "gold"
    assert items["supporter"]["url"].endswith("/badges/supporter")
    assert set(items["student"]) == {"slug", "name", "tier", "description", "kind", "holders", "url"}


def test_user_profile_lists_live_badges(client, session, users, ask):
    q = ask(users["member"])
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=q.id, value=1)
        badges.define(session, actor=users["admin"], name="Speaker", tier="silver")
        award = badges.award(session, actor=users["admin"], slug="speaker", user=users["other"], reason="Gave a talk")
        badges.revoke(session, actor=users["admin"], award_id=award.id, reason="Talk was cancelled")
    body = client.get(f"{API}/users/{users['other'].id}").get_json()
    assert [(b["name"], b["tier"]) for b in body["badges"]] == [("Supporter", "bronze")]
    assert body["badges"][0]["awarded_at"].endswith("Z")


def test_badges_are_in_the_openapi_document(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    assert "/api/v1/badges" in doc["paths"] or "/badges" in doc["paths"]
    assert "badges" in doc["components"]["schemas"]["User"]["properties"]
    assert {"Badge", "BadgeList", "UserBadge"} <= set(doc["components"]["schemas"])
