"""Background delivery of logout messages (OIDC logout tokens, CAS logout requests, SAML SOAP
LogoutRequests) to the sites of an ended session: a small thread pool with retries, so the person's logout never waits on a site.

With a ``DeliveryQueue`` (what the server uses) each message is first stored in the database, and a
node posts it only while it holds the message's claim (``delivery_queue``): a message is sent by one
node, and one left behind by a node that died is sent by the node running the ``backchannel.retry``
job. Without a queue (tests of the HTTP behaviour) messages live in this process only.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import requests

from .delivery_queue import Claimed, DeliveryQueue, Outgoing

log = logging.getLogger(__name__)
# How long a delivered (or given up) message stays in the queue's table, for inspection.
KEEP_FINISHED_SECONDS = 7 * 86400


class BackchannelNotifier:
    def __init__(self, *, timeout: int, retries: int, backoff: float = 0.5, max_workers: int = 4,
                 queue: DeliveryQueue | None = None, engine=None):
        """``engine``: a callable returning the SQLAlchemy engine of the queue (read when sending)."""
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.queue = queue
        self._engine = engine
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="backchannel")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self.delivered: list[tuple[str, str]] = []   # (client_id, uri), most recent last
        self.failed: list[tuple[str, str, str]] = []
        # Checks of a site's 2xx answer, by the name a message carries (each protocol registers its own):
        # ``check(outgoing, response)`` returns None when the site took the message, else why not.
        self.answer_checks: dict[str, Callable[[Outgoing, requests.Response], str | None]] = {}

    def send(self, client_id: str, uri: str, message: str, *, field: str = "logout_token",
             accept_redirect: bool = False) -> Future:
        """POST ``field=message`` (a logout token, or a CAS ``logoutRequest``) to ``uri`` in the background.

        ``accept_redirect``: a 3xx answer counts as delivered (CAS sites often redirect after a logout request).
        The future's result: True when delivered, False when given up, None when another node took it over.
        """
        return self.send_message(Outgoing(client_id, uri, message, field=field, accept_redirect=accept_redirect))

    def send_raw(self, client_id: str, uri: str, body: str, content_type: str, *, answer_check: str = "") -> Future:
        """POST ``body`` as the whole request body of type ``content_type`` (a SOAP envelope, text/xml).

        ``answer_check``: the name of a check in ``answer_checks`` that reads the site's answer."""
        return self.send_message(Outgoing.raw(client_id, uri, body, content_type, answer_check))

    def send_message(self, outgoing: Outgoing) -> Future:
        if self.queue is None:
            return self._submit(self._deliver, outgoing)
        engine = self._engine()
        claim = self.queue.new_claim()
        delivery_id = self.queue.add(engine, outgoing, claim)
        return self._submit(self._deliver_queued, engine, delivery_id, claim)

    def deliver_due(self, engine, limit: int = 100) -> int:
        """Take up queued messages whose attempt is due and whose claim is free or lapsed (the
        ``backchannel.retry`` job); returns how many were handed to the pool."""
        if self.queue is None:
            return 0
        ids = self.queue.due(engine, limit)
        for delivery_id in ids:
            self._submit(self._deliver_queued, engine, delivery_id, self.queue.new_claim())
        self.queue.purge(engine, time.time() - KEEP_FINISHED_SECONDS)
        return len(ids)

    def _submit(self, fn, *args) -> Future:
        future = self._pool.submit(fn, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _post(self, out: Outgoing) -> tuple[bool, str, bool]:
        """One attempt: (delivered, error, worth retrying)."""
        headers = {"Cache-Control": "no-store"}
        if out.kind == "raw":
            body, headers["Content-Type"] = out.message.encode("utf-8"), out.content_type
        else:
            body = {out.field: out.message}
        try:
            response = requests.post(out.uri, data=body, timeout=self.timeout, headers=headers,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            return False, type(exc).__name__, True
        if response.status_code in (200, 204) or (out.accept_redirect and 300 <= response.status_code < 400):
            if not out.answer_check:
                return True, "", False
            check = self.answer_checks.get(out.answer_check)
            refused = f"no answer check {out.answer_check!r}" if check is None else check(out, response)
            return refused is None, refused or "", False  # the site answered; asking again gets the same answer
        # a 4xx: the RP rejected the token; retrying will not help
        return False, f"HTTP {response.status_code}", not 400 <= response.status_code < 500

    def _deliver(self, out: Outgoing) -> bool:
        error = ""
        for attempt in range(self.retries):
            ok, error, retry = self._post(out)
            if ok:
                self.delivered.append((out.client_id, out.uri))
                return True
            if not retry:
                break
            time.sleep(self.backoff * (2 ** attempt))
        return self._gave_up(out, error)

    def _gave_up(self, out: Outgoing, error: str) -> bool:
        log.warning("back-channel logout to %s (%s) failed: %s", out.client_id, out.uri, error)
        self.failed.append((out.client_id, out.uri, error))
        return False

    def _deliver_queued(self, engine, delivery_id: int, claim: str) -> bool | None:
        while True:
            item: Claimed | None = self.queue.claim(engine, delivery_id, claim)
            if item is None:
                return None  # finished, or another node holds it
            ok, error, retry = self._post(item.outgoing)
            if ok:
                self.queue.finish(engine, item, delivered=True)
                self.delivered.append((item.outgoing.client_id, item.outgoing.uri))
                return True
            if not retry or item.attempts + 1 >= self.retries:
                self.queue.finish(engine, item, delivered=False, error=error[:255])
                return self._gave_up(item.outgoing, error)
            wait = self.backoff * (2 ** item.attempts)
            if not self.queue.retry_at(engine, item, time.time() + wait, error[:255]):
                return None
            time.sleep(wait)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery finished (used by tests and at shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False
