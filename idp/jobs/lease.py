"""A lease per background job in the database: one row per job, held by one runner until it expires.

Taking and renewing are the same conditional UPDATE ("... WHERE the lease expired OR I hold it"), which
PostgreSQL and SQLite both run atomically: of two runners racing for an expired lease, the second one's
UPDATE finds it no longer expired and changes nothing. The first use of a job name INSERTs its row;
a runner losing that race sees the primary key taken and simply does not hold the lease.

Times are the runners' own clocks (``time.time()``): keep the nodes' clocks in sync (NTP); a node whose
clock runs ahead by more than the lease duration could take a lease that has not expired.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..storage import writes
from .models import JobLease

_L = JobLease.__table__


@dataclass(frozen=True)
class Held:
    name: str
    expires_at: float
    generation: int
    last_run_at: float | None


def acquire(engine, name: str, holder: str, seconds: float, *, now: float | None = None) -> Held | None:
    """Take or renew the lease for ``seconds``; returns it when ``holder`` holds it now, else None."""
    now = time.time() if now is None else now
    with engine.connect() as conn, writes.serialized(conn), conn.begin():
        changed = conn.execute(
            update(_L).where(_L.c.name == name, (_L.c.expires_at < now) | (_L.c.holder == holder))
            .values(expires_at=now + seconds, holder=holder,
                    generation=case((_L.c.holder == holder, _L.c.generation), else_=_L.c.generation + 1))
        ).rowcount
        if changed == 0:
            exists = conn.execute(select(_L.c.name).where(_L.c.name == name)).first()
            if exists is not None:
                return None
    if changed == 0:
        try:
            with engine.connect() as conn, writes.serialized(conn), conn.begin():
                conn.execute(insert(_L).values(name=name, holder=holder, expires_at=now + seconds, generation=1,
                                               last_run_at=None))
        except IntegrityError:
            return None  # another runner created it first, and holds it
    return _read(engine, name, holder)


def _read(engine, name: str, holder: str) -> Held | None:
    with engine.connect() as conn:
        row = conn.execute(select(_L).where(_L.c.name == name, _L.c.holder == holder)).first()
    return Held(row.name, row.expires_at, row.generation, row.last_run_at) if row is not None else None


def ran(engine, name: str, holder: str, at: float) -> bool:
    """Record that the job ran (its next run is due from ``at``, on whichever node holds it then)."""
    with engine.connect() as conn, writes.serialized(conn), conn.begin():
        return conn.execute(update(_L).where(_L.c.name == name, _L.c.holder == holder)
                            .values(last_run_at=at)).rowcount == 1


def release(engine, name: str, holder: str) -> None:
    """Give the lease up at once (a node shutting down), so another node need not wait for it to expire."""
    with engine.connect() as conn, writes.serialized(conn), conn.begin():
        conn.execute(update(_L).where(_L.c.name == name, _L.c.holder == holder).values(expires_at=0.0))


def holders(engine) -> dict[str, tuple[str | None, float]]:
    """Every job's holder and expiry (for status output and tests)."""
    with engine.connect() as conn:
        return {row.name: (row.holder, row.expires_at) for row in conn.execute(select(_L))}
