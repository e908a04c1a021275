"""A deterministic, branded demo community ("Acme Cloud"), built through the services.

``seed`` asks, answers, comments, votes and accepts through the same service functions the site
uses, so every cached counter is right; afterwards it back-dates the rows over the last 180 days so
the lists read like a living forum. The same random seed gives the same content on every run.
"""

import random
import re
import time
import unicodedata
from collections import Counter
from datetime import datetime, timedelta
from string import Template

from sqlalchemy import bindparam, func, select, update

from community import demo_content as text
from community.db import utcnow
from community.demo_mode import seeding_mode
from community.models import BadgeAward, Category, Comment, OutboxMessage, Post, Revision, User, Vote
from community.models.outbox import DONE
from community.services import (
    accounts,
    badges,
    comments,
    content,
    qa,
    reputation,
    reputation_replay,
    votes,
)

SEED = 20261202
DEMO_PASSWORD = "community-demo"  # noqa: S105  (the published demo login)
ADMIN_EMAIL = text.ADMIN[1]
QUESTION_COUNT = 300
DAYS = 180
BATCH = 5
TODAY_VOTES = 24  # cast "today", so this week's and this month's leaderboards are never empty
LOGIN_HINT = f"Log in as {ADMIN_EMAIL} / {DEMO_PASSWORD}"
# side effects of the demo's back-dated past that nobody should be told about (no 900 emails on first run)
QUIET_TOPICS = ("notify.answer", "email.send")


def seed(session, *, if_empty: bool = False) -> str:
    """Create the demo (4 categories, 40 users, 300 questions ...) unless it is there; return a summary.

    Idempotent: nothing happens when the demo admin exists, or (``if_empty``) when any user exists.
    The caller owns the transaction; this function only flushes.
    """
    if accounts.find_by_email(session, ADMIN_EMAIL) is not None:
        return f"Demo already present; nothing changed. {LOGIN_HINT}"
    if if_empty and session.scalar(select(func.count(User.id))):
        return "The database already has users; demo not seeded."
    started = time.perf_counter()
    builder = _Builder(session, random.Random(SEED), utcnow().replace(microsecond=0))
    with seeding_mode(session) as real_rules:
        stats = builder.run()
    builder.settle(real_rules)
    elapsed = time.perf_counter() - started
    return (
        f"Seeded the Acme Cloud demo in {elapsed:.1f}s: {stats['categories']} categories, {stats['users']} users, "
        f"{stats['questions']} questions, {stats['answers']} answers, {stats['comments']} comments, "
        f"{stats['votes']} votes, {stats['accepted']} accepted answers, {stats['badges']} badges.\n"
        f"{LOGIN_HINT} (every demo user has the password {DEMO_PASSWORD!r})."
    )


def email_for(name: str) -> str:
    """``Tomás O'Neill`` -> ``tomas.oneill@example.com``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    first, _, last = ascii_name.partition(" ")
    return f"{re.sub('[^a-z]', '', first)}.{re.sub('[^a-z]', '', last)}@example.com"


class _Builder:
    """One demo build: creates rows through the services and remembers the timestamps to apply."""

    def __init__(self, session, rng: random.Random, now: datetime):
        self.session, self.rng, self.now = session, rng, now
        self.stats: Counter = Counter()
        self.titles: set[str] = set()
        self.post_times: dict[int, dict] = {}
        self.revision_times: list[dict] = []
        self.comment_times: list[dict] = []
        self.vote_times: list[dict] = []
        self.voted: set[tuple[int, int]] = set()
        self.answers: list[tuple[int, int, datetime]] = []  # (post id, author id, posted at)
        self.seen: dict[int, datetime] = {}

    # --- the build ------------------------------------------------------------------------------

    def run(self) -> Counter:
        """Build the content through the services, then back-date it (call ``settle`` next)."""
        self.first_outbox = self.session.scalar(select(func.max(OutboxMessage.id))) or 0
        self.users = self._users()
        self._categories()
        offsets = sorted((self.rng.uniform(1800, DAYS * 86400) for _ in range(QUESTION_COUNT)), reverse=True)
        for n, offset in enumerate(offsets, 1):
            self._thread(self.now - timedelta(seconds=round(offset)))
            if n % BATCH == 0:
                self._release()
        self._todays_votes()
        self._release()
        self._apply_timestamps()
        return self.stats

    def settle(self, ruleset) -> None:
        """Replay the back-dated history under the real rules into the ledger, award the badges it
        earned, and keep the past quiet. The services wrote ledger entries dated "now" under the
        relaxed rules; the rebuild replaces them with the entries the real history earns."""
        reputation_replay.rebuild(self.session, ruleset, reason="demo seed")
        self.session.expire_all()
        badges.backfill(self.session)
        self._manual_badge()
        self._quiet_side_effects(self.first_outbox)
        self.session.expire_all()

    def _manual_badge(self) -> None:
        """The community team's thank-you: a manual badge for the member with the most accepted answers."""
        marketer = next(u for u in self.users if u.role == "marketer")
        spec = text.MANUAL_BADGE
        badge = badges.define(self.session, actor=marketer, name=spec["name"], tier=spec["tier"],
                              description=spec["description"])  # fmt: skip
        hero = max((u for u in self.users if u.role == "member"), key=lambda u: (u.accepted_count or 0, -u.id))
        badges.award(self.session, actor=marketer, slug=badge.slug, user=hero, reason=spec["reason"])
        self.stats["badges"] = self.session.scalar(select(func.count(BadgeAward.id)))

    def _users(self) -> list[User]:
        name, email, role = text.ADMIN
        admin = accounts.register(self.session, email=email, display_name=name, password=DEMO_PASSWORD, role=role)
        people = [admin]
        for name, role in text.STAFF + [(m, "member") for m in text.MEMBERS]:
            user = User(email=accounts.normalize_email(email_for(name)), display_name=accounts.clean_display_name(name),
                        password_hash=admin.password_hash, role=role)  # one scrypt hash for everybody
            self.session.add(user)
            people.append(user)
        for user in people:
            user.avatar_seed = f"{self.rng.getrandbits(64):016x}"
            user.created_at = self.now - timedelta(days=self.rng.uniform(DAYS + 1, 720))
            if self.rng.random() < 0.3:
                user.about = Template(self.rng.choice(text.ABOUTS)).safe_substitute(self._slots())
                user.about_html = content.render(user.about)
        admin.created_at = self.now - timedelta(days=730)
        self.session.flush()
        # a few people do most of the talking, as in every community
        self.weights = {u.id: (0.4 if u.role == "marketer" else self.rng.paretovariate(1.6)) for u in people}
        self.stats["users"] = len(people)
        return people

    def _categories(self) -> None:
        for position, (slug, name, description, is_default) in enumerate(text.CATEGORIES):
            self.session.add(Category(slug=slug, name=name, description=description, position=position,
                                      is_default=is_default, created_at=self.now - timedelta(days=730)))
        self.session.flush()
        self.stats["categories"] = len(text.CATEGORIES)

    def _thread(self, asked_at: datetime) -> None:
        """One question with its answers, comments, votes, maybe an edit and an accepted answer."""
        template = self.rng.choice(text.QUESTIONS)
        slots = self._slots()
        asker = self._pick()
        question = qa.ask(self.session, actor=asker, title=self._title(template, slots), body=self._body(template, slots),
                          tags=self._tags(template, slots), category=template["cat"])
        self.stats["questions"] += 1
        activity = self._stamp_post(question, asker, asked_at)
        if self.rng.random() < 0.06:
            activity = max(activity, self._edit(question, asker, slots, asked_at))
        answers = []
        for answered_at in self._answer_times(asked_at):
            author = self._pick(exclude={asker.id} | {a.author_id for a, _ in answers})
            post = qa.answer(self.session, actor=author, question_id=question.id,
                             body=self._answer_body(template, slots, len(answers)))
            answers.append((post, answered_at))
            self._stamp_post(post, author, answered_at)
            activity = max(activity, answered_at)
        self.stats["answers"] += len(answers)
        for post, at in [(question, asked_at), *answers]:
            self._comments(post, at, slots, asker)
            self._votes(post, at, bonus=0 if post is question else 1)
        if answers and self.rng.random() < 0.62:
            activity = max(activity, self._accept(question, asker, answers))
        self.post_times[question.id]["last_activity_at"] = activity
        self.answers.extend((post.id, post.author_id, at) for post, at in answers)
        # older questions have been read more; a few reach the Popular / Notable question badges
        age = (self.now - asked_at) / timedelta(days=DAYS)
        self.post_times[question.id]["view_count"] = int(self.rng.lognormvariate(4.6, 1.2) * (0.4 + age)) + 3 * len(answers)

    # --- pieces of a thread ---------------------------------------------------------------------

    def _slots(self) -> dict:
        slots = {key: self.rng.choice(values) for key, values in text.POOLS.items()}
        slots["snippet"] = text.SNIPPETS[slots["lang"]]
        return slots

    def _fill(self, template: str, slots: dict) -> str:
        return Template(template).safe_substitute(slots)

    def _title(self, template: dict, slots: dict) -> str:
        title = self._fill(self.rng.choice(template["titles"]), slots)
        suffixes = list(text.TITLE_SUFFIXES)
        self.rng.shuffle(suffixes)
        while title in self.titles or len(title) > 150:
            slots.update(self._slots())
            base = self._fill(self.rng.choice(template["titles"]), slots)
            suffix = self._fill(suffixes.pop() if suffixes else " (follow-up)", slots)
            title = f"{base[:-1]}{suffix}?" if base.endswith("?") else base + suffix
            if not suffixes and title in self.titles:
                title = f"{base} (follow-up {len(self.titles)})"
        self.titles.add(title)
        return title

    def _body(self, template: dict, slots: dict) -> str:
        parts = [self._fill(template["body"], slots)]
        if self.rng.random() < 0.7:
            tried = self.rng.sample(text.TRIED, self.rng.randint(2, 3))
            parts.append("**What I tried**\n\n" + "\n".join(f"- {self._fill(t, slots)}" for t in tried) + "\n")
        parts.append(self._fill(self.rng.choice(text.CLOSINGS), slots))
        return "\n".join(parts)

    def _tags(self, template: dict, slots: dict) -> list[str]:
        tags = list(template["tags"])
        body = " ".join(template["titles"]) + template["body"]
        for key in ("integration", "idp", "lang"):
            if f"${key}" in body and self.rng.random() < 0.7:
                tags.append(re.sub(r"[^a-z0-9+#.-]+", "-", slots[key].lower()))
        if self.rng.random() < 0.35:
            tags.append(self.rng.choice(["how-to", "admin", "account", "security", "performance", "bug", "docs"]))
        return list(dict.fromkeys(tags))[:5]

    def _answer_body(self, template: dict, slots: dict, index: int) -> str:
        fixes = template["fixes"][index % len(template["fixes"]):] + template["fixes"][: index % len(template["fixes"])]
        parts = [self.rng.choice(text.ANSWER_OPENERS), fixes[0]]
        if self.rng.random() < 0.4:
            parts.append(fixes[-1])
        if self.rng.random() < 0.3:
            parts.append(self.rng.choice(text.ANSWER_CODE))
        parts.append(self.rng.choice(text.ANSWER_CLOSERS))
        return self._fill("\n\n".join(p for p in parts if p), slots)

    def _answer_times(self, asked_at: datetime) -> list[datetime]:
        if self.rng.random() < 0.1:
            return []
        count = self.rng.choices(range(1, 7), weights=[30, 28, 20, 12, 6, 4])[0]
        return sorted(self._later(asked_at, hours=8) for _ in range(count))

    def _comments(self, post: Post, posted_at: datetime, slots: dict, asker: User) -> None:
        pool = text.QUESTION_COMMENTS if post.type == "question" else text.ANSWER_COMMENTS
        count = 0 if self.rng.random() < 0.55 else self.rng.choice([1, 1, 1, 2, 3])
        for _ in range(count):
            author = asker if self.rng.random() < 0.2 else self._pick()
            at = self._later(posted_at, hours=12)
            comment = comments.add(self.session, actor=author, post_id=post.id, body=self._fill(self.rng.choice(pool), slots))
            self.comment_times.append({"b_id": comment.id, "b_at": at})
            self._saw(author, at)
            self.stats["comments"] += 1

    def _votes(self, post: Post, posted_at: datetime, *, bonus: int) -> None:
        count = min(len(self.users) - 1, int(self.rng.expovariate(1 / 2.4)) + bonus)
        voters = self.rng.sample([u for u in self.users if u.id != post.author_id], count)
        for voter in voters:
            value = -1 if self.rng.random() < 0.12 else 1
            self._vote(voter, post.id, value, self._later(posted_at, hours=48))
        self.stats["votes"] += count

    def _vote(self, voter: User, post_id: int, value: int, at: datetime) -> None:
        votes.cast(self.session, actor=voter, post_id=post_id, value=value)
        self.vote_times.append({"b_post": post_id, "b_user": voter.id, "b_at": at})
        self.voted.add((post_id, voter.id))
        self._saw(voter, at)

    def _todays_votes(self) -> None:
        """A few upvotes on older answers earlier today: there is always activity this week and month."""
        today = reputation.day_start(self.now)
        for _ in range(TODAY_VOTES):
            post_id, author_id, posted_at = self.rng.choice(self.answers)
            voter = self._pick(exclude={author_id} | {uid for pid, uid in self.voted if pid == post_id})
            at, fraction = today + (self.now - today) * self.rng.random(), self.rng.random()
            if at <= posted_at:
                at = posted_at + (self.now - posted_at) * fraction
            if (post_id, voter.id) not in self.voted and voter.id != author_id:
                self._vote(voter, post_id, 1, at)
                self.stats["votes"] += 1

    def _accept(self, question, asker: User, answers: list) -> datetime:
        if self.rng.random() < 0.7:
            chosen, at = max(answers, key=lambda pair: pair[0].score)
        else:
            chosen, at = self.rng.choice(answers)
        qa.accept(self.session, actor=asker, question_id=question.id, answer_id=chosen.id)
        accepted_at = self._later(at, hours=20)
        self.post_times[question.id]["accepted_at"] = accepted_at
        self._saw(asker, accepted_at)
        self.stats["accepted"] += 1
        return accepted_at

    def _edit(self, question, asker: User, slots: dict, asked_at: datetime) -> datetime:
        reason = self.rng.choice(text.EDIT_REASONS)
        body = question.body + "\n\n**Update:** " + self._fill(self.rng.choice(text.TRIED), slots) + ", no change."
        qa.edit(self.session, actor=asker, post_id=question.id, body=body, reason=reason,
                title=question.title, tags=[t.name for t in question.tags])
        edited_at = self._later(asked_at, hours=3)
        self.post_times[question.id]["edited_at"] = edited_at
        self.revision_times.append({"b_post": question.id, "b_number": 2, "b_at": edited_at})
        return edited_at

    # --- people and time ------------------------------------------------------------------------

    def _pick(self, exclude: set | None = None) -> User:
        candidates = [u for u in self.users if not exclude or u.id not in exclude] or self.users
        return self.rng.choices(candidates, weights=[self.weights[u.id] for u in candidates])[0]

    def _later(self, start: datetime, *, hours: float) -> datetime:
        """A moment after ``start`` (exponentially distributed, mean ``hours``), never in the future."""
        delay = timedelta(minutes=3) + timedelta(hours=self.rng.expovariate(1 / hours))
        fraction = self.rng.random()  # drawn every time, so the content never depends on today's date
        if start + delay < self.now:
            return start + delay
        return start + (self.now - start) * fraction

    def _stamp_post(self, post: Post, author: User, at: datetime) -> datetime:
        self.post_times[post.id] = {"b_id": post.id, "created_at": at, "last_activity_at": at, "edited_at": None,
                                    "accepted_at": None, "view_count": 0}  # fmt: skip
        self.revision_times.append({"b_post": post.id, "b_number": 1, "b_at": at})
        self._saw(author, at)
        return at

    def _saw(self, user: User, at: datetime) -> None:
        if at > self.seen.get(user.id, at - timedelta(seconds=1)):
            self.seen[user.id] = at

    def _release(self) -> None:
        """Flush, then let go of finished threads: the counters' UPDATEs scan the identity map each time."""
        self.session.flush()
        keep = set(map(id, self.users))
        for obj in list(self.session.identity_map.values()):
            if id(obj) not in keep:
                self.session.expunge(obj)

    # --- back-dating and quieting ---------------------------------------------------------------

    def _apply_timestamps(self) -> None:
        """Write the planned timestamps in a few executemany statements (the ORM state is flushed)."""
        conn = self.session.connection()
        posts = Post.__table__
        # bind names differ from column names: Core would otherwise add them to the SET clause
        rows = [{"b_id": r["b_id"], "b_created": r["created_at"], "b_activity": r["last_activity_at"],
                 "b_edited": r["edited_at"], "b_accepted": r["accepted_at"], "b_views": r["view_count"]}
                for r in self.post_times.values()]  # fmt: skip
        conn.execute(update(posts).where(posts.c.id == bindparam("b_id")).values(
            created_at=bindparam("b_created"), last_activity_at=bindparam("b_activity"),
            edited_at=bindparam("b_edited"), accepted_at=bindparam("b_accepted"),
            view_count=bindparam("b_views")), rows)  # fmt: skip
        revisions = Revision.__table__
        conn.execute(update(revisions).where(revisions.c.post_id == bindparam("b_post"),
                                             revisions.c.number == bindparam("b_number"))
                     .values(created_at=bindparam("b_at")), self.revision_times)  # fmt: skip
        table = Comment.__table__
        if self.comment_times:
            conn.execute(update(table).where(table.c.id == bindparam("b_id")).values(created_at=bindparam("b_at")),
                         self.comment_times)
        table = Vote.__table__
        if self.vote_times:
            conn.execute(update(table).where(table.c.post_id == bindparam("b_post"), table.c.user_id == bindparam("b_user"))
                         .values(created_at=bindparam("b_at"), updated_at=bindparam("b_at")), self.vote_times)
        for user in self.users:
            last = self.seen.get(user.id, user.created_at + timedelta(days=self.rng.uniform(1, 30)))
            user.last_seen_at = min(self.now, last + (self.now - last) * self.rng.uniform(0, 0.2))
        self.session.flush()
        self.session.expire_all()  # the ORM copies still hold the service-time values

    def _quiet_side_effects(self, first_outbox: int) -> None:
        """The demo's history is not news: no emails or socket events for it."""
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id > first_outbox, OutboxMessage.topic.in_(QUIET_TOPICS))
            .values(status=DONE, delivered_at=self.now)
            .execution_options(synchronize_session=False)
        )
        self.session.info.pop("pending_events", None)
