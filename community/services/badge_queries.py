"""Reading badges for pages and the API: the catalogue, a badge's holders, a member's badges.
Every function runs a fixed number of queries, whatever the number of badges or awards."""

from collections import Counter

from sqlalchemy import func, select

from community.models import TIERS, BadgeAward, ManualBadge, User
from community.services import badge_registry as registry
from community.services.badges import display_name, holder_counts
from community.services.errors import NotFound
from community.services.queries import Page


def _info(badge, holders: int = 0) -> dict:
    manual = isinstance(badge, ManualBadge)
    return {"slug": badge.slug, "name": badge.name, "tier": badge.tier, "description": badge.description,
            "kind": "manual" if manual else badge.kind, "manual": manual, "holders": holders}  # fmt: skip


def catalogue(session) -> list[dict]:
    """Every badge (automatic, then manual) with how many members hold it; 2 queries."""
    counts = holder_counts(session)
    manual = session.scalars(select(ManualBadge).order_by(ManualBadge.name))
    rows = [_info(b, counts.get(b.slug, 0)) for b in registry.BADGES]
    rows += [_info(b, counts.get(b.slug, 0)) for b in manual]
    return sorted(rows, key=lambda r: TIERS.index(r["tier"]))


def by_tier(rows: list[dict]) -> dict[str, list[dict]]:
    return {tier: [r for r in rows if r["tier"] == tier] for tier in reversed(TIERS)}


def get_badge(session, slug: str) -> dict:
    badge = registry.get(slug) or session.scalar(select(ManualBadge).where(ManualBadge.slug == slug))
    if badge is None:
        raise NotFound("No such badge.")
    holders = session.scalar(select(func.count(func.distinct(BadgeAward.user_id)))
                             .where(BadgeAward.badge == slug, BadgeAward.revoked_at.is_(None)))  # fmt: skip
    return _info(badge, holders or 0)


def recent_awards(session, slug: str, *, page: int = 1, per_page: int = 50) -> Page:
    """Live awards of a badge, newest first, as ``(award, user)`` pairs; 2 queries."""
    page = max(1, int(page or 1))
    where = [BadgeAward.badge == slug, BadgeAward.revoked_at.is_(None)]
    total = session.scalar(select(func.count(BadgeAward.id)).where(*where))
    rows = session.execute(select(BadgeAward, User).join(User, User.id == BadgeAward.user_id).where(*where)
                           .order_by(BadgeAward.created_at.desc(), BadgeAward.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))  # fmt: skip
    return Page(items=[tuple(r) for r in rows], page=page, per_page=per_page, total=total or 0)


def _live_awards(session, user_id: int) -> tuple[list[BadgeAward], dict]:
    """A member's live awards, oldest first, and the names of the manual badges among them."""
    awards = list(session.scalars(select(BadgeAward).where(BadgeAward.user_id == user_id,
                                                           BadgeAward.revoked_at.is_(None))
                                  .order_by(BadgeAward.created_at, BadgeAward.id)))  # fmt: skip
    manual = {a.badge for a in awards if registry.get(a.badge) is None}
    names = {}
    if manual:
        names = dict(session.execute(select(ManualBadge.slug, ManualBadge.name)
                                     .where(ManualBadge.slug.in_(manual))).all())
    return awards, names


def for_profile(session, user_id: int) -> dict:
    """Counts by tier and the member's badges (a badge earned several times shows its count);
    1 query, 2 when the member holds manual badges."""
    awards, names = _live_awards(session, user_id)
    tally = Counter()
    first: dict[tuple, BadgeAward] = {}
    for a in awards:
        key = (a.badge, a.award_key if registry.BY_SLUG.get(a.badge) and
               registry.BY_SLUG[a.badge].kind == registry.PER_TAG else "")  # fmt: skip
        tally[key] += 1
        first.setdefault(key, a)
    badges = [{"slug": a.badge, "name": display_name(a.badge, k[1], names), "tier": a.tier, "count": tally[k],
               "tag": k[1] or None, "awarded_at": a.created_at} for k, a in first.items()]  # fmt: skip
    badges.sort(key=lambda b: (-TIERS.index(b["tier"]), b["name"].lower()))
    counts = {tier: sum(1 for a in awards if a.tier == tier) for tier in TIERS}
    return {"counts": counts, "badges": badges, "total": len(awards)}


def for_api(session, user_id: int) -> list[dict]:
    """Each live award as ``{"name", "tier", "awarded_at"}``, oldest first."""
    awards, names = _live_awards(session, user_id)
    return [{"name": display_name(a.badge, a.award_key, names), "tier": a.tier, "awarded_at": a.created_at}
            for a in awards]  # fmt: skip


def manual_awards(session, *, limit: int = 100) -> list[tuple]:
    """The latest manual awards (live and revoked) with their member, for the manage page; 1 query."""
    rows = session.execute(
        select(BadgeAward, User, ManualBadge.name)
        .join(User, User.id == BadgeAward.user_id)
        .join(ManualBadge, ManualBadge.slug == BadgeAward.badge)
        .order_by(BadgeAward.created_at.desc(), BadgeAward.id.desc())
        .limit(limit)
    )
    return [tuple(r) for r in rows]
