"""Failed-login throttling: per account and per client IP, a growing delay, a lock with retry_after."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.authn import AuthnError, LockedOut
from idp.authn.throttle import LoginThrottle
from idp.storage.memory import MemoryStore

MAX, IP_MAX, LOCK = 3, 10, 300
IP = "192.0.2.1"


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def throttle(clock=None, **overrides) -> tuple[LoginThrottle, list[float]]:
    slept: list[float] = []
    options = dict(max_failures=MAX, ip_max_failures=IP_MAX, lock_seconds=LOCK, sleep=slept.append)
    options.update(overrides)
    return LoginThrottle(MemoryStore(clock or Clock()), **options), slept


def locked(t: LoginThrottle, account: str, ip: str = IP) -> LockedOut | None:
    try:
        t.check(account, ip)
    except LockedOut as exc:
        return exc
    return None


def test_the_account_locks_at_the_limit_and_says_when_to_retry():
    t, _ = throttle()
    for _ in range(MAX - 1):
        t.failure("person:1", IP)
        assert locked(t, "person:1") is None
    t.failure("person:1", IP)
    lock = locked(t, "person:1")
    assert isinstance(lock, AuthnError) and lock.code == "locked"
    assert 0 < lock.retry_after <= LOCK
    assert str(lock.retry_after) in str(lock)


def test_the_lock_ends_after_its_period():
    clock = Clock()
    t, _ = throttle(clock)
    for _ in range(MAX):
        t.failure("person:1", IP)
    assert locked(t, "person:1") is not None
    clock.now += LOCK + 1
    assert locked(t, "person:1") is None


def test_a_success_forgets_the_failures_before_it():
    t, _ = throttle()
    for _ in range(MAX - 1):
        t.failure("person:1", IP)
    t.success("person:1")
    for _ in range(MAX - 1):
        t.failure("person:1", IP)
    assert locked(t, "person:1") is None


def test_each_account_counts_its_own_failures():
    t, _ = throttle()
    for _ in range(MAX):
        t.failure("person:1", IP)
    assert locked(t, "person:1") is not None
    assert locked(t, "person:2", "192.0.2.99") is None


def test_one_address_guessing_across_accounts_is_locked_out_of_every_account():
    t, _ = throttle()
    for n in range(IP_MAX):
        t.failure(f"person:{n}", IP)
    assert locked(t, "person:never-tried", IP) is not None
    assert locked(t, "person:never-tried", "192.0.2.99") is None


def test_failures_slow_down_more_and_more_up_to_a_ceiling():
    t, slept = throttle(max_failures=100, ip_max_failures=100)
    for _ in range(12):
        t.failure("person:1", IP)
    assert slept == sorted(slept) and slept[0] == 0.25 and max(slept) == 2.0
    quiet, none_slept = throttle(slowdown=False)
    for _ in range(MAX):
        quiet.failure("person:1", IP)
    assert none_slept == []


@pytest.mark.parametrize("account", ["person:1", "11010519491231002X", "", "电子邮件@example.cn"])
def test_any_account_string_is_counted(account):
    t, _ = throttle()
    for _ in range(MAX):
        t.failure(account, IP)
    assert locked(t, account) is not None


# A model of the rules: an account locks when its failures since its last success reach MAX; an IP
# locks when its failures reach IP_MAX (successes do not reset an IP); a lock, once set, stays.
events = st.lists(st.tuples(st.sampled_from(["fail", "ok"]), st.sampled_from(["a", "b", "c"]),
                            st.sampled_from(["10.0.0.1", "10.0.0.2"])), max_size=40)


@given(events)
def test_locks_follow_the_counting_rules(sequence):
    t, _ = throttle(ip_max_failures=6)
    account_count: dict[str, int] = {}
    ip_count: dict[str, int] = {}
    account_locked: set[str] = set()
    ip_locked: set[str] = set()
    for what, account, ip in sequence:
        if what == "fail":
            account_count[account] = account_count.get(account, 0) + 1
            ip_count[ip] = ip_count.get(ip, 0) + 1
            t.failure(account, ip)
            if account_count[account] >= MAX:
                account_locked.add(account)
            if ip_count[ip] >= 6:
                ip_locked.add(ip)
        else:
            account_count[account] = 0
            t.success(account)
        for a in ("a", "b", "c"):
            for i in ("10.0.0.1", "10.0.0.2"):
                assert (locked(t, a, i) is not None) == (a in account_locked or i in ip_locked), (a, i)
