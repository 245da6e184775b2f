"""Appending audit records. A record is one INSERT, in the audited change's transaction or its own,
taking no lock: the database numbers it (``id``). The sealer (``audit.sealing``, run by one node at a
time) later gives records their chain position and hash, and signs checkpoints of the chain head;
``audit.verification`` checks both."""
from __future__ import annotations

import hashlib
import json
import logging
import time

from sqlalchemy import bindparam, insert

from ..extensions import db
from ..identity.numbers import mask_id_number
from ..storage import writes
from .models import AuditEvent

log = logging.getLogger("idp.audit")
GENESIS = "0" * 64
_T = AuditEvent.__table__
# The statement of an append. The token store runs it prepared (``append(statements=...)``), as part
# of the token endpoint's transaction; elsewhere SQLAlchemy runs it. Chain columns stay NULL until sealed.
INSERT = insert(_T).values({name: bindparam(name) for name in ("at", "event", "data")})
_MASKED_KEYS = {"id_number", "username"}
# Called with (event, sanitized data) after each appended record, e.g. to count logins in metrics.
listeners: list = []


def digest(seq: int, at: float, event: str, data: dict, prev_hash: str) -> str:
    """A record's hash at chain position ``seq`` after the record whose hash is ``prev_hash``."""
    body = json.dumps({"seq": seq, "at": repr(at), "event": event, "data": data, "prev": prev_hash},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


_digest = digest  # the name tests and older callers use


def sanitize(data: dict) -> dict:
    """What an audit record of ``data`` holds: None values left out, personal numbers masked."""
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
    payload = sanitize(data)
    engine = db.engine
    with engine.connect() as conn, writes.serialized(conn), conn.begin():
        _append(conn, event, payload)
    announce(event, payload)


def append(conn, event: str, data: dict, statements=None) -> dict:
    """Append an event inside the caller's transaction, so that it is stored if and only if the audited
    change is. The caller commits, then passes the returned payload to ``announce``. ``statements``:
    (INSERT,) prepared by the caller (``storage.prepared``), or None."""
    payload = sanitize(data)
    _append(conn, event, payload, statements)
    return payload


def row(event: str, payload: dict) -> dict:
    """The values of the record appended for ``event`` with its sanitized ``payload`` (what ``INSERT``
    binds; a caller writing the record in a statement of its own binds these)."""
    return {"at": time.time(), "event": event, "data": payload}


def _append(conn, event: str, payload: dict, statements=None) -> None:
    values = row(event, payload)
    if statements:
        statements[0].execute(conn, values)
    else:
        conn.execute(INSERT, values)


def announce(event: str, payload: dict) -> None:
    """After the record is committed: the log line and the listeners (metrics)."""
    if log.isEnabledFor(logging.INFO):  # the JSON is made only for a line that is written
        log.info("audit %s %s", event, json.dumps(payload, ensure_ascii=False))
    _notify(event, payload)


def _notify(event: str, payload: dict) -> None:
    for listener in listeners:
        try:
            listener(event, payload)
        except Exception:  # noqa: BLE001 - observers never break the audited action
            log.exception("audit listener failed on %s", event)


def verify() -> tuple[bool, list[str]]:
    """Check the sealed chain and its signed checkpoints: (ok, problems), each problem naming its record.
    ``verification.check`` gives the whole report (records awaiting sealing, the newest checkpoint)."""
    from .verification import check
    report = check()
    return report.ok, report.problems
