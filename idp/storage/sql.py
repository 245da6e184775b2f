"""SQL backend (SQLite or PostgreSQL) for ephemeral state; each call is its own transaction."""
from __future__ import annotations

import json
import random
import time

from sqlalchemy import Float, Integer, String, Text, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import check_names
from .prepared import Prepared


class EphemeralRecord(db.Model):
    __tablename__ = "ephemeral_records"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    counter: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class EphemeralMember(db.Model):
    __tablename__ = "ephemeral_members"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    index_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    member: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


_R = EphemeralRecord.__table__
_M = EphemeralMember.__table__
_COUNTER_PREFIX = "#n:"  # counters share the table with records under a distinct key space

# Every statement is built once and compiled once per dialect (``Prepared``): built and run through
# SQLAlchemy per call, a store call spent several times longer in statement construction, cache keys and
# execution contexts than the database needed to run it, and a login or an authorization makes a dozen.
_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_record = (_R.c.kind == bindparam("b_kind")) & (_R.c.key == bindparam("b_key"))
_in_set = (_M.c.kind == bindparam("b_kind")) & (_M.c.index_key == bindparam("b_index"))
_NEW_RECORD = {"kind": bindparam("b_kind"), "key": bindparam("b_key"), "value": bindparam("b_value"),
               "counter": 0, "expires_at": bindparam("b_expires")}
_NEW_COUNTER = dict(_NEW_RECORD, value=None, counter=1)


def _upsert_record(insert):
    stmt = insert(_R).values(_NEW_RECORD)
    return stmt.on_conflict_do_update(index_elements=["kind", "key"],
                                      set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at})


def _per_dialect(build) -> dict[str, Prepared]:
    return {name: Prepared(build(insert)) for name, insert in _DIALECTS.items()}


_PURGE = (Prepared(delete(_R).where(_R.c.expires_at <= bindparam("b_now"))),
          Prepared(delete(_M).where(_M.c.expires_at <= bindparam("b_now"))))
_PUT = _per_dialect(_upsert_record)
_GET = Prepared(select(_R.c.value).where(_record, _R.c.expires_at > bindparam("b_now")))
_DELETE = Prepared(delete(_R).where(_record))
_CONSUME = Prepared(delete(_R).where(_record).returning(_R.c.value, _R.c.expires_at))
_DELETE_EXPIRED = Prepared(delete(_R).where(_record, _R.c.expires_at <= bindparam("b_now")))
# RETURNING, not rowcount: psycopg reports no row count for INSERT ... ON CONFLICT DO NOTHING
_ADD = _per_dialect(lambda insert: insert(_R).values(_NEW_RECORD)
                    .on_conflict_do_nothing(index_elements=["kind", "key"]).returning(_R.c.key))
_INCR = _per_dialect(lambda insert: insert(_R).values(_NEW_COUNTER)
                     .on_conflict_do_update(index_elements=["kind", "key"], set_={"counter": _R.c.counter + 1})
                     .returning(_R.c.counter))
_DELETE_EXPIRED_MEMBERS = Prepared(delete(_M).where(_in_set, _M.c.expires_at <= bindparam("b_now")))
_ADD_MEMBER = _per_dialect(lambda insert: insert(_M).values(
    kind=bindparam("b_kind"), index_key=bindparam("b_index"), member=bindparam("b_member"),
    expires_at=bindparam("b_expires")).on_conflict_do_nothing(index_elements=["kind", "index_key", "member"]))
# the whole set shares one expiry, never shortened: the latest of its members' (the new member's included)
_latest = select(func.max(_M.c.expires_at)).where(_in_set).scalar_subquery()
_EXTEND_SET = Prepared(update(_M).where(_in_set, _M.c.expires_at < _latest).values(expires_at=_latest))
_REMOVE_MEMBER = Prepared(delete(_M).where(_in_set, _M.c.member == bindparam("b_member")))
_MEMBERS = Prepared(select(_M.c.member).where(_in_set, _M.c.expires_at > bindparam("b_now")))
_CLEAR_SET = Prepared(delete(_M).where(_in_set))


class SqlStore:
    def __init__(self, engine_getter=None, clock=time.time, purge_probability: float = 0.01):
        self._engine_getter = engine_getter or (lambda: db.engine)
        self._clock = clock
        self._purge_probability = purge_probability

    @property
    def _engine(self):
        return self._engine_getter()

    def _maybe_purge(self, conn, now):
        if random.random() < self._purge_probability:
            for statement in _PURGE:
                statement.execute(conn, {"b_now": now})

    def put(self, kind, key, value, ttl):
        check_names(kind, key)
        now = self._clock()
        with self._engine.begin() as conn:
            _PUT[conn.dialect.name].execute(conn, {"b_kind": kind, "b_key": key, "b_value": json.dumps(value),
                                                   "b_expires": now + ttl})
            self._maybe_purge(conn, now)

    def get(self, kind, key):
        with self._engine.connect() as conn:
            row = _GET.first(conn, {"b_kind": kind, "b_key": key, "b_now": self._clock()})
        return json.loads(row[0]) if row is not None and row[0] is not None else None

    def delete(self, kind, key):
        with self._engine.begin() as conn:
            _DELETE.execute(conn, {"b_kind": kind, "b_key": key})

    def consume(self, kind, key):
        now = self._clock()
        with self._engine.begin() as conn:
            row = _CONSUME.first(conn, {"b_kind": kind, "b_key": key})
        if row is None or row[1] <= now or row[0] is None:
            return None
        return json.loads(row[0])

    def add(self, kind, key, value, ttl):
        check_names(kind, key)
        now = self._clock()
        with self._engine.begin() as conn:
            _DELETE_EXPIRED.execute(conn, {"b_kind": kind, "b_key": key, "b_now": now})
            created = _ADD[conn.dialect.name].first(conn, {"b_kind": kind, "b_key": key, "b_value": json.dumps(value),
                                                           "b_expires": now + ttl})
            return created is not None

    def incr(self, kind, key, ttl):
        check_names(kind, key)
        now = self._clock()
        name = _COUNTER_PREFIX + key
        with self._engine.begin() as conn:
            _DELETE_EXPIRED.execute(conn, {"b_kind": kind, "b_key": name, "b_now": now})
            row = _INCR[conn.dialect.name].first(conn, {"b_kind": kind, "b_key": name, "b_expires": now + ttl})
            return int(row[0])

    def reset(self, kind, key):
        with self._engine.begin() as conn:
            _DELETE.execute(conn, {"b_kind": kind, "b_key": _COUNTER_PREFIX + key})

    def index_add(self, kind, index, member, ttl):
        check_names(kind, index, member)
        now = self._clock()
        in_set = {"b_kind": kind, "b_index": index}
        with self._engine.begin() as conn:
            # an expired set is gone (as in Redis): its members must not come back with the new one
            _DELETE_EXPIRED_MEMBERS.execute(conn, dict(in_set, b_now=now))
            _ADD_MEMBER[conn.dialect.name].execute(conn, dict(in_set, b_member=member, b_expires=now + ttl))
            # max(current, now + ttl) for every member, as Redis's EXPIRE GT keeps a set's expiry
            _EXTEND_SET.execute(conn, in_set)

    def index_remove(self, kind, index, member):
        with self._engine.begin() as conn:
            _REMOVE_MEMBER.execute(conn, {"b_kind": kind, "b_index": index, "b_member": member})

    def index_members(self, kind, index):
        with self._engine.connect() as conn:
            rows = _MEMBERS.all(conn, {"b_kind": kind, "b_index": index, "b_now": self._clock()})
        return {row[0] for row in rows}

    def index_clear(self, kind, index):
        with self._engine.begin() as conn:
            _CLEAR_SET.execute(conn, {"b_kind": kind, "b_index": index})

    def ping(self):
        try:
            with self._engine.connect() as conn:
                conn.execute(select(1))
            return True
        except Exception:  # noqa: BLE001 - any driver error means "not ready"
            return False
