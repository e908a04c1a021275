"""Every API error is JSON: ``{"error": {"code", "message", "fields"}}``, whatever went wrong."""

import pytest

from community.services import qa
from community.services.errors import Conflict

API = "/api/v1"
BODY = "Where do I find the invoice history for last year? I looked under Billing already."


def test_unknown_api_route_is_json_404(client, category, error_of):
    assert error_of(client.get(f"{API}/no-such-thing"), 404)["code"] == "not_found"


def test_errors_are_json_even_when_html_is_preferred(client, category, error_of):
    error_of(client.get(f"{API}/questions/424242", headers={"Accept": "text/html"}), 404)


def test_wrong_method_is_json_405_with_allow(client, category, error_of):
    response = client.get(f"{API}/render")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"a string"', "null", "42", ""])
def test_body_that_is_not_a_json_object_is_400(client, users, member_headers, error_of, data):
    headers = {**member_headers, "Content-Type": "application/json"}
    error = error_of(client.post(f"{API}/render", data=data, headers=headers), 400)
    assert error["message"] == "Expected a JSON object."


def test_json_without_content_type_is_still_read(client, users, member_headers):
    response = client.post(f"{API}/render", data='{"body": "*hi*"}', headers=member_headers)
    assert response.get_json() == {"html": "<p><em>hi</em></p>\n"}


def test_validation_error_names_every_bad_field(client, category, member_headers, error_of):
    response = client.post(f"{API}/questions", json={"title": 1, "tags": "x", "extra": True}, headers=member_headers)
    error = error_of(response, 422)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"title", "body", "tags", "extra"}
    assert all(isinstance(message, str) for message in error["fields"].values())


def test_domain_rule_violation_is_422_with_fields(client, category, member_headers, error_of):
    payload = {"title": "short", "body": "tiny", "tags": ["UPPER CASE"], "category": "billing"}
    error = error_of(client.post(f"{API}/questions", json=payload, headers=member_headers), 422)
    assert set(error["fields"]) == {"title", "body", "tags"}


def test_conflict_from_a_service_is_409(client, users, ask, other_headers, error_of, monkeypatch):
    question = ask(users["member"])

    def clash(*args, **kwargs):
        raise Conflict("Someone changed this meanwhile.", fields={"body": "Reload and try again."})

    monkeypatch.setattr(qa, "answer", clash)
    response = client.post(f"{API}/questions/{question.id}/answers", json={"body": BODY}, headers=other_headers)
    error = error_of(response, 409)
    assert error == {"code": "conflict", "message": "Someone changed this meanwhile.",
                     "fields": {"body": "Reload and try again."}}  # fmt: skip


def test_forbidden_is_403_json(client, users, ask, member_headers, error_of):
    question = ask(users["member"])
    response = client.post(f"{API}/questions/{question.id}/vote", json={"value": -1}, headers=member_headers)
    assert error_of(response, 403)["message"] == "You cannot vote on your own post."


def test_api_responses_are_not_cached(client, category):
    assert client.get(f"{API}/questions").headers["Cache-Control"] == "no-store"
