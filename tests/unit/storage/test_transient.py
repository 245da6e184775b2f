"""Which storage errors are transient (503, retry) and which are bugs (500): real errors from the
drivers, each made the way it happens."""
from __future__ import annotations

import sqlite3

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool

from idp.storage.transient import is_transient


def _raised(call) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.db", connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
    yield engine
    engine.dispose()


def test_a_locked_sqlite_database_is_transient(sqlite_engine):
    with sqlite_engine.connect() as holder:
        holder.exec_driver_sql("BEGIN EXCLUSIVE")
        with sqlite_engine.connect() as other:
            error = _raised(lambda: other.execute(text("INSERT INTO t (v) VALUES ('b')")))
        holder.rollback()
    assert isinstance(error, OperationalError) and "locked" in str(error.orig)
    assert is_transient(error)


def test_a_sqlite_file_that_cannot_be_opened_is_transient(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/missing-dir/t.db")
    error = _raised(lambda: engine.connect())
    assert isinstance(error, OperationalError)
    assert is_transient(error)


def test_sql_mistakes_and_constraints_on_sqlite_are_bugs(sqlite_engine):
    with sqlite_engine.connect() as conn:
        missing_table = _raised(lambda: conn.execute(text("SELECT * FROM nowhere")))
        syntax = _raised(lambda: conn.execute(text("SELEKT 1")))
        duplicate = _raised(lambda: conn.execute(text("INSERT INTO t (v) VALUES ('a')")))
    assert isinstance(missing_table, OperationalError), "SQLite reports a missing table as operational"
    assert isinstance(duplicate, IntegrityError)
    for error in (missing_table, syntax, duplicate):
        assert not is_transient(error), error


@pytest.mark.postgres
def test_postgres_connection_failures_are_transient_and_sql_mistakes_are_not(pg_schema_engine):
    import psycopg

    refused = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/test",
                            connect_args={"connect_timeout": 2})
    assert is_transient(_raised(lambda: refused.connect()))
    assert is_transient(_raised(lambda: psycopg.connect("postgresql://postgres@127.0.0.1:1/test",
                                                        connect_timeout=2)))
    with pg_schema_engine.connect() as conn:
        error = _raised(lambda: conn.execute(text("SELECT * FROM nowhere")))
        assert isinstance(error, ProgrammingError) and not is_transient(error)
    with pg_schema_engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with pg_schema_engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        error = _raised(lambda: conn.execute(text("SELECT 1")))
    assert isinstance(error, DBAPIError) and error.connection_invalidated
    assert is_transient(error)


def test_an_exhausted_connection_pool_is_transient(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.db", poolclass=QueuePool, pool_size=1, max_overflow=0,
                           pool_timeout=0.01)
    with engine.connect():
        error = _raised(lambda: engine.connect())
    engine.dispose()
    assert isinstance(error, PoolTimeout) and is_transient(error)


def test_an_unreachable_redis_is_transient_and_a_wrong_command_is_not():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    assert is_transient(_raised(client.ping))
    assert not is_transient(redis.exceptions.ResponseError("WRONGTYPE Operation against a key"))


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_sqlite_errors_are_transient_exactly_for_the_result_codes_of_the_moment(code):
    error = sqlite3.OperationalError("x")
    error.sqlite_errorcode = code
    expected = (code & 0xFF) in {5, 6, 7, 9, 10, 13, 14, 15}  # BUSY LOCKED NOMEM INTERRUPT IOERR FULL CANTOPEN PROTOCOL
    assert is_transient(OperationalError("SELECT 1", {}, error)) is expected
    assert is_transient(error) is expected


@pytest.mark.parametrize("error", [ValueError("x"), KeyError("x"), RuntimeError("x")])
def test_other_errors_are_not_storage_failures(error):
    assert not is_transient(error)
