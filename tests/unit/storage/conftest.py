"""Backends of the ephemeral store, each with isolated data and a clock the test can move."""
from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine

from backends import fresh_redis_prefix, postgres_schema_engine, postgres_url_or_skip, redis_url_or_skip


class FakeClock:
    """A clock for backends that take ``clock=``; ``advance`` moves time without waiting."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Brings a key ARGV[1] ms closer to its expiry; a key with no more time left than that expires.
_SHIFT_EXPIRY = ("local left = redis.call('PTTL', KEYS[1]) "
                 "if left < 0 then return 0 end "
                 "if left <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) "
                 "else redis.call('PEXPIRE', KEYS[1], left - tonumber(ARGV[1])) end return 1")


class RedisClock(FakeClock):
    """For a Redis store, which keeps its own time: ``advance`` brings every key of the store's prefix
    that much closer to its expiry, which is all that time passing does to those keys (the store gives
    Redis only relative ttls). It does not wait, so a stall of a loaded machine never adds to it, and
    with ttls of minutes (test_conformance.TICK) the real time a test takes does not count either."""

    def __init__(self, store, prefix: str):
        super().__init__()
        self._store, self._pattern = store, _glob_escape(prefix) + ":*"

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        client = self._store._r
        # SCAN may name a key twice, and on Cluster each node answers for itself: every key once.
        for name in set(client.scan_iter(match=self._pattern, count=500)):
            client.eval(_SHIFT_EXPIRY, 1, name, int(seconds * 1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def ephemeral_tables():
    from idp.storage.sql import EphemeralMember, EphemeralRecord
    return [EphemeralRecord.__table__, EphemeralMember.__table__]


@pytest.fixture(scope="session")
def pg_url():
    return postgres_url_or_skip()


@pytest.fixture(scope="session")
def pg_schema_engine(pg_url):
    """An engine whose connections see only a schema created for this test session (dropped after)."""
    with postgres_schema_engine("idp_test", ephemeral_tables(), pool_size=20) as engine:
        yield engine


@pytest.fixture(scope="session")
def redis_url():
    return redis_url_or_skip()


@pytest.fixture
def redis_prefix(redis_url):
    """A key prefix unique to the test; every key under it is deleted afterwards."""
    with fresh_redis_prefix(redis_url) as prefix:
        yield prefix


def _memory(request):
    from idp.storage.memory import MemoryStore
    clock = FakeClock()
    return MemoryStore(clock=clock), clock


def _sqlite(request):
    from idp.extensions import db
    from idp.storage.sql import SqlStore
    tmp_path = request.getfixturevalue("tmp_path")
    engine = create_engine(f"sqlite:///{tmp_path}/ephemeral.db")
    db.metadata.create_all(engine, tables=ephemeral_tables())
    request.addfinalizer(engine.dispose)
    clock = FakeClock()
    return SqlStore(lambda: engine, clock=clock), clock


def _postgres(request):
    from idp.storage.sql import SqlStore
    engine = request.getfixturevalue("pg_schema_engine")
    clock = FakeClock()
    return SqlStore(lambda: engine, clock=clock), clock


def _redis(request):
    from idp.storage.redis import RedisStore
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    store = RedisStore.from_url(url, prefix=prefix)
    request.addfinalizer(store.close)
    return store, RedisClock(store, prefix)


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory):
    """A primary, a replica and three sentinels started for this test session, failing over only after
    a long silence (see redis_topology.patient_store)."""
    from redis_topology import PATIENT_NODE_TIMEOUT_MS, sentinel_topology
    with sentinel_topology(tmp_path_factory.mktemp("sentinel"), ready_to_fail_over=False,
                           node_timeout_ms=PATIENT_NODE_TIMEOUT_MS) as topology:
        yield topology


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """Three primaries and three replicas started for this test session, failing over only after a
    long silence (see redis_topology.patient_store)."""
    from redis_topology import PATIENT_NODE_TIMEOUT_MS, cluster_topology
    with cluster_topology(tmp_path_factory.mktemp("cluster"), node_timeout_ms=PATIENT_NODE_TIMEOUT_MS) as topology:
        yield topology


def _redis_topology(fixture):
    def factory(request):
        from redis_topology import patient_store
        prefix = "idptest:" + secrets.token_hex(6)
        store = patient_store(request.getfixturevalue(fixture), prefix)
        request.addfinalizer(store.close)
        return store, RedisClock(store, prefix)
    return factory


BACKENDS = {
    "memory": (_memory, ()),
    "sqlite": (_sqlite, ()),
    "postgres": (_postgres, (pytest.mark.postgres,)),
    "redis": (_redis, (pytest.mark.redis,)),
    "redis-sentinel": (_redis_topology("redis_sentinel"), (pytest.mark.redis,)),
    "redis-cluster": (_redis_topology("redis_cluster"), (pytest.mark.redis,)),
}


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", [pytest.param(name, marks=marks, id=name)
                                         for name, (_, marks) in BACKENDS.items()])


@pytest.fixture
def store_and_clock(request, backend):
    factory, _ = BACKENDS[backend]
    return factory(request)


@pytest.fixture
def store(store_and_clock):
    return store_and_clock[0]


@pytest.fixture
def clock(store_and_clock):
    return store_and_clock[1]


@pytest.fixture
def kind():
    """A record kind unique to the test (kinds are at most 32 characters)."""
    return "k" + secrets.token_hex(8)
