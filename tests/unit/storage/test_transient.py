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


# --- Redis as operators run it: errors of a failover are transient, mistakes are not -----------------
@pytest.mark.redis
def test_a_demoted_primary_and_a_primary_without_replicas_are_transient(tmp_path):
    from redis_topology import server

    primary = server(tmp_path, "--min-replicas-to-write", "1")
    replica = server(tmp_path, "--replicaof", "127.0.0.1", str(primary.port))
    try:
        read_only = _raised(lambda: replica.client().set("k", "v"))
        assert isinstance(read_only, redis.exceptions.ReadOnlyError) and is_transient(read_only)
        replica.stop()
        no_replicas = _raised(lambda: primary.client().set("k", "v"))
        assert str(no_replicas).startswith("NOREPLICAS") and is_transient(no_replicas)
    finally:
        replica.stop()
        primary.stop()


@pytest.mark.redis
def test_a_cluster_without_its_slots_is_transient(tmp_path):
    from redis_topology import server

    node = server(tmp_path, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    try:
        down = _raised(lambda: node.client().get("k"))
        assert isinstance(down, redis.exceptions.ClusterDownError) and is_transient(down)
    finally:
        node.stop()


@pytest.mark.redis
def test_a_moved_slot_is_transient_and_a_cross_slot_command_is_a_bug(redis_cluster):
    first = redis_cluster.nodes[0].client()
    key = next(f"k{i}" for i in range(1000) if redis_cluster.primary_for(f"k{i}").port != redis_cluster.nodes[0].port)
    moved = _raised(lambda: first.get(key))
    assert isinstance(moved, redis.exceptions.MovedError) and is_transient(moved)
    owner = redis_cluster.primary_for("{a}").client()
    cross = _raised(lambda: owner.mset({"{a}x": 1, "{b}y": 2}))
    assert isinstance(cross, redis.exceptions.ClusterCrossSlotError) and not is_transient(cross)


@pytest.mark.redis
def test_a_wrong_redis_password_is_a_broken_deployment_not_a_moment(tmp_path):
    from redis_topology import server

    node = server(tmp_path, "--requirepass", "right-password")
    try:
        wrong = _raised(lambda: node.client(password="wrong").ping())
        assert isinstance(wrong, redis.exceptions.AuthenticationError) and not is_transient(wrong)
    finally:
        node.stop()


@pytest.mark.parametrize("error", [redis.exceptions.TryAgainError("TRYAGAIN"),
                                   redis.exceptions.ClusterError("TTL exhausted"),
                                   redis.exceptions.MasterDownError("MASTERDOWN"),
                                   redis.exceptions.SlotNotCoveredError("slot 7 is not covered"),
                                   redis.exceptions.RedisClusterUnreachableError("no node reachable")])
def test_cluster_failover_errors_are_transient(error):
    assert is_transient(error)


def test_other_cluster_client_errors_are_bugs():
    assert not is_transient(redis.exceptions.RedisClusterException("No way to dispatch this command"))
