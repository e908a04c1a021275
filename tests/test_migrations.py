"""Alembic migrations: from empty they build exactly the models' schema, and they go back down cleanly."""

import os
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import config
from community import create_app
from community.extensions import db

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
]


def _sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'migrated.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: a temporary SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")
    name = f"community_migcheck_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def migrated_app(database_url):
    """An app on the empty database, upgraded to head with Alembic."""
    import flask_migrate

    cfg = config.TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = database_url
    app = create_app(cfg)
    with app.app_context():
        flask_migrate.upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _is_empty_string_default_on_sqlite(diff) -> bool:
    """Alembic's SQLite comparison reads a reflected ``''`` default as different from a declared ``""``."""
    if not (isinstance(diff, list) and diff and diff[0][0] == "modify_default"):
        return False
    _, _, _, _, _, reflected, declared = diff[0]
    return getattr(declared, "arg", None) == "" and str(getattr(reflected, "arg", "")) in ("''", "('')")


def test_upgrade_from_empty_builds_exactly_the_models_schema(migrated_app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, db.metadata)
    assert [d for d in diffs if not _is_empty_string_default_on_sqlite(d)] == []


def test_upgrade_creates_every_model_table(migrated_app):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables


def test_upgrade_creates_the_case_insensitive_email_index(migrated_app):
    # SQLite cannot reflect expression indexes, so read the index definition from the catalogue
    query = ("SELECT sql FROM sqlite_master WHERE name = 'ix_users_email_lower'" if db.engine.dialect.name == "sqlite"
             else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_users_email_lower'")
    with db.engine.connect() as conn:
        definition = conn.execute(text(query)).scalar_one()
    assert re.search(r"lower\(\(?email", definition.replace('"', ""))


def test_accepted_answer_foreign_key_exists(migrated_app):
    fks = {fk["name"]: fk for fk in inspect(db.engine).get_foreign_keys("posts")}
    fk = fks["fk_posts_accepted_answer_id_posts"]
    assert fk["constrained_columns"] == ["accepted_answer_id"]
    assert fk["referred_table"] == "posts"


def test_downgrade_to_base_leaves_no_tables(migrated_app):
    import flask_migrate

    flask_migrate.downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_every_revision_has_a_message():
    for path in sorted(VERSIONS.glob("*.py")):
        docstring = re.match(r'\s*"""(.*?)\n', path.read_text())
        assert docstring and docstring.group(1).strip(), path.name
        assert "empty message" not in docstring.group(1), path.name


def test_every_revision_file_name_starts_with_a_date():
    files = sorted(VERSIONS.glob("*.py"))
    assert files
    for path in files:
        assert re.match(r"\d{8}_\d{4}_[0-9a-f]+_\w+\.py$", path.name), path.name


def test_revisions_form_a_single_line_of_history():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(VERSIONS.parent))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1
