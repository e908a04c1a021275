"""Advocate Community: a branded Q&A support forum. ``create_app`` only wires the parts."""

import logging

from flask import Flask

import config as config_module
from community.extensions import csrf, db, limiter, login_manager, migrate, socketio


def create_app(config=None) -> Flask:
    """Build the app from a config object, a config name, or the APP_ENV environment variable."""
    if config is None or isinstance(config, str):
        config = config_module.load(config)
    app = Flask(
        __name__,
        template_folder=str(config_module.BASE_DIR / "templates"),
        static_folder=str(config_module.BASE_DIR / "static"),
        instance_path=config.INSTANCE_PATH,
    )
    app.config.from_object(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    register_extensions(app)
    register_blueprints(app)
    register_sockets(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from community.db import add_event_listener
    from community.integrations import crm_jobs, realtime, relay
    from community.web import auth_loading, page_cache, security, templating

    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    migrate.init_app(app, db, directory=str(config_module.BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    socketio.init_app(
        app, message_queue=app.config.get("REDIS_URL"), async_mode="threading",
        logger=False, engineio_logger=False,
    )  # fmt: skip
    auth_loading.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    page_cache.init_app(app)
    add_event_listener(realtime.broadcast)
    add_event_listener(crm_jobs.after_commit)  # wakes an RQ worker for queued CRM rows when REDIS_URL is set
    relay.register_default_handlers()


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from community.api import bp as api_bp
    from community.web import crm_inbound, errors
    from community.web.admin.crm import bp as crm_admin_bp
    from community.web.admin.crm_escalation import bp as crm_escalation_admin_bp
    from community.web.admin.reputation import bp as reputation_admin_bp
    from community.web.admin.routes import bp as admin_bp
    from community.web.auth.routes import bp as auth_bp
    from community.web.badges import routes as badges_routes
    from community.web.qa.routes import bp as qa_bp
    from community.web.reputation.routes import bp as reputation_bp
    from community.web.users.routes import bp as users_bp

    errors.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(qa_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(badges_routes.bp)
    badges_routes.init_app(app)
    app.register_blueprint(reputation_bp)  # /leaderboard, /users/<id>/reputation
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(reputation_admin_bp)  # /admin/reputation, /help/privileges, adjustments
    app.register_blueprint(crm_admin_bp)  # /admin/crm: connectors, dead messages, resyncs, mapping
    app.register_blueprint(crm_escalation_admin_bp)  # /admin/crm/escalation: auto-escalation settings
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(crm_inbound.bp)  # POST /crm/inbound: signed CRM pushes
    csrf.exempt(crm_inbound.bp)  # the HMAC signature authenticates it, not a session
    csrf.exempt(api_bp)  # the API checks CSRF itself for cookie sessions (community/api/auth.py)


def register_sockets(app: Flask) -> None:
    from community.sockets import handlers  # noqa: F401  (registers the handlers)


def register_cli(app: Flask) -> None:
    from community import cli

    cli.init_app(app)
