"""EventMate: event listings and bookings.

`create_app` builds the application; importing this package does no work.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from config import Config, config_from_env, write_private_file


def create_app(config_class: type[Config] | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    config_class = config_class or config_from_env()
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(config_class)
    app.config.update(config_class.settings_from_env(os.environ, app.instance_path))
    create_private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_commands(app)
    register_shell_context(app)
    register_middleware(app)
    return app


def create_private_sqlite_file(url: str) -> None:
    """SQLite creates its file with the umask's mode (usually readable by everyone): create it
    first, owner-only. Its journal and WAL files take the database file's mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(FileExistsError):
            write_private_file(path)


def register_extensions(app: Flask) -> None:
    from eventmate import assets, jobs, monitoring, pagecache, security
    from eventmate.auth.sessions import init_login_manager
    from eventmate.extensions import babel, cache, csrf, db, limiter, migrate, server_session
    from eventmate.media import storage
    from eventmate.models.search import include_object
    from eventmate.replica import routing as replica
    from eventmate.stores import install_session_interface, session_store_client

    monitoring.init_app(app)  # first: its before_request times everything after it
    db.init_app(app)
    replica.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_as_batch=True,  # SQLite can only change tables by copying them
        compare_type=True,
        include_object=include_object,
    )
    babel.init_app(app)
    cache.init_app(app)
    app.config.update(session_store_client(app.config))
    server_session.init_app(app)
    install_session_interface(app)
    csrf.init_app(app)
    init_login_manager(app)
    limiter.init_app(app)
    storage.init_app(app)
    pagecache.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    jobs.init_app(app)


def register_middleware(app: Flask) -> None:
    """Last: ProxyFix and compression, whose place in the order matters (eventmate/middleware)."""
    from eventmate import middleware

    middleware.init_app(app)


def register_url_converters(app: Flask) -> None:
    from eventmate.converters import PageNumberConverter, ReferenceConverter, SlugConverter

    app.url_map.converters["slug"] = SlugConverter
    app.url_map.converters["page"] = PageNumberConverter
    app.url_map.converters["ref"] = ReferenceConverter


def register_blueprints(app: Flask) -> None:
    from eventmate.account import bp as account_bp
    from eventmate.auth import bp as auth_bp
    from eventmate.bookings import bp as bookings_bp
    from eventmate.calendars import bp as calendars_bp
    from eventmate.events import bp as events_bp
    from eventmate.health import bp as health_bp
    from eventmate.hosts import bp as hosts_bp
    from eventmate.main import bp as main_bp
    from eventmate.media.routes import bp as media_bp
    from eventmate.monitoring.routes import bp as monitoring_bp
    from eventmate.profiles import bp as profiles_bp
    from eventmate.reviews import bp as reviews_bp
    from eventmate.waitlist import bp as waitlist_bp

    blueprints = (
        main_bp, events_bp, auth_bp, bookings_bp, waitlist_bp, reviews_bp, calendars_bp, hosts_bp,
        media_bp, health_bp, monitoring_bp, profiles_bp, account_bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def register_template_helpers(app: Flask) -> None:
    from eventmate import templating

    templating.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from eventmate import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from flask_static_digest.cli import digest as digest_cli  # `flask digest compile|clean`

    from eventmate.cli import bookings_cli, cache_cli, events_cli, jobs_cli, seed_cli, users_cli

    # (The load test's accounts are made by loadtest/accounts.py, not by the app.)
    groups = (users_cli, events_cli, bookings_cli, seed_cli, cache_cli, jobs_cli, digest_cli)
    for group in groups:
        app.cli.add_command(group)


def register_shell_context(app: Flask) -> None:
    from eventmate import models
    from eventmate.extensions import db

    @app.shell_context_processor
    def shell_context() -> dict:
        return {"db": db, "models": models}
