"""In-process backend for tests and single-process development."""
from __future__ import annotations

import copy
import threading
import time

from .base import check_names


class MemoryStore:
    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], tuple[float, dict]] = {}
        self._counters: dict[tuple[str, str], tuple[float, int]] = {}
        self._sets: dict[tuple[str, str], tuple[float, set]] = {}

    def _live(self, table, key):
        entry = table.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del table[key]
            return None
        return entry

    def put(self, kind, key, value, ttl):
        check_names(kind, key)
        with self._lock:
            self._items[(kind, key)] = (self._clock() + ttl, copy.deepcopy(value))

    def get(self, kind, key):
        with self._lock:
            entry = self._live(self._items, (kind, key))
            return copy.deepcopy(entry[1]) if entry else None

    def delete(self, kind, key):
        with self._lock:
            self._items.pop((kind, key), None)

    def consume(self, kind, key):
        with self._lock:
            entry = self._live(self._items, (kind, key))
            if entry is None:
                return None
            del self._items[(kind, key)]
            return entry[1]

    def add(self, kind, key, value, ttl):
        check_names(kind, key)
        with self._lock:
            if self._live(self._items, (kind, key)) is not None:
                return False
            self._items[(kind, key)] = (self._clock() + ttl, copy.deepcopy(value))
            return True

    def incr(self, kind, key, ttl):
        check_names(kind, key)
        with self._lock:
            entry = self._live(self._counters, (kind, key))
            expires, value = entry if entry else (self._clock() + ttl, 0)
            self._counters[(kind, key)] = (expires, value + 1)
            return value + 1

    def reset(self, kind, key):
        with self._lock:
            self._counters.pop((kind, key), None)

    def index_add(self, kind, index, member, ttl):
        check_names(kind, index, member)
        with self._lock:
            entry = self._live(self._sets, (kind, index))
            expires, members = entry if entry else (0, set())
            members.add(member)
            self._sets[(kind, index)] = (max(expires, self._clock() + ttl), members)

    def index_remove(self, kind, index, member):
        with self._lock:
            entry = self._live(self._sets, (kind, index))
            if entry:
                entry[1].discard(member)

    def index_members(self, kind, index):
        with self._lock:
            entry = self._live(self._sets, (kind, index))
            return set(entry[1]) if entry else set()

    def index_clear(self, kind, index):
        with self._lock:
            self._sets.pop((kind, index), None)

    def ping(self):
        return True
