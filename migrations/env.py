"""Alembic environment, driven by Flask-Migrate: the app's engine and the models' metadata.

``render_as_batch`` (set by ``Migrate(..., render_as_batch=True)``) makes ALTERs work on SQLite;
autogenerate compares column types and server defaults so a revision captures the whole schema.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config

# the CLI gets alembic.ini's logging; a test run keeps its own (fileConfig would reset the root logger)
if config.config_file_name is not None and not current_app.testing:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def compare_server_default(context, inspected_column, metadata_column, inspected_default,
                           metadata_default, rendered_metadata_default):
    """Alembic's SQLite comparison sees a reflected ``''`` and a declared ``""`` as different; they are not.

    Returning None leaves every other case to Alembic's own comparison.
    """
    if rendered_metadata_default == "" and inspected_default in ("''", "('')"):
        return False
    return None


def _configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    args.setdefault("compare_server_default", compare_server_default)
    return args


def run_migrations_offline():
    """Emit SQL to stdout (``flask db upgrade --sql``) without connecting."""
    args = _configure_args()
    args.pop("process_revision_directives", None)
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=get_metadata(),
                      literal_binds=True, **args)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations on a connection from the app's engine."""

    def process_revision_directives(context, revision, directives):
        # an autogenerate that finds no change writes no empty revision
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    args = _configure_args()
    if args.get("process_revision_directives") is None:
        args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
