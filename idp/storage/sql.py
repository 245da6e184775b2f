"""SQL backend (SQLite or PostgreSQL) for ephemeral state; each call is its own transaction."""
from __future__ import annotations

import json
import random
import time

from sqlalchemy import Float, Integer, String, Text, and_, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import check_names


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


class SqlStore:
    def __init__(self, engine_getter=None, clock=time.time, purge_probability: float = 0.01):
        self._engine_getter = engine_getter or (lambda: db.engine)
        self._clock = clock
        self._purge_probability = purge_probability

    @property
    def _engine(self):
        return self._engine_getter()

    def _insert(self, conn):
        return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)

    def _maybe_purge(self, conn, now):
        if random.random() < self._purge_probability:
            conn.execute(delete(_R).where(_R.c.expires_at <= now))
            conn.execute(delete(_M).where(_M.c.expires_at <= now))

    def put(self, kind, key, value, ttl):
        check_names(kind, key)
        now = self._clock()
        with self._engine.begin() as conn:
            stmt = self._insert(conn)(_R).values(kind=kind, key=key, value=json.dumps(value), counter=0,
                                                 expires_at=now + ttl)
            conn.execute(stmt.on_conflict_do_update(index_elements=["kind", "key"],
                                                    set_={"value": stmt.excluded.value,
                                                          "expires_at": stmt.excluded.expires_at}))
            self._maybe_purge(conn, now)

    def get(self, kind, key):
        with self._engine.connect() as conn:
            raw = conn.execute(select(_R.c.value).where(_R.c.kind == kind, _R.c.key == key,
                                                        _R.c.expires_at > self._clock())).scalar()
        return json.loads(raw) if raw is not None else None

    def delete(self, kind, key):
        with self._engine.begin() as conn:
            conn.execute(delete(_R).where(_R.c.kind == kind, _R.c.key == key))

    def consume(self, kind, key):
        now = self._clock()
        with self._engine.begin() as conn:
            raw = conn.execute(delete(_R).where(_R.c.kind == kind, _R.c.key == key)
                               .returning(_R.c.value, _R.c.expires_at)).first()
        if raw is None or raw.expires_at <= now or raw.value is None:
            return None
        return json.loads(raw.value)

    def add(self, kind, key, value, ttl):
        check_names(kind, key)
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(delete(_R).where(_R.c.kind == kind, _R.c.key == key, _R.c.expires_at <= now))
            stmt = self._insert(conn)(_R).values(kind=kind, key=key, value=json.dumps(value), counter=0,
                                                 expires_at=now + ttl)
            # RETURNING, not rowcount: SQLAlchemy reports rowcount -1 for INSERTs on psycopg
            created = conn.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "key"])
                                   .returning(_R.c.key)).first()
            return created is not None

    def incr(self, kind, key, ttl):
        check_names(kind, key)
        now = self._clock()
        name = _COUNTER_PREFIX + key
        with self._engine.begin() as conn:
            conn.execute(delete(_R).where(_R.c.kind == kind, _R.c.key == name, _R.c.expires_at <= now))
            stmt = self._insert(conn)(_R).values(kind=kind, key=name, value=None, counter=1,
                                                 expires_at=now + ttl)
            stmt = stmt.on_conflict_do_update(index_elements=["kind", "key"],
                                              set_={"counter": _R.c.counter + 1})
            return int(conn.execute(stmt.returning(_R.c.counter)).scalar())

    def reset(self, kind, key):
        with self._engine.begin() as conn:
            conn.execute(delete(_R).where(_R.c.kind == kind, _R.c.key == _COUNTER_PREFIX + key))

    def index_add(self, kind, index, member, ttl):
        check_names(kind, index, member)
        now = self._clock()
        in_set = and_(_M.c.kind == kind, _M.c.index_key == index)
        with self._engine.begin() as conn:
            # an expired set is gone (as in Redis): its members must not come back with the new one
            conn.execute(delete(_M).where(in_set, _M.c.expires_at <= now))
            stmt = self._insert(conn)(_M).values(kind=kind, index_key=index, member=member,
                                                 expires_at=now + ttl)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "index_key", "member"]))
            # the whole set shares one expiry, never shortened: max(current, now + ttl), as in Redis
            current = conn.execute(select(func.max(_M.c.expires_at)).where(in_set)).scalar()
            expires = max(current or 0.0, now + ttl)
            conn.execute(update(_M).where(in_set, _M.c.expires_at < expires).values(expires_at=expires))

    def index_remove(self, kind, index, member):
        with self._engine.begin() as conn:
            conn.execute(delete(_M).where(_M.c.kind == kind, _M.c.index_key == index, _M.c.member == member))

    def index_members(self, kind, index):
        with self._engine.connect() as conn:
            rows = conn.execute(select(_M.c.member).where(_M.c.kind == kind, _M.c.index_key == index,
                                                          _M.c.expires_at > self._clock()))
            return {row[0] for row in rows}

    def index_clear(self, kind, index):
        with self._engine.begin() as conn:
            conn.execute(delete(_M).where(_M.c.kind == kind, _M.c.index_key == index))

    def ping(self):
        try:
            with self._engine.connect() as conn:
                conn.execute(select(1))
            return True
        except Exception:  # noqa: BLE001 - any driver error means "not ready"
            return False
