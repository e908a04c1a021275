"""``flask badges ...``: backfill the automatic badges, list them, flush question views."""

import sys

import click
from flask.cli import AppGroup

from community.db import transaction
from community.extensions import db
from community.services import badge_queries, badges, views
from community.services import badge_registry as registry
from community.services.errors import DomainError

badges_cli = AppGroup("badges", help="Award and inspect badges.")


@badges_cli.command("backfill")
@click.argument("badge", required=False)
def backfill(badge):
    """Award every automatic badge (or BADGE, a slug) to everyone who earned it. Safe to re-run."""
    total = len(registry.BADGES) if badge is None else 1
    try:
        with click.progressbar(length=total, label="Evaluating badges", file=sys.stderr) as bar, \
                transaction():  # fmt: skip
            result = badges.backfill(db.session, badge=badge, progress=lambda _slug: bar.update(1))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    for slug, n in result.items():
        click.echo(f"{slug}: {n} new")
    click.echo(f"{sum(result.values())} badge(s) awarded.")


@badges_cli.command("list")
def list_badges():
    """Every badge with its tier, holders and rule."""
    for row in badge_queries.catalogue(db.session):
        kind = "manual" if row["manual"] else row["kind"]
        click.echo(f"{row['slug']:<20} {row['tier']:<7} {row['holders']:>7} holders  [{kind}] {row['description']}")


@badges_cli.command("flush-views")
def flush_views():
    """Write this process's pending question views (and award view badges). The web processes
    flush their own counts every VIEW_FLUSH_SECONDS; this is for scripts and tests."""
    with views.batch() as counts, transaction():
        n = views.apply(db.session, counts)
    click.echo(f"{n} view(s) written.")
