"""Checking the sealed audit chain against itself and against its signed checkpoints.

Each sealed record's hash covers its chain position, its content and the previous record's hash, so
an edited record, a deleted one (a gap) and records moved to other positions are each found and named.
The signed checkpoints say how far the chain reached, so deleting the newest records is found too,
and so is a rewritten chain whose hashes were recomputed. Records not sealed yet are counted, not
checked: nothing vouches for them until the sealer has run.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import func, select

from ..extensions import db
from .checkpoints import Checkpoint, PublicKeys, problem_with
from .log import GENESIS, digest
from .models import AuditCheckpoint, AuditEvent

PAGE = 1000
# Looking for where a record that fails its hash really belongs costs two lookups; a chain with more
# broken records than this is named record by record without them.
_PLACEMENT_LOOKUPS = 200
_T = AuditEvent.__table__
_C = AuditCheckpoint.__table__


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    sealed: int = 0            # records in the chain
    unsealed: int = 0          # records appended but not sealed yet
    head: int = 0              # chain position of the newest sealed record
    checkpoints: int = 0
    newest_checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        newest = self.newest_checkpoint
        return {"ok": self.ok, "problems": self.problems, "sealed": self.sealed, "unsealed": self.unsealed,
                "head": self.head, "checkpoints": self.checkpoints,
                "newest_checkpoint": newest.as_dict() if newest else None}

    def summary(self) -> list[str]:
        lines = [f"{self.sealed} record(s) sealed (chain head at seq {self.head}), "
                 f"{self.unsealed} awaiting sealing, {self.checkpoints} signed checkpoint(s)"]
        if self.newest_checkpoint is not None:
            cp = self.newest_checkpoint
            lines.append(f"newest checkpoint: seq {cp.seq} at {_when(cp.at)} signed by {cp.kid}")
        return lines


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")


def _records(session) -> Iterator:
    columns = (_T.c.seq, _T.c.at, _T.c.event, _T.c.data, _T.c.prev_hash, _T.c.hash)
    last = 0
    while True:
        page = session.execute(select(*columns).where(_T.c.seq > last).order_by(_T.c.seq).limit(PAGE)).all()
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1].seq


def _checkpoints(session) -> Iterator[Checkpoint]:
    columns = (_C.c.id, _C.c.seq, _C.c.head, _C.c.at, _C.c.kid, _C.c.jws)
    last = (-1, -1)
    while True:
        page = session.execute(select(*columns).where((_C.c.seq > last[0]) | ((_C.c.seq == last[0]) & (_C.c.id > last[1])))
                               .order_by(_C.c.seq, _C.c.id).limit(PAGE)).all()
        for row in page:
            yield Checkpoint(row.seq, row.head, row.at, row.kid, row.jws)
        if len(page) < PAGE:
            return
        last = (page[-1].seq, page[-1].id)


class _Placement:
    """Where a record whose hash fails at its position was sealed, found from its neighbours' links."""

    def __init__(self, session):
        self._session = session
        self._left = _PLACEMENT_LOOKUPS

    def original_position(self, row) -> int | None:
        if self._left <= 0:
            return None
        self._left -= 1
        candidates = {row.seq - 1, row.seq + 1}  # a swap with a neighbour (also at either end of the chain)
        before = self._session.scalar(select(_T.c.seq).where(_T.c.hash == row.prev_hash).limit(1))
        if row.prev_hash == GENESIS:
            candidates.add(1)
        elif before is not None:
            candidates.add(before + 1)
        after = self._session.scalar(select(_T.c.seq).where(_T.c.prev_hash == row.hash).limit(1))
        if after is not None:
            candidates.add(after - 1)
        candidates.discard(row.seq)
        for seq in sorted(candidates):
            if seq > 0 and digest(seq, row.at, row.event, row.data, row.prev_hash) == row.hash:
                return seq
        return None


def check(session=None, *, anchors: tuple[Checkpoint, ...] = (), anchor_keys: tuple[dict, ...] = ()) -> Report:
    """``anchors``: checkpoints kept elsewhere (an earlier export), checked like the stored ones, so that
    deleting the newest records together with their checkpoints shows; ``anchor_keys``: public JWKs for
    kids the database no longer has."""
    session = session or db.session
    report = Report()
    problems = report.problems
    keys = PublicKeys(session, anchor_keys)
    placement = _Placement(session)
    signed = heapq.merge(_checkpoints(session), sorted(anchors, key=lambda cp: cp.seq), key=lambda cp: cp.seq)
    pending = next(signed, None)
    newest: Checkpoint | None = None
    reach = 0  # the furthest chain position a valid checkpoint vouches for

    def take_checkpoint(cp: Checkpoint) -> bool:
        """Count and check the signature; True when the checkpoint can be relied on."""
        nonlocal newest, reach
        report.checkpoints += 1
        bad = problem_with(cp, keys)
        if bad:
            problems.append(bad)
            return False
        if newest is None or cp.at >= newest.at:
            newest = cp
        reach = max(reach, cp.seq)
        return True

    prev, expected, prev_moved = GENESIS, 1, False
    for row in _records(session):
        if row.seq != expected:
            if row.seq == expected + 1:
                problems.append(f"record seq {expected} is missing (next is {row.seq})")
            else:
                problems.append(f"records seq {expected} to {row.seq - 1} are missing (next is {row.seq})")
        moved = False
        if digest(row.seq, row.at, row.event, row.data, row.prev_hash) != row.hash:
            original = placement.original_position(row)
            if original is not None:
                moved = True
                problems.append(f"record seq {row.seq} was sealed at seq {original}: the records were reordered")
            else:
                problems.append(f"record seq {row.seq} was modified")
        elif row.prev_hash != prev and not prev_moved:
            problems.append(f"record seq {row.seq} does not chain to the previous record")
        # the checkpoints up to this position
        while pending is not None and pending.seq <= row.seq:
            if take_checkpoint(pending):
                if pending.seq < row.seq:
                    problems.append(f"record seq {pending.seq}, signed as the chain head at {_when(pending.at)}, "
                                    "is missing")
                elif pending.head != row.hash:
                    problems.append(f"record seq {row.seq} is not the one signed as the chain head at "
                                    f"{_when(pending.at)}: the chain was rewritten")
            pending = next(signed, None)
        report.sealed += 1
        report.head = row.seq
        prev, expected, prev_moved = row.hash, row.seq + 1, moved
    # checkpoints beyond the stored chain: its newest records were deleted
    beyond = None
    while pending is not None:
        if take_checkpoint(pending):
            beyond = pending if beyond is None or pending.seq > beyond.seq else beyond
        pending = next(signed, None)
    if beyond is not None:
        first = report.head + 1
        span = f"record seq {first} is" if beyond.seq == first else f"records seq {first} to {beyond.seq} are"
        problems.append(f"{span} missing: the chain reached seq {beyond.seq} when it was signed at "
                        f"{_when(beyond.at)} (the newest records were deleted)")
    if report.head > reach:
        span = f"record seq {reach + 1}" if report.head == reach + 1 else f"records seq {reach + 1} to {report.head}"
        problems.append(f"{span}: sealed, but no signed checkpoint covers them (a newer checkpoint was deleted, "
                        "or the sealer has not run since the upgrade)")
    report.newest_checkpoint = newest
    report.unsealed = session.scalar(select(func.count()).select_from(_T).where(_T.c.seq.is_(None))) or 0
    return report
