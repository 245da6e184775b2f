"""SAML single logout towards service providers: when an SSO session ends (logout at any site, OIDC,
CAS or SAML), each SP that received an assertion in it gets a signed LogoutRequest for that NameID
and SessionIndex over the SOAP back-channel (what mod_auth_mellon and Shibboleth SP accept), posted in
the background with retries. The SP that started the logout itself gets its LogoutResponse instead."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import requests
from flask import g
from saml2 import BINDING_SOAP
from saml2.s_utils import UnsupportedBinding
from saml2.mdstore import UnknownSystemEntity
from saml2.pack import make_soap_enveloped_saml_thingy
from saml2.saml import NameID
from saml2.samlp import STATUS_SUCCESS, logout_response_from_string
from saml2.soap import parse_soap_enveloped_saml_logout_response

from .idp_server import entity_id, saml_server
from .providers import get_provider
from .responses import issued_in

log = logging.getLogger(__name__)


class SoapLogoutSender:
    """Posts SOAP LogoutRequests in a small thread pool; records what was delivered or given up."""

    def __init__(self, *, timeout: float, retries: int, backoff: float = 0.5):
        self.timeout, self.retries, self.backoff = timeout, max(1, retries), backoff
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="saml-logout")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self.delivered: list[tuple[str, str]] = []  # (session key of the SP, url)
        self.failed: list[tuple[str, str, str]] = []

    def send(self, key: str, url: str, envelope: str, request_id: str) -> Future:
        future = self._pool.submit(self._deliver, key, url, envelope, request_id)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _deliver(self, key: str, url: str, envelope: str, request_id: str) -> bool:
        error = ""
        for attempt in range(self.retries):
            try:
                response = requests.post(url, data=envelope.encode("utf-8"), timeout=self.timeout,
                                         allow_redirects=False,
                                         headers={"Content-Type": "text/xml; charset=utf-8",
                                                  "SOAPAction": "http://www.oasis-open.org/committees/security"})
            except requests.RequestException as exc:
                error = type(exc).__name__
            else:
                status = _status(response, request_id)
                if status == STATUS_SUCCESS:
                    self.delivered.append((key, url))
                    return True
                error = f"HTTP {response.status_code}, status {status}"
                if 400 <= response.status_code < 500 or response.status_code == 200:
                    break  # the SP answered; asking again gets the same answer
            time.sleep(self.backoff * (2 ** attempt))
        log.warning("SAML logout request to %s (%s) failed: %s", key, url, error)
        self.failed.append((key, url, error))
        return False

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False


def _status(response, request_id: str) -> str | None:
    """The status of the SP's LogoutResponse to ``request_id`` (None when there is none).

    Its signature is not checked: the answer only decides whether the request is sent again (the
    session has ended whatever the SP says), and pysaml2 re-serializes the SOAP body when it unwraps
    it, which breaks the signatures other SAML software makes."""
    if response.status_code != 200:
        return None
    try:
        answer = logout_response_from_string(parse_soap_enveloped_saml_logout_response(response.text))
        if answer.in_response_to != request_id:
            return None
        return answer.status.status_code.value
    except Exception as exc:  # noqa: BLE001 - not a SOAP LogoutResponse
        log.info("unreadable SAML LogoutResponse: %s: %s", type(exc).__name__, exc)
        return None


def saml_logout_listener(core, sender: SoapLogoutSender):
    def notify(ended) -> None:
        entries = issued_in(core, ended.key)
        if not entries:
            return
        initiator = g.get("saml_logout_initiator") if g else None
        server = saml_server(core)
        for entry in entries:
            provider = get_provider(entry["provider_id"])
            if provider is None or not provider.single_logout or provider.id == initiator:
                continue
            try:
                services = server.metadata.single_logout_service(provider.entity_id, BINDING_SOAP, "spsso") or []
            except (UnsupportedBinding, UnknownSystemEntity):
                services = []
            if not services:
                continue  # the SP offers no back-channel: its own session ends when it next asks
            url = services[0]["location"]
            name_id = NameID(format=entry["format"], name_qualifier=entity_id(core.settings),
                             sp_name_qualifier=provider.entity_id, text=entry["name_id"])
            request_id, request = server.create_logout_request(
                url, provider.entity_id, name_id=name_id, reason="urn:oasis:names:tc:SAML:2.0:logout:user",
                session_indexes=[entry["session_index"]] if entry.get("session_index") else None, sign=True)
            envelope = make_soap_enveloped_saml_thingy(str(request))
            sender.send(provider.session_key, url, envelope, request_id)
            core.audit("saml.logout_request", provider=provider.id)
    return notify
