"""Time rules of the signing-key life cycle, and the state changes that follow from them.

pending --(pre-publication period over)--> active --(a newer key becomes active)--> previous
previous --(every token it signed has expired)--> retired

Transitions happen lazily, when a worker reloads its key snapshot. Each one is a conditional
UPDATE in its own transaction, so with several workers exactly one of them performs (and audits) it.

The rules serve any table of keys with the columns id, kid, status, created_at, activated_at and
deactivated_at (the OIDC keys, and the SAML signing keys); a table with an ``alg`` column has one
active key per algorithm, one without it a single active key. A ``retain_seconds`` of None keeps
previous keys published until they are retired otherwise (the next rotation).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import exists, select, update

from .models import SigningKey

_T = SigningKey.__table__
_P = _T.alias("pending_key")


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Lifecycle:
    prepublish_seconds: int = 0
    retain_seconds: int | None = 3600

    def activates_at(self, row) -> datetime | None:
        if row.status != "pending":
            return None
        return as_utc(row.created_at) + timedelta(seconds=self.prepublish_seconds)

    def retires_at(self, row) -> datetime | None:
        if row.status != "previous" or row.deactivated_at is None or self.retain_seconds is None:
            return None
        return as_utc(row.deactivated_at) + timedelta(seconds=self.retain_seconds)

    def next_change(self, rows) -> datetime | None:
        times = [t for row in rows for t in (self.activates_at(row), self.retires_at(row)) if t is not None]
        return min(times) if times else None


def apply_due_transitions(conn, lifecycle: Lifecycle, now: datetime, table=_T) -> list[dict]:
    """Promote due pending keys and retire expired previous keys of ``table`` (the OIDC keys unless
    told); returns what this call changed."""
    changes = []
    pending = _P if table is _T else table.alias("pending_key")
    has_alg = "alg" in table.c
    columns = [table.c.id, table.c.kid, table.c.status, table.c.created_at, table.c.deactivated_at]
    rows = conn.execute(select(*columns, *([table.c.alg] if has_alg else []))
                        .where(table.c.status.in_(("pending", "previous"))).order_by(table.c.id)).all()
    for row in rows:
        alg = row.alg if has_alg else None
        if row.status == "pending" and lifecycle.activates_at(row) <= now:
            # Demote the current key first, then promote: a unique index allows one active key per
            # algorithm at every moment. Both steps act only while this key is still pending, so a worker
            # that lost the race (or a key retired meanwhile) changes nothing.
            current = ((table.c.status == "active") & (table.c.id != row.id)
                       & exists().where(pending.c.id == row.id, pending.c.status == "pending"))
            if has_alg:
                current = current & (table.c.alg == alg)
            demoted = conn.execute(select(table.c.kid).where(current)).scalars().all()
            conn.execute(update(table).where(current).values(status="previous", deactivated_at=now))
            claimed = conn.execute(update(table).where(table.c.id == row.id, table.c.status == "pending")
                                   .values(status="active", activated_at=now)).rowcount
            if claimed:
                changes.append({"event": "key.activated", "kid": row.kid, "alg": alg, "replaces": demoted})
        elif row.status == "previous" and (due := lifecycle.retires_at(row)) is not None and due <= now:
            retired = conn.execute(update(table).where(table.c.id == row.id, table.c.status == "previous")
                                   .values(status="retired", retired_at=now)).rowcount
            if retired:
                changes.append({"event": "key.retired", "kid": row.kid, "alg": alg, "reason": "expired"})
    return changes
