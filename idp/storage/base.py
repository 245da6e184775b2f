from __future__ import annotations

from typing import Protocol, runtime_checkable

# What every backend accepts (the SQL columns are 32 and 128 characters; a counter's key gets a
# 3-character prefix there). Each backend refuses longer names on writes, so a caller that would
# fail only on PostgreSQL fails alike in memory, on SQLite and in Redis.
MAX_KIND = 32
MAX_NAME = 120


def check_names(kind: str, *names: str) -> None:
    """Raise ValueError when ``kind`` or a key, index or member in ``names`` is longer than allowed."""
    if len(kind) > MAX_KIND:
        raise ValueError(f"ephemeral store kind {kind[:40]!r} is longer than {MAX_KIND} characters")
    for name in names:
        if len(name) > MAX_NAME:
            raise ValueError(f"ephemeral store key, index or member {name[:40]!r}... of kind {kind!r} is "
                             f"longer than {MAX_NAME} characters")


@runtime_checkable
class EphemeralStore(Protocol):
    """Expiring JSON records, counters and membership sets, grouped by ``kind``.

    Every write takes a ``ttl`` in seconds; expired entries are never returned. Writes refuse (with
    ValueError) a kind longer than MAX_KIND or a key, index or member longer than MAX_NAME characters.
    """

    def put(self, kind: str, key: str, value: dict, ttl: int) -> None:
        """Create or replace a record."""

    def get(self, kind: str, key: str) -> dict | None:
        """The record, or None when absent or expired."""

    def delete(self, kind: str, key: str) -> None:
        """Remove a record (no error when absent)."""

    def consume(self, kind: str, key: str) -> dict | None:
        """Atomically return and remove a record: at most one caller ever gets it."""

    def add(self, kind: str, key: str, value: dict, ttl: int) -> bool:
        """Create a record only if absent; True when this call created it (replay detection)."""

    def incr(self, kind: str, key: str, ttl: int) -> int:
        """Increment a counter and return its new value; the ttl starts when the counter is created."""

    def reset(self, kind: str, key: str) -> None:
        """Remove a counter."""

    def index_add(self, kind: str, index: str, member: str, ttl: int) -> None:
        """Add a member to a set; the set lives at least ``ttl`` more seconds."""

    def index_remove(self, kind: str, index: str, member: str) -> None:
        """Remove a member from a set."""

    def index_members(self, kind: str, index: str) -> set[str]:
        """The members of a set (empty when absent or expired)."""

    def index_clear(self, kind: str, index: str) -> None:
        """Remove a whole set."""

    def ping(self) -> bool:
        """True when the backend is reachable."""
