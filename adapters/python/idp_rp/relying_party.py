"""The framework-free relying party: request parameters in, URLs, sessions and claims out.

Web integrations (wsgi.py, flask.py, the gateway) only move cookies and redirects around; every
protocol decision is made here.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from . import jwt_checks
from .client_auth import ClientAuthenticator
from .config import RPConfig
from .cookies import SessionCookieSigner
from .errors import (
    AuthorizationError,
    InsufficientAcrError,
    IssuerMismatchError,
    LoginError,
    LogoutTokenError,
    ProviderError,
    SilentLoginDeclined,
    StateMismatchError,
    TokenError,
)
from .pkce import code_verifier, random_token, s256_challenge
from .provider import JWKSCache, ProviderMetadata
from .sessions import (
    LocalSession,
    MemoryReplayCache,
    MemorySessionStore,
    PendingLogin,
    ReplayCache,
    SessionStore,
    new_session_id,
)

MAX_PENDING_LOGINS = 10
#: Answers to prompt=none that mean "no session the provider can use without the person" (OIDC Core 3.1.2.6).
SILENT_LOGIN_ERRORS = frozenset({"login_required", "interaction_required", "consent_required",
                                 "account_selection_required"})
REFRESH_MARGIN = 30  # seconds before expiry at which the access token is refreshed


@dataclass
class LoginResult:
    #: The new (rotated) local session now holding the identity.
    session: LocalSession
    #: Where to send the browser next (the page that required login).
    return_to: str
    claims: dict


class RelyingParty:
    def __init__(self, config: RPConfig, *, store: SessionStore | None = None,
                 replay_cache: ReplayCache | None = None, http: requests.Session | None = None):
        self.config = config
        self.http = http or requests.Session()
        self.http.headers.setdefault("User-Agent", "idp-rp/0.1")
        self.provider = ProviderMetadata(config.issuer, self.http, ttl=config.discovery_ttl,
                                         timeout=config.http_timeout, verify=config.verify_tls)
        self.jwks = JWKSCache(lambda: self.provider["jwks_uri"], self.http, ttl=config.jwks_ttl,
                              refetch_interval=config.jwks_refetch_interval, timeout=config.http_timeout,
                              verify=config.verify_tls)
        self.store: SessionStore = store if store is not None else MemorySessionStore()
        self.replay: ReplayCache = replay_cache if replay_cache is not None else MemoryReplayCache()
        self.cookies = SessionCookieSigner(config.session_secret)
        self.client_auth = ClientAuthenticator(config)

    # ---- local sessions -------------------------------------------------------------------

    def session_from_cookie(self, cookie_value: str | None) -> LocalSession | None:
        session_id = self.cookies.unsign(cookie_value)
        return self.store.get(session_id) if session_id else None

    def new_session(self) -> LocalSession:
        return LocalSession(id=new_session_id(), expires_at=time.time() + self.config.login_timeout)

    def cookie_value(self, session: LocalSession) -> str:
        return self.cookies.sign(session.id)

    def end_local_session(self, session: LocalSession) -> None:
        self.store.delete(session.id)

    # ---- login ----------------------------------------------------------------------------

    def redirect_uri(self, request_base: str | None = None) -> str:
        return self.config.url_for_path(self.config.redirect_path, request_base)

    def start_login(self, session: LocalSession, *, redirect_uri: str, return_to: str = "/",
                    acr_values: Iterable[str] | None = None, prompt: str | None = None,
                    extra: Mapping[str, str] | None = None) -> str:
        """Record a pending login in `session` (saved to the store) and return the authorization URL."""
        acr = tuple(acr_values) if acr_values is not None else tuple(self.config.required_acr)
        pending = PendingLogin(state=random_token(), nonce=random_token(), code_verifier=code_verifier(),
                               redirect_uri=redirect_uri, return_to=return_to or "/", acr_values=acr,
                               silent="none" in (prompt or "").split())
        self._prune_pending(session)
        session.pending[pending.state] = pending
        if not session.is_authenticated:
            session.expires_at = max(session.expires_at, time.time() + self.config.login_timeout)
        self.store.save(session)

        params: dict[str, str] = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": s256_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
        }
        if acr:
            params["acr_values"] = " ".join(acr)
        if prompt:
            params["prompt"] = prompt
        params.update(self.config.extra_authorize_params)
        if extra:
            params.update(extra)
        return _add_query(self.provider["authorization_endpoint"], params)

    def start_silent_login(self, session: LocalSession, *, redirect_uri: str, return_to: str = "/") -> str:
        """Authorization URL with prompt=none; the session remembers the attempt so it is made once."""
        session.silent_login_tried = True
        return self.start_login(session, redirect_uri=redirect_uri, return_to=return_to, prompt="none")

    def start_step_up(self, session: LocalSession, *, redirect_uri: str, return_to: str,
                      accepted_acr: Iterable[str]) -> str:
        """Authorization URL asking the provider for one of `accepted_acr` (re-authenticating if configured)."""
        prompt = "login" if self.config.step_up_prompt_login and session.is_authenticated else None
        return self.start_login(session, redirect_uri=redirect_uri, return_to=return_to,
                                acr_values=accepted_acr, prompt=prompt)

    def finish_login(self, session: LocalSession | None, params: Mapping[str, str]) -> LoginResult:
        """Handle the authorization response on the callback.

        Checks state (bound to this browser's session), the RFC 9207 `iss` parameter, `error=`
        responses; exchanges the code; validates the ID token; returns a rotated session.
        """
        state = params.get("state")
        if not state:
            raise StateMismatchError("The login response has no state parameter; start the login again")
        pending = session.pending.get(state) if session is not None else None
        if pending is None or session is None:
            raise StateMismatchError(
                "The login response does not belong to a login started in this browser (state mismatch or "
                "expired login); start the login again"
            )
        # A state is good for one response only.
        del session.pending[state]
        self.store.save(session)
        if time.time() - pending.created_at > self.config.login_timeout:
            raise StateMismatchError("The login took too long and has expired; start the login again")

        self._check_response_issuer(params)
        if params.get("error"):
            if pending.silent and params["error"] in SILENT_LOGIN_ERRORS:
                raise SilentLoginDeclined(params["error"], params.get("error_description"),
                                          return_to=pending.return_to)
            raise AuthorizationError(params["error"], params.get("error_description"))
        code = params.get("code")
        if not code:
            raise LoginError("The login response has neither a code nor an error")

        tokens = self._token_request({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        })
        id_token = tokens.get("id_token")
        if not id_token:
            raise TokenError("invalid_response", "the token response has no id_token")
        claims = self.validate_id_token(id_token, nonce=pending.nonce, access_token=tokens["access_token"])
        if pending.acr_values and claims.get("acr") not in pending.acr_values:
            raise InsufficientAcrError(claims.get("acr"), list(pending.acr_values))

        now = time.time()
        new = LocalSession(id=new_session_id(), created_at=now, expires_at=now + self.config.session_lifetime,
                           pending=dict(session.pending))
        self._store_tokens(new, tokens, claims)
        new.authenticated_at = now
        if self.config.fetch_userinfo and self.provider.value("userinfo_endpoint"):
            new.userinfo = self.userinfo(new)
        self.store.delete(session.id)
        self.store.save(new)
        return LoginResult(session=new, return_to=pending.return_to, claims=claims)

    def _check_response_issuer(self, params: Mapping[str, str]) -> None:
        iss = params.get("iss")
        if self.provider.value("authorization_response_iss_parameter_supported") and iss is None:
            raise IssuerMismatchError("The login response lacks the iss parameter the provider promises (RFC 9207)")
        if iss is not None and iss != self.config.issuer:
            raise IssuerMismatchError(
                f"The login response comes from issuer {iss!r}, not {self.config.issuer!r} (mix-up attack?)"
            )

    def validate_id_token(self, id_token: str, *, nonce: str | None = None, access_token: str | None = None,
                          require_nonce: bool = True) -> dict:
        cfg = self.config
        return jwt_checks.validate_id_token(
            id_token, keys=self.jwks, issuer=cfg.issuer, client_id=cfg.client_id,
            algorithms=cfg.id_token_algorithms, leeway=cfg.leeway, nonce=nonce, access_token=access_token,
            require_nonce=require_nonce,
        )

    # ---- tokens ---------------------------------------------------------------------------

    def _token_request(self, form: dict[str, str]) -> dict:
        endpoint = self.provider["token_endpoint"]
        headers = {"Accept": "application/json"}
        self.client_auth.apply(form, headers, endpoint)
        try:
            resp = self.http.post(endpoint, data=form, headers=headers, timeout=self.config.http_timeout,
                                  verify=self.config.verify_tls)
        except requests.RequestException as exc:
            raise ProviderError(f"Could not reach the token endpoint {endpoint}: {exc}") from exc
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code != 200:
            if isinstance(data, dict) and data.get("error"):
                raise TokenError(str(data["error"]), data.get("error_description"), resp.status_code)
            raise TokenError("server_error", "the token endpoint returned no OAuth error", resp.status_code)
        if not isinstance(data, dict) or not data.get("access_token"):
            raise TokenError("invalid_response", "the token response has no access_token")
        if str(data.get("token_type", "")).lower() != "bearer":
            raise TokenError("invalid_response", f"unsupported token_type {data.get('token_type')!r}")
        return data

    def _store_tokens(self, session: LocalSession, tokens: dict, claims: dict | None) -> None:
        session.access_token = tokens["access_token"]
        if tokens.get("refresh_token"):
            session.refresh_token = tokens["refresh_token"]
        expires_in = tokens.get("expires_in")
        session.access_token_expires_at = (
            time.time() + float(expires_in) if isinstance(expires_in, (int, float)) or str(expires_in).isdigit()
            else None
        )
        session.scope = tokens.get("scope") or session.scope
        if claims is not None:
            session.id_token = tokens["id_token"]
            session.claims = claims
            session.sub = claims["sub"]
            session.sid = claims.get("sid") or session.sid

    def access_token_expired(self, session: LocalSession) -> bool:
        exp = session.access_token_expires_at
        return exp is not None and time.time() >= exp - REFRESH_MARGIN

    def refresh(self, session: LocalSession) -> LocalSession:
        """Use the refresh token; saves and returns the updated session. Raises TokenError on refusal."""
        if not session.refresh_token:
            raise TokenError("invalid_grant", "the session has no refresh token")
        tokens = self._token_request({"grant_type": "refresh_token", "refresh_token": session.refresh_token})
        claims = None
        if tokens.get("id_token"):
            claims = self.validate_id_token(tokens["id_token"], access_token=tokens["access_token"],
                                            require_nonce=False)
            if claims["sub"] != session.sub:
                raise TokenError("invalid_response", "the refreshed ID token names a different subject")
        self._store_tokens(session, tokens, claims)
        self.store.save(session)
        return session

    def ensure_fresh(self, session: LocalSession) -> bool:
        """Refresh an expired access token if possible. False when the provider says the grant is gone
        (the local identity is then cleared); True otherwise."""
        if not session.is_authenticated or not self.access_token_expired(session) or not session.refresh_token:
            return session.is_authenticated
        try:
            self.refresh(session)
        except TokenError as exc:
            if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
                session.clear_identity()
                self.store.save(session)
                return False
            raise
        return True

    def userinfo(self, session: LocalSession) -> dict:
        endpoint = self.provider["userinfo_endpoint"]
        try:
            resp = self.http.get(endpoint, headers={"Authorization": f"Bearer {session.access_token}",
                                                    "Accept": "application/json"},
                                 timeout=self.config.http_timeout, verify=self.config.verify_tls)
        except requests.RequestException as exc:
            raise ProviderError(f"Could not reach the userinfo endpoint {endpoint}: {exc}") from exc
        if resp.status_code != 200:
            raise ProviderError(f"The userinfo endpoint answered HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            raise ProviderError("The userinfo endpoint did not answer with JSON") from None
        if not isinstance(data, dict) or data.get("sub") != session.sub:
            raise ProviderError("The userinfo response is for a different subject")
        return data

    # ---- assurance level ------------------------------------------------------------------

    @staticmethod
    def acr_satisfied(session: LocalSession | None, accepted: Iterable[str]) -> bool:
        accepted = tuple(accepted)
        if session is None or not session.is_authenticated:
            return False
        return not accepted or session.acr in accepted

    # ---- logout ---------------------------------------------------------------------------

    def logout_url(self, session: LocalSession | None, post_logout_redirect_uri: str | None,
                   state: str | None = None) -> str | None:
        """URL of the provider's end_session_endpoint (RP-initiated logout), or None if it has none."""
        endpoint = self.provider.value("end_session_endpoint")
        if not endpoint:
            return None
        params = {"client_id": self.config.client_id}
        if session is not None and session.id_token:
            params["id_token_hint"] = session.id_token
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
            params["state"] = state or random_token(16)
        return _add_query(endpoint, params)

    def backchannel_logout(self, params: Mapping[str, str]) -> list[str]:
        """Validate a back-channel logout request body and end the matching local sessions.

        Returns the ids of the sessions ended. Raises LogoutTokenError for a bad token.
        """
        token = params.get("logout_token")
        if not token:
            raise LogoutTokenError("format", "the request has no logout_token parameter")
        cfg = self.config
        claims = jwt_checks.validate_logout_token(
            token, keys=self.jwks, issuer=cfg.issuer, client_id=cfg.client_id, algorithms=cfg.id_token_algorithms,
            leeway=cfg.leeway, max_age=cfg.logout_token_max_age,
        )
        until = float(claims.get("exp") or claims["iat"] + cfg.logout_token_max_age) + cfg.leeway
        if self.replay.seen(f"{claims['iss']} {claims['jti']}", until):
            raise LogoutTokenError("jti", "this logout token was already used (replay)")
        sid, sub = claims.get("sid"), claims.get("sub")
        if sid:
            sessions = [s for s in self.store.find_by_sid(sid) if not sub or _eq(s.sub, sub)]
        else:
            sessions = self.store.find_by_sub(sub)
        for s in sessions:
            self.store.delete(s.id)
        return [s.id for s in sessions]

    # ---- helpers --------------------------------------------------------------------------

    def _prune_pending(self, session: LocalSession) -> None:
        now = time.time()
        live = {k: p for k, p in session.pending.items() if now - p.created_at <= self.config.login_timeout}
        while len(live) >= MAX_PENDING_LOGINS:
            live.pop(min(live, key=lambda k: live[k].created_at))
        session.pending = live


def _eq(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _add_query(url: str, params: Mapping[str, Any]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


__all__ = ["RelyingParty", "LoginResult"]
