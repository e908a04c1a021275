"""``flask --app wsgi ...`` commands, grouped by noun: seed, users, outbox, counters."""

import click
from flask import current_app
from flask.cli import AppGroup

from community.db import transaction
from community.extensions import db
from community.services import accounts, counters, tokens
from community.services.errors import DomainError

seed_cli = AppGroup("seed", help="Load demo content.")
users_cli = AppGroup("users", help="Manage members, roles and API tokens.")
outbox_cli = AppGroup("outbox", help="Deliver and inspect outbox messages.")
counters_cli = AppGroup("counters", help="Verify and repair cached counters.")


def _fail(exc: DomainError):
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


def _user(email: str):
    user = accounts.find_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    return user


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no users.")
def seed_demo(if_empty):
    """A deterministic branded demo: categories, users, questions, answers, comments, votes."""
    from community import demo

    with transaction():
        result = demo.seed(db.session, if_empty=if_empty)
    click.echo(result)


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", default="member", show_default=True)
def users_create(email, name, password, role):
    """Create a member with a role."""
    try:
        with transaction():
            user = accounts.register(db.session, email=email, display_name=name, password=password, role=role)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created user {user.id} <{user.email}> with role {user.role}.")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="CLI token", show_default=True)
def users_token(email, name):
    """Print a new API token for the user (shown only this once)."""
    try:
        with transaction():
            _, plaintext = tokens.create(db.session, user=_user(email), name=name)
    except DomainError as exc:
        _fail(exc)
    click.echo(plaintext)


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role")
def users_set_role(email, role):
    """Change a member's role: member, moderator, marketer or admin."""
    try:
        with transaction():
            user = accounts.set_role(db.session, actor=None, user=_user(email), role=role)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{user.email} is now {user.role}.")


@counters_cli.command("recount")
def counters_recount():
    """Recompute cached counters from the rows and report what was corrected."""
    with transaction():
        fixed = counters.recount(db.session)
    for label, n in fixed.items():
        click.echo(f"{label}: {n} corrected")


@outbox_cli.command("relay")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
def outbox_relay(once):
    """Deliver outbox messages (run one or more of these at scale)."""
    from community.integrations import relay

    if once:
        click.echo(relay.run_once(db.session, config=current_app.config))
        return
    click.echo("outbox relay running; Ctrl-C stops it")
    relay.loop(current_app._get_current_object())


@outbox_cli.command("status")
def outbox_status():
    """Count messages by status and list the dead ones."""
    from sqlalchemy import func, select

    from community.models import OutboxMessage

    for status, n in db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        click.echo(f"{status}: {n}")
    for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead").limit(50)):
        click.echo(f"dead #{m.id} {m.topic} attempts={m.attempts} error={m.last_error}")


@outbox_cli.command("retry")
@click.option("--id", "message_id", type=int, help="Only this message.")
def outbox_retry(message_id):
    """Put dead messages back in the queue."""
    from community.integrations import relay

    with transaction():
        n = relay.retry(db.session, message_id=message_id)
    click.echo(f"{n} message(s) queued again")


def init_app(app):
    from community import cli_badges, cli_crm_cases, cli_fraud  # noqa: F401  (they add commands to their groups)
    from community.cli_badges import badges_cli
    from community.cli_crm import crm_cli
    from community.cli_reputation import reputation_cli

    for group in (seed_cli, users_cli, outbox_cli, counters_cli, reputation_cli, badges_cli, crm_cli):
        app.cli.add_command(group)
