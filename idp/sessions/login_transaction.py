"""The login transaction: what carries one login across pages, from the protocol request that needed
it (an OpenID Connect authorization request, a CAS login) through the login, step-up or consent pages
and back to where that protocol resumes.

The protocol starts it (``LoginTransactions.start``) with the state it needs to resume; the login pages
read what they show (who asks, why, whether a certificate is needed) and send the browser to
``resume_url`` afterwards; a cancelled login is answered by the handler the protocol registered for its
transactions (``on_cancel``). Transactions live in the ephemeral store, so any node can continue one.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from flask import url_for

NAMESPACE = "login_tx"
TTL = 1800  # seconds a person has to finish logging in
MAX_ID_LENGTH = 100

LOGIN = "login"  # nobody is logged in, or the request demands a fresh login
STEP_UP = "step_up"  # logged in, at a lower assurance level than the request asks for
CONSENT = "consent"  # logged in; the person must still allow the client
CHOOSE_CONTEXT = "choose_context"  # logged in; the person chooses whom she acts for (herself or an enterprise)
CONTEXT_CHOSEN = "context_chosen"  # set in ``state`` once she chose, for the protocol resuming the request


@dataclass
class LoginTransaction:
    id: str
    protocol: str  # the front end that resumes it ("oidc", "cas", …)
    reason: str  # LOGIN, STEP_UP or CONSENT
    resume_endpoint: str  # the protocol's Flask endpoint that continues the request (called with ?tx=)
    client_name: str  # the site the person is logging in to, as the login page names it
    client_id: str | None = None  # the client (or CAS service) for audit records
    return_to: str | None = None  # the URL the login ends at (redirect URI, CAS service): forms may lead there
    acr_values: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)  # what the protocol needs to resume, opaque to the pages
    created_at: float = field(default_factory=time.time)

    @property
    def step_up(self) -> bool:
        return self.reason == STEP_UP

    @property
    def resume_url(self) -> str:
        return url_for(self.resume_endpoint, tx=self.id)

    def login_since_start(self, auth_time: int | float) -> bool:
        """A login at ``auth_time`` happened since this transaction began (so it answers it)."""
        return auth_time >= int(self.created_at)


class LoginTransactions:
    """Save / load / consume login transactions in the ephemeral store."""

    def __init__(self, store, ttl: int = TTL):
        self.store = store
        self.ttl = ttl
        self._cancel_handlers: dict[str, Callable[[LoginTransaction], object]] = {}

    def start(self, *, protocol: str, reason: str, resume_endpoint: str, client_name: str, **fields) -> LoginTransaction:
        tx = LoginTransaction(id=secrets.token_urlsafe(24), protocol=protocol, reason=reason,
                              resume_endpoint=resume_endpoint, client_name=client_name, **fields)
        self.save(tx)
        return tx

    def save(self, tx: LoginTransaction) -> None:
        self.store.put(NAMESPACE, tx.id, asdict(tx), self.ttl)

    def load(self, tx_id: str | None) -> LoginTransaction | None:
        return self._decode(self.store.get(NAMESPACE, tx_id) if _plausible(tx_id) else None)

    def consume(self, tx_id: str | None) -> LoginTransaction | None:
        """Load and delete in one step: a transaction that ends is used by one request only."""
        return self._decode(self.store.consume(NAMESPACE, tx_id) if _plausible(tx_id) else None)

    def delete(self, tx_id: str) -> None:
        if _plausible(tx_id):
            self.store.delete(NAMESPACE, tx_id)

    def on_cancel(self, protocol: str, handler: Callable[[LoginTransaction], object]) -> None:
        """``handler(tx)`` answers the browser when the person cancels a login of ``protocol``."""
        self._cancel_handlers[protocol] = handler

    def cancel(self, tx: LoginTransaction):
        """The protocol's answer to a cancelled login, or None when it registered none."""
        handler = self._cancel_handlers.get(tx.protocol)
        return handler(tx) if handler is not None else None

    @staticmethod
    def _decode(data) -> LoginTransaction | None:
        if not isinstance(data, dict):
            return None
        try:
            return LoginTransaction(**data)
        except TypeError:  # written by a version with other fields: the person starts again
            return None


def _plausible(tx_id) -> bool:
    return isinstance(tx_id, str) and 0 < len(tx_id) <= MAX_ID_LENGTH
