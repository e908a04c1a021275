"""The benchmark database: a fresh SQLite file with the demo plus two known questions.

``prepare`` builds it through the real CLI (``flask --app wsgi db upgrade`` / ``seed demo``) and the
services (called directly, so no rate limit applies), and returns the paths the scenarios load.
"""

import hashlib
import os
import secrets
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "bench" / "results" / "cache"
# the seeded demo is reused while none of these change (seeding takes a minute or more)
CACHE_INPUTS = ("config.py", "migrations/versions/*.py", "community/demo.py", "community/models/*.py",
                "community/services/*.py")  # fmt: skip

ANSWER_BODY = """Thanks for the detailed report. This usually happens when the export job runs with an
expired token. Try the following:

1. Open **Settings -> Integrations** and click *Reconnect*.
2. Re-run the export from the dashboard.
3. If it still fails, check the job log for `401 Unauthorized`.

```bash
curl -H "Authorization: Bearer $TOKEN" https://example.com/api/exports/{n}
```

See also the [troubleshooting guide](https://example.com/docs/exports) - answer {n}.
"""
COMMENT_BODY = "Worked for me after reconnecting, thanks! (comment {n} with `code`)"
STAND_IN_PASSWORD = secrets.token_urlsafe(12)
QUESTION_BODY = """Since the last update our nightly export fails halfway with a timeout. The log says:

```
ERROR export.worker: upstream closed connection after 30s
```

We run the **business** plan with about 40k records. What can we do?
"""


def environment(workdir: Path) -> dict[str, str]:
    """The variables every process of the run (CLI, in-process app, gunicorn) shares."""
    return {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "INSTANCE_PATH": str(workdir),
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "OUTBOX_RELAY_IN_PROCESS": "0",
        "RATELIMIT_ENABLED": "0",
        "COMMUNITY_NO_RELAY": "1",
        "SESSION_COOKIE_SECURE": "0",
    }


def flask_cli(*args: str) -> str:
    """Run ``flask --app wsgi ARGS`` with the venv's python; raise with its output on failure."""
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"`flask {' '.join(args)}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


def has_migrations() -> bool:
    return any((ROOT / "migrations" / "versions").glob("*.py"))


def has_demo() -> bool:
    return (ROOT / "community" / "demo.py").exists()


@dataclass
class Dataset:
    big_question_id: int
    small_question_id: int
    tag: str
    user_id: int
    notes: list[str]


def create_schema(app) -> str:
    """``flask db upgrade`` when migrations exist, else create_all."""
    if has_migrations():
        flask_cli("db", "upgrade")
        return "flask db upgrade"
    from community.extensions import db

    with app.app_context():
        db.create_all()
    return "db.create_all()"


def cache_key() -> str:
    """A digest of the code that shapes the seeded database."""
    digest = hashlib.sha256()
    for pattern in CACHE_INPUTS:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (WAL included) through the backup API."""
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)
    source.close()
    target.close()


def prepare(app, workdir: Path, *, fresh: bool) -> Dataset:
    """Schema and demo (copied from the cache unless ``fresh`` or stale), then the two known questions."""
    db_path = workdir / "bench.db"
    cached = CACHE_DIR / f"demo-{cache_key()}.db"
    if cached.exists() and not fresh:
        _copy_db(cached, db_path)
        notes = [f"schema and demo copied from {cached.relative_to(ROOT)} (--fresh rebuilds it)"]
    else:
        notes = [f"schema: {create_schema(app)}", seed_demo(app)]
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        for stale in CACHE_DIR.glob("demo-*.db"):
            stale.unlink()
        _copy_db(db_path, cached)
    from community.extensions import db

    with app.app_context():
        return _known_questions(db.session, notes)


def seed_demo(app) -> str:
    """``flask seed demo``, or a small stand-in when community/demo.py is missing."""
    from community.extensions import db

    if has_demo():
        return f"seed demo: {flask_cli('seed', 'demo').splitlines()[0][:200]}"
    with app.app_context():
        _stand_in(db.session)
    return "community/demo.py is missing: seeded a small stand-in dataset instead of the demo"


def _stand_in(session) -> None:
    from community.db import transaction
    from community.models import Category
    from community.services import accounts, qa

    with transaction(session):
        session.add(Category(slug="general", name="General", description="Anything", position=1, is_default=True))
        users = [accounts.register(session, email=f"user{i}@example.com", display_name=f"User {i}",
                                   password=STAND_IN_PASSWORD) for i in range(12)]  # fmt: skip
        for i in range(90):
            q = qa.ask(session, actor=users[i % 12], title=f"Stand-in question number {i} about exports",
                       body=QUESTION_BODY, tags=["exports", f"topic{i % 7}"])  # fmt: skip
            for j in range(i % 4):
                qa.answer(session, actor=users[(i + j + 1) % 12], question_id=q.id, body=ANSWER_BODY.format(n=j))


def _known_questions(session, notes: list[str]) -> Dataset:
    from sqlalchemy import select

    from community.db import transaction
    from community.models import Tag, User
    from community.services import comments, qa

    users = list(session.scalars(
        select(User).where(User.is_active_account.is_(True)).order_by(User.id).limit(40)
    ))  # fmt: skip
    if len(users) < 3:
        raise RuntimeError(f"the seed left {len(users)} active users; need at least 3")
    asker = users[0]
    with transaction(session):
        big = qa.ask(session, actor=asker, title="Nightly export times out with 40k records (benchmark)",
                     body=QUESTION_BODY, tags=["exports", "performance", "api"])  # fmt: skip
        answers = [qa.answer(session, actor=users[1 + i % (len(users) - 1)], question_id=big.id,
                             body=ANSWER_BODY.format(n=i)) for i in range(50)]  # fmt: skip
        for i in range(100):
            post_id = big.id if i % 10 == 0 else answers[i % 50].id
            comments.add(session, actor=users[(i * 7) % len(users)], post_id=post_id, body=COMMENT_BODY.format(n=i))
        qa.accept(session, actor=asker, question_id=big.id, answer_id=answers[17].id)
        small = qa.ask(session, actor=users[1], title="How do I change the billing e-mail address?",
                       body=QUESTION_BODY, tags=["billing"])  # fmt: skip
        for i in range(2):
            qa.answer(session, actor=users[2 + i % (len(users) - 2)], question_id=small.id, body=ANSWER_BODY.format(n=i))
    tag = session.scalars(select(Tag.name).order_by(Tag.question_count.desc(), Tag.name)).first()
    top_user = session.scalars(
        select(User.id).order_by((User.question_count + User.answer_count).desc(), User.id)
    ).first()  # fmt: skip
    notes.append(f"big question {big.id}: 50 answers, 100 comments; small question {small.id}: 2 answers")
    return Dataset(big_question_id=big.id, small_question_id=small.id, tag=tag, user_id=top_user, notes=notes)


def scenarios(data: Dataset) -> list[tuple[str, str, float | None]]:
    """(name, path, target fraction of hello-world req/s or None) for every measured page."""
    return [
        ("question list", "/questions", 0.20),
        ("question, 50 answers/100 comments", f"/questions/{data.big_question_id}", 0.10),
        ("question, 2 answers", f"/questions/{data.small_question_id}", None),
        ("tag page", f"/tags/{data.tag}", None),
        ("user profile", f"/users/{data.user_id}", None),
        ("API question list", "/api/v1/questions", None),
        ("API question, 50 answers", f"/api/v1/questions/{data.big_question_id}", None),
    ]
