"""Where the test PostgreSQL and Redis live, a skip with a clear reason when they do not answer, and
isolated places on them that are removed afterwards.

    from backends import postgres_url_or_skip, redis_url_or_skip
    with fresh_postgres_database("idp_fuzz") as url: ...      # a new database, dropped after
    with postgres_schema_engine("idp_tokens", tables) as engine: ...  # a new schema, dropped after
    with fresh_redis_prefix(url) as prefix: ...                # its keys deleted after

``IDP_TEST_POSTGRES_URL`` (default: user ``postgres``, then ``root``, at 127.0.0.1:5432/test) and
``IDP_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) choose the servers. With
``IDP_REQUIRE_BACKENDS=1`` a skipped ``postgres``/``redis`` test fails the run (backend_requirements.py).
"""
from __future__ import annotations

import functools
import os
import secrets
from contextlib import contextmanager

import pytest

POSTGRES_ENV = "IDP_TEST_POSTGRES_URL"
REDIS_ENV = "IDP_TEST_REDIS_URL"
POSTGRES_DEFAULTS = ("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                     "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix, for psycopg.connect()."""
    scheme, rest = url.split("://", 1)
    return scheme.split("+", 1)[0] + "://" + rest


@functools.cache
def _postgres() -> tuple[str | None, str]:
    import psycopg

    explicit = os.environ.get(POSTGRES_ENV)
    candidates = (explicit,) if explicit else POSTGRES_DEFAULTS
    errors = []
    for url in candidates:
        try:
            with psycopg.connect(libpq_url(url), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
            errors.append(f"{url}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    return None, "; ".join(errors)


@functools.cache
def _redis() -> tuple[str | None, str]:
    import redis

    url = os.environ.get(REDIS_ENV) or REDIS_DEFAULT
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        client.close()
        return url, ""
    except Exception as exc:  # noqa: BLE001
        return None, f"{url}: {exc}"


def postgres_url_or_skip() -> str:
    """A SQLAlchemy URL of a reachable PostgreSQL server, or skip the calling test saying why."""
    url, why = _postgres()
    if url is None:
        pytest.skip(f"PostgreSQL not reachable (set {POSTGRES_ENV}): {why}")
    return url


def redis_url_or_skip() -> str:
    """The URL of a reachable Redis server, or skip the calling test saying why."""
    url, why = _redis()
    if url is None:
        pytest.skip(f"Redis not reachable (set {REDIS_ENV}): {why}")
    return url


def _unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@contextmanager
def fresh_postgres_database(prefix: str = "idp_test"):
    """The SQLAlchemy URL of a new, uniquely named database on the test server (skips when there is
    none); afterwards the database is dropped, connections still open to it included."""
    import psycopg
    from psycopg import sql

    server_url = postgres_url_or_skip()
    name = _unique(prefix)
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def empty_postgres_tables(url: str, expected=(), keep=("alembic_version",)) -> bool:
    """Remove every row of every table (but ``keep``) in the database at ``url`` and restart its
    sequences: a migrated database as good as new. Returns False, changing nothing, when a table of
    ``expected`` is missing (a test dropped it). Fails rather than waits when a connection still holds
    a lock there."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        tables = {name for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        if not set(expected) <= tables:
            return False
        names = sorted(tables - set(keep))
        if names:
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, names))))
    return True


def empty_postgres_schema(url: str) -> None:
    """Drop everything in the current schema of the database at ``url`` (tables, sequences, types)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.execute(sql.SQL("DROP SCHEMA {0} CASCADE; CREATE SCHEMA {0}").format(sql.Identifier(schema)))


@contextmanager
def postgres_schema_engine(prefix: str = "idp_test", tables=(), **engine_options):
    """An engine on the test server whose connections see only a new schema (their search_path), with
    ``tables`` created in it; afterwards the engine is disposed and the schema dropped with its
    contents. Quicker than a database when a test needs a few tables rather than the whole app."""
    from sqlalchemy import create_engine, text

    url = postgres_url_or_skip()
    schema = _unique(prefix)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(url, connect_args={"options": f"-c search_path={schema}"}, **engine_options)
        try:
            tables = list(tables)
            if tables:
                tables[0].metadata.create_all(engine, tables=tables)
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def fresh_redis_prefix(url: str, prefix: str = "idptest"):
    """A key prefix no other test uses on the Redis at ``url``; every key under it is deleted afterwards."""
    import redis

    unique = _unique(prefix).replace("_", ":")
    try:
        yield unique
    finally:
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=unique + ":*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
