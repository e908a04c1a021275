"""Categories (product areas): created and edited by administrators."""

import re

from sqlalchemy import select
from sqlalchemy import update as sql_update

from community.models import Category, User
from community.models.qa import slugify
from community.services import content, policy
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation

NAME_MIN, NAME_MAX = 2, 80
DESCRIPTION_MAX = 500
POSITION_MIN, POSITION_MAX = -10000, 10000
SLUG_RE = re.compile(r"[a-z0-9-]{2,60}")


def _clean(session, *, category_id: int | None, name: str, slug: str, description: str, position) -> dict:
    """Validate and normalise the inputs; collect every field error before raising."""
    errors: dict[str, str] = {}
    name = " ".join(content.normalize_text(name).split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        errors["name"] = f"Name must be {NAME_MIN} to {NAME_MAX} characters."
    elif any(ch in name for ch in "<>"):
        errors["name"] = "Name cannot contain < or >."
    slug = content.normalize_text(slug).strip().lower() or slugify(name, limit=60)
    if not SLUG_RE.fullmatch(slug):
        errors["slug"] = "Slug must be 2 to 60 characters: lowercase letters, digits and hyphens."
    description = content.normalize_text(description).strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"Description must be at most {DESCRIPTION_MAX} characters."
    try:
        position = int(position or 0)
    except (TypeError, ValueError):
        position = None
    if position is None or not POSITION_MIN <= position <= POSITION_MAX:
        errors["position"] = f"Position must be a whole number from {POSITION_MIN} to {POSITION_MAX}."
    if errors:
        raise RuleViolation(next(iter(errors.values())), fields=errors)
    taken = session.scalars(select(Category.id).where(Category.slug == slug, Category.id != (category_id or 0))).first()
    if taken is not None:
        msg = f"Another category already uses the slug “{slug}”."
        raise Conflict(msg, fields={"slug": msg})
    return {"name": name, "slug": slug, "description": description, "position": position}


def _authorize(actor: User | None) -> None:
    if not policy.can_manage_site(actor):
        raise PermissionDenied("Only administrators can manage categories.")


def _make_default(session, category: Category) -> None:
    """At most one default category: this one becomes it, every other one stops being it."""
    session.execute(
        sql_update(Category).where(Category.id != category.id, Category.is_default.is_(True)).values(is_default=False)
    )
    category.is_default = True


def create(session, *, actor: User, name: str, slug: str = "", description: str = "", position: int = 0,
           is_default: bool = False) -> Category:  # fmt: skip
    """Create a category. Admins only (PermissionDenied). Name 2-80, slug `[a-z0-9-]{2,60}` (from the
    name when empty) and unique (Conflict), description ≤ 500; ``is_default`` unsets the others."""
    _authorize(actor)
    values = _clean(session, category_id=None, name=name, slug=slug, description=description, position=position)
    category = Category(**values, is_default=False)
    session.add(category)
    session.flush()
    if is_default:
        _make_default(session, category)
    return category


def update(session, *, actor: User, category_id: int, name: str, slug: str = "", description: str = "",
           position: int = 0, is_default: bool = False) -> Category:  # fmt: skip
    """Edit a category with the same rules as :func:`create`. Raises NotFound for an unknown id."""
    _authorize(actor)
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound("No such category.")
    values = _clean(session, category_id=category.id, name=name, slug=slug, description=description, position=position)
    for key, value in values.items():
        setattr(category, key, value)
    if is_default:
        _make_default(session, category)
    else:
        category.is_default = False
    session.flush()
    return category
