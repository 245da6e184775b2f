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
    redis_errors.RedisError, redis_errors.RedisClusterException)

# Redis errors of a failover, a restart or a lagging replica:
# - the connection dropped or timed out; the server is loading its data set (LOADING);
# - READONLY: a former primary, demoted by Sentinel, still answered this connection;
# - CLUSTERDOWN / MASTERDOWN: a cluster or replica without a reachable primary, until one is elected;
# - TRYAGAIN, MOVED, ASK: a slot in migration or moved to a promoted replica, and redis-py's cluster
#   client gave up following it (ClusterError: its retries ran out);
# - no cluster node reachable, or a slot served by none for the moment;
# - a write not acknowledged by the required replicas in time (idp.storage.redis.NotReplicated), or
#   refused by a primary with too few replicas (NOREPLICAS, its min-replicas-to-write setting).
_REDIS_TRANSIENT = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError,
                    redis_errors.ClusterError, redis_errors.TryAgainError, redis_errors.AskError,
                    redis_errors.RedisClusterUnreachableError, redis_errors.SlotNotCoveredError)
# A wrong password or missing permission is a broken deployment, not a moment's failure.
_REDIS_CONFIGURATION = (redis_errors.AuthenticationError, redis_errors.AuthorizationError)


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
    if isinstance(error, (redis_errors.RedisError, redis_errors.RedisClusterException)):
        from .redis import NotReplicated
        if isinstance(error, _REDIS_CONFIGURATION):
            return False
        if isinstance(error, redis_errors.ResponseError) and str(error).startswith("NOREPLICAS"):
            return True
        return isinstance(error, _REDIS_TRANSIENT + (NotReplicated,))
    return _transient_driver_error(error)
