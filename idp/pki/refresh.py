"""Scheduled CRL refresh: ``refresh_once`` loads every configured CRL of a trust store; ``CrlRefresher``
runs it in a daemon thread every IDP_CRL_REFRESH_SECONDS (0 = off: CRLs are refreshed lazily at login).

A failed load is logged and keeps the CRL cached before it, which serves until its nextUpdate.
"""
from __future__ import annotations

import logging
import threading

from .store import TrustStore

log = logging.getLogger(__name__)


def refresh_once(store: TrustStore) -> list[str]:
    """One pass: pick up changed profile files, then fetch every configured CRL. Returns the problems."""
    try:
        store.reload_if_changed()
        problems = store.warm()
    except Exception as exc:  # noqa: BLE001 - one bad pass must not end the schedule
        log.exception("CRL refresh failed")
        return [f"CRL refresh failed: {exc}"]
    for problem in problems:
        log.warning("CRL refresh: %s", problem)
    return problems


class CrlRefresher:
    """A daemon thread calling ``refresh_once(store)`` at start and then every ``interval`` seconds."""

    def __init__(self, store: TrustStore, interval: float) -> None:
        if interval <= 0:
            raise ValueError("the refresh interval must be positive")
        self.store, self.interval = store, interval
        self.passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "CrlRefresher":
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="crl-refresher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            refresh_once(self.store)
            self.passes += 1
            self._stop.wait(self.interval)
