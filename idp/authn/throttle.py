"""Failed-login throttling per account and per client IP.

Failures slow responses down (a growing delay) and, past a limit, lock the account or IP for a
period. State lives in the ephemeral store so every worker shares it.

The account is whatever the caller resolved the typed username to: the person (so every spelling
of every identifier of one person shares one count), or, when no person matched, the canonical
identifier (so guessing through non-existent accounts is throttled the same way and a lock says
nothing about whether the account exists).
"""
from __future__ import annotations

import hashlib
import time

from ..errors import LockedOut

KIND = "throttle"


def _key(prefix: str, value: str) -> str:
    return prefix + hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


class LoginThrottle:
    def __init__(self, store, *, max_failures: int, ip_max_failures: int, lock_seconds: int,
                 slowdown: bool = True, sleep=time.sleep):
        self.store = store
        self.max_failures = max_failures
        self.ip_max_failures = ip_max_failures
        self.lock_seconds = lock_seconds
        self.slowdown = slowdown
        self._sleep = sleep

    def check(self, account: str, ip: str) -> None:
        """Raise LockedOut when the account or the IP is locked."""
        for key in (_key("acct:", account), _key("ip:", ip)):
            lock = self.store.get(KIND, "lock:" + key)
            if lock:
                raise LockedOut(max(1, int(lock["until"] - time.time())))

    def failure(self, account: str, ip: str) -> None:
        acct = _key("acct:", account)
        ipk = _key("ip:", ip)
        acct_count = self.store.incr(KIND, acct, self.lock_seconds)
        ip_count = self.store.incr(KIND, ipk, self.lock_seconds)
        until = time.time() + self.lock_seconds
        if acct_count >= self.max_failures:
            self.store.put(KIND, "lock:" + acct, {"until": until}, self.lock_seconds)
        if ip_count >= self.ip_max_failures:
            self.store.put(KIND, "lock:" + ipk, {"until": until}, self.lock_seconds)
        if self.slowdown and acct_count > 1:
            self._sleep(min(0.25 * (acct_count - 1), 2.0))

    def success(self, account: str) -> None:
        self.store.reset(KIND, _key("acct:", account))
