"""Benchmark: CRM sync (issue 4 targets), on SQLite against the fake CRM servers over real sockets.

1. Full resync of 10,000 members (bench/reputation_data.py's quick dataset: 10,000 users, 20,000
   questions, 40,000 answers, about 240,000 votes) to the fake Salesforce (sObject Collections of
   200) and the fake HubSpot (batch upsert of 100): snapshots built, mapped, sent and recorded;
   members per second per connector, and HTTP requests made.
2. The extra cost of the CRM outbox write on a vote: 300 votes through ``votes.cast`` with two
   connectors on; time spent in ``crm.members_changed`` (its SQL included) per vote, and the
   database time per vote with the connectors on and off.

Run from the repository root: ``.venv/bin/python bench/crm.py [--members N] [--no-fail]``.
Prints a table and writes bench/results/crm.md. Exit status 1 when a target fails.
"""

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench import reputation_data  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "crm.md"
TARGETS = {"resync_per_s": 1000.0, "vote_extra_ms": 1.0}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=10_000, help="members to resync (default 10,000)")
    p.add_argument("--votes", type=int, default=300, help="votes cast in the outbox-cost benchmark (300)")
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when a target fails")
    return p.parse_args(argv)


def _app(db_path: Path, **settings):
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["COMMUNITY_NO_RELAY"] = "1"
    for name, value in settings.items():
        os.environ[name] = value
    from community import create_app

    app = create_app()
    app.config.update(OUTBOX_RELAY_IN_PROCESS=False, RATELIMIT_ENABLED=False)
    return app


def _dataset(workdir: Path, members: int) -> tuple[Path, dict]:
    from community.extensions import db

    path = workdir / "crm.db"
    app = _app(path)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    size = replace(reputation_data.QUICK, users=members, questions=members * 2)
    counts = reputation_data.generate(str(path), size, end=datetime.now(UTC).replace(tzinfo=None))
    return path, counts


def bench_resync(app, name: str, fake) -> dict:
    from sqlalchemy import func, select

    from community.db import transaction
    from community.extensions import db
    from community.integrations import crm_relay
    from community.models import CrmLink, User
    from community.services import crm_sync

    with app.app_context():
        session = db.session
        admin = session.scalars(select(User).order_by(User.id)).first()
        admin.role = "admin"
        session.commit()
        started = time.perf_counter()
        with transaction(session):
            resync = crm_sync.start_resync(session, actor=admin, connector=name)
        queued = time.perf_counter() - started
        total = resync.total
        requests_before = len(fake.requests)
        while True:
            counts = crm_relay.run_once(session, config=app.config, connectors=[name])
            if not any(counts.values()):
                break
        wall = time.perf_counter() - started
        linked = session.scalar(select(func.count()).select_from(CrmLink).where(
            CrmLink.connector == name, CrmLink.contact_id.is_not(None)))  # fmt: skip
        dead = crm_relay.queue_depth(session).get(name, {}).get("dead", 0)
        db.session.remove()
    return {"connector": name, "members": total, "seconds": wall, "queue_s": queued, "per_s": total / wall,
            "requests": len(fake.requests) - requests_before, "linked": linked, "dead": dead}  # fmt: skip


def bench_vote_cost(app, n_votes: int) -> dict:
    from sqlalchemy import event, select, update

    from community.db import transaction
    from community.extensions import db
    from community.models import Answer, User
    from community.services import crm, votes

    spent = {"crm": 0.0, "sql": 0.0, "t0": 0.0}
    original = crm.members_changed

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["crm"] += time.perf_counter() - t0

    def before(conn, cursor, statement, parameters, context, executemany):
        spent["t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        spent["sql"] += time.perf_counter() - spent["t0"]

    results = {}
    with app.app_context():
        session = db.session
        # the members who post least (the generator favours low ids) vote, with reputation to spare
        voters = list(session.scalars(select(User).order_by(User.id.desc()).limit(60)))
        session.execute(update(User).where(User.id.in_([v.id for v in voters])).values(reputation=500))
        session.commit()
        posts = list(session.scalars(select(Answer.id).where(Answer.author_id.not_in([v.id for v in voters]))
                                     .order_by(Answer.id).limit(n_votes)))  # fmt: skip
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        crm.members_changed = timed
        try:
            for label, connectors in (("off", ""), ("on", "salesforce,hubspot")):
                app.config["CRM_CONNECTORS"] = connectors
                spent.update(crm=0.0, sql=0.0)
                started = time.perf_counter()
                for i in range(n_votes):
                    voter, post_id = voters[i % len(voters)], posts[(i * 7 + (label == "on")) % len(posts)]
                    with transaction(session):
                        session.expire_all()
                        votes.cast(session, actor=voter, post_id=post_id, value=1)
                results[label] = {"wall_ms": (time.perf_counter() - started) * 1000 / n_votes,
                                  "db_ms": spent["sql"] * 1000 / n_votes, "crm_ms": spent["crm"] * 1000 / n_votes}  # fmt: skip
        finally:
            crm.members_changed = original
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
            db.session.remove()
    return results


def render(counts: dict, generated: float, resyncs: list[dict], cost: dict) -> tuple[str, list[str]]:
    failed = []
    lines = [
        f"# CRM sync benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, SQLite, fake CRM servers on 127.0.0.1)",
        "",
        f"Data: {counts['users']:,} members, {counts['questions']:,} questions, {counts['answers']:,} answers, "
        f"{counts['votes']:,} votes (generated in {generated:.1f} s).",
        "",
        "| measurement | value | target |",
        "|---|---:|---|",
    ]
    for r in resyncs:
        ok = r["per_s"] >= TARGETS["resync_per_s"] and r["dead"] == 0 and r["linked"] == r["members"]
        if not ok:
            failed.append(f"resync {r['connector']}")
        lines.append(f"| full resync to {r['connector']}: members per second | **{r['per_s']:,.0f}** "
                     f"({r['members']:,} in {r['seconds']:.2f} s; queued in {r['queue_s']:.2f} s; "
                     f"{r['requests']} HTTP requests; {r['linked']:,} linked, {r['dead']} dead) "
                     f"| ≥ {TARGETS['resync_per_s']:,.0f} {'✅' if ok else '❌'} |")  # fmt: skip
    on, off = cost["on"], cost["off"]
    ok = on["crm_ms"] < TARGETS["vote_extra_ms"]
    if not ok:
        failed.append("vote outbox cost")
    lines += [
        f"| CRM outbox write on a vote (time in `crm.members_changed`, SQL included) | **{on['crm_ms']:.3f} ms** "
        f"| < {TARGETS['vote_extra_ms']:g} ms {'✅' if ok else '❌'} |",
        f"| vote, connectors off: DB time / wall per vote | {off['db_ms']:.2f} / {off['wall_ms']:.2f} ms | |",
        f"| vote, salesforce + hubspot on: DB time / wall per vote | {on['db_ms']:.2f} / {on['wall_ms']:.2f} ms | |",
    ]
    return "\n".join(lines) + "\n", failed


def main(argv=None) -> int:
    args = parse_args(argv)
    import crm_fakes

    with tempfile.TemporaryDirectory(prefix="bench-crm-") as tmp, \
            crm_fakes.FakeSalesforce() as sf, crm_fakes.FakeHubSpot() as hs:  # fmt: skip
        workdir = Path(tmp)
        print(f"generating {args.members:,} members ...", flush=True)
        t0 = time.perf_counter()
        path, counts = _dataset(workdir, args.members)
        generated = time.perf_counter() - t0
        app = _app(path, CRM_CONNECTORS="salesforce,hubspot", SALESFORCE_INSTANCE_URL=sf.url,
                   SALESFORCE_ACCESS_TOKEN=sf.access_token, HUBSPOT_BASE_URL=hs.url, HUBSPOT_TOKEN=hs.token)  # fmt: skip
        resyncs = []
        for name, fake in (("salesforce", sf), ("hubspot", hs)):
            print(f"resync to {name} ...", flush=True)
            resyncs.append(bench_resync(app, name, fake))
        print("votes with the CRM outbox ...", flush=True)
        cost = bench_vote_cost(app, args.votes)
    text, failed = render(counts, generated, resyncs, cost)
    print()
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    if failed:
        print("targets missed: " + ", ".join(failed))
        return 0 if args.no_fail else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
