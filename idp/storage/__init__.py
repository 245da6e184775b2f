"""The storage seam for hot, ephemeral state (SSO sessions, throttles, one-time values).

Durable records (people, clients, tokens, keys) are SQL models; this seam is what can also live
in Redis. Every backend passes the same conformance suite (tests/unit/storage).
"""
from .base import EphemeralStore


def create_store(settings, engine_getter=None) -> EphemeralStore:
    if settings.session_backend == "memory":
        from .memory import MemoryStore
        return MemoryStore()
    if settings.session_backend == "redis":
        from .redis import RedisStore
        return RedisStore.from_url(settings.redis_url, wait_replicas=settings.redis_wait_replicas,
                                   wait_timeout_ms=settings.redis_wait_timeout_ms)
    from .sql import SqlStore
    return SqlStore(engine_getter)


__all__ = ["EphemeralStore", "create_store"]
