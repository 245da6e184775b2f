"""A yardstick, not part of idp: the least a persisting Python token endpoint does, for ``peer_compare.py --floor``.

    FLOOR_DATABASE=/tmp/floor.sqlite FLOOR_ISSUER=http://127.0.0.1:8000 FLOOR_ALG=ES256 \\
    FLOOR_CLIENT_ID=bench-floor FLOOR_CLIENT_SECRET=... \\
    granian --interface wsgi --workers 1 --blocking-threads 8 --access-log floor_app:app   # from bench/

It answers ``POST /token`` on the server idp runs on (granian, same flags) with what every token request of
idp also does, and nothing more, so that its throughput bounds what any Python token endpoint that keeps
idp's persistence can reach on the same stack:

- raw WSGI (no Flask or Werkzeug), the form parsed with ``urllib.parse``;
- HTTP Basic client authentication: the SHA-256 of the presented secret compared with
  ``hmac.compare_digest`` to the one client's stored SHA-256 (no client table, no other method);
- a JWT access token signed with joserfc (``FLOOR_ALG``: ES256 or RS256, a key made at start), with the
  claims idp's access tokens carry (iss, sub, aud, client_id, iat, exp, jti, scope; header typ at+jwt);
- SQLite in WAL mode with ``synchronous=NORMAL``, as idp sets its connections (``idp/extensions.py``): the
  token's SHA-256 and an audit row inserted in one transaction with one commit, writes queued on a Python
  lock as idp queues them (``idp/storage/writes.py``: SQLite's busy handler sleeps);
- a JSON answer with ``Cache-Control: no-store``.

Grants: ``client_credentials`` (the requested scope granted as asked) and ``refresh_token`` with rotation
(the presented token's hash looked up, then marked used by ``UPDATE ... WHERE used = 0`` in the write
transaction, so a second use gets 400 invalid_grant; the new refresh token and the audit row in the same
commit). A rotation needs refresh tokens to start from: the bench-only grant ``urn:bench:floor:seed``
(the client's Basic credentials, nothing else) issues one, as a code exchange would, for subject
``bench-person``; ``peer_compare.py`` calls it to fill the pool of ``bench/wrk/rotate.lua``.

Deliberately left out, because it is what the floor measures idp against: no client lookup in a
database, no scope, audience or resource checks, no request guard, security headers, request id, metrics,
audit chain, error pages or translations. ``GET /healthz`` is a constant 200 (the server's own floor).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from urllib.parse import parse_qs, unquote

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ACCESS_TTL = 900  # seconds, idp's default (IDP_ACCESS_TOKEN_TTL)
REFRESH_TTL = 30 * 86400  # idp's default (IDP_REFRESH_TOKEN_TTL)
MAX_BODY = 64 * 1024
SEED_GRANT = "urn:bench:floor:seed"
SEED_SUBJECT = "bench-person"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    scope TEXT NOT NULL,
    access_token_hash TEXT NOT NULL UNIQUE,
    refresh_token_hash TEXT UNIQUE,
    family_id TEXT NOT NULL,
    issued_at REAL NOT NULL,
    access_expires_at REAL NOT NULL,
    refresh_expires_at REAL,
    refresh_used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    event TEXT NOT NULL,
    data TEXT NOT NULL
);
"""
_INSERT_TOKEN = ("INSERT INTO tokens (client_id, sub, scope, access_token_hash, refresh_token_hash, family_id, "
                 "issued_at, access_expires_at, refresh_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_AUDIT = "INSERT INTO audit_events (at, event, data) VALUES (?, ?, ?)"
_FIND_REFRESH = ("SELECT id, sub, scope, family_id, refresh_expires_at FROM tokens "
                 "WHERE refresh_token_hash = ? AND client_id = ? AND refresh_used = 0")
_CLAIM_REFRESH = "UPDATE tokens SET refresh_used = 1 WHERE id = ? AND refresh_used = 0"

_HEALTHZ = b'{"status":"ok"}\n'  # the bytes idp's /healthz answers
_JSON = ("Content-Type", "application/json")
_NO_STORE = ("Cache-Control", "no-store")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class OAuthError(Exception):
    def __init__(self, status: str, error: str, description: str, headers: tuple = ()):
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, headers


def _invalid_client() -> OAuthError:
    return OAuthError("401 Unauthorized", "invalid_client", "client authentication failed",
                      (("WWW-Authenticate", 'Basic realm="token"'),))


class FloorApp:
    """The WSGI application. One SQLite connection per application thread, made on its first request."""

    def __init__(self, database: str, issuer: str, alg: str, client_id: str, client_secret: str):
        if alg not in ("ES256", "RS256"):
            raise ValueError(f"alg must be ES256 or RS256, not {alg!r}")
        self.database, self.issuer, self.alg = database, issuer, alg
        self.key = ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
        self.header = {"alg": alg, "typ": "at+jwt", "kid": self.key.thumbprint()}
        self.client_id = client_id
        self.secret_digest = hashlib.sha256(client_secret.encode("utf-8")).digest()
        self.write_lock = threading.Lock()
        self.local = threading.local()
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # a property of the file: set once, kept
            conn.executescript(SCHEMA)
        finally:
            conn.close()

    @classmethod
    def from_environ(cls, env) -> FloorApp:
        missing = [name for name in ("FLOOR_DATABASE", "FLOOR_ISSUER", "FLOOR_CLIENT_ID", "FLOOR_CLIENT_SECRET")
                   if not env.get(name)]
        if missing:
            raise RuntimeError("floor_app:app needs " + ", ".join(missing) + " in the environment")
        return cls(env["FLOOR_DATABASE"], env["FLOOR_ISSUER"], env.get("FLOOR_ALG", "ES256"),
                   env["FLOOR_CLIENT_ID"], env["FLOOR_CLIENT_SECRET"])

    def public_jwk(self) -> dict:
        return self.key.as_dict(private=False)

    # --- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._answer(start_response, "200 OK", _HEALTHZ)
        if path != "/token":
            return self._error(start_response, OAuthError("404 Not Found", "not_found", "no such endpoint"))
        if method != "POST":
            return self._error(start_response, OAuthError("405 Method Not Allowed", "invalid_request",
                                                          "the token endpoint takes POST", (("Allow", "POST"),)))
        try:
            return self._answer(start_response, "200 OK", json.dumps(self.token(environ)).encode())
        except OAuthError as error:
            return self._error(start_response, error)

    @staticmethod
    def _answer(start_response, status: str, body: bytes, extra: tuple = ()):
        start_response(status, [_JSON, _NO_STORE, ("Content-Length", str(len(body))), *extra])
        return [body]

    def _error(self, start_response, error: OAuthError):
        body = json.dumps({"error": error.error, "error_description": error.description}).encode()
        return self._answer(start_response, error.status, body, error.headers)

    # --- the token endpoint ---------------------------------------------------------------
    def token(self, environ) -> dict:
        self.authenticate(environ.get("HTTP_AUTHORIZATION", ""))
        form = self.form(environ)
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self.issue(grant, sub=self.client_id, scope=form.get("scope", ""), refresh=False)
        if grant == "refresh_token":
            presented = form.get("refresh_token")
            if not presented:
                raise OAuthError("400 Bad Request", "invalid_request", "refresh_token is missing")
            return self.rotate(presented)
        if grant == SEED_GRANT:
            return self.issue(grant, sub=SEED_SUBJECT, scope=form.get("scope", "openid profile"), refresh=True)
        if grant is None:
            raise OAuthError("400 Bad Request", "invalid_request", "grant_type is missing")
        raise OAuthError("400 Bad Request", "unsupported_grant_type", "unsupported grant_type")

    def authenticate(self, header: str) -> None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client()
        try:
            client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client() from None
        # The secret is compared whatever the client id, so an unknown client takes as long as a wrong secret.
        secret_ok = hmac.compare_digest(hashlib.sha256(unquote(secret).encode("utf-8")).digest(), self.secret_digest)
        if not (secret_ok and sep and unquote(client_id) == self.client_id):
            raise _invalid_client()

    @staticmethod
    def form(environ) -> dict[str, str]:
        if not environ.get("CONTENT_TYPE", "").lower().startswith("application/x-www-form-urlencoded"):
            raise OAuthError("400 Bad Request", "invalid_request",
                             "the body must be application/x-www-form-urlencoded")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise OAuthError("400 Bad Request", "invalid_request", "bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise OAuthError("413 Content Too Large", "invalid_request", f"the body is over {MAX_BODY} bytes")
        body = environ["wsgi.input"].read(length)
        try:
            parsed = parse_qs(body.decode("ascii"), errors="strict", max_num_fields=32)
        except (UnicodeDecodeError, ValueError):
            raise OAuthError("400 Bad Request", "invalid_request", "the form is not valid") from None
        if any(len(values) > 1 for values in parsed.values()):
            raise OAuthError("400 Bad Request", "invalid_request", "a parameter is repeated")
        return {name: values[0] for name, values in parsed.items()}

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            # isolation_level=None: no implicit transactions, BEGIN and COMMIT are written out below.
            conn = self.local.conn = sqlite3.connect(self.database, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def access_token(self, sub: str, scope: str, now: int) -> str:
        claims = {"iss": self.issuer, "exp": now + ACCESS_TTL, "client_id": self.client_id, "iat": now,
                  "jti": secrets.token_urlsafe(16), "scope": scope, "sub": sub, "aud": self.client_id}
        return jwt.encode(self.header, claims, self.key)

    def issue(self, grant: str, *, sub: str, scope: str, refresh: bool) -> dict:
        """A new grant: its tokens and audit row in one transaction (client_credentials, the seed)."""
        now = time.time()
        access = self.access_token(sub, scope, int(now))
        refresh_token = secrets.token_urlsafe(48) if refresh else None
        self.write(None, sub, scope, access, refresh_token, secrets.token_hex(16), now, grant,
                   now + REFRESH_TTL if refresh else None)
        return self.response(access, scope, refresh_token)

    def rotate(self, presented: str) -> dict:
        """A refresh rotation: the presented token claimed, the new one and the audit row, one commit."""
        conn = self.connection()
        row = conn.execute(_FIND_REFRESH, (sha256_hex(presented), self.client_id)).fetchone()
        now = time.time()
        if row is None or row[4] <= now:
            raise OAuthError("400 Bad Request", "invalid_grant", "the refresh token is invalid or was used")
        token_id, sub, scope, family_id, refresh_expires_at = row
        access = self.access_token(sub, scope, int(now))
        refresh_token = secrets.token_urlsafe(48)
        self.write(token_id, sub, scope, access, refresh_token, family_id, now, "refresh_token", refresh_expires_at)
        return self.response(access, scope, refresh_token)

    def write(self, claim: int | None, sub: str, scope: str, access: str, refresh: str | None, family_id: str,
              now: float, grant: str, refresh_expires_at: float | None) -> None:
        conn = self.connection()
        audit = json.dumps({"grant_type": grant, "client_id": self.client_id, "sub": sub, "scope": scope,
                            "refresh": refresh is not None})
        with self.write_lock:
            conn.execute("BEGIN")
            try:
                if claim is not None and conn.execute(_CLAIM_REFRESH, (claim,)).rowcount != 1:
                    raise OAuthError("400 Bad Request", "invalid_grant", "the refresh token is invalid or was used")
                conn.execute(_INSERT_TOKEN, (self.client_id, sub, scope, sha256_hex(access),
                                             sha256_hex(refresh) if refresh else None, family_id, now,
                                             now + ACCESS_TTL, refresh_expires_at))
                conn.execute(_INSERT_AUDIT, (now, "token.issued", audit))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def response(access: str, scope: str, refresh: str | None) -> dict:
        body = {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TTL, "scope": scope}
        if refresh:
            body["refresh_token"] = refresh
        return body


def __getattr__(name: str):
    """``floor_app:app``, the application granian loads, made from the FLOOR_* environment on first access
    (importing the module for its class needs no environment)."""
    if name != "app":
        raise AttributeError(name)
    application = globals()["app"] = FloorApp.from_environ(os.environ)
    return application
