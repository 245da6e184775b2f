"""Authlib grant classes and extensions, with storage hooks filled by the identity core.

Grants reach the app's services (settings, token store, audit) through their server, ``self.server.core``;
the extensions are given the core when the server is built.
"""
from __future__ import annotations

import time

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import KeySet

from ...identity.claims import claims_for
from ...identity.authorisations import acting_context
from ...identity.service import PersonClaims
from ...storage.token_hash import token_hash
from ...storage.tokens import NewCode
from .principal import Principal
from .response_modes import authorization_response, check_response_mode
from .tokens import code_replayed, refresh_replayed

ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _principal(person: PersonClaims | None, client, *, auth_time, acr, amr, sid, entity_id) -> Principal | None:
    """None when the person is gone or disabled (``person_claims`` and the token store give None then)."""
    if person is None:
        return None
    acting = acting_context(person.id, entity_id, client.get_client_id() if client else None) \
        if entity_id else None
    return Principal(person=person, client=client, auth_time=auth_time, acr=acr, amr=tuple(amr or ()),
                     sid=sid, entity=acting.entity if acting else None, acting=acting,
                     context_lost=bool(entity_id) and acting is None)


def _refuse_lost_context(user: Principal | None) -> None:
    """A grant made for an enterprise context the person no longer holds (revoked, expired, or not for
    this portal) issues nothing more."""
    if user is not None and user.context_lost:
        raise InvalidGrantError("The person no longer acts for this enterprise.")


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    _code = None  # the unused code this request presented, once read (a grant object lives for one request)

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        check_response_mode(self.request.payload.data, redirect_uri)
        return redirect_uri

    def create_authorization_response(self, redirect_uri: str, grant_user):
        """Authlib's steps (RFC 6749 4.1.2), with the response sent in the requested response_mode
        (Authlib's code grant writes the query only) and carrying ``iss`` (RFC 9207)."""
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code)]
        if self.request.payload.state:
            params.append(("state", self.request.payload.state))
        return authorization_response(redirect_uri, params, self.request.payload.data)

    def save_authorization_code(self, code, request):
        user: Principal = request.user
        data = request.payload.data
        core = self.server.core
        core.tokens.save_code(NewCode(
            code=code,
            client_id=request.client.get_client_id(),
            person_id=user.person.id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=user.auth_time,
            acr=user.acr,
            amr=list(user.amr),
            sid=user.sid,
            entity_id=user.entity.id if user.entity else None,
            expires_at=time.time() + core.settings.code_ttl,
        ))

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or len(code) > 256:
            return None
        core = self.server.core
        found = core.tokens.find_code(code, client.get_client_id())
        if found is None:
            return None
        if found.used_at is not None:
            code_replayed(core, found)
            return None
        if found.is_expired():
            return None
        self._code = found  # claimed by save_token, in the transaction that stores the tokens
        return found

    def validate_token_request(self):
        try:
            super().validate_token_request()  # including the PKCE check (an after-validation hook)
        except OAuth2Error:
            if self._code is not None:
                self.server.core.tokens.consume_code(self._code.id)
            raise

    def delete_authorization_code(self, authorization_code):
        """Codes are kept (marked used) until expiry so that a replay can be detected."""

    def authenticate_user(self, authorization_code):
        user = _principal(authorization_code.person, self.request.client,
                          auth_time=authorization_code.auth_time, acr=authorization_code.acr,
                          amr=authorization_code.amr, sid=authorization_code.sid,
                          entity_id=authorization_code.entity_id)
        if user is None or user.context_lost:  # the person was disabled, or lost the enterprise context
            self.server.core.tokens.consume_code(authorization_code.id)
        _refuse_lost_context(user)
        return user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token):
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        core = self.server.core
        found = core.tokens.find_token(refresh_token, "refresh_token")
        if found is None or found.client_id != self.request.client.get_client_id():
            return None
        if found.refresh_expired():
            return None
        if found.refresh_used:
            refresh_replayed(core, found)
            return None
        if found.revoked:
            return None
        # Claimed by save_token, in the transaction that stores the new tokens: a request that fails
        # before that commits leaves this refresh token valid for the client's retry.
        return found

    def authenticate_user(self, refresh_token):
        user = _principal(refresh_token.person, self.request.client,
                          auth_time=refresh_token.auth_time, acr=refresh_token.acr, amr=refresh_token.amr,
                          sid=refresh_token.sid, entity_id=refresh_token.entity_id)
        if user is not None and user.context_lost:
            self.server.core.tokens.revoke_grant(family_id=refresh_token.family_id)
            self.server.core.audit("token.context_lost", client_id=refresh_token.client_id,
                                   person=user.person.public_id)
        _refuse_lost_context(user)
        return user

    def revoke_old_credential(self, refresh_token):
        """The old refresh token was marked used in the transaction that stored the new one."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS


class PkceS256(CodeChallenge):
    """PKCE with S256 only; required for public clients, accepted from confidential ones."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if grant.request.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required for public clients: send code_challenge "
                                      "with code_challenge_method=S256", redirect_uri=redirect_uri)
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256", redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.code_challenge_method


class OpenIDConnectCode(OpenIDCode):
    def __init__(self, core, require_nonce=False):
        super().__init__(require_nonce=require_nonce)
        self.core = core

    def exists_nonce(self, nonce, request):
        # Authlib validates an authorization request twice (the consent check, then the response): the
        # database is asked once per request; no code of this request is saved between the two.
        checked = getattr(request, "_idp_nonce_checked", None)
        if checked is not None and checked[0] == nonce:
            return checked[1]
        used = self.core.tokens.nonce_used(request.payload.client_id, nonce)
        request._idp_nonce_checked = (nonce, used)
        return used

    def resolve_client_private_key(self, client):
        return KeySet([self.core.keys.signing_key(self.get_client_algorithm(client))])

    def get_client_algorithm(self, client):
        return client.id_token_signed_response_alg or "RS256"

    def get_encode_header(self, client):
        return {"alg": self.get_client_algorithm(client)}  # kid is set from the chosen key

    def get_client_claims(self, client):
        settings = self.core.settings
        now = int(time.time())
        return {"iss": settings.issuer, "aud": [client.get_client_id()], "iat": now,
                "exp": now + settings.id_token_ttl}

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid
        return claims

    def generate_user_info(self, user: Principal, scope):
        return claims_for(user.person, scope, user.client, self.core.pairwise_salt, user.entity, user.acting)


class PrivateKeyJwt(JWTBearerClientAssertion):
    """private_key_jwt client authentication (OIDC Core 9, RFC 7523)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, core):
        super().__init__()
        self.core = core

    def get_audiences(self):
        issuer = self.core.settings.issuer
        return [issuer, issuer + "/token", issuer + "/device_authorization"]

    def validate_jti(self, claims, jti):
        return self.core.store.add("client_jti", token_hash(f"{claims['sub']}\x00{jti}"), {}, 3600)

    def resolve_client_public_key(self, client):
        return KeySet.import_key_set(client.jwks or {"keys": []})
