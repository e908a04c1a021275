"""Category service: admins create and edit product areas; slugs are valid and unique; one default."""

import pytest
from sqlalchemy import select

from community.db import transaction
from community.models import Category
from community.services import categories
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation


def _create(session, actor, **kw):
    data = {"name": "Billing and plans", "slug": "", "description": "Invoices", "position": 0, "is_default": False}
    data.update(kw)
    with transaction(session):
        return categories.create(session, actor=actor, **data)


def _defaults(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(Category.slug).where(Category.is_default.is_(True))))


def test_create_derives_the_slug_from_the_name(session, users):
    category = _create(session, users["admin"], name="  Billing &  Plans ")
    assert (category.name, category.slug) == ("Billing & Plans", "billing-plans")


def test_create_keeps_a_given_slug(session, users):
    assert _create(session, users["admin"], slug="money").slug == "money"


@pytest.mark.parametrize("role", ["member", "moderator", "marketer"])
def test_only_admins_create_categories(session, users, role):
    with pytest.raises(PermissionDenied):
        _create(session, users[role])
    assert session.scalar(select(Category.id)) is None


@pytest.mark.parametrize("slug", ["a", "-", "has space", "ünï", "x" * 61, "under_score"])
def test_invalid_slugs_are_refused_on_the_slug_field(session, users, slug):
    with pytest.raises(RuleViolation) as err:
        _create(session, users["admin"], slug=slug)
    assert "slug" in err.value.fields


def test_a_slug_is_lowercased(session, users):
    assert _create(session, users["admin"], slug=" Money-Matters ").slug == "money-matters"


def test_a_name_without_latin_letters_needs_an_explicit_slug(session, users):
    with pytest.raises(RuleViolation) as err:
        _create(session, users["admin"], name="日本語")
    assert set(err.value.fields) == {"slug"}
    assert _create(session, users["admin"], name="日本語", slug="japanese").name == "日本語"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "<script>alert(1)</script>", "slug": "xss"}, "name"),
        ({"description": "d" * 501}, "description"),
        ({"position": 10001}, "position"),
        ({"position": "first"}, "position"),
    ],
)
def test_rule_violations_name_the_field(session, users, kw, field):
    with pytest.raises(RuleViolation) as err:
        _create(session, users["admin"], **kw)
    assert field in err.value.fields


def test_a_duplicate_slug_is_a_conflict(session, users):
    _create(session, users["admin"], slug="billing")
    with pytest.raises(Conflict) as err:
        _create(session, users["admin"], name="Other", slug="billing")
    assert "slug" in err.value.fields


def test_setting_a_default_unsets_the_previous_one(session, users):
    _create(session, users["admin"], slug="first", is_default=True)
    _create(session, users["admin"], name="Second", slug="second", is_default=True)
    assert _defaults(session) == ["second"]


def test_update_changes_fields_and_can_keep_its_own_slug(session, users):
    category = _create(session, users["admin"], slug="billing")
    with transaction(session):
        categories.update(session, actor=users["admin"], category_id=category.id, name="Billing", slug="billing",
                          description="New text", position=3)  # fmt: skip
    session.expire_all()
    row = session.get(Category, category.id)
    assert (row.name, row.description, row.position) == ("Billing", "New text", 3)


def test_update_to_another_categorys_slug_is_a_conflict(session, users):
    _create(session, users["admin"], slug="taken")
    mine = _create(session, users["admin"], name="Mine", slug="mine")
    with pytest.raises(Conflict):
        with transaction(session):
            categories.update(session, actor=users["admin"], category_id=mine.id, name="Mine", slug="taken")


def test_update_making_default_moves_the_default(session, users):
    _create(session, users["admin"], slug="first", is_default=True)
    second = _create(session, users["admin"], name="Second", slug="second")
    with transaction(session):
        categories.update(session, actor=users["admin"], category_id=second.id, name="Second", slug="second",
                          is_default=True)  # fmt: skip
    assert _defaults(session) == ["second"]


def test_update_by_a_moderator_is_refused(session, users):
    category = _create(session, users["admin"])
    with pytest.raises(PermissionDenied):
        categories.update(session, actor=users["moderator"], category_id=category.id, name="Hacked")


def test_update_of_an_unknown_category_is_not_found(session, users):
    with pytest.raises(NotFound):
        categories.update(session, actor=users["admin"], category_id=424242, name="Whatever")
