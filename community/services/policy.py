"""Who may do what. Pure functions of the actor and the object; the services enforce them."""

from community.models import Post, User

ROLE_LABELS = {
    "member": "Member",
    "moderator": "Moderator",
    "marketer": "Marketer",
    "admin": "Administrator",
}


def is_staff(user: User | None) -> bool:
    return bool(user) and user.role in ("moderator", "admin")


def is_admin(user: User | None) -> bool:
    return bool(user) and user.role == "admin"


def can_see(user: User | None, post: Post) -> bool:
    """Deleted posts stay visible to their author and to moderators."""
    if post.deleted_at is None:
        return True
    return user is not None and (user.id == post.author_id or is_staff(user))


def can_edit(user: User | None, post: Post) -> bool:
    if user is None or not user.is_active_account:
        return False
    if is_staff(user):
        return True
    return post.author_id == user.id and post.deleted_at is None


def can_delete(user: User | None, post: Post) -> bool:
    return can_edit(user, post) and post.deleted_at is None


def can_vote(user: User | None, post: Post) -> bool:
    return user is not None and post.author_id != user.id and post.deleted_at is None


def can_manage_site(user: User | None) -> bool:
    return is_admin(user)
