"""Admin pages over HTTP: access, overview, categories and roles."""

import pytest
from accounts_support import HOSTILE, assert_escaped, count_queries, count_rows, login, make_client
from sqlalchemy import select

from community.db import transaction
from community.extensions import db
from community.models import Category, OutboxMessage, User
from community.models.outbox import DEAD
from community.services import outbox

PAGES = ["/admin/", "/admin/categories", "/admin/users"]


@pytest.fixture
def client(app):
    return make_client(app)


@pytest.fixture
def admin_client(client, users):
    login(client, "admin@example.com")
    return client


def _category_form(**kw):
    data = {"name": "Billing and plans", "slug": "", "description": "Invoices and refunds", "position": "0"}
    data.update(kw)
    return data


def _role(user) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).role


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_send_anonymous_visitors_to_log_in(client, users, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.location


@pytest.mark.parametrize("role", ["member", "moderator", "marketer"])
@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_are_forbidden_to_non_admins(client, users, role, path):
    login(client, f"{role}@example.com")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", ["member", "moderator", "marketer"])
def test_non_admins_cannot_post_to_admin_routes(client, users, category, role):
    login(client, f"{role}@example.com")
    assert client.post("/admin/categories", data=_category_form(slug="new-one")).status_code == 403
    assert client.post(f"/admin/categories/{category.id}/edit", data=_category_form(slug="billing")).status_code == 403
    assert client.post(f"/admin/users/{users['other'].id}/role", data={"role": "admin"}).status_code == 403
    assert count_rows(Category) == 1
    assert _role(users["other"]) == "member"


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_render_for_admins(admin_client, category, path):
    assert admin_client.get(path).status_code == 200


def test_overview_counts_users_and_outbox(admin_client, users):
    with transaction():
        outbox.enqueue(db.session, "email.send", {"to": "x@example.com"})
        outbox.enqueue(db.session, "email.send", {"to": "y@example.com"}, key="dead-one")
    db.session.execute(db.update(OutboxMessage).where(OutboxMessage.key == "dead-one").values(status=DEAD))
    db.session.commit()
    text = admin_client.get("/admin/").text
    assert '<span class="stat-value">5</span> <span class="stat-label">users</span>' in text
    assert '<span class="stat-value">1</span> <span class="stat-label">outbox pending</span>' in text
    assert '<span class="stat-value">1</span> <span class="stat-label">outbox dead</span>' in text


# --- categories -------------------------------------------------------------------------------------


def test_admin_creates_a_category_with_a_slug_from_the_name(admin_client):
    response = admin_client.post("/admin/categories", data=_category_form(name="Mobile App"))
    assert response.status_code == 302
    assert db.session.scalars(select(Category.slug)).one() == "mobile-app"
    assert "Mobile App" in admin_client.get("/admin/categories").text


def test_making_a_category_default_unsets_the_old_default(admin_client, category):
    admin_client.post("/admin/categories", data=_category_form(name="Mobile App", is_default="y"))
    db.session.expire_all()
    assert list(db.session.scalars(select(Category.slug).where(Category.is_default.is_(True)))) == ["mobile-app"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "Enter a name."),
        ({"name": "    "}, "Enter a name."),
        ({"name": "n" * 81}, "At most 80 characters."),
        ({"name": HOSTILE, "slug": "xss"}, "cannot contain"),
        ({"slug": "Not Valid!"}, "lowercase letters, digits and hyphens"),
        ({"slug": HOSTILE}, "lowercase letters, digits and hyphens"),
        ({"name": "日本語"}, "lowercase letters, digits and hyphens"),
        ({"description": "d" * 501}, "At most 500 characters."),
        ({"description": HOSTILE, "name": "n" * 81}, "At most 80 characters."),
        ({"position": "first"}, "Not a valid integer value."),
        ({"position": "99999"}, "whole number"),
        ({"slug": "billing"}, "already uses the slug"),
    ],
)
def test_category_form_rejects_bad_input_and_writes_nothing(admin_client, category, data, message):
    response = admin_client.post("/admin/categories", data=_category_form(**data))
    assert response.status_code == 422
    assert message in response.text
    assert_escaped(response.text)
    assert count_rows(Category) == 1


def test_category_form_keeps_what_was_typed(admin_client, category):
    response = admin_client.post("/admin/categories", data=_category_form(name="Kept Name", slug="billing"))
    assert 'value="Kept Name"' in response.text


def test_a_description_with_markup_is_stored_as_text_and_escaped(admin_client):
    admin_client.post("/admin/categories", data=_category_form(description=HOSTILE))
    response = admin_client.get("/admin/categories")
    assert_escaped(response.text)
    assert "&lt;script&gt;" in response.text


def test_admin_edits_a_category(admin_client, category):
    assert admin_client.get(f"/admin/categories/{category.id}/edit").text.count('value="billing"') == 1
    response = admin_client.post(f"/admin/categories/{category.id}/edit",
                                 data=_category_form(name="Billing", slug="billing", position="5"))  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Category, category.id)
    assert (row.name, row.position, row.is_default) == ("Billing", 5, False)


def test_editing_to_a_taken_slug_is_refused_beside_the_field(admin_client, category):
    admin_client.post("/admin/categories", data=_category_form(name="Mobile", slug="mobile"))
    mobile = db.session.scalars(select(Category).where(Category.slug == "mobile")).one()
    response = admin_client.post(f"/admin/categories/{mobile.id}/edit", data=_category_form(name="Mobile", slug="billing"))
    assert response.status_code == 422
    assert "already uses the slug" in response.text
    db.session.expire_all()
    assert db.session.get(Category, mobile.id).slug == "mobile"


def test_editing_an_unknown_category_is_404(admin_client):
    assert admin_client.get("/admin/categories/999999/edit").status_code == 404


# --- users and roles -----------------------------------------------------------------------------------


def test_user_list_searches_email_and_name(admin_client, users):
    by_email = admin_client.get("/admin/users?q=MODERATOR@").text
    assert "moderator@example.com" in by_email and "marketer@example.com" not in by_email
    by_name = admin_client.get("/admin/users?q=other mem").text
    assert "other@example.com" in by_name and "member@example.com" not in by_name


def test_user_search_treats_wildcards_literally(admin_client, users):
    assert "member@example.com" not in admin_client.get("/admin/users?q=%25").text


def test_user_search_escapes_hostile_queries(admin_client, users):
    assert_escaped(admin_client.get("/admin/users", query_string={"q": HOSTILE}).text)


def test_user_list_query_count_is_fixed(admin_client, users):
    with count_queries() as statements:
        admin_client.get("/admin/users")
    assert len(statements) <= 4


def test_admin_changes_a_role(admin_client, users):
    response = admin_client.post(f"/admin/users/{users['other'].id}/role", data={"role": "moderator"})
    assert response.status_code == 302
    assert _role(users["other"]) == "moderator"


def test_an_admin_cannot_demote_themself(admin_client, users):
    response = admin_client.post(f"/admin/users/{users['admin'].id}/role", data={"role": "member"}, follow_redirects=True)
    assert response.status_code == 200
    assert "You cannot remove your own administrator role." in response.text
    assert _role(users["admin"]) == "admin"


@pytest.mark.parametrize("role", ["", "overlord", HOSTILE])
def test_an_unknown_role_is_refused(admin_client, users, role):
    response = admin_client.post(f"/admin/users/{users['other'].id}/role", data={"role": role}, follow_redirects=True)
    assert "Choose one of the roles." in response.text
    assert_escaped(response.text)
    assert _role(users["other"]) == "member"


def test_changing_the_role_of_an_unknown_user_is_404(admin_client):
    assert admin_client.post("/admin/users/999999/role", data={"role": "member"}).status_code == 404


def test_role_change_is_post_only(admin_client, users):
    assert admin_client.get(f"/admin/users/{users['other'].id}/role").status_code == 405


def test_a_new_admin_can_open_the_admin_pages(app, admin_client, users):
    admin_client.post(f"/admin/users/{users['marketer'].id}/role", data={"role": "admin"})
    promoted = make_client(app)
    login(promoted, "marketer@example.com")
    assert promoted.get("/admin/").status_code == 200
