"""Writing and verifying the audit chain: each record's hash covers the previous record's hash."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..identity.numbers import mask_id_number
from ..storage import writes
from .models import AuditEvent

log = logging.getLogger("idp.audit")
GENESIS = "0" * 64
_T = AuditEvent.__table__
_lock = threading.Lock()
# The statements of an append. The token store runs them prepared (``append(statements=...)``), as part
# of the token endpoint's transaction; elsewhere SQLAlchemy runs them.
TAIL = select(_T.c.seq, _T.c.hash).order_by(_T.c.seq.desc()).limit(1)
INSERT = insert(_T).values({name: bindparam(name) for name in ("seq", "at", "event", "data", "prev_hash", "hash")})
# pg_advisory_xact_lock takes a bigint; this one is "idpaudit" read as ASCII.
PG_LOCK = text("SELECT pg_advisory_xact_lock(7594318435537152372)")
_MASKED_KEYS = {"id_number", "username"}
# Called with (event, sanitized data) after each appended record, e.g. to count logins in metrics.
listeners: list = []


def _digest(seq: int, at: float, event: str, data: dict, prev_hash: str) -> str:
    body = json.dumps({"seq": seq, "at": repr(at), "event": event, "data": data, "prev": prev_hash},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _sanitize(data: dict) -> dict:
    clean = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in _MASKED_KEYS and isinstance(value, str):
            value = mask_id_number(value)
        clean[key] = value if isinstance(value, (str, int, float, bool, list, dict)) else str(value)
    return clean


def record(event: str, **data) -> None:
    """Append an event in its own transaction (independent of the request's)."""
    payload = _sanitize(data)
    engine = db.engine
    with _lock:
        for _ in range(5):
            try:
                with engine.connect() as conn, writes.serialized(conn), conn.begin():
                    _append(conn, event, payload)
                announce(event, payload)
                return
            except IntegrityError:
                continue  # another worker appended concurrently; chain onto its record
    log.error("audit event %s could not be appended", event)


def append(conn, event: str, data: dict, statements=None) -> dict:
    """Append an event inside the caller's transaction, so that it is stored if and only if the audited
    change is. The caller commits, then passes the returned payload to ``announce``. ``statements``:
    (PG_LOCK, TAIL, INSERT) prepared by the caller (``storage.prepared``), or None."""
    payload = _sanitize(data)
    _append(conn, event, payload, statements)
    return payload


def _append(conn, event: str, payload: dict, statements=None) -> None:
    if conn.dialect.name == "postgresql":
        # Workers append one at a time until their transaction ends; without this two of them would read
        # the same chain end and one would fail on the unique seq (a whole token transaction with it).
        if statements:
            statements[0].execute(conn)
        else:
            conn.execute(PG_LOCK)
    last = statements[1].first(conn) if statements else conn.execute(TAIL).first()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    at = time.time()
    values = {"seq": seq, "at": at, "event": event, "data": payload, "prev_hash": prev,
              "hash": _digest(seq, at, event, payload, prev)}
    if statements:
        statements[2].execute(conn, values)
    else:
        conn.execute(INSERT, values)


def announce(event: str, payload: dict) -> None:
    """After the record is committed: the log line and the listeners (metrics)."""
    log.info("audit %s %s", event, json.dumps(payload, ensure_ascii=False))
    _notify(event, payload)


def _notify(event: str, payload: dict) -> None:
    for listener in listeners:
        try:
            listener(event, payload)
        except Exception:  # noqa: BLE001 - observers never break the audited action
            log.exception("audit listener failed on %s", event)


def verify() -> tuple[bool, list[str]]:
    """Walk the chain; returns (ok, problems) naming each bad record by seq."""
    problems = []
    prev = GENESIS
    expected_seq = 1
    # Plain rows, not ORM objects: the session keeps loaded objects across commits, and a check must
    # read what is stored now.
    columns = (_T.c.seq, _T.c.at, _T.c.event, _T.c.data, _T.c.prev_hash, _T.c.hash)
    for row in db.session.execute(select(*columns).order_by(_T.c.seq)):
        if row.seq != expected_seq:
            problems.append(f"record seq {expected_seq} is missing (next is {row.seq})")
        if row.prev_hash != prev:
            problems.append(f"record seq {row.seq} does not chain to the previous record")
        if _digest(row.seq, row.at, row.event, row.data, row.prev_hash) != row.hash:
            problems.append(f"record seq {row.seq} was modified")
        prev = row.hash
        expected_seq = row.seq + 1
    return not problems, problems
