"""Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592) on Authlib's endpoints.

POST /register                 with an initial access token an admin issued  -> 201 + client
GET|PUT|DELETE /register/<id>  with the client's registration access token   -> read, replace, delete

Metadata is checked by Authlib's claim classes against the discovery document, then by the same rules
as clients an admin registers (redirect URIs absolute https, http only for loopback, no fragment).
Dynamically registered clients are third-party: people are asked for consent.
"""
from __future__ import annotations

import secrets
from datetime import timezone
from urllib.parse import urlsplit

from authlib.oauth2.claims import BaseClaims
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientMetadataClaims as OAuthClientMetadata
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint, InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint
from authlib.oidc.registration import ClientMetadataClaims as OidcClientMetadata
from flask import Blueprint, current_app, jsonify, request
from joserfc.errors import InvalidClaimError, JoseError
from sqlalchemy import delete, select

from ...clients.models import Client
from ...clients.metadata import (SECRET_METHODS, SUPPORTED_SCOPES, RedirectUriError, client_columns,
                                 validate_redirect_uri, validate_uri)
from ...errors import ValidationError
from ...extensions import db
from ...storage.token_hash import token_hash
from .discovery import provider_metadata
from .models import Consent
from .registration_tokens import (INITIAL, REGISTRATION, claim_initial_use, find_token, new_registration_token,
                                  revoke_registration_tokens)

def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")  # RFC 6749 5.2 error_description


def _bearer(req) -> str | None:
    scheme, _, value = (req.headers.get("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class LogoutMetadata(BaseClaims):
    """OIDC RP-Initiated and Back-Channel Logout metadata, checked with the redirect-URI rules."""

    REGISTERED_CLAIMS = ["post_logout_redirect_uris", "backchannel_logout_uri", "backchannel_logout_session_required"]

    def validate(self, now=None, leeway=0):
        super().validate(now, leeway)
        uris = self.get("post_logout_redirect_uris")
        if uris is not None and (not isinstance(uris, list) or not all(isinstance(u, str) for u in uris)):
            raise InvalidClaimError("post_logout_redirect_uris")
        for key, values in (("post_logout_redirect_uris", uris or []),
                            ("backchannel_logout_uri", [self["backchannel_logout_uri"]]
                             if self.get("backchannel_logout_uri") is not None else [])):
            for uri in values:
                try:
                    validate_uri(uri, key)
                except ValidationError as exc:
                    raise InvalidClaimError(key) from exc
        if not isinstance(self.get("backchannel_logout_session_required", True), bool):
            raise InvalidClaimError("backchannel_logout_session_required")


CLAIMS_CLASSES = [OAuthClientMetadata, OidcClientMetadata, LogoutMetadata]


def _string_list(metadata: dict, key: str) -> list[str] | None:
    value = metadata.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidClientMetadataError(f"{key} must be an array of strings")
    return list(dict.fromkeys(value))


def check_redirect_uris(data: dict) -> None:
    """RFC 7591 3.2.2 names its own error for bad redirect URIs; check them before anything else."""
    uris = data.get("redirect_uris")
    if uris is None:
        return
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise InvalidRedirectURIError("redirect_uris must be an array of URI strings")
    for uri in uris:
        try:
            validate_redirect_uri(uri)
        except ValidationError as exc:
            raise InvalidRedirectURIError(_ascii(str(exc))) from None


def client_fields(metadata: dict) -> dict:
    """Metadata Authlib's claim classes accepted -> Client column values, by the rules every registration
    obeys (``clients.metadata.client_columns``) plus what only this protocol has: third-party clients,
    the scopes a client may ask for itself, response_types, and pairwise subjects from the redirect host."""
    redirect_uris = _string_list(metadata, "redirect_uris") or []
    scope = metadata.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise InvalidClientMetadataError("scope must be a space-separated string")
    if metadata.get("jwks_uri"):
        raise InvalidClientMetadataError("jwks_uri is not supported; register the public keys as jwks")
    if metadata.get("sector_identifier_uri"):
        raise InvalidClientMetadataError("sector_identifier_uri is not supported; pairwise clients use one redirect host")
    sector = None
    if metadata.get("subject_type", "public") == "pairwise":
        hosts = {urlsplit(u).hostname for u in redirect_uris}
        if len(hosts) != 1:
            raise InvalidClientMetadataError("a pairwise client's redirect_uris must share one host")
        sector = hosts.pop()
    elif metadata.get("subject_type", "public") != "public":
        raise InvalidClientMetadataError("subject_type must be public or pairwise")
    name = metadata.get("client_name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidClientMetadataError("client_name must be 1 to 128 characters")
    auth_method = metadata.get("token_endpoint_auth_method") or "client_secret_basic"
    try:
        fields = client_columns(
            name=name, name_required=False, redirect_uris=redirect_uris,
            post_logout_redirect_uris=_string_list(metadata, "post_logout_redirect_uris") or [],
            backchannel_logout_uri=metadata.get("backchannel_logout_uri"),
            scopes=scope.split() if scope else None, grant_types=_string_list(metadata, "grant_types"),
            auth_method=auth_method, jwks=metadata.get("jwks") if auth_method == "private_key_jwt" else None,
            id_token_alg=metadata.get("id_token_signed_response_alg") or "RS256", sector_identifier=sector,
            first_party=False, allowed_scopes=SUPPORTED_SCOPES)
    except RedirectUriError as exc:
        raise InvalidRedirectURIError(_ascii(str(exc))) from None
    except ValidationError as exc:
        raise InvalidClientMetadataError(_ascii(str(exc))) from None
    response_types = _string_list(metadata, "response_types")
    if response_types is not None and sorted(response_types) != fields["response_types"]:
        raise InvalidClientMetadataError(f"response_types must be {fields['response_types']} "
                                         f"for grant_types {fields['grant_types']}")
    return fields


def client_body(client: Client) -> dict:
    created = client.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC
    body = {"client_id": client.client_id, "client_id_issued_at": int(created.timestamp()) if created else None}
    body.update({k: v for k, v in client.client_metadata.items() if v is not None})
    if client.jwks:
        body["jwks"] = client.jwks
    if client.client_secret_hash:
        body["client_secret_expires_at"] = 0
    return body


class _MetadataMixin:
    def get_server_metadata(self):
        return provider_metadata(current_app.extensions["idp"].settings.issuer)

    def extract_client_metadata(self, request):
        data = request.payload.data
        if not isinstance(data, dict) or not data:
            raise InvalidClientMetadataError("the request body must be a JSON object of client metadata")
        check_redirect_uris(data)
        try:
            metadata = super().extract_client_metadata(request)
        except InvalidClientMetadataError as exc:
            raise InvalidClientMetadataError(_ascii(exc.description or "invalid client metadata")) from None
        except (JoseError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidClientMetadataError(_ascii(str(exc) or "invalid client metadata")) from None
        fields = client_fields(metadata)
        request.client_fields = fields
        return metadata

    @staticmethod
    def registration_info(client: Client, token: str) -> dict:
        issuer = current_app.extensions["idp"].settings.issuer
        return {**client_body(client), "registration_access_token": token,
                "registration_client_uri": f"{issuer}/register/{client.client_id}"}


class Registration(_MetadataMixin, ClientRegistrationEndpoint):
    def __init__(self, server=None):
        super().__init__(server, claims_classes=CLAIMS_CLASSES)

    def create_registration_response(self, request):
        status, body, headers = super().create_registration_response(request)
        return status, {k: v for k, v in body.items() if v is not None}, headers

    def authenticate_token(self, request):
        token = find_token(_bearer(request), INITIAL)
        if token is None:
            raise InvalidTokenError("a valid initial access token is required (Authorization: Bearer)")
        return token

    def generate_client_id(self, request):
        return secrets.token_urlsafe(24)

    def generate_client_secret(self, request):
        return None  # decided in save_client, once the authentication method is known

    def save_client(self, client_info, client_metadata, request):
        fields = request.client_fields
        if not claim_initial_use(request.credential):
            db.session.rollback()
            raise InvalidTokenError("the initial access token has been used up")
        secret = secrets.token_urlsafe(32) if fields["token_endpoint_auth_method"] in SECRET_METHODS else None
        client_id = client_info["client_id"]
        client = Client(client_id=client_id, client_secret_hash=token_hash(secret) if secret else None,
                        **{**fields, "name": fields["name"] or client_id})
        db.session.add(client)
        request.registration_token = new_registration_token(client_id)
        request.client_secret = secret
        db.session.commit()
        current_app.extensions["idp"].audit("client.registered", client_id=client_id, via="dynamic_registration",
                                            initial_token_id=request.credential.id, name=client.name)
        return client

    def generate_client_registration_info(self, client, request):
        info = self.registration_info(client, request.registration_token)
        if request.client_secret:
            info["client_secret"] = request.client_secret
        return info


class ClientConfiguration(_MetadataMixin, ClientConfigurationEndpoint):
    def __init__(self, server=None):
        super().__init__(server, claims_classes=CLAIMS_CLASSES)

    def authenticate_token(self, request):
        token = find_token(_bearer(request), REGISTRATION)
        if token is None:
            raise InvalidTokenError("a valid registration access token is required (Authorization: Bearer)")
        return token

    def authenticate_client(self, request):
        client_id = request.uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if not client_id or len(client_id) > 64:
            return None
        return db.session.scalar(select(Client).where(Client.client_id == client_id))

    def revoke_access_token(self, request, token):
        for item in (request, token):  # Authlib has passed these in either order
            if hasattr(item, "kind") and hasattr(item, "revoked"):
                item.revoked = True
        db.session.commit()

    def check_permission(self, client, request):
        return not client.first_party

    def generate_client_registration_info(self, client, request):
        return self.registration_info(client, _bearer(request))

    def introspect_client(self, client):
        return client_body(client)

    def create_update_client_response(self, client, request):
        data = request.payload.data
        if not isinstance(data, dict):
            raise InvalidRequestError("the request body must be a JSON object")
        return super().create_update_client_response(client, request)

    def update_client(self, client, client_metadata, request):
        fields = request.client_fields
        secret = None
        if fields["token_endpoint_auth_method"] in SECRET_METHODS and not client.client_secret_hash:
            secret = secrets.token_urlsafe(32)
            client.client_secret_hash = token_hash(secret)
        elif fields["token_endpoint_auth_method"] not in SECRET_METHODS:
            client.client_secret_hash = None
        for key, value in {**fields, "name": fields["name"] or client.client_id}.items():
            setattr(client, key, value)
        db.session.commit()
        request.client_secret = secret
        current_app.extensions["idp"].audit("client.updated", client_id=client.client_id, via="dynamic_registration")
        return client

    def create_read_client_response(self, client, request):
        status, body, headers = super().create_read_client_response(client, request)
        if getattr(request, "client_secret", None):
            body["client_secret"] = request.client_secret  # a secret newly needed after an update
        return status, body, headers

    def delete_client(self, client, request):
        client_id = client.client_id
        # first, in its own transaction: should the deletion then fail, no token of the client still works
        current_app.extensions["idp"].tokens.revoke_client(client_id)
        db.session.execute(delete(Consent).where(Consent.client_id == client_id))
        revoke_registration_tokens(client_id)
        db.session.delete(client)
        db.session.commit()
        current_app.extensions["idp"].audit("client.deleted", client_id=client_id, via="dynamic_registration")


# --- HTTP -----------------------------------------------------------------------------------------
bp = Blueprint("registration", __name__)


def _json_error(description: str):
    response = jsonify(error="invalid_client_metadata", error_description=description)
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


def _body_problem() -> str | None:
    if not request.is_json:
        return "the request body must be JSON (Content-Type: application/json)"
    if not isinstance(request.get_json(silent=True), dict):
        return "the request body must be a JSON object of client metadata"
    return None


@bp.post("/register")
def register():
    problem = _body_problem() if _bearer(request) else None  # a missing token is reported first (401)
    if problem:
        return _json_error(problem)
    return current_app.extensions["idp"].server.create_endpoint_response(Registration.ENDPOINT_NAME)


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
def configure(client_id):
    if request.method == "PUT" and _bearer(request):
        problem = _body_problem()
        if problem:
            return _json_error(problem)
    return current_app.extensions["idp"].server.create_endpoint_response(ClientConfiguration.ENDPOINT_NAME)
