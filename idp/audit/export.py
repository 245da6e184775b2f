"""Exporting the audit log as JSON lines, oldest first: the sealed records, then the records not sealed
yet (``seq``, ``prev_hash`` and ``hash`` null: nothing vouches for them until the sealer has chained
them), then the signed checkpoints that cover the sealed ones (``{"checkpoint": {...}}``) and the public
keys that signed those (``{"key": {...}}``), so that a copy can be checked away from the server, and a
later deletion in the database shows against it (``idp audit verify --against``)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import IO, Iterator

from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from ..keys.models import SigningKey
from .models import AuditCheckpoint, AuditEvent

BATCH = 500


def parse_time(raw: str, what: str = "time") -> datetime:
    """ISO 8601 (``2026-05-01T08:00:00+08:00``) or a date (``2026-05-01``); naive values are UTC."""
    value = (raw or "").strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValidationError(f"{what} {raw!r} is not an ISO 8601 time or a YYYY-MM-DD date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def as_dict(row: AuditEvent) -> dict:
    return {"seq": row.seq, "at": datetime.fromtimestamp(row.at, timezone.utc).isoformat(),
            "ts": row.at, "event": row.event, "data": row.data, "prev_hash": row.prev_hash, "hash": row.hash}


def iter_records(since: datetime, until: datetime | None = None) -> Iterator[AuditEvent]:
    """Records with since <= at < until, streamed in batches: the sealed ones by chain position, then
    those awaiting sealing in the order they were appended."""
    for column, condition in ((AuditEvent.seq, AuditEvent.seq.is_not(None)), (AuditEvent.id, AuditEvent.seq.is_(None))):
        last = 0
        while True:
            query = select(AuditEvent).where(condition, AuditEvent.at >= since.timestamp(), column > last)
            if until is not None:
                query = query.where(AuditEvent.at < until.timestamp())
            batch = db.session.scalars(query.order_by(column).limit(BATCH)
                                       .execution_options(populate_existing=True)).all()
            if not batch:
                break
            yield from batch
            last = getattr(batch[-1], column.key)


def covering_checkpoints(first: int, last: int) -> list[AuditCheckpoint]:
    """The checkpoints signed while the chain grew from ``first`` to ``last``, and the first one after."""
    inside = db.session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq >= first,
                                                              AuditCheckpoint.seq < last)
                                .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)).all()
    after = db.session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq >= last)
                               .order_by(AuditCheckpoint.seq, AuditCheckpoint.id).limit(1)).all()
    return [*inside, *after]


def export_lines(out: IO[str], since: datetime, until: datetime | None = None) -> int:
    """Write the records, their checkpoints and signing keys; returns the number of records."""
    if until is not None and until <= since:
        raise ValidationError("--until must be later than --since")
    count, first, last = 0, None, None
    for row in iter_records(since, until):
        out.write(json.dumps(as_dict(row), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
        if row.seq is not None:
            first = row.seq if first is None else first
            last = row.seq
    if first is not None:
        kids = []
        for checkpoint in covering_checkpoints(first, last):
            out.write(json.dumps({"checkpoint": {"seq": checkpoint.seq, "head": checkpoint.head, "at": checkpoint.at,
                                                 "kid": checkpoint.kid, "jws": checkpoint.jws}},
                                 sort_keys=True) + "\n")
            if checkpoint.kid not in kids:
                kids.append(checkpoint.kid)
        for kid in kids:
            jwk = db.session.scalar(select(SigningKey.public_jwk).where(SigningKey.kid == kid))
            if jwk is not None:
                out.write(json.dumps({"key": jwk}, sort_keys=True) + "\n")
    out.flush()
    return count


def read_anchors(lines) -> tuple[list, list[dict]]:
    """The checkpoints and keys of an export (its records are not needed to check the database)."""
    from .checkpoints import Checkpoint
    anchors, keys = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if "checkpoint" in item:
                anchors.append(Checkpoint.from_dict(item["checkpoint"]))
            elif "key" in item:
                keys.append(dict(item["key"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValidationError(f"line {number} of the export is not an audit export line") from None
    return anchors, keys
