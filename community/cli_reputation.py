"""``flask reputation ...``: verify the cached totals against the ledger, rebuild the ledger."""

import click

from community.db import transaction
from community.extensions import db
from community.services import reputation, reputation_replay, reputation_rules
from community.services.errors import DomainError

reputation_cli = click.Group("reputation", help="Verify, rebuild and police the reputation ledger.")


@reputation_cli.command("verify")
def verify():
    """Report every user whose cached reputation differs from 1 + the sum of their ledger entries."""
    mismatches = reputation.verify(db.session)
    for row in mismatches:
        click.echo(f"user {row['user_id']} ({row['name']}): cached {row['cached']}, ledger {row['ledger']}")
    if mismatches:
        raise click.ClickException(f"{len(mismatches)} user(s) differ from the ledger; "
                                   "run `flask reputation rebuild` to repair.")  # fmt: skip
    click.echo("OK: every cached reputation equals its ledger.")


@reputation_cli.command("rebuild")
@click.option("--preset", type=click.Choice(sorted(reputation_rules.PRESETS)), default=None,
              help="Switch to this preset (saved) before replaying.")  # fmt: skip
@click.option("--reason", default="command line rebuild", show_default=True)
def rebuild(preset, reason):
    """Replay votes, accepts, adjustments, approved edits and badges into a fresh ledger."""
    try:
        with transaction():
            ruleset = reputation_rules.current(db.session)
            if preset:
                ruleset = reputation_rules.from_dict({**ruleset.as_dict(), "preset": preset, "rules": {}})
                reputation_rules.save(db.session, actor=None, ruleset=ruleset)
            with click.progressbar(length=100, label="Replaying the ledger") as bar:
                state = {"done": 0}

                def progress(done, total):
                    pct = int(done * 100 / total) if total else 100
                    bar.update(max(0, pct - state["done"]))
                    state["done"] = max(state["done"], pct)

                report = reputation_replay.rebuild(db.session, ruleset, reason=reason, progress=progress)
                bar.update(100 - state["done"])
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Replayed {report['events']:,} events into {report['entries']:,} ledger entries in "
               f"{report['seconds']}s ({report['events_per_second']:,}/s); "
               f"{report['changed_users']:,} user total(s) changed.")  # fmt: skip
