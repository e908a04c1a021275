"""accounts service: registration rules, sign-in, passwords, reset tokens, roles, profiles."""

import pytest
from sqlalchemy import select

from community.db import transaction
from community.models import OutboxMessage, User
from community.services import accounts
from community.services.errors import AuthenticationFailed, Conflict, PermissionDenied, RuleViolation

PASSWORD = "correct horse battery"  # the conftest users' password
SECRET = "test-secret"


def _register(session, **kw):
    data = {"email": "new@example.com", "display_name": "New Person", "password": PASSWORD}
    data.update(kw)
    with transaction(session):
        return accounts.register(session, **data)


# --- register ---------------------------------------------------------------------------------


def test_register_creates_member_with_lowercased_email(session):
    user = _register(session, email="New.Person@Example.COM")
    assert user.id is not None
    assert user.email == "new.person@example.com"
    assert user.role == "member"


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "two@@example.com", "a b@example.com"])
def test_register_rejects_bad_email_syntax(session, email):
    with pytest.raises(RuleViolation) as exc:
        _register(session, email=email)
    assert "email" in exc.value.fields


@pytest.mark.parametrize("email", ["", "   "])
def test_register_rejects_empty_email(session, email):
    with pytest.raises(RuleViolation) as exc:
        _register(session, email=email)
    assert "email" in exc.value.fields


def test_register_duplicate_email_is_conflict_case_insensitively(session):
    _register(session, email="dup@example.com")
    with pytest.raises(Conflict) as exc:
        _register(session, email="DUP@Example.com", display_name="Someone Else")
    assert "email" in exc.value.fields
    assert exc.value.status == 409


@pytest.mark.parametrize("name", ["A", "x" * 41, "   ", " a "])
def test_register_rejects_display_name_length(session, name):
    with pytest.raises(RuleViolation) as exc:
        _register(session, display_name=name)
    assert "display_name" in exc.value.fields


@pytest.mark.parametrize("name", ["Ab", "x" * 40])
def test_register_accepts_display_name_at_length_bounds(session, name):
    assert _register(session, display_name=name).display_name == name


def test_register_collapses_whitespace_in_display_name(session):
    assert _register(session, display_name="  Ann \t  Lee  ").display_name == "Ann Lee"


@pytest.mark.parametrize("name", ["<script>", "Ann <b>", "a>b"])
def test_register_rejects_angle_brackets_in_display_name(session, name):
    with pytest.raises(RuleViolation) as exc:
        _register(session, display_name=name)
    assert "display_name" in exc.value.fields


@pytest.mark.parametrize("password", ["x" * 9, "x" * 201, "", " " * 12])
def test_register_rejects_bad_password(session, password):
    with pytest.raises(RuleViolation) as exc:
        _register(session, password=password)
    assert "password" in exc.value.fields


@pytest.mark.parametrize("password", ["x" * 10, "x" * 200])
def test_register_accepts_password_at_length_bounds(session, password):
    assert _register(session, password=password).id is not None


def test_register_rejects_unknown_role(session):
    with pytest.raises(RuleViolation) as exc:
        _register(session, role="superuser")
    assert "role" in exc.value.fields


def test_register_writes_nothing_on_rule_violation(session):
    with pytest.raises(RuleViolation):
        _register(session, password="short")
    assert session.scalar(select(User).where(User.email == "new@example.com")) is None


def test_password_is_stored_with_scrypt_not_plaintext(session):
    user = _register(session)
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


# --- authenticate -------------------------------------------------------------------------------


def test_authenticate_with_correct_password_returns_user(session, users):
    with transaction(session):
        user = accounts.authenticate(session, email="MEMBER@example.com", password=PASSWORD)
    assert user.id == users["member"].id


def test_authenticate_wrong_password_and_unknown_email_give_same_message(session, users):
    with pytest.raises(AuthenticationFailed) as wrong:
        accounts.authenticate(session, email="member@example.com", password="wrong password!")
    with pytest.raises(AuthenticationFailed) as unknown:
        accounts.authenticate(session, email="nobody@example.com", password=PASSWORD)
    assert wrong.value.message == unknown.value.message == "Invalid email or password."
    assert wrong.value.fields == unknown.value.fields


def test_authenticate_refuses_inactive_user(session, users):
    with transaction(session):
        users["member"].is_active_account = False
    with pytest.raises(AuthenticationFailed) as exc:
        accounts.authenticate(session, email="member@example.com", password=PASSWORD)
    assert exc.value.message == "Invalid email or password."


# --- change_password ---------------------------------------------------------------------------


def test_change_password_with_wrong_current_reports_field(session, users):
    with pytest.raises(RuleViolation) as exc:
        accounts.change_password(session, user=users["member"], current_password="nope nope nope",
                                 new_password="a brand new secret")  # fmt: skip
    assert "current_password" in exc.value.fields


def test_change_password_checks_new_password_rules(session, users):
    with pytest.raises(RuleViolation) as exc:
        accounts.change_password(session, user=users["member"], current_password=PASSWORD, new_password="short")
    assert "new_password" in exc.value.fields


def test_change_password_replaces_the_password(session, users):
    with transaction(session):
        accounts.change_password(session, user=users["member"], current_password=PASSWORD,
                                 new_password="a brand new secret")  # fmt: skip
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(session, email="member@example.com", password=PASSWORD)
    assert accounts.authenticate(session, email="member@example.com", password="a brand new secret")


# --- password reset ----------------------------------------------------------------------------


def test_reset_token_round_trip_sets_new_password(session, users):
    token = accounts.reset_token(users["member"], secret_key=SECRET)
    assert accounts.check_reset_token(session, token=token, secret_key=SECRET, max_age=3600).id == users["member"].id
    with transaction(session):
        accounts.reset_password(session, token=token, new_password="reset to this one", secret_key=SECRET, max_age=3600)
    assert accounts.authenticate(session, email="member@example.com", password="reset to this one")


def test_reset_token_works_only_once(session, users):
    token = accounts.reset_token(users["member"], secret_key=SECRET)
    with transaction(session):
        accounts.reset_password(session, token=token, new_password="reset to this one", secret_key=SECRET, max_age=3600)
    with pytest.raises(RuleViolation, match="already been used"):
        accounts.reset_password(session, token=token, new_password="and again to this", secret_key=SECRET, max_age=3600)


def test_reset_token_signed_with_another_key_is_refused(session, users):
    token = accounts.reset_token(users["member"], secret_key="someone-elses-key")
    with pytest.raises(RuleViolation, match="not valid"):
        accounts.check_reset_token(session, token=token, secret_key=SECRET, max_age=3600)


def test_tampered_reset_token_is_refused(session, users):
    token = accounts.reset_token(users["member"], secret_key=SECRET)
    with pytest.raises(RuleViolation, match="not valid"):
        accounts.reset_password(session, token=token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
                                new_password="reset to this one", secret_key=SECRET, max_age=3600)  # fmt: skip


def test_expired_reset_token_is_refused(session, users):
    token = accounts.reset_token(users["member"], secret_key=SECRET)
    with pytest.raises(RuleViolation, match="expired"):
        accounts.reset_password(session, token=token, new_password="reset to this one", secret_key=SECRET, max_age=-1)


def test_reset_password_checks_password_rules(session, users):
    token = accounts.reset_token(users["member"], secret_key=SECRET)
    with pytest.raises(RuleViolation) as exc:
        accounts.reset_password(session, token=token, new_password="short", secret_key=SECRET, max_age=3600)
    assert "password" in exc.value.fields


def _emails(session):
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email.send")))


def test_request_password_reset_enqueues_one_email_with_link(session, users):
    with transaction(session):
        accounts.request_password_reset(session, email="Member@Example.com", secret_key=SECRET,
                                        base_url="https://forum.example.com/")  # fmt: skip
    [message] = _emails(session)
    assert message.payload["to"] == "member@example.com"
    assert "https://forum.example.com/reset-password/" in message.payload["text"]


def test_request_password_reset_link_token_is_valid(session, users):
    with transaction(session):
        accounts.request_password_reset(session, email="member@example.com", secret_key=SECRET,
                                        base_url="https://forum.example.com")  # fmt: skip
    [message] = _emails(session)
    token = message.payload["text"].split("/reset-password/")[1].split()[0]
    assert accounts.check_reset_token(session, token=token, secret_key=SECRET, max_age=3600).id == users["member"].id


def test_request_password_reset_for_unknown_email_enqueues_nothing(session, users):
    with transaction(session):
        accounts.request_password_reset(session, email="nobody@example.com", secret_key=SECRET,
                                        base_url="https://forum.example.com")  # fmt: skip
    assert _emails(session) == []


# --- roles --------------------------------------------------------------------------------------


def test_set_role_by_admin_changes_role(session, users):
    with transaction(session):
        accounts.set_role(session, actor=users["admin"], user=users["member"], role="moderator")
    assert users["member"].role == "moderator"


@pytest.mark.parametrize("role", ["member", "moderator", "marketer"])
def test_set_role_by_non_admin_is_denied(session, users, role):
    with pytest.raises(PermissionDenied):
        accounts.set_role(session, actor=users[role], user=users["other"], role="moderator")


def test_admin_cannot_demote_self(session, users):
    with pytest.raises(RuleViolation) as exc:
        accounts.set_role(session, actor=users["admin"], user=users["admin"], role="member")
    assert "role" in exc.value.fields


def test_set_role_rejects_unknown_role(session, users):
    with pytest.raises(RuleViolation) as exc:
        accounts.set_role(session, actor=users["admin"], user=users["member"], role="owner")
    assert "role" in exc.value.fields


def test_set_role_without_actor_is_allowed_for_the_cli(session, users):
    accounts.set_role(session, actor=None, user=users["member"], role="admin")
    assert users["member"].role == "admin"


# --- profile ------------------------------------------------------------------------------------


def test_update_profile_renders_sanitised_about_html(session, users):
    member = users["member"]
    with transaction(session):
        accounts.update_profile(session, actor=member, user=member, display_name="Mia M",
                                about="I **like** <script>alert(1)</script> [x](javascript:alert(1))")  # fmt: skip
    assert "<strong>like</strong>" in member.about_html
    assert "<script" not in member.about_html
    assert "href" not in member.about_html  # markdown-it refuses the javascript: link; it stays text
    assert member.display_name == "Mia M"


def test_update_profile_of_someone_else_is_denied(session, users):
    with pytest.raises(PermissionDenied):
        accounts.update_profile(session, actor=users["other"], user=users["member"], display_name="Hacked", about="")


def test_update_profile_rejects_too_long_about(session, users):
    with pytest.raises(RuleViolation) as exc:
        accounts.update_profile(session, actor=users["member"], user=users["member"], display_name="Mia",
                                about="x" * (accounts.ABOUT_MAX + 1))  # fmt: skip
    assert "about" in exc.value.fields


def test_each_user_gets_their_own_avatar_seed(session):
    a = _register(session, email="a@example.com")
    b = _register(session, email="b@example.com")
    assert a.avatar_seed != b.avatar_seed
