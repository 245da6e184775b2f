"""Which storage errors are transient: the database or Redis was unreachable, restarted, busy or out of
connections, so the same request may well succeed in a moment. Everything else (a constraint, a
missing table, a syntax error) is a bug or a broken deployment, and stays one.
"""
from __future__ import annotations

import sqlite3

import psycopg
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_exc

# SQLite primary result codes (https://sqlite.org/rescode.html) that describe the moment, not the SQL:
# BUSY, LOCKED, NOMEM, INTERRUPT, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_TRANSIENT = {5, 6, 7, 9, 10, 13, 14, 15}

# Where transient failures are found, for registering error handlers; ``is_transient`` decides.
ERROR_CLASSES: tuple[type[BaseException], ...] = (
    sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.DisconnectionError, sqlite3.Error, psycopg.Error,
    redis_errors.RedisError)


def _transient_driver_error(error: BaseException) -> bool:
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_TRANSIENT
    # psycopg OperationalError: connection lost or refused, server shutting down, lock or statement
    # timeout, serialization failure, deadlock. InterfaceError: the connection is already closed.
    return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))


def is_transient(error: BaseException) -> bool:
    """True when ``error`` is a storage failure that a retry a moment later may not meet."""
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True  # no free pooled connection in time; a connection found dead
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or (error.orig is not None and _transient_driver_error(error.orig))
    if isinstance(error, redis_errors.RedisError):
        return isinstance(error, (redis_errors.ConnectionError, redis_errors.TimeoutError,
                                  redis_errors.BusyLoadingError))
    return _transient_driver_error(error)
