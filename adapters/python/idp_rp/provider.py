"""The identity provider as seen from a relying party: discovery document and signing keys.

Both are cached. An unknown `kid` causes one JWKS refetch, at most once per
`refetch_interval` seconds, so signing-key rotation at the provider never breaks logins while a
flood of tokens with made-up key ids cannot turn the adapter into a request amplifier.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from .errors import DiscoveryError, TokenValidationError

REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


def fetch_json(http: requests.Session, url: str, timeout: float, verify: Any, what: str) -> dict:
    try:
        resp = http.get(url, timeout=timeout, verify=verify, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise DiscoveryError(f"Could not fetch the {what} from {url}: {exc}") from exc
    if resp.status_code != 200:
        raise DiscoveryError(f"Could not fetch the {what} from {url}: HTTP {resp.status_code}")
    try:
        data = resp.json()
    except ValueError:
        raise DiscoveryError(f"The {what} at {url} is not JSON") from None
    if not isinstance(data, dict):
        raise DiscoveryError(f"The {what} at {url} is not a JSON object")
    return data


class ProviderMetadata:
    """Fetches and caches `<issuer>/.well-known/openid-configuration`."""

    def __init__(self, issuer: str, http: requests.Session, ttl: int = 3600, timeout: float = 10.0,
                 verify: Any = True):
        self.issuer = issuer
        self.url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.http = http
        self.ttl = ttl
        self.timeout = timeout
        self.verify = verify
        self._doc: dict | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> dict:
        with self._lock:
            if self._doc is None or time.monotonic() - self._fetched_at > self.ttl:
                self._doc = self._fetch()
                self._fetched_at = time.monotonic()
            return self._doc

    def __getitem__(self, name: str) -> Any:
        return self.get()[name]

    def value(self, name: str, default: Any = None) -> Any:
        return self.get().get(name, default)

    def invalidate(self) -> None:
        with self._lock:
            self._doc = None

    def _fetch(self) -> dict:
        doc = fetch_json(self.http, self.url, self.timeout, self.verify, "discovery document")
        missing = [k for k in REQUIRED_METADATA if not doc.get(k)]
        if missing:
            raise DiscoveryError(f"The discovery document at {self.url} lacks {', '.join(missing)}")
        if doc["issuer"] != self.issuer:
            raise DiscoveryError(
                f"The discovery document at {self.url} names issuer {doc['issuer']!r}, expected {self.issuer!r}"
            )
        return doc


class JWKSCache:
    """The provider's public signing keys, looked up by `kid`."""

    def __init__(self, jwks_uri_source, http: requests.Session, ttl: int = 3600, refetch_interval: int = 60,
                 timeout: float = 10.0, verify: Any = True):
        # jwks_uri_source: a callable returning the JWKS URL (read lazily from discovery)
        self._uri = jwks_uri_source
        self.http = http
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self.verify = verify
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._last_forced = float("-inf")
        self._lock = threading.Lock()
        #: Number of HTTP fetches done so far (useful for monitoring).
        self.fetch_count = 0

    def key_for(self, kid: str | None, alg: str, error_cls: type[TokenValidationError]) -> Key:
        with self._lock:
            if self._keys is None or time.monotonic() - self._fetched_at > self.ttl:
                self._refresh()
            key = self._find(kid, alg)
            if key is None and time.monotonic() - self._last_forced >= self.refetch_interval:
                self._last_forced = time.monotonic()
                self._refresh()
                key = self._find(kid, alg)
        if key is None:
            raise error_cls("signature", f"no signing key with kid {kid!r} for {alg} in the provider's JWKS")
        return key

    def _find(self, kid: str | None, alg: str) -> Key | None:
        assert self._keys is not None
        kty = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}.get(alg[:2])
        candidates = []
        for key in self._keys:
            if kty and key.key_type != kty:
                continue
            if key.get("use") not in (None, "sig"):
                continue
            if key.get("alg") not in (None, alg):
                continue
            candidates.append(key)
        if kid is None:
            return candidates[0] if len(candidates) == 1 else None
        for key in candidates:
            if key.kid == kid:
                return key
        return None

    def _refresh(self) -> None:
        uri = self._uri()
        data = fetch_json(self.http, uri, self.timeout, self.verify, "JWKS")
        self.fetch_count += 1
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as exc:
            raise DiscoveryError(f"The JWKS at {uri} could not be read: {exc}") from exc
        self._keys = keys
        self._fetched_at = time.monotonic()
