"""``flask reputation detect-fraud``: find serial voting and reverse its reputation."""

import click
from flask import current_app

from community.cli_reputation import reputation_cli
from community.db import transaction
from community.extensions import db
from community.services import fraud


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def _default(name):
    return lambda: current_app.config[name]


@reputation_cli.command("detect-fraud")
@click.option("--hours", type=click.IntRange(min=1), default=_default("FRAUD_WINDOW_HOURS"), show_default="24",
              help="Length of the burst window.")  # fmt: skip
@click.option("--burst", type=click.IntRange(min=2), default=_default("FRAUD_BURST_VOTES"), show_default="10",
              help="Votes from one voter to one target within the window that make a case.")  # fmt: skip
@click.option("--share", type=click.IntRange(1, 100), default=_default("FRAUD_SHARE_PERCENT"), show_default="50",
              help="Percent of a target's upvotes coming from one voter that make a case.")  # fmt: skip
@click.option("--min-votes", type=click.IntRange(min=1), default=_default("FRAUD_MIN_VOTES"), show_default="10",
              help="Upvotes a target needs before the share rule applies.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Report what would be reversed, then roll everything back.")
def detect_fraud(hours, burst, share, min_votes, dry_run):
    """Find serial voting, record each case and reverse its votes' reputation (idempotent; run nightly)."""
    cases = []
    try:
        with transaction():
            cases = fraud.detect(db.session, hours=hours, burst=burst, share=share, min_votes=min_votes)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    for case in cases:
        click.echo(case.explanation)
    total = sum(case.reversed for case in cases)
    votes = sum(len(case.votes) for case in cases)
    if not cases:
        click.echo("No new serial voting found.")
    else:
        click.echo(f"{len(cases)} case(s), {votes} vote(s), {total} reputation reversed.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
