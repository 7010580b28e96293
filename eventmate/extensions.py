"""Extension objects, created once and unconfigured; only `create_app` calls `init_app`."""

from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_session import Session
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from eventmate.replica.session import RoutingSession
from eventmate.security.clients import client_key, request_identity

# Deterministic constraint names, so Alembic migrations match on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Reads of the views that opt in go to the read replica, when there is one (eventmate/replica).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
cache = Cache()  # used through eventmate/caching.py
server_session = Session()
# One budget per client across the whole site (RATELIMIT_APPLICATION), plus the per-view
# limits in eventmate/security/limits.py.
limiter = Limiter(key_func=client_key, request_identifier=request_identity)
login_manager = LoginManager()
csrf = CSRFProtect()
# Only for the per-view decorator (@talisman(force_https=False)); each app gets its own
# configured Talisman in eventmate/security.
talisman = Talisman()
# Dates, prices and numbers for BABEL_DEFAULT_LOCALE (eventmate/templating.py); no translation
# catalogue yet, so gettext/ngettext give the English text with its plural.
babel = Babel()
