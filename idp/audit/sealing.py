"""The sealer: gives appended records their chain position and hash, oldest append first, in batches,
and signs a checkpoint of the new chain head in the same transaction.

Only the sealer writes chain columns, and one node runs it at a time (``jobs``); on PostgreSQL it
also takes an advisory lock for its own transaction, so a sealer whose lease lapsed mid-batch waits
for the next instead of forking the chain. Token transactions never wait for it: they only INSERT.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, text, update

from ..storage import writes
from . import checkpoints
from .log import GENESIS, digest
from .models import AuditCheckpoint, AuditEvent

BATCH = 1000
_T = AuditEvent.__table__
_C = AuditCheckpoint.__table__
# pg_advisory_xact_lock takes a bigint; this one is "idpseal" read as ASCII.
_PG_SEALER_LOCK = text("SELECT pg_advisory_xact_lock(29670747307353196)")
_SEAL = (update(_T).where(_T.c.id == bindparam("b_id"), _T.c.seq.is_(None))
         .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")))


@dataclass(frozen=True)
class Sealed:
    records: int                  # sealed by this call
    head: int                     # chain position of the newest sealed record (0: empty chain)
    checkpoint: checkpoints.Checkpoint | None  # signed by this call


def seal_pending(engine, key, *, batch: int = BATCH, clock=time.time) -> Sealed:
    """Seal up to ``batch`` records in one transaction and sign the head if no checkpoint covers it yet.
    ``key``: the private signing key for the checkpoint (a joserfc key with its kid)."""
    with engine.connect() as conn, writes.serialized(conn), conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(_PG_SEALER_LOCK)
        tail = conn.execute(select(_T.c.seq, _T.c.hash).where(_T.c.seq.is_not(None))
                            .order_by(_T.c.seq.desc()).limit(1)).first()
        position, prev = (tail[0], tail[1]) if tail else (0, GENESIS)
        rows = conn.execute(select(_T.c.id, _T.c.at, _T.c.event, _T.c.data).where(_T.c.seq.is_(None))
                            .order_by(_T.c.id).limit(batch)).all()
        values = []
        for row in rows:
            position += 1
            sealed_hash = digest(position, row.at, row.event, row.data, prev)
            values.append({"b_id": row.id, "b_seq": position, "b_prev": prev, "b_hash": sealed_hash})
            prev = sealed_hash
        if values:
            conn.execute(_SEAL, values)
        covered = conn.execute(select(func.max(_C.c.seq))).scalar() or 0
        signed = None
        if position > covered:
            at = clock()
            signed = checkpoints.Checkpoint(position, prev, at, key.kid, checkpoints.sign(key, position, prev, at))
            conn.execute(insert(_C).values(seq=signed.seq, head=signed.head, at=signed.at, kid=signed.kid,
                                           jws=signed.jws))
    return Sealed(len(values), position, signed)


def seal_all(engine, key, *, batch: int = BATCH) -> int:
    """Seal until nothing waits (``idp audit seal``, tests); returns how many records were sealed."""
    total = 0
    while True:
        done = seal_pending(engine, key, batch=batch)
        total += done.records
        if done.records < batch:
            return total
