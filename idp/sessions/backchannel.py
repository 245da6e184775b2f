"""Background delivery of logout messages (OIDC logout tokens, CAS logout requests) to the sites of an
ended session: a small thread pool with retries, so the person's logout never waits on a site.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import requests

log = logging.getLogger(__name__)


class BackchannelNotifier:
    def __init__(self, *, timeout: int, retries: int, backoff: float = 0.5, max_workers: int = 4):
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="backchannel")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self.delivered: list[tuple[str, str]] = []   # (client_id, uri), most recent last
        self.failed: list[tuple[str, str, str]] = []

    def send(self, client_id: str, uri: str, message: str, *, field: str = "logout_token",
             accept_redirect: bool = False) -> Future:
        """POST ``field=message`` (a logout token, or a CAS ``logoutRequest``) to ``uri`` in the background.

        ``accept_redirect``: a 3xx answer counts as delivered (CAS sites often redirect after a logout request).
        """
        future = self._pool.submit(self._deliver, client_id, uri, message, field, accept_redirect)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _deliver(self, client_id: str, uri: str, message: str, field: str, accept_redirect: bool) -> bool:
        error = ""
        for attempt in range(self.retries):
            try:
                response = requests.post(uri, data={field: message}, timeout=self.timeout,
                                         headers={"Cache-Control": "no-store"}, allow_redirects=False)
                if response.status_code in (200, 204) or (accept_redirect and 300 <= response.status_code < 400):
                    self.delivered.append((client_id, uri))
                    return True
                error = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500:
                    break  # the RP rejected the token; retrying will not help
            except requests.RequestException as exc:
                error = type(exc).__name__
            time.sleep(self.backoff * (2 ** attempt))
        log.warning("back-channel logout to client %s failed: %s", client_id, error)
        self.failed.append((client_id, uri, error))
        return False

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery finished (used by tests and at shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False
