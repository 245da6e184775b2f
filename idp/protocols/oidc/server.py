"""The Authlib AuthorizationServer wired to the identity core."""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from ...clients.service import find_client
from ...identity.claims import claims_for, subject_for
from ...storage.tokens import StoredToken
from ...http.headers import add_missing
from .device_grant import DeviceAuthorization, DeviceCodeGrant, DeviceIdToken
from .grants import (ALL_AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS, AuthorizationCodeGrant, ClientCredentialsGrant,
                     OpenIDConnectCode, PkceS256, PrivateKeyJwt, RefreshTokenGrant, _principal)
from .response_modes import error_response
from .tokens import AccessTokenGenerator, save_token


class StoredRequest(OAuth2Request):
    """An authorization request replayed from its saved parameters after the login page."""

    def __init__(self, uri: str, params: dict):
        super().__init__("GET", uri, headers={})
        self.payload = BasicOAuth2Payload(params)

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return {}


class TokenRequest(FlaskOAuth2Request):
    """A token endpoint request. Authlib reads its URL only to check the scheme
    (https unless insecure transport is allowed); Werkzeug's ``request.url`` re-encodes the whole URL
    as an IRI on every request, so the URL is put together from its parts instead."""

    def __init__(self, request):
        request = getattr(request, "_get_current_object", lambda: request)()  # one context lookup, not five
        OAuth2Request.__init__(self, request.method, f"{request.scheme}://{request.host}{request.path}",
                               headers=request.headers)
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


_NO_STORE = (("Cache-Control", "no-store"),)


class IdpAuthorizationServer(AuthorizationServer):
    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)

    def handle_response(self, status_code, payload, headers):
        response = super().handle_response(status_code, payload, headers)
        add_missing(response.headers, _NO_STORE)
        return response

    def handle_error_response(self, request, error):
        if error.redirect_uri and request is not None:  # an authorization request's error, to the client
            return self.handle_response(*error_response(error, request.payload.data))
        return super().handle_error_response(request, error)


class TokenRef:
    """A stored token seen as either its access or its refresh half."""

    def __init__(self, row: StoredToken, kind: str):
        self.row, self.kind = row, kind

    def check_client(self, client):
        return self.row.check_client(client)

    def get_scope(self):
        return self.row.scope

    @property
    def scope(self):
        return self.row.scope

    def is_expired(self):
        if self.kind == "refresh_token":
            return self.row.refresh_expired()
        return self.row.is_expired()

    def is_revoked(self):
        if self.kind == "refresh_token":
            return self.row.revoked or self.row.refresh_used
        return self.row.is_revoked()

    def get_client(self):
        return find_client(self.row.client_id)

    def get_user(self):
        row = self.row
        if not row.person_id:
            return None
        return _principal(row.person, self.get_client(), auth_time=row.auth_time, acr=row.acr,
                          amr=row.amr, sid=row.sid, entity_id=row.entity_id)


def _query_token(tokens, token_string, hint):
    if not isinstance(token_string, str) or not token_string or len(token_string) > 4096:
        return None
    order = ("refresh_token", "access_token") if hint == "refresh_token" else ("access_token", "refresh_token")
    for kind in order:
        row = tokens.find_token(token_string, kind)
        if row is not None:
            return TokenRef(row, kind)
    return None


class UnsupportedTokenType(OAuth2Error):
    error = "unsupported_token_type"
    status_code = 400  # RFC 7009 2.2.1 uses the RFC 6749 5.2 error response


def _check_token_params(request, supported):
    if not request.form.get("token"):
        raise InvalidRequestError("Missing 'token' parameter.")
    hint = request.form.get("token_type_hint")
    if hint and hint not in supported:
        raise UnsupportedTokenType(f"token_type_hint must be one of {', '.join(supported)}")


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS

    def check_params(self, request, client):
        _check_token_params(request, self.SUPPORTED_TOKEN_TYPES)

    def query_token(self, token_string, token_type_hint):
        return _query_token(self.server.core.tokens, token_string, token_type_hint)

    def revoke_token(self, token, request):
        core = self.server.core
        if token.kind == "refresh_token":
            core.tokens.revoke_grant(family_id=token.row.family_id)  # RFC 7009 2.1: its access tokens too
        else:
            core.tokens.revoke_access(token.row.id)
        core.audit("token.revoked", client_id=token.row.client_id, person_id=token.row.person_id,
                   kind=token.kind)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def check_params(self, request, client):
        _check_token_params(request, self.SUPPORTED_TOKEN_TYPES)

    def query_token(self, token_string, token_type_hint):
        return _query_token(self.server.core.tokens, token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return token.check_client(client)

    def introspect_token(self, token: TokenRef):
        core = current_app.extensions["idp"]
        row = token.row
        client = token.get_client()
        payload = {
            "active": True,
            "client_id": row.client_id,
            "scope": row.scope,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "iss": core.settings.issuer,
            "iat": int(row.issued_at),
            "exp": int(row.access_expires_at if token.kind == "access_token" else row.refresh_expires_at),
            "aud": row.client_id,
        }
        if row.person_id:
            user = token.get_user()
            if user is None:
                return {"active": False}
            payload["sub"] = subject_for(user.person.public_id, client, core.pairwise_salt)
            if row.acr:
                payload["acr"] = row.acr
        else:
            payload["sub"] = row.client_id
        return payload


class JwtAccessTokenValidator(BearerTokenValidator):
    """Verifies the JWT access token's signature and checks the stored record (revocation)."""

    def authenticate_token(self, token_string):
        if not token_string or len(token_string) > 8192:
            return None
        core = current_app.extensions["idp"]
        try:
            decoded = jwt.decode(token_string, core.keys.public_key_set())
        except (JoseError, ValueError):
            return None
        if decoded.header.get("typ") != "at+jwt" or decoded.claims.get("iss") != core.settings.issuer:
            return None
        row = core.tokens.find_token(token_string, "access_token")
        return TokenRef(row, "access_token") if row is not None else None


class UserInfo(UserInfoEndpoint):
    def generate_user_info(self, user, scope):
        if user is None:  # a client credentials token: there is no end user to describe (RFC 6750 3.1)
            raise InvalidTokenError("the access token was not issued for an end user")
        core = current_app.extensions["idp"]
        return claims_for(user.person, scope, user.client, core.pairwise_salt, user.entity, user.acting)

    def get_issuer(self):
        return current_app.extensions["idp"].settings.issuer

    def resolve_private_key(self):
        from joserfc.jwk import KeySet
        return KeySet([current_app.extensions["idp"].keys.signing_key("RS256")])


class EndSession(EndSessionEndpoint):
    def get_server_jwks(self):
        return current_app.extensions["idp"].keys.public_key_set()

    def resolve_client_from_id_token_claims(self, id_token_claims):
        aud = id_token_claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else list(aud or [])
        client_id = id_token_claims.get("azp") or (audiences[0] if len(audiences) == 1 else None)
        return find_client(client_id) if isinstance(client_id, str) else None

    def end_session(self, end_session_request):
        from ...sessions.browser import end_current_session
        end_current_session()


def create_authorization_server(app) -> IdpAuthorizationServer:
    core = app.extensions["idp"]
    server = IdpAuthorizationServer()
    server.core = core  # what grants and endpoints reach the app's services through
    server.init_app(app, query_client=find_client, save_token=lambda token, request: save_token(core, token, request))
    server.register_token_generator("default", AccessTokenGenerator(core))
    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt(core))
    server.register_grant(AuthorizationCodeGrant,
                          [PkceS256(required=True), OpenIDConnectCode(core, require_nonce=False)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DeviceCodeGrant, [DeviceIdToken(core)])
    server.register_endpoint(DeviceAuthorization)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    protector = ResourceProtector()
    protector.register_token_validator(JwtAccessTokenValidator())
    server.register_endpoint(UserInfo(resource_protector=protector))
    server.register_endpoint(EndSession)
    if core.settings.registration_enabled:
        from .registration import ClientConfiguration, Registration
        server.register_endpoint(Registration)
        server.register_endpoint(ClientConfiguration)
    server.scopes_supported = None
    return server
