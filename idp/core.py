"""The services one app instance holds: settings, keys, stores, sessions, throttles, notifier."""
from __future__ import annotations

import hashlib

from .audit.log import record as audit_record
from .authn.sms import SmsCodes, sender_from_settings
from .authn.throttle import LoginThrottle
from .clients.service import find_client
from .extensions import db
from .jobs.runner import node_name
from .keys.sealing import load_master_key
from .keys.service import KeyManager
from .sessions.backchannel import BackchannelNotifier
from .sessions.login_transaction import LoginTransactions
from .sessions.delivery_queue import DeliveryQueue
from .sessions.sso import SessionManager
from .storage import create_store
from .storage.sql_tokens import SqlTokenStore


class IdpCore:
    def __init__(self, settings, store=None):
        self.settings = settings
        self.store = store or create_store(settings)
        self.tokens = SqlTokenStore(db.session)  # codes and tokens (storage.tokens.TokenStore)
        self.master_key = load_master_key(settings)  # seals signing keys and second-factor secrets
        self.master_keys = (self.master_key, *((settings.master_key_previous,) if settings.master_key_previous else ()))
        self.keys = KeyManager(self.master_key)
        self.sessions = SessionManager(self.store, settings.session_ttl)
        self.logins = LoginTransactions(self.store)  # logins in progress, across pages and nodes
        self.throttle = LoginThrottle(self.store, max_failures=settings.login_max_failures,
                                      ip_max_failures=settings.login_ip_max_failures,
                                      lock_seconds=settings.login_lock_seconds,
                                      slowdown=settings.login_slowdown)
        self.sms = SmsCodes(self.store, sender_from_settings(settings), settings.sms_http_template)
        # a claim outlasts one POST (connect and read timeouts) with a margin
        queue = DeliveryQueue(node_name(), claim_seconds=2 * settings.backchannel_timeout + 10)
        self.notifier = BackchannelNotifier(timeout=settings.backchannel_timeout,
                                            retries=settings.backchannel_retries, queue=queue,
                                            engine=lambda: db.engine)
        self.pairwise_salt = settings.pairwise_salt or hashlib.sha256(
            ("pairwise\x00" + settings.secret_key).encode("utf-8")).hexdigest()
        self.server = None  # the Authlib AuthorizationServer, set by create_app
        self.shared_crls = None  # CRL copies fetched once for the deployment (pki.crl_copies), set by create_app
        self.runner = None  # the background job runner, when this process runs one (jobs.schedule)
        self.logout_listeners: list = []  # each protocol's single logout, called with every ended SsoSession
        # Other signing keys on the same life cycle (the SAML key): callables the keys.transitions job runs.
        self.key_transitions: list = []
        # Each protocol names the sites a session was handed to (key -> display name, or None if not its own).
        self.site_name_resolvers: list = [_client_name]
        # Sections of the account page each feature adds (second factors, passkeys, authorisations…):
        # callables (person, session) -> {"template": "account/….html", **variables} or None.
        self.account_sections: list = []

    def site_name(self, key: str) -> str | None:
        """The display name of a site a session was handed to (an OIDC client, a CAS service, …)."""
        for resolve in self.site_name_resolvers:
            name = resolve(key)
            if name is not None:
                return name
        return None

    def audit(self, event: str, **data) -> None:
        audit_record(event, **data)


def _client_name(client_id: str) -> str | None:
    client = find_client(client_id)
    return client.name if client is not None else None
