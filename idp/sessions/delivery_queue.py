"""The table of logout messages to deliver, shared by every node.

A node POSTs a message only while it holds the row's claim: a conditional UPDATE that succeeds for
an unfinished row whose claim is free or lapsed (or already its own). A claim lasts longer than a
POST may take (twice the timeout, plus a margin) and is kept across the waits between retries, so
two nodes never send the same message; a node that dies leaves its claims to lapse, and the one
runner of the ``backchannel.retry`` job picks the rows up then, so none is dropped. (A node that dies
after the site received the message but before it recorded the delivery leaves it to be sent again:
the only case of a second delivery, as with any sender that can crash.)
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from ..storage import writes
from .delivery_models import LogoutDelivery

_D = LogoutDelivery.__table__


@dataclass(frozen=True)
class Outgoing:
    """One message for one site: the form field ``field=message`` (kind "form"), or ``message`` as the
    whole body of type ``content_type`` (kind "raw", e.g. a SOAP envelope). ``answer_check``: the name of
    a check of the site's answer registered with the notifier ("" when a 2xx status is enough)."""
    client_id: str
    uri: str
    message: str
    field: str = "logout_token"
    accept_redirect: bool = False
    kind: str = "form"
    content_type: str = ""
    answer_check: str = ""

    @classmethod
    def raw(cls, client_id: str, uri: str, body: str, content_type: str, answer_check: str = "") -> "Outgoing":
        return cls(client_id, uri, body, field="", kind="raw", content_type=content_type, answer_check=answer_check)


@dataclass(frozen=True)
class Claimed:
    id: int
    token: str          # this attempt's claim
    attempts: int
    outgoing: Outgoing


_OUTGOING = tuple(Outgoing.__dataclass_fields__)
_NULL_WHEN_EMPTY = ("content_type", "answer_check")  # rows of form messages have none


def _stored(outgoing: Outgoing) -> dict:
    values = {name: getattr(outgoing, name) for name in _OUTGOING}
    return values | {name: values[name] or None for name in _NULL_WHEN_EMPTY}


def _outgoing(row) -> Outgoing:
    values = {name: getattr(row, name) for name in _OUTGOING}
    return Outgoing(**values | {name: values[name] or "" for name in _NULL_WHEN_EMPTY})


class DeliveryQueue:
    def __init__(self, node: str, claim_seconds: float):
        self.node = node
        self.claim_seconds = claim_seconds

    def new_claim(self) -> str:
        return f"{self.node}:{secrets.token_hex(4)}"

    def add(self, engine, outgoing: Outgoing, claim: str) -> int:
        """Store a message, already claimed by ``claim`` (the node that stores it tries it first)."""
        now = time.time()
        with engine.connect() as conn, writes.serialized(conn), conn.begin():
            return conn.execute(insert(_D).values(
                **_stored(outgoing), created_at=now, attempts=0, next_attempt_at=now, claimed_by=claim,
                claimed_until=now + self.claim_seconds, done_at=None, delivered=None, last_error=None)
            ).inserted_primary_key[0]

    def claim(self, engine, delivery_id: int, claim: str) -> Claimed | None:
        """Hold the row for one attempt; None when it is finished or another claim holds it."""
        now = time.time()
        free = (_D.c.claimed_by.is_(None) | (_D.c.claimed_until < now) | (_D.c.claimed_by == claim))
        with engine.connect() as conn, writes.serialized(conn), conn.begin():
            taken = conn.execute(update(_D).where(_D.c.id == delivery_id, _D.c.done_at.is_(None), free)
                                 .values(claimed_by=claim, claimed_until=now + self.claim_seconds)).rowcount
            if not taken:
                return None
            row = conn.execute(select(_D).where(_D.c.id == delivery_id)).first()
        return Claimed(row.id, claim, row.attempts, _outgoing(row))

    def due(self, engine, limit: int = 100) -> list[int]:
        """Unfinished rows whose next attempt is due and whose claim is free or lapsed."""
        now = time.time()
        query = (select(_D.c.id).where(_D.c.done_at.is_(None), _D.c.next_attempt_at <= now,
                                       _D.c.claimed_by.is_(None) | (_D.c.claimed_until < now))
                 .order_by(_D.c.next_attempt_at).limit(limit))
        with engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def finish(self, engine, item: Claimed, *, delivered: bool, error: str | None = None) -> bool:
        now = time.time()
        with engine.connect() as conn, writes.serialized(conn), conn.begin():
            return conn.execute(update(_D).where(_D.c.id == item.id, _D.c.claimed_by == item.token)
                                .values(done_at=now, delivered=delivered, attempts=item.attempts + 1,
                                        claimed_by=None, claimed_until=None, last_error=error)).rowcount == 1

    def retry_at(self, engine, item: Claimed, at: float, error: str) -> bool:
        """Another attempt at ``at``; the claim is kept until a margin after it."""
        with engine.connect() as conn, writes.serialized(conn), conn.begin():
            return conn.execute(update(_D).where(_D.c.id == item.id, _D.c.claimed_by == item.token)
                                .values(attempts=item.attempts + 1, next_attempt_at=at,
                                        claimed_until=at + self.claim_seconds, last_error=error)).rowcount == 1

    def purge(self, engine, before: float) -> int:
        """Forget messages finished before ``before``; returns how many."""
        with engine.connect() as conn, writes.serialized(conn), conn.begin():
            return conn.execute(delete(_D).where(_D.c.done_at.is_not(None), _D.c.done_at < before)).rowcount
