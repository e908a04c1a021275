"""``flask crm ...``: deliver member snapshots, run a worker, resync, inspect, retry, link (docs/crm.md)."""

import time

import click
from flask import current_app
from flask.cli import AppGroup

from community.db import transaction
from community.extensions import db
from community.models.crm import CONNECTORS
from community.services import crm, crm_sync
from community.services.errors import DomainError

crm_cli = AppGroup("crm", help="CRM sync: deliver, run a worker, resync, status, retry, link.")


def _fail(exc: DomainError):
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


def _counts(counts: dict) -> str:
    return f"{counts.get('done', 0)} sent, {counts.get('pending', 0)} to retry, {counts.get('dead', 0)} dead"


@crm_cli.command("sync")
@click.option("--once", is_flag=True, help="Deliver what is due now, print the counts and exit.")
def sync(once):
    """Deliver queued member snapshots to the enabled connectors (a polling loop unless --once)."""
    from community.integrations import crm_relay

    app = current_app._get_current_object()
    if not crm.enabled():
        click.echo("No CRM connector is enabled (CRM_CONNECTORS is empty); nothing to do.")
        return
    if once:
        click.echo(_counts(crm_relay.run_once(db.session, config=app.config)))
        return
    click.echo(f"crm sync running for {', '.join(crm.enabled())}; Ctrl-C stops it")
    poll = app.config.get("OUTBOX_POLL_SECONDS", 1.0)
    try:
        while True:
            try:
                counts = crm_relay.run_once(db.session, config=app.config)
            finally:
                db.session.remove()
            if counts.get("done"):
                click.echo(_counts(counts))
            else:
                time.sleep(poll)
    except KeyboardInterrupt:
        click.echo("stopped")


@crm_cli.command("worker")
@click.option("--burst", is_flag=True, help="With REDIS_URL: run the queued jobs, then exit.")
def worker(burst):
    """Without REDIS_URL: the polling relay (CRM batches and every other outbox topic). With REDIS_URL:
    an RQ worker on the CRM queue, with the scheduler for delayed retries."""
    from community.integrations import crm_jobs, relay

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        click.echo("No REDIS_URL: polling the outbox (CRM and other messages); Ctrl-C stops it")
        try:
            relay.loop(app)
        except KeyboardInterrupt:
            click.echo("stopped")
        return
    from rq import SimpleWorker

    queue = crm_jobs.queue(app.config)
    crm_jobs.enqueue(app.config)  # pick up whatever was queued while no worker ran
    click.echo(f"RQ worker on queue {queue.name!r}; Ctrl-C stops it")
    # SimpleWorker runs jobs in this process: the app, its connection pool and the connectors'
    # HTTP sessions and tokens are reused from job to job instead of rebuilt in a fork each time
    SimpleWorker([queue], connection=queue.connection).work(with_scheduler=True, burst=burst)


@crm_cli.command("resync")
@click.argument("connector", type=click.Choice(CONNECTORS))
@click.option("--queue-only", is_flag=True, help="Only queue every member; a worker delivers them.")
@click.option("--wait", default=60.0, show_default=True,
              help="Seconds to wait for messages that are waiting for a retry before leaving them to the worker.")  # fmt: skip
def resync(connector, queue_only, wait):
    """Send every member to CONNECTOR again, with a progress bar while this command delivers."""
    from community.integrations import crm_relay

    try:
        with transaction():
            run = crm_sync.start_resync(db.session, actor=None, connector=connector)
    except DomainError as exc:
        _fail(exc)
    run_id, total = run.id, run.total
    click.echo(f"Resync #{run_id}: {total:,} member(s) queued for {connector}.")
    if queue_only or not total:
        return
    shown, idle_since = 0, None
    with click.progressbar(length=total, label=f"Sending to {connector}") as bar:
        while True:
            crm_relay.run_once(db.session, config=current_app.config, connectors=[connector], max_batches=1)
            with transaction():
                progress = crm_sync.resync_progress(db.session, run_id)
            finished = progress["done"] + progress["dead"]
            bar.update(finished - shown)
            if not progress["pending"]:
                break
            if finished > shown:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > wait:
                break
            else:
                time.sleep(min(1.0, wait))
            shown = finished
    click.echo(f"{progress['done']:,} sent, {progress['dead']:,} dead, {progress['pending']:,} waiting for a retry"
               + (" (a worker will send them)." if progress["pending"] else "."))  # fmt: skip


@crm_cli.command("status")
def status():
    """Queue depth, oldest waiting message, last success, failures and links per connector."""
    for row in crm_sync.status(db.session):
        depth = row["depth"]
        age = f"{row['oldest_pending_age']:.0f} s" if row["oldest_pending_age"] is not None else "-"
        last = row["last_success"].isoformat(sep=" ", timespec="seconds") if row["last_success"] else "never"
        click.echo(f"{row['name']}: {'enabled' if row['enabled'] else 'off'}; waiting {depth['pending']}, "
                   f"failing {row['failing']}, dead {row['dead']}, delivered {depth['done']}; oldest waiting {age}; "
                   f"last success {last}; {row['linked']} linked member(s)")  # fmt: skip
    with transaction():
        for run in crm_sync.recent_resyncs(db.session, limit=3):
            click.echo(f"resync #{run['id']} {run['connector']}: {run['done']}/{run['total']} sent, {run['dead']} dead, "
                       f"{run['pending']} waiting{' (finished)' if run['finished'] else ''}")  # fmt: skip


@crm_cli.command("retry")
@click.option("--id", "message_id", type=int, help="Retry this dead message.")
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead CRM message.")
@click.option("--connector", type=click.Choice(CONNECTORS), help="With --all: only this connector's.")
def retry(message_id, retry_all, connector):
    """Queue dead CRM messages again (attempts reset, due now)."""
    if (message_id is None) == (not retry_all):
        raise click.UsageError("Give either --id N or --all.")
    try:
        with transaction():
            n = crm_sync.retry(db.session, actor=None, connector=connector, message_id=message_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{n} message(s) queued again.")


@crm_cli.command("link")
@click.argument("user_id", type=int)
@click.argument("connector", type=click.Choice(CONNECTORS))
@click.argument("contact_id")
@click.option("--by", "linked_by", type=click.Choice(["api", "sso"]), default="api", show_default=True,
              help="Where the external id came from.")  # fmt: skip
def link(user_id, connector, contact_id, linked_by):
    """Link member USER_ID to the CRM contact CONTACT_ID (an external id from SSO or an API)."""
    try:
        with transaction():
            crm.link_contact(db.session, actor=None, user_id=user_id, connector=connector, contact_id=contact_id,
                             linked_by=linked_by)  # fmt: skip
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Member {user_id} linked to {connector} contact {contact_id} ({linked_by}).")
