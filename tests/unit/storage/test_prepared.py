"""Prepared statements give the same values, transactions and errors as SQLAlchemy's own execution,
on SQLite and on PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import (JSON, Boolean, Column, Float, Integer, MetaData, String, Table, bindparam, create_engine,
                        insert, select, update)
from sqlalchemy.exc import IntegrityError

from idp.storage import writes
from idp.storage.prepared import Prepared

metadata = MetaData()
things = Table("prepared_things", metadata,
               Column("id", Integer, primary_key=True),
               Column("name", String(32), unique=True),
               Column("tags", JSON),
               Column("active", Boolean),
               Column("weight", Float, nullable=True))

INSERT = Prepared(insert(things).values({c: bindparam(c) for c in ("name", "tags", "active", "weight")}))
BY_NAME = Prepared(select(things.c.id, things.c.name, things.c.tags, things.c.active, things.c.weight)
                   .where(things.c.name == bindparam("b_name")))
NEWEST = Prepared(select(things.c.name).order_by(things.c.id.desc()).limit(1))
DEACTIVATE = Prepared(update(things).where(things.c.active.is_(True)).values(active=bindparam("b_active")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path}/prepared.db")
    else:
        engine = request.getfixturevalue("pg_schema_engine")
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    if request.param == "sqlite":
        engine.dispose()


def test_values_round_trip_through_the_column_types(engine):
    with engine.begin() as conn:
        INSERT.execute(conn, {"name": "a", "tags": ["pwd", "otp"], "active": True, "weight": 1.5})
        INSERT.execute(conn, {"name": "b", "tags": [], "active": False, "weight": None})
    with engine.connect() as conn:
        stored = {row.name: tuple(row) for row in conn.execute(select(things))}  # SQLAlchemy's own reading
        assert BY_NAME.first(conn, {"b_name": "a"}) == stored["a"]
        assert BY_NAME.first(conn, {"b_name": "b"}) == stored["b"]
        first = BY_NAME.first(conn, {"b_name": "a"})
        assert first[2] == ["pwd", "otp"] and first[3] is True and first[4] == 1.5
        assert BY_NAME.first(conn, {"b_name": "missing"}) is None


def test_values_fixed_in_the_statement_are_used(engine):
    with engine.begin() as conn:
        for name in ("x", "y", "z"):
            INSERT.execute(conn, {"name": name, "tags": [], "active": True, "weight": 0.0})
        assert NEWEST.first(conn) == ("z",)


def test_execute_returns_the_rows_changed_and_joins_the_callers_transaction(engine):
    with engine.begin() as conn:
        INSERT.execute(conn, {"name": "a", "tags": [], "active": True, "weight": 0.0})
        INSERT.execute(conn, {"name": "b", "tags": [], "active": True, "weight": 0.0})
    with engine.connect() as conn:
        with conn.begin() as transaction:
            assert DEACTIVATE.execute(conn, {"b_active": False}) == 2
            assert DEACTIVATE.execute(conn, {"b_active": False}) == 0
            transaction.rollback()
        assert BY_NAME.first(conn, {"b_name": "a"})[3] is True  # rolled back with the transaction


def test_driver_errors_arrive_as_sqlalchemy_errors(engine):
    with engine.begin() as conn:
        INSERT.execute(conn, {"name": "a", "tags": [], "active": True, "weight": 0.0})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        INSERT.execute(conn, {"name": "a", "tags": [], "active": True, "weight": 0.0})
    with engine.connect() as conn:  # the failed transaction left nothing behind, the connection works
        assert conn.execute(select(things.c.name)).scalars().all() == ["a"]


def test_a_missing_parameter_is_named():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as conn, pytest.raises(KeyError, match="b_name"):
        BY_NAME.first(conn, {})


def test_sqlite_writers_in_one_process_queue_on_the_lock(tmp_path):
    """Eight threads write at once, each holding the write lock a while, with SQLite's busy timeout at
    zero: any writer that met another's lock inside SQLite would fail with 'database is locked'."""
    engine = create_engine(f"sqlite:///{tmp_path}/writers.db")
    metadata.create_all(engine)
    errors = []

    def writer(n):
        try:
            for i in range(20):
                with engine.connect() as conn, writes.serialized(conn), conn.begin():
                    conn.exec_driver_sql("PRAGMA busy_timeout=0")
                    INSERT.execute(conn, {"name": f"{n}-{i}", "tags": [], "active": True, "weight": 0.0})
                    time.sleep(0.001)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert len(conn.execute(select(things.c.id)).all()) == 160
    engine.dispose()
