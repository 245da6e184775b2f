"""Flask extension instances shared by the blueprints, and SQLite connection settings."""
import logging
import sqlite3

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

from .storage.writes import release_held


log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    pass


class _SQLAlchemy(SQLAlchemy):
    def _teardown_session(self, exc):
        """Ending a request's session rolls back what it left open. When the database dropped the
        connection meanwhile (a restart terminates every session), that ROLLBACK fails: the connection
        is discarded and the answer the request made stands, instead of a 500 after the fact."""
        try:
            try:
                release_held(self.session)
            finally:
                super()._teardown_session(exc)
        except DBAPIError as error:
            from .storage.transient import is_transient
            if not is_transient(error):
                raise
            log.warning("request's database connection lost at its end: %s",
                        str(error.orig or error).strip().splitlines()[0] if str(error.orig or error).strip() else "")
            try:
                self.session().invalidate()
            finally:
                self.session.registry.clear()


# Sessions live for one request; objects need not be reloaded after each commit (a commit in the
# middle of a token request would otherwise cost a SELECT for every object used afterwards).
db = _SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
csrf = CSRFProtect()
babel = Babel()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL with synchronous=NORMAL: commits no longer wait for a disk sync (still crash-safe in WAL
    mode; a power cut may lose the last transactions); readers do not block the writer."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
