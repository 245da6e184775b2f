"""One conformance suite for every EphemeralStore backend: memory, SQLite, PostgreSQL, Redis.

Expiry uses a fake clock where the backend takes ``clock=``. Redis keeps its own time: there
``clock.advance`` brings the test's keys that much closer to their expiry (conftest.RedisClock). Either
way nothing waits, and ttls are multiples of TICK, long enough that the real time a test takes, stalls
of a loaded machine included, never counts.
"""
from __future__ import annotations

import threading

import pytest

from idp.storage.base import MAX_KIND, MAX_NAME, EphemeralStore

THREADS = 12
TICK = 100  # seconds


def run_concurrently(fn, n=THREADS):
    """Call ``fn()`` from n threads released together; return the results (re-raise any error)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    if errors:
        raise errors[0]
    return results


def test_backend_implements_the_protocol(store):
    assert isinstance(store, EphemeralStore)
    assert store.ping() is True


# --- records ----------------------------------------------------------------------
def test_put_get_delete_round_trip(store, kind):
    value = {"sub": "abc", "n": 3, "nested": {"list": [1, "二", None], "ok": True}, "名字": "张三"}
    assert store.get(kind, "a") is None
    store.put(kind, "a", value, ttl=60)
    assert store.get(kind, "a") == value
    store.put(kind, "a", {"v": 2}, ttl=60)
    assert store.get(kind, "a") == {"v": 2}, "put replaces the record"
    store.delete(kind, "a")
    assert store.get(kind, "a") is None
    store.delete(kind, "a")  # absent: no error
    store.delete(kind, "never-existed")


def test_kinds_and_keys_are_separate_namespaces(store, kind):
    other = kind[:-1] + ("0" if kind[-1] != "0" else "1")
    store.put(kind, "a", {"v": "kind-a"}, ttl=60)
    store.put(kind, "b", {"v": "kind-b"}, ttl=60)
    store.put(other, "a", {"v": "other-a"}, ttl=60)
    assert store.get(kind, "a") == {"v": "kind-a"}
    assert store.get(kind, "b") == {"v": "kind-b"}
    assert store.get(other, "a") == {"v": "other-a"}
    store.delete(other, "a")
    assert store.get(kind, "a") == {"v": "kind-a"}
    assert store.get(other, "a") is None


def test_returned_value_is_a_copy(store, kind):
    store.put(kind, "a", {"list": [1]}, ttl=60)
    got = store.get(kind, "a")
    got["list"].append(2)
    got["new"] = True
    assert store.get(kind, "a") == {"list": [1]}


def test_record_expires(store, clock, kind):
    store.put(kind, "short", {"v": 1}, ttl=TICK)
    store.put(kind, "long", {"v": 2}, ttl=30 * TICK)
    assert store.get(kind, "short") == {"v": 1}
    clock.advance(1.2 * TICK)
    assert store.get(kind, "short") is None
    assert store.consume(kind, "short") is None
    assert store.get(kind, "long") == {"v": 2}


def test_put_again_renews_the_ttl(store, clock, kind):
    store.put(kind, "a", {"v": 1}, ttl=TICK)
    store.put(kind, "a", {"v": 2}, ttl=30 * TICK)
    clock.advance(1.2 * TICK)
    assert store.get(kind, "a") == {"v": 2}


# --- consume ----------------------------------------------------------------------
def test_consume_is_single_use(store, kind):
    store.put(kind, "code", {"grant": "g1"}, ttl=60)
    assert store.consume(kind, "code") == {"grant": "g1"}
    assert store.consume(kind, "code") is None
    assert store.get(kind, "code") is None
    assert store.consume(kind, "absent") is None


def test_consume_is_atomic_across_threads(store, kind):
    store.put(kind, "code", {"grant": "only-once"}, ttl=60)
    results = run_concurrently(lambda: store.consume(kind, "code"))
    winners = [r for r in results if r is not None]
    assert winners == [{"grant": "only-once"}], results
    assert store.get(kind, "code") is None


# --- add --------------------------------------------------------------------------
def test_add_sets_only_if_absent(store, kind):
    assert store.add(kind, "jti-1", {"first": True}, ttl=60) is True
    assert store.add(kind, "jti-1", {"first": False}, ttl=60) is False, "replay not detected"
    assert store.get(kind, "jti-1") == {"first": True}, "a refused add must not overwrite"
    assert store.add(kind, "jti-2", {}, ttl=60) is True
    store.delete(kind, "jti-1")
    assert store.add(kind, "jti-1", {"again": True}, ttl=60) is True
    assert store.get(kind, "jti-1") == {"again": True}


def test_add_refused_on_a_put_record(store, kind):
    store.put(kind, "a", {"v": 1}, ttl=60)
    assert store.add(kind, "a", {"v": 2}, ttl=60) is False
    assert store.get(kind, "a") == {"v": 1}


def test_add_works_again_after_expiry(store, clock, kind):
    assert store.add(kind, "nonce", {"n": 1}, ttl=TICK) is True
    assert store.add(kind, "nonce", {"n": 2}, ttl=TICK) is False
    clock.advance(1.2 * TICK)
    assert store.get(kind, "nonce") is None
    assert store.add(kind, "nonce", {"n": 3}, ttl=30 * TICK) is True
    assert store.get(kind, "nonce") == {"n": 3}


def test_add_is_atomic_across_threads(store, kind):
    results = run_concurrently(lambda: store.add(kind, "jti", {"v": 1}, ttl=60))
    assert sorted(results) == [False] * (THREADS - 1) + [True]


# --- counters ---------------------------------------------------------------------
def test_incr_counts_and_reset_removes(store, kind):
    assert [store.incr(kind, "fails", ttl=60) for _ in range(3)] == [1, 2, 3]
    assert store.incr(kind, "other", ttl=60) == 1
    store.reset(kind, "fails")
    assert store.incr(kind, "fails", ttl=60) == 1
    assert store.incr(kind, "other", ttl=60) == 2
    store.reset(kind, "absent")  # no error


def test_counters_and_records_with_the_same_key_are_independent(store, kind):
    store.put(kind, "x", {"v": 1}, ttl=60)
    assert store.incr(kind, "x", ttl=60) == 1
    assert store.get(kind, "x") == {"v": 1}, "incr must not touch the record"
    store.delete(kind, "x")
    assert store.incr(kind, "x", ttl=60) == 2, "delete must not touch the counter"
    store.put(kind, "x", {"v": 2}, ttl=60)
    store.reset(kind, "x")
    assert store.get(kind, "x") == {"v": 2}, "reset must not touch the record"
    assert store.incr(kind, "x", ttl=60) == 1


def test_incr_ttl_starts_at_creation_and_is_not_extended(store, clock, kind):
    assert store.incr(kind, "c", ttl=TICK) == 1
    clock.advance(0.6 * TICK)
    assert store.incr(kind, "c", ttl=TICK) == 2
    clock.advance(0.6 * TICK)  # 1.2 ticks after creation: expired although the last incr was 0.6 ago
    assert store.incr(kind, "c", ttl=TICK) == 1


def test_incr_is_atomic_across_threads(store, kind):
    results = run_concurrently(lambda: store.incr(kind, "hits", ttl=60))
    assert sorted(results) == list(range(1, THREADS + 1))
    assert store.incr(kind, "hits", ttl=60) == THREADS + 1


# --- indexes (membership sets) ----------------------------------------------------
def test_index_add_remove_members_clear(store, kind):
    assert store.index_members(kind, "sid") == set()
    store.index_add(kind, "sid", "client-a", ttl=60)
    store.index_add(kind, "sid", "client-b", ttl=60)
    store.index_add(kind, "sid", "client-a", ttl=60)  # idempotent
    store.index_add(kind, "other", "client-c", ttl=60)
    assert store.index_members(kind, "sid") == {"client-a", "client-b"}
    store.index_remove(kind, "sid", "client-a")
    store.index_remove(kind, "sid", "not-a-member")
    assert store.index_members(kind, "sid") == {"client-b"}
    store.index_clear(kind, "sid")
    assert store.index_members(kind, "sid") == set()
    assert store.index_members(kind, "other") == {"client-c"}
    store.index_clear(kind, "absent")  # no error


def test_index_is_separate_from_records(store, kind):
    store.put(kind, "sid", {"v": 1}, ttl=60)
    store.index_add(kind, "sid", "m", ttl=60)
    store.index_clear(kind, "sid")
    assert store.get(kind, "sid") == {"v": 1}
    store.index_add(kind, "sid", "m", ttl=60)
    store.delete(kind, "sid")
    assert store.index_members(kind, "sid") == {"m"}


def test_index_expires(store, clock, kind):
    store.index_add(kind, "sid", "m", ttl=TICK)
    store.index_add(kind, "keep", "m", ttl=30 * TICK)
    clock.advance(1.2 * TICK)
    assert store.index_members(kind, "sid") == set()
    assert store.index_members(kind, "keep") == {"m"}
    store.index_add(kind, "sid", "n", ttl=30 * TICK)
    assert store.index_members(kind, "sid") == {"n"}, "an expired set must not come back"


def test_index_add_extends_the_whole_set(store, clock, kind):
    store.index_add(kind, "sid", "a", ttl=TICK)
    clock.advance(0.6 * TICK)
    store.index_add(kind, "sid", "b", ttl=TICK)
    clock.advance(0.6 * TICK)  # a's own ttl is over, but the set was extended when b joined
    assert store.index_members(kind, "sid") == {"a", "b"}
    clock.advance(0.6 * TICK)
    assert store.index_members(kind, "sid") == set()


def test_index_add_with_shorter_ttl_does_not_shorten_the_set(store, clock, kind):
    store.index_add(kind, "sid", "a", ttl=2 * TICK)
    store.index_add(kind, "sid", "b", ttl=TICK)
    clock.advance(1.3 * TICK)  # "the set lives at least ttl more seconds": still 2 ticks for the whole set
    assert store.index_members(kind, "sid") == {"a", "b"}
    clock.advance(1.0 * TICK)
    assert store.index_members(kind, "sid") == set()


def test_names_up_to_the_limits_work_and_longer_ones_are_refused_alike(store, kind):
    """A name that only PostgreSQL would refuse (its columns have lengths) is refused by every backend,
    so the caller's mistake shows on SQLite, in memory and in Redis too."""
    kind, name, long_ = kind.ljust(MAX_KIND, "k"), "n" * MAX_NAME, "n" * (MAX_NAME + 1)
    store.put(kind, name, {"v": 1}, 60)
    assert store.get(kind, name) == {"v": 1}
    assert store.add(kind, "a" * MAX_NAME, {}, 60) and store.incr(kind, name, 60) == 1
    store.index_add(kind, name, "m" * MAX_NAME, 60)
    assert store.index_members(kind, name) == {"m" * MAX_NAME}
    for write in (lambda: store.put(kind, long_, {}, 60), lambda: store.add(kind, long_, {}, 60),
                  lambda: store.incr(kind, long_, 60), lambda: store.index_add(kind, long_, "m", 60),
                  lambda: store.index_add(kind, name, long_, 60), lambda: store.put(kind + "k", name, {}, 60)):
        with pytest.raises(ValueError):
            write()
    assert store.index_members(kind, name) == {"m" * MAX_NAME} and store.get(kind, long_) is None
    for clear in (lambda: store.delete(kind, name), lambda: store.reset(kind, name),
                  lambda: store.delete(kind, "a" * MAX_NAME), lambda: store.index_clear(kind, name)):
        clear()
