"""API tokens: shown once, stored hashed, revocable by their owner or an admin."""

import hashlib

import pytest
from sqlalchemy import select, text

from community.db import transaction
from community.models import ApiToken
from community.services import tokens
from community.services.errors import NotFound, PermissionDenied, RuleViolation


def _create(session, user, name="laptop"):
    with transaction(session):
        token, plaintext = tokens.create(session, user=user, name=name)
    return token, plaintext


def test_plaintext_is_never_stored_only_its_sha256(session, users):
    token, plaintext = _create(session, users["member"])
    row = session.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": token.id}).mappings().one()
    assert plaintext not in [str(v) for v in row.values()]
    assert row["token_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()


def test_token_has_prefix_and_shows_a_short_prefix(session, users):
    token, plaintext = _create(session, users["member"])
    assert plaintext.startswith(tokens.PREFIX)
    assert token.prefix == plaintext[:12]


def test_authenticate_returns_owner(session, users):
    _, plaintext = _create(session, users["member"])
    with transaction(session):
        assert tokens.authenticate(session, plaintext).id == users["member"].id


def test_authenticate_sets_last_used(session, users):
    token, plaintext = _create(session, users["member"])
    with transaction(session):
        tokens.authenticate(session, plaintext)
    assert token.last_used_at is not None


@pytest.mark.parametrize("plaintext", ["", "adv_unknown-token", "no-prefix", "adv_" + "x" * 200])
def test_authenticate_unknown_token_returns_none(session, users, plaintext):
    assert tokens.authenticate(session, plaintext) is None


def test_authenticate_revoked_token_returns_none(session, users):
    token, plaintext = _create(session, users["member"])
    with transaction(session):
        tokens.revoke(session, actor=users["member"], token_id=token.id)
    assert tokens.authenticate(session, plaintext) is None


def test_authenticate_token_of_inactive_user_returns_none(session, users):
    _, plaintext = _create(session, users["member"])
    with transaction(session):
        users["member"].is_active_account = False
    assert tokens.authenticate(session, plaintext) is None


def test_revoke_by_another_member_is_denied(session, users):
    token, _ = _create(session, users["member"])
    with pytest.raises(PermissionDenied):
        tokens.revoke(session, actor=users["other"], token_id=token.id)


def test_revoke_by_moderator_is_denied(session, users):
    token, _ = _create(session, users["member"])
    with pytest.raises(PermissionDenied):
        tokens.revoke(session, actor=users["moderator"], token_id=token.id)


def test_admin_may_revoke_anyones_token(session, users):
    token, _ = _create(session, users["member"])
    with transaction(session):
        tokens.revoke(session, actor=users["admin"], token_id=token.id)
    assert token.revoked_at is not None


def test_revoke_unknown_token_is_not_found(session, users):
    with pytest.raises(NotFound):
        tokens.revoke(session, actor=users["admin"], token_id=999_999)


def test_active_token_limit_is_enforced(session, users):
    for i in range(tokens.MAX_ACTIVE):
        _create(session, users["member"], name=f"token {i}")
    with pytest.raises(RuleViolation):
        _create(session, users["member"], name="one too many")


def test_revoked_tokens_do_not_count_towards_the_limit(session, users):
    created = [_create(session, users["member"], name=f"token {i}")[0] for i in range(tokens.MAX_ACTIVE)]
    with transaction(session):
        tokens.revoke(session, actor=users["member"], token_id=created[0].id)
    assert _create(session, users["member"], name="replacement")[0].id


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_token_name_must_be_1_to_60_characters(session, users, name):
    with pytest.raises(RuleViolation) as exc:
        tokens.create(session, user=users["member"], name=name)
    assert "name" in exc.value.fields


def test_list_for_returns_only_own_tokens(session, users):
    _create(session, users["member"], name="mine")
    _create(session, users["other"], name="theirs")
    assert [t.name for t in tokens.list_for(session, user=users["member"])] == ["mine"]
    assert session.scalar(select(ApiToken).where(ApiToken.name == "theirs")) is not None
