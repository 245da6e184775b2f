"""Redis backend: the production home of hot ephemeral state."""
from __future__ import annotations

import json

import redis as redis_lib

from .base import check_names

_PREFIX = "idp"


class RedisStore:
    def __init__(self, client: "redis_lib.Redis", prefix: str = _PREFIX):
        self._r = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = _PREFIX) -> "RedisStore":
        return cls(redis_lib.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), prefix)

    def _k(self, kind, key):
        return f"{self._prefix}:{kind}:{key}"

    def _ix(self, kind, index):
        return f"{self._prefix}:{kind}:ix:{index}"

    def _cn(self, kind, key):
        return f"{self._prefix}:{kind}:n:{key}"

    def put(self, kind, key, value, ttl):
        check_names(kind, key)
        self._r.set(self._k(kind, key), json.dumps(value), ex=max(1, int(ttl)))

    def get(self, kind, key):
        raw = self._r.get(self._k(kind, key))
        return json.loads(raw) if raw is not None else None

    def delete(self, kind, key):
        self._r.delete(self._k(kind, key))

    def consume(self, kind, key):
        raw = self._r.getdel(self._k(kind, key))
        return json.loads(raw) if raw is not None else None

    def add(self, kind, key, value, ttl):
        check_names(kind, key)
        return bool(self._r.set(self._k(kind, key), json.dumps(value), ex=max(1, int(ttl)), nx=True))

    def incr(self, kind, key, ttl):
        check_names(kind, key)
        name = self._cn(kind, key)
        pipe = self._r.pipeline()
        pipe.incr(name)
        pipe.expire(name, max(1, int(ttl)), nx=True)
        value, _ = pipe.execute()
        return int(value)

    def reset(self, kind, key):
        self._r.delete(self._cn(kind, key))

    def index_add(self, kind, index, member, ttl):
        check_names(kind, index, member)
        name = self._ix(kind, index)
        pipe = self._r.pipeline()
        pipe.sadd(name, member)
        pipe.expire(name, max(1, int(ttl)), gt=True)
        pipe.expire(name, max(1, int(ttl)), nx=True)
        pipe.execute()

    def index_remove(self, kind, index, member):
        self._r.srem(self._ix(kind, index), member)

    def index_members(self, kind, index):
        return {m.decode() if isinstance(m, bytes) else m for m in self._r.smembers(self._ix(kind, index))}

    def index_clear(self, kind, index):
        self._r.delete(self._ix(kind, index))

    def ping(self):
        try:
            return bool(self._r.ping())
        except redis_lib.RedisError:
            return False
