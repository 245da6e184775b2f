"""One writer at a time per process on SQLite, queued on a Python lock instead of inside SQLite.

SQLite lets one connection write at a time. A second writer waits in SQLite's busy handler, which
sleeps 1, 2, 5, 10 … ms between attempts however soon the lock is free again; with several threads
exchanging codes in one worker, they spent more time asleep there than working. The hot write paths
take this lock before their first write: a waiting thread wakes the moment it is released. Writers in
other processes still meet the busy handler. PostgreSQL locks rows, not the database: no lock there.

Never take it while this thread holds an uncommitted write on another connection.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext

from sqlalchemy.orm import scoped_session

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock_for(database: str) -> threading.Lock:
    lock = _locks.get(database)
    if lock is None:
        with _guard:
            lock = _locks.setdefault(database, threading.Lock())
    return lock


def serialized(conn):
    """A context manager around a write transaction on ``conn`` (a SQLAlchemy connection)."""
    if conn.dialect.name != "sqlite":
        return nullcontext()
    return _lock_for(conn.engine.url.database or "")


def _engine_without_session(session):
    """The default engine of a Flask-SQLAlchemy scoped session with no session in the current scope;
    None when there is one (or the session is of another kind)."""
    if not isinstance(session, scoped_session) or session.registry.has():
        return None
    db = session.session_factory.kw.get("db")
    return db.engine if db is not None else None


# Per scope (a Flask app context): the connection a token request read through, held for the write
# that follows it; released at the scope's end (``release_held``, from the session's teardown).
_held: dict[tuple[int, object], object] = {}


def _scope_key(session):
    scopefunc = getattr(session.registry, "scopefunc", None)
    return (id(session), scopefunc()) if scopefunc is not None else None


def read_connection(session):
    """A connection for the reads that come before a write of this scope. With no ORM session in the
    scope, a plain connection from the engine, held until the scope ends, so that ``session_write``
    writes and commits on it (the reads and the write in one transaction, as through the session, without
    the session's bookkeeping). Otherwise the session's connection."""
    engine = _engine_without_session(session)
    key = _scope_key(session) if engine is not None else None
    if key is None:
        return session.connection()
    conn = _held.get(key)
    if conn is None:
        conn = _held[key] = engine.connect()
    if not conn.in_transaction():  # prepared statements run on the driver: begin here, or commit is a no-op
        conn.begin()
    return conn


def release_held(session) -> None:
    """Close this scope's held connection, if any (rolling back what it left open)."""
    if not _held:  # the common case (no token read in this process right now): no scope lookup
        return
    key = _scope_key(session) if isinstance(session, scoped_session) else None
    conn = _held.pop(key, None) if key is not None else None
    if conn is not None:
        try:
            conn.close()
        except BaseException:
            conn.invalidate()
            raise


@contextmanager
def session_write(session):
    """A connection for a write, queued as above; commits at the end of the block, rolls back (before
    the lock is released) if it raises.

    When the session has not begun a transaction (nothing read or written through it yet, like a
    client_credentials token request), the write runs on a connection of its own from the session's
    engine: the same statements and commit without the ORM session's transaction bookkeeping, which
    cost four times a plain connection's begin and commit (bench/README.md). Otherwise it joins the
    session's transaction, so what the session did before commits with it. A scoped session that has
    not been made in this scope yet is not made for it (making it and removing it at the request's
    end cost more than the write's own begin and commit)."""
    engine = _engine_without_session(session)
    held = _held.get(_scope_key(session)) if engine is not None else None
    if held is not None:
        if not held.in_transaction():
            held.begin()
        with serialized(held):
            try:
                yield held
                held.commit()
            except BaseException:
                held.rollback()
                raise
        return
    if engine is None:
        current = session() if isinstance(session, scoped_session) else session
        if not current.in_transaction():
            engine = current.get_bind()
    if engine is not None:
        with engine.connect() as conn, serialized(conn), conn.begin():
            yield conn
        return
    conn = session.connection()
    with serialized(conn):
        try:
            yield conn
            session.commit()
        except BaseException:
            session.rollback()
            raise
