"""A small OpenID provider for adapter tests: discovery, JWKS, authorize (auto-approves), token,
userinfo, end_session. Behaviour is steered through attributes (keys, claim overrides, acr...)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from werkzeug.serving import make_server

from idp_rp.jwt_checks import BACKCHANNEL_LOGOUT_EVENT, left_hash


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Client:
    client_id: str
    secret: str | None = None
    public_jwk: dict | None = None
    redirect_uris: list[str] = field(default_factory=list)


class FakeOP:
    def __init__(self) -> None:
        self.app = Flask("fake_op")
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.keys: dict[str, Any] = {}
        self.add_key("rsa-1", RSAKey.generate_key(2048, private=True))
        self.signing_kid = "rsa-1"
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []  # (endpoint, params) in order
        self.token_auth_methods: list[str] = []
        self.jwks_fetches = 0
        self.sub = "user-42"
        self.name = "张三"
        self.acr = "urn:idp:loa:2"
        self.amr = ["pwd"]
        self.sid = "sid-" + secrets.token_hex(4)
        self.extra_claims: dict[str, Any] = {"id_number": "110101199003071234"}
        self.id_token_overrides: dict[str, Any] = {}
        self.drop_claims: set[str] = set()
        self.tamper_id_token = False
        self.access_token_ttl = 300
        self.iss_param_supported = True
        self.send_iss_param = True
        #: Whether the browser has a session here: without one a prompt=none request gets login_required.
        self.has_session = True
        self.refresh_error: str | None = None
        self._routes()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # -- keys and tokens --

    def add_key(self, kid: str, key: Any) -> None:
        key = key.__class__.import_key(key.as_dict(private=True, kid=kid))
        self.keys[kid] = key

    def rotate_to(self, kid: str, key_type: str = "EC") -> None:
        """Publish a new key, sign with it, and drop the old ones from the JWKS."""
        key = ECKey.generate_key("P-256", private=True) if key_type == "EC" else RSAKey.generate_key(2048, private=True)
        self.keys = {}
        self.add_key(kid, key)
        self.signing_kid = kid

    @staticmethod
    def alg_for(key: Any) -> str:
        return "ES256" if key.key_type == "EC" else "RS256"

    def sign(self, claims: dict, header: dict | None = None, kid: str | None = None, key: Any = None) -> str:
        kid = kid or self.signing_kid
        key = key or self.keys[kid]
        hdr = {"alg": self.alg_for(key), "kid": kid, **(header or {})}
        return jwt.encode(hdr, claims, key, algorithms=[hdr["alg"]], default_type=None)

    def jwks(self) -> dict:
        return KeySet(list(self.keys.values())).as_dict(private=False)

    def logout_token(self, client_id: str, *, header: dict | None = None, key: Any = None, kid: str | None = None,
                     **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": client_id, "iat": now, "exp": now + 120, "jti": secrets.token_hex(8),
                  "sub": self.sub, "sid": self.sid, "events": {BACKCHANNEL_LOGOUT_EVENT: {}}}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return self.sign(claims, {"typ": "logout+jwt", **(header or {})}, kid=kid, key=key)

    def access_token(self, client_id: str, *, audience: str = "https://api.example.test", scope: str = "openid profile",
                     typ: str = "at+jwt", **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": audience, "sub": self.sub, "client_id": client_id, "iat": now,
                  "exp": now + self.access_token_ttl, "jti": secrets.token_hex(8), "scope": scope}
        claims.update(overrides)
        return self.sign(claims, {"typ": typ})

    def id_token(self, client_id: str, nonce: str | None, access_token: str, acr: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.sub, "aud": client_id, "exp": now + 300, "iat": now,
                  "auth_time": now, "nonce": nonce, "acr": acr, "amr": self.amr, "sid": self.sid,
                  "name": self.name, **self.extra_claims}
        claims["at_hash"] = left_hash(access_token, self.alg_for(self.keys[self.signing_kid]))
        claims.update(self.id_token_overrides)
        claims = {k: v for k, v in claims.items() if v is not None and k not in self.drop_claims}
        token = self.sign(claims)
        if self.tamper_id_token:
            head, payload, sig = token.split(".")
            data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(b"user-42", b"user-43")
            token = ".".join([head, base64.urlsafe_b64encode(data).rstrip(b"=").decode(), sig])
        return token

    def issue(self, client_id: str, nonce: str | None, acr: str, scope: str) -> dict:
        access = self.access_token(client_id, audience=client_id, scope=scope)
        refresh = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh] = {"client_id": client_id, "acr": acr, "scope": scope}
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.access_token_ttl,
                "refresh_token": refresh, "scope": scope, "id_token": self.id_token(client_id, nonce, access, acr)}

    # -- HTTP --

    def _client_auth(self) -> Client | None:
        form = request.form
        if request.authorization and request.authorization.type == "basic":
            client = self.clients.get(request.authorization.username or "")
            self.token_auth_methods.append("client_secret_basic")
            return client if client and client.secret == request.authorization.password else None
        if "client_assertion" in form:
            client = self.clients.get(form.get("client_id", ""))
            self.token_auth_methods.append("private_key_jwt")
            if not client or not client.public_jwk:
                return None
            key = RSAKey.import_key(client.public_jwk) if client.public_jwk["kty"] == "RSA" else ECKey.import_key(client.public_jwk)
            try:
                tok = jwt.decode(form["client_assertion"], key)
            except Exception:
                return None
            c = tok.claims
            ok = c.get("iss") == c.get("sub") == client.client_id and c.get("aud") == self.issuer + "/token"
            return client if ok and c.get("exp", 0) > time.time() else None
        client = self.clients.get(form.get("client_id", ""))
        self.token_auth_methods.append("client_secret_post")
        return client if client and client.secret == form.get("client_secret") else None

    def _routes(self) -> None:
        app = self.app

        @app.get("/.well-known/openid-configuration")
        def discovery():
            i = self.issuer
            return jsonify({
                "issuer": i, "authorization_endpoint": i + "/authorize", "token_endpoint": i + "/token",
                "jwks_uri": i + "/jwks", "userinfo_endpoint": i + "/userinfo", "end_session_endpoint": i + "/logout",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "backchannel_logout_supported": True, "backchannel_logout_session_supported": True,
                "authorization_response_iss_parameter_supported": self.iss_param_supported,
                "code_challenge_methods_supported": ["S256"],
            })

        @app.get("/jwks")
        def jwks():
            self.jwks_fetches += 1
            return jsonify(self.jwks())

        @app.get("/authorize")
        def authorize():
            args = request.args.to_dict()
            self.requests.append(("authorize", args))
            client = self.clients.get(args.get("client_id", ""))
            if client is None or args.get("redirect_uri") not in client.redirect_uris:
                return "unknown client or redirect_uri", 400
            if "none" in args.get("prompt", "").split() and not self.has_session:
                params = {"error": "login_required", "state": args.get("state", ""), "iss": self.issuer}
                return redirect(args["redirect_uri"] + "?" + urlencode(params))
            acr = args["acr_values"].split()[0] if args.get("acr_values") else self.acr
            code = secrets.token_urlsafe(16)
            self.codes[code] = {**args, "acr": acr}
            params = {"code": code, "state": args.get("state", "")}
            if self.send_iss_param:
                params["iss"] = self.issuer
            return redirect(args["redirect_uri"] + "?" + urlencode(params))

        @app.post("/token")
        def token():
            self.requests.append(("token", request.form.to_dict()))
            client = self._client_auth()
            if client is None:
                return jsonify(error="invalid_client", error_description="client authentication failed"), 401
            form = request.form
            if form.get("grant_type") == "authorization_code":
                data = self.codes.pop(form.get("code", ""), None)
                if data is None or data["client_id"] != client.client_id:
                    return jsonify(error="invalid_grant", error_description="unknown code"), 400
                if data["redirect_uri"] != form.get("redirect_uri"):
                    return jsonify(error="invalid_grant", error_description="redirect_uri mismatch"), 400
                if s256(form.get("code_verifier", "")) != data.get("code_challenge"):
                    return jsonify(error="invalid_grant", error_description="PKCE verification failed"), 400
                return jsonify(self.issue(client.client_id, data.get("nonce"), data["acr"], data.get("scope", "")))
            if form.get("grant_type") == "refresh_token":
                if self.refresh_error:
                    return jsonify(error=self.refresh_error, error_description="refresh refused"), 400
                data = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if data is None or data["client_id"] != client.client_id:
                    return jsonify(error="invalid_grant", error_description="unknown refresh token"), 400
                return jsonify(self.issue(client.client_id, None, data["acr"], data["scope"]))
            return jsonify(error="unsupported_grant_type"), 400

        @app.get("/userinfo")
        def userinfo():
            return jsonify({"sub": self.sub, "name": self.name, "email": "zhangsan@example.test"})

        @app.get("/logout")
        def end_session():
            args = request.args.to_dict()
            self.requests.append(("logout", args))
            target = args.get("post_logout_redirect_uri")
            if target:
                return redirect(target + "?" + urlencode({"state": args.get("state", "")}))
            return "logged out"

    def last(self, endpoint: str) -> dict:
        return [p for e, p in self.requests if e == endpoint][-1]

    def register(self, client_id: str, redirect_uris: list[str], secret: str | None = "s3cret",
                 public_jwk: dict | None = None) -> Client:
        client = Client(client_id, secret, public_jwk, redirect_uris)
        self.clients[client_id] = client
        return client

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
