"""Badge awards: evaluation after events, the backfill, and marketers' manual badges.

An award is unique per (user, badge, award key) in the database; inserts use ``ON CONFLICT DO
NOTHING`` (SQLite and PostgreSQL), so a retry, a concurrent evaluation or a re-run backfill never
awards twice and never fails. A new award records ``badge_awarded`` for after the commit and, when
the rules give its tier a bonus, a ``badge_bonus`` ledger entry (keyed ``badge:<award id>``, the
key the reputation replay uses).
"""

from datetime import timedelta

from sqlalchemy import DateTime, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from community.db import record_event, utcnow
from community.models import TIERS, BadgeAward, ManualBadge, ReputationEntry, User
from community.models.qa import slugify
from community.services import badge_registry as registry
from community.services import crm, reputation, reputation_rules
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation

MANAGER_ROLES = ("marketer", "admin")
CHUNK = 500
RESERVED_SLUGS = ("manage",)  # /badges/manage is a page
_COLUMNS = ("id", "user_id", "badge", "tier", "award_key")
DEFERRED = "badges_deferred"  # session.info flag: evaluate() awards nothing until the caller backfills


def may_manage(user: User | None) -> bool:
    """Marketers and administrators define, award and revoke manual badges."""
    return user is not None and user.is_active_account and user.role in MANAGER_ROLES


def display_name(slug: str, award_key: str = "", manual_names: dict | None = None) -> str:
    """A tag badge is named after its tag ("billing"); the others by their registry or manual name."""
    badge = registry.get(slug)
    if badge is not None and badge.kind == registry.PER_TAG and award_key:
        return award_key
    if badge is not None:
        return badge.name
    return (manual_names or {}).get(slug, slug)


# --- writing awards -----------------------------------------------------------------------------


def _insert(session, rows: list[dict]) -> list:
    """Insert award rows, skipping those that exist already; returns the rows really inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = BadgeAward.__table__
    inserted = []
    for start in range(0, len(rows), CHUNK):
        stmt = (insert(table).values(rows[start:start + CHUNK])
                .on_conflict_do_nothing(index_elements=["user_id", "badge", "award_key"])
                .returning(*(table.c[name] for name in _COLUMNS)))  # fmt: skip
        inserted += session.execute(stmt).all()
    return inserted


def _grant(session, rows: list[dict], *, names: dict | None = None) -> list:
    """Insert the awards, then pay the tier bonus and record the events of the new ones."""
    unique = {(r["user_id"], r["badge"], r["award_key"]): r for r in rows}
    if not unique:
        return []
    now = rows[0]["created_at"]
    inserted = _insert(session, list(unique.values()))
    rules = reputation_rules.current(session)
    grants = []
    for award in inserted:
        bonus = rules[f"badge_{award.tier}"]
        if bonus > 0:
            grants.append(reputation.Grant(award.user_id, bonus, "badge_bonus", f"badge:{award.id}",
                                           source_type="badge", source_id=award.id, note=award.badge))  # fmt: skip
        record_event(session, "badge_awarded",
                     {"user_id": award.user_id, "badge": award.badge, "tier": award.tier,
                      "name": display_name(award.badge, award.award_key, names)},
                     room=f"user:{award.user_id}")  # fmt: skip
    if grants:
        reputation.apply(session, grants, now=now)
    crm.members_changed(session, {award.user_id for award in inserted})
    return inserted


def _rows(found, now) -> list[dict]:
    return [{"user_id": r.user_id, "badge": r.badge, "tier": registry.BY_SLUG[r.badge].tier,
             "award_key": r.award_key, "post_id": r.post_id, "tag_id": r.tag_id, "created_at": now}
            for r in found]  # fmt: skip


def _held(session, users: tuple, candidates: list, post_id: int | None) -> set:
    """(user, badge, key) the users already hold among the candidates, in one query."""
    per_post = [b.slug for b in candidates if b.kind == registry.PER_POST]
    where = [BadgeAward.user_id.in_(users), BadgeAward.badge.in_([b.slug for b in candidates])]
    if post_id is not None and per_post:
        where.append(or_(BadgeAward.badge.not_in(per_post), BadgeAward.award_key == str(post_id)))
    rows = session.execute(select(BadgeAward.user_id, BadgeAward.badge, BadgeAward.award_key).where(*where))
    return set(rows.all())


_STATEMENTS: dict = {}


def _statement(todo: list, with_post: bool):
    """The UNION ALL for these badges, built once with bound parameters for the users, the post and
    the Streak window: building ORM statements costs far more Python than running them."""
    key = (tuple(b.slug for b in todo), with_post)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        scope = registry.Scope(users=bindparam("badge_users", expanding=True),
                               post_id=bindparam("badge_post") if with_post else None,
                               since=bindparam("badge_since", type_=DateTime()))  # fmt: skip
        stmt = _STATEMENTS[key] = registry.union_for(todo, scope)
    return stmt


def evaluate(session, trigger: str, *, user_ids, post_id: int | None = None) -> list[BadgeAward]:
    """Award the badges that ``trigger`` may have earned for ``user_ids`` (and the post); returns new awards.

    Only the badges listening to the trigger are considered; once-only badges every user already
    holds are skipped; the rest run as one UNION ALL query narrowed to the users and the post.
    """
    if session.info.get(DEFERRED):  # a bulk load (the demo seed) calls backfill once it is done
        return []
    candidates = registry.BY_TRIGGER.get(trigger, [])
    users = tuple(sorted({u for u in user_ids if u is not None}))
    if not candidates or not users:
        return []
    held = _held(session, users, candidates, post_id)
    todo = [b for b in candidates if b.kind != registry.ONCE or any((u, b.slug, "") not in held for u in users)]
    if not todo:
        return []
    params = {"badge_users": users, "badge_post": post_id, "badge_since": utcnow() - timedelta(days=8)}
    found = session.execute(_statement(todo, post_id is not None), params)
    rows = _rows([r for r in found if (r.user_id, r.badge, r.award_key) not in held], utcnow())
    inserted = _grant(session, rows)
    if not inserted:
        return []
    return list(session.scalars(select(BadgeAward).where(BadgeAward.id.in_([a.id for a in inserted]))))


def backfill(session, badge: str | None = None, progress=None) -> dict[str, int]:
    """Award every automatic badge (or one) to everyone who earned it; safe to re-run.

    Each badge's predicate runs once, in SQL, for all users. ``progress(slug)`` is called after each
    badge. Returns the number of new awards by badge slug.
    """
    if badge is not None and registry.get(badge) is None:
        raise NotFound(f"No automatic badge {badge!r}.", fields={"badge": "Unknown badge."})
    chosen = registry.BADGES if badge is None else [registry.get(badge)]
    result = {}
    for b in chosen:
        held = set(session.execute(select(BadgeAward.user_id, BadgeAward.award_key).where(BadgeAward.badge == b.slug)))
        found = session.execute(registry.union_for([b], registry.Scope()))
        rows = _rows([r for r in found if (r.user_id, r.award_key) not in held], utcnow())
        result[b.slug] = len(_grant(session, rows))
        if progress is not None:
            progress(b.slug)
    return result


# --- manual badges ------------------------------------------------------------------------------


def _require_manager(actor: User | None) -> User:
    if not may_manage(actor):
        raise PermissionDenied("Only marketers and administrators can manage badges.")
    return actor


def _reason(value, field: str = "reason") -> str:
    text = " ".join(str(value or "").split())
    if not 5 <= len(text) <= 300:
        raise RuleViolation("Please correct the marked fields.", fields={field: "Give a reason of 5 to 300 characters."})
    return text


def define(session, *, actor: User, name: str, tier: str, description: str = "") -> ManualBadge:
    """A new manual badge. Name 2-60 characters and unique (also among the automatic badges),
    tier bronze/silver/gold, description at most 500 characters."""
    _require_manager(actor)
    name = " ".join(str(name or "").split())
    description = str(description or "").strip()
    errors = {}
    slug = slugify(name)[:40].strip("-")
    if not 2 <= len(name) <= 60 or not slug:
        errors["name"] = "Give a name of 2 to 60 characters, with letters or digits."
    elif slug in RESERVED_SLUGS or registry.get(slug) or session.scalar(select(ManualBadge.id).where(ManualBadge.slug == slug)):
        errors["name"] = "A badge with this name exists already."
    if tier not in TIERS:
        errors["tier"] = "Choose bronze, silver or gold."
    if len(description) > 500:
        errors["description"] = "At most 500 characters."
    if errors:
        raise RuleViolation("Please correct the marked fields.", fields=errors)
    badge = ManualBadge(slug=slug, name=name, tier=tier, description=description, created_by_id=actor.id)
    session.add(badge)
    session.flush()
    return badge


def award(session, *, actor: User, slug: str, user: User | None, reason: str) -> BadgeAward:
    """Give a member a manual badge with a reason. A member holds a manual badge at most once at a
    time (after a revocation it can be awarded again)."""
    _require_manager(actor)
    badge = session.scalar(select(ManualBadge).where(ManualBadge.slug == slug))
    if badge is None:
        raise NotFound("No such manual badge.", fields={"badge": "Unknown badge."})
    if user is None:
        raise NotFound("No such member.", fields={"user": "No member with that email or id."})
    reason = _reason(reason)
    awards = session.execute(select(BadgeAward.revoked_at).where(BadgeAward.user_id == user.id,
                                                                 BadgeAward.badge == slug)).all()  # fmt: skip
    if any(revoked is None for (revoked,) in awards):
        raise Conflict(f"{user.display_name} already holds {badge.name}.", fields={"user": "Already holds this badge."})
    row = {"user_id": user.id, "badge": slug, "tier": badge.tier, "award_key": f"m{len(awards) + 1}",
           "post_id": None, "tag_id": None, "reason": reason, "awarded_by_id": actor.id, "created_at": utcnow()}
    inserted = _grant(session, [row], names={slug: badge.name})
    if not inserted:
        raise Conflict("Someone awarded this badge at the same moment; reload and check.")
    return session.get(BadgeAward, inserted[0].id)


def revoke(session, *, actor: User, award_id: int, reason: str) -> BadgeAward:
    """Take back a manual badge with a reason; its reputation bonus (if any) is reversed."""
    _require_manager(actor)
    award_row = session.get(BadgeAward, award_id)
    if award_row is None:
        raise NotFound("No such award.")
    if registry.get(award_row.badge) is not None:
        raise RuleViolation("Automatic badges cannot be revoked; they follow the member's activity.")
    if award_row.revoked_at is not None:
        raise Conflict("This award was revoked already.")
    reason = _reason(reason, "revoke_reason")
    award_row.revoked_at, award_row.revoked_by_id, award_row.revoke_reason = utcnow(), actor.id, reason
    session.flush()
    entries = reputation.live_entries(session, ReputationEntry.source_type == "badge",
                                      ReputationEntry.source_id == award_row.id)  # fmt: skip
    reputation.reverse(session, entries, kind="badge_revoked", actor_id=actor.id, note=reason)
    crm.members_changed(session, [award_row.user_id])
    record_event(session, "badge_revoked", {"user_id": award_row.user_id, "badge": award_row.badge},
                 room=f"user:{award_row.user_id}")  # fmt: skip
    return award_row


def holder_counts(session) -> dict[str, int]:
    """Members holding each badge (live awards), in one query."""
    rows = session.execute(select(BadgeAward.badge, func.count(func.distinct(BadgeAward.user_id)))
                           .where(BadgeAward.revoked_at.is_(None)).group_by(BadgeAward.badge))  # fmt: skip
    return dict(rows.all())
