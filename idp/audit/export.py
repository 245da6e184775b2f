"""Exporting the audit log as JSON lines, one record per line, oldest first."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import IO, Iterator

from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from .models import AuditEvent

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
    """Records with since <= at < until, streamed in batches by seq."""
    last_seq = 0
    while True:
        query = select(AuditEvent).where(AuditEvent.at >= since.timestamp(), AuditEvent.seq > last_seq)
        if until is not None:
            query = query.where(AuditEvent.at < until.timestamp())
        batch = db.session.scalars(query.order_by(AuditEvent.seq).limit(BATCH)
                                   .execution_options(populate_existing=True)).all()
        if not batch:
            return
        yield from batch
        last_seq = batch[-1].seq


def export_lines(out: IO[str], since: datetime, until: datetime | None = None) -> int:
    if until is not None and until <= since:
        raise ValidationError("--until must be later than --since")
    count = 0
    for row in iter_records(since, until):
        out.write(json.dumps(as_dict(row), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    out.flush()
    return count
