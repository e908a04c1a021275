"""``flask crm escalate-due``: open support cases for questions left unanswered too long (docs/crm.md)."""

from datetime import datetime

import click
from flask import current_app

from community.cli_crm import crm_cli
from community.db import transaction
from community.extensions import db
from community.services import crm_cases


@crm_cli.command("escalate-due")
@click.option("--now", "now", type=click.DateTime(), default=None,
              help="Pretend it is this UTC time (to check what would escalate later).")  # fmt: skip
def escalate_due(now: datetime | None):
    """Escalate unanswered questions in the auto-escalation categories (the relay does it every few minutes)."""
    name = crm_cases.case_connector(current_app.config)
    if name is None:
        raise click.ClickException("No CRM connector takes support cases (set CRM_CONNECTORS or CRM_CASE_CONNECTOR).")
    with transaction():
        count = crm_cases.escalate_due(db.session, now=now, config=current_app.config)
    click.echo(f"{count} question(s) escalated to {name}")
