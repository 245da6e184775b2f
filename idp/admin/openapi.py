"""The OpenAPI 3.1 description of the admin API, served at /api/admin/openapi.json."""
from __future__ import annotations

from functools import lru_cache

from flask import current_app

from ..clients.metadata import ADMIN_SCOPE, json_schema
from ..keys.service import SUPPORTED_ALGS
from ..protocols.saml.models import RELEASABLE

CLIENT_METADATA = json_schema()

CLIENT = {
    "type": "object",
    "required": ["client_id", "client_name", "redirect_uris", "grant_types", "scope",
                 "token_endpoint_auth_method", "first_party", "disabled"],
    "properties": {
        "client_id": {"type": "string"},
        "client_secret": {"type": "string", "description": "Only when a secret was just issued; shown once."},
        "client_name": {"type": "string"},
        "redirect_uris": {"type": "array", "items": {"type": "string"}},
        "post_logout_redirect_uris": {"type": "array", "items": {"type": "string"}},
        "backchannel_logout_uri": {"type": ["string", "null"]},
        "backchannel_logout_session_required": {"type": "boolean"},
        "grant_types": {"type": "array", "items": {"type": "string"}},
        "response_types": {"type": "array", "items": {"type": "string"}},
        "scope": {"type": "string"},
        "token_endpoint_auth_method": {"type": "string"},
        "id_token_signed_response_alg": {"type": "string"},
        "subject_type": {"type": "string", "enum": ["public", "pairwise"]},
        "sector_identifier": {"type": ["string", "null"]},
        "jwks": {"type": ["object", "null"]},
        "first_party": {"type": "boolean"},
        "disabled": {"type": "boolean"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

KEY = {
    "type": "object",
    "required": ["kid", "alg", "status", "public_jwk"],
    "properties": {
        "kid": {"type": "string"},
        "alg": {"type": "string", "enum": list(SUPPORTED_ALGS)},
        "status": {"type": "string", "description": "pending, active, previous or retired"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "activated_at": {"type": ["string", "null"], "format": "date-time"},
        "deactivated_at": {"type": ["string", "null"], "format": "date-time"},
        "retired_at": {"type": ["string", "null"], "format": "date-time"},
        "public_jwk": {"type": "object"},
    },
}

_CAS_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 128, "description": "Shown on the login page."},
    "service_url": {"type": "string", "format": "uri", "maxLength": 2048,
                    "description": "https (http only for loopback hosts), no fragment or user information."},
    "match": {"type": "string", "enum": ["exact", "prefix"],
              "description": "prefix: every service URL under this URL (it is stored ending in '/')."},
    "single_logout": {"type": "boolean", "description": "Send SAML logout requests when a session ends."},
    "slo_url": {"type": ["string", "null"], "format": "uri", "maxLength": 2048,
                "description": "Where logout requests go; null: the service URL of the ticket."},
    "release_id_number": {"type": "boolean", "description": "Release the ID number attribute."},
    "disabled": {"type": "boolean"},
}
CAS_SERVICE_CHANGES = {"type": "object", "additionalProperties": False, "properties": _CAS_FIELDS}
NEW_CAS_SERVICE = {**CAS_SERVICE_CHANGES, "required": ["name", "service_url"]}
CAS_SERVICE = {
    "type": "object",
    "required": ["id", "name", "service_url", "match", "single_logout", "slo_url", "release_id_number", "disabled"],
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "service_url": {"type": "string"},
        "match": {"type": "string", "enum": ["exact", "prefix"]}, "single_logout": {"type": "boolean"},
        "slo_url": {"type": ["string", "null"]}, "release_id_number": {"type": "boolean"},
        "disabled": {"type": "boolean"}, "created_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

_SAML_ATTRIBUTES = {"type": "array", "items": {"type": "string", "enum": list(RELEASABLE)}, "uniqueItems": True,
                    "description": "What the SP may receive besides its NameID (id_number only where allowed)."}
_SAML_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 128, "description": "Shown on the login page."},
    "attributes": _SAML_ATTRIBUTES,
    "require_signed_requests": {"type": "boolean",
                                "description": "Refuse unsigned AuthnRequests (always on when the metadata "
                                               "sets AuthnRequestsSigned)."},
    "single_logout": {"type": "boolean", "description": "Send SAML logout requests when a session ends."},
    "encrypt_assertions": {"type": "boolean",
                           "description": "Encrypt assertions with the encryption key of the SP's metadata "
                                          "(refused when the metadata has none)."},
    "idp_initiated": {"type": "boolean",
                      "description": "Allow IdP-initiated login: /saml/idp-initiated?sp=<entityID> sends the SP "
                                     "an unsolicited Response."},
    "disabled": {"type": "boolean"},
}
SAML_PROVIDER_CHANGES = {"type": "object", "additionalProperties": False, "properties": _SAML_FIELDS}
NEW_SAML_PROVIDER = {
    "type": "object", "additionalProperties": False,
    "description": "The SP's metadata (metadata_xml), or the URL to fetch it from (metadata_url): one of them.",
    "properties": {**_SAML_FIELDS, "name": {**_SAML_FIELDS["name"], "type": ["string", "null"],
                                            "description": "Default: the metadata's display name."},
                   "metadata_xml": {"type": "string", "maxLength": 524288,
                                    "description": "An md:EntityDescriptor with an SPSSODescriptor."},
                   "metadata_url": {"type": "string", "format": "uri", "maxLength": 2048,
                                    "description": "https (http only for loopback hosts)."}},
    "oneOf": [{"required": ["metadata_xml"]}, {"required": ["metadata_url"]}],
}
SAML_PROVIDER = {
    "type": "object",
    "required": ["id", "entity_id", "name", "attributes", "require_signed_requests", "single_logout",
                 "encrypt_assertions", "idp_initiated", "disabled"],
    "properties": {
        "id": {"type": "integer"}, "entity_id": {"type": "string"}, "name": {"type": "string"},
        "metadata_url": {"type": ["string", "null"]}, "attributes": {"type": "array", "items": {"type": "string"}},
        "require_signed_requests": {"type": "boolean"}, "single_logout": {"type": "boolean"},
        "encrypt_assertions": {"type": "boolean"}, "idp_initiated": {"type": "boolean"},
        "disabled": {"type": "boolean"}, "created_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

_STATE = {"type": "string", "enum": ["ok", "warning", "expired"],
          "description": "warning: fewer than 30 days left"}
TRUST_STATUS = {
    "type": "object",
    "required": ["profiles", "ca_certificates", "crls", "problems"],
    "properties": {
        "profiles": {"type": "array", "items": {"type": "string"}},
        "ca_certificates": {"type": "array", "items": {
            "type": "object", "required": ["profile", "role", "subject", "not_after", "days_left", "state"],
            "properties": {"profile": {"type": "string"}, "role": {"type": "string", "enum": ["root", "intermediate"]},
                           "subject": {"type": "string"}, "not_after": {"type": "string", "format": "date-time"},
                           "days_left": {"type": "integer"}, "state": _STATE}}},
        "crls": {"type": "array", "items": {
            "type": "object", "required": ["source", "issuer", "next_update", "days_left", "revoked", "state"],
            "properties": {"source": {"type": "string"}, "issuer": {"type": "string"},
                           "next_update": {"type": ["string", "null"], "format": "date-time"},
                           "days_left": {"type": ["integer", "null"]}, "revoked": {"type": "integer"},
                           "state": _STATE}}},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}

AUTHORISATION = {
    "type": "object",
    "required": ["id", "status", "entity", "agent", "roles", "can_authorise", "valid_until"],
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]},
        "entity": {"type": "object", "properties": {"uscc": {"type": "string"}, "name": {"type": "string"}}},
        "agent": {"type": "object", "properties": {"sub": {"type": "string"}, "name": {"type": "string"}}},
        "granted_by": {"type": ["string", "null"]},
        "portals": {"type": ["array", "null"], "items": {"type": "string"},
                    "description": "client ids; null: every portal"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "can_authorise": {"type": "boolean"},
        "valid_until": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "accepted_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _errors(*codes: int) -> dict:
    text = {400: "Bad input (clients: RFC 7591 codes invalid_client_metadata, invalid_redirect_uri; "
                 "otherwise invalid_request)",
            401: "No valid access token (WWW-Authenticate: Bearer)",
            403: "The token lacks the admin scope, or its person is not an administrator",
            404: "No such client, CAS service, SAML service provider or key"}
    return {str(code): _json("Error", text[code]) for code in codes}


def _body(schema_name: str, required: bool = True) -> dict:
    return {"required": required,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


_CLIENT_ID = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_SERVICE_ID = {"name": "service_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
_PROVIDER_ID = {"name": "provider_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
_KID = {"name": "kid", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 64}}


def _list_of(key: str, schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": [key], "properties": {
            key: {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name}"}}}}}}}


def _registry_paths(path: str, key: str, id_param: dict, kind: str, what: str, what_plural: str,
                    create_summary: str) -> dict:
    """List, register, read, change and delete one kind of registered site (``kind``: its schema's name)."""
    return {
        path: {
            "get": {"operationId": f"list{kind}s", "summary": f"List {what_plural}",
                    "responses": {"200": _list_of(key, kind, f"Every {what}"), **_errors(401, 403)}},
            "post": {"operationId": f"create{kind}", "summary": create_summary,
                     "requestBody": _body(f"New{kind}"),
                     "responses": {"201": _json(kind, f"The new {what}"), **_errors(400, 401, 403)}},
        },
        f"{path}/{{{id_param['name']}}}": {
            "parameters": [id_param],
            "get": {"operationId": f"get{kind}", "summary": f"A {what}'s settings",
                    "responses": {"200": _json(kind, f"The {what}"), **_errors(401, 403, 404)}},
            "patch": {"operationId": f"update{kind}",
                      "summary": f"Change some of a {what}'s settings (disabled: true/false disables or enables it)",
                      "requestBody": _body(f"{kind}Changes"),
                      "responses": {"200": _json(kind, f"The updated {what}"), **_errors(400, 401, 403, 404)}},
            "delete": {"operationId": f"delete{kind}", "summary": f"Delete a {what}",
                       "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)}},
        },
    }


def _more_paths() -> dict:
    """CAS services, SAML service providers, key retirement, authorisations and the CA trust status."""
    return {
        **_registry_paths("/api/admin/cas-services", "cas_services", _SERVICE_ID, "CasService", "CAS service",
                          "CAS services", "Register a CAS service"),
        **_registry_paths("/api/admin/saml-providers", "saml_providers", _PROVIDER_ID, "SamlProvider",
                          "SAML service provider", "SAML service providers",
                          "Register a SAML service provider from its metadata (the document, or its URL)"),
        "/api/admin/keys/{kid}/retire": {
            "parameters": [_KID],
            "post": {"operationId": "retireKey",
                     "summary": "Stop publishing a key that does not sign (previous or pending); the active "
                                "key is refused (rotate first)",
                     "responses": {"200": _json("Key", "The retired key"), **_errors(400, 401, 403, 404)}},
        },
        "/api/admin/authorisations": {"get": {
            "operationId": "listAuthorisations", "summary": "Enterprise authorisations of agents",
            "parameters": [{"name": "status", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]}}],
            "responses": {"200": _list_of("authorisations", "Authorisation", "The authorisations"),
                          **_errors(400, 401, 403)}}},
        "/api/admin/authorisations/{authorisation_id}/revoke": {
            "parameters": [{"name": "authorisation_id", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 32}}],
            "post": {"operationId": "revokeAuthorisation",
                     "summary": "Revoke an authorisation: sessions acting under it end (back-channel logout) "
                                "and its tokens are revoked",
                     "responses": {"200": _json("Authorisation", "The revoked authorisation"),
                                   **_errors(401, 403, 404)}}},
        "/api/admin/certificates": {"get": {
            "operationId": "getTrustStatus",
            "summary": "Trusted CA certificates and CRLs with days to expiry",
            "responses": {"200": _json("TrustStatus", "The CA trust status"), **_errors(401, 403)}}},
    }


def _paths() -> dict:
    item = {"parameters": [_CLIENT_ID]}
    return {
        "/api/admin/openapi.json": {"get": {
            "operationId": "getOpenApiDocument", "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(401, 403)}}},
        "/api/admin/clients": {
            "get": {"operationId": "listClients", "summary": "List clients",
                    "responses": {"200": {"description": "Every registered client", "content": {
                        "application/json": {"schema": {"type": "object", "required": ["clients"], "properties": {
                            "clients": {"type": "array", "items": {"$ref": "#/components/schemas/Client"}}}}}}},
                        **_errors(401, 403)}},
            "post": {"operationId": "createClient", "summary": "Register a client",
                     "requestBody": _body("NewClient"),
                     "responses": {"201": _json("Client", "The new client; client_secret is shown only here"),
                                   **_errors(400, 401, 403)}},
        },
        "/api/admin/clients/{client_id}": {
            **item,
            "get": {"operationId": "getClient", "summary": "A client's settings",
                    "responses": {"200": _json("Client", "The client"), **_errors(401, 403, 404)}},
            "patch": {"operationId": "updateClient", "summary": "Change some of a client's settings",
                      "requestBody": _body("ClientMetadata"),
                      "responses": {"200": _json("Client", "The updated client (with client_secret when the "
                                                           "change made the client need one)"),
                                    **_errors(400, 401, 403, 404)}},
            "delete": {"operationId": "deleteClient", "summary": "Delete a client and revoke its tokens",
                       "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)}},
        },
        "/api/admin/clients/{client_id}/reset-secret": {
            **item,
            "post": {"operationId": "resetClientSecret", "summary": "Issue a new client secret (shown once)",
                     "responses": {"200": {"description": "The new secret", "content": {"application/json": {
                         "schema": {"type": "object", "required": ["client_id", "client_secret"], "properties": {
                             "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}},
                         **_errors(400, 401, 403, 404)}},
        },
        "/api/admin/keys": {"get": {
            "operationId": "listKeys", "summary": "Signing keys (without private parts)",
            "responses": {"200": {"description": "Every signing key", "content": {"application/json": {
                "schema": {"type": "object", "required": ["keys"], "properties": {
                    "keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}}}}},
                **_errors(401, 403)}}},
        "/api/admin/keys/rotate": {"post": {
            "operationId": "rotateKeys", "summary": "Create new signing keys (one algorithm or all)",
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False,
                "properties": {"alg": {"type": "string", "enum": list(SUPPORTED_ALGS)}}}}}},
            "responses": {"201": {"description": "The keys created", "content": {"application/json": {
                "schema": {"type": "object", "required": ["keys"], "properties": {
                    "keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}}}}},
                **_errors(400, 401, 403)}}},
        **_more_paths(),
    }


def _with_request_errors(paths: dict) -> dict:
    """Any operation may be refused by the request guard (idp/http/request_guard.py) before it runs: 400
    for a malformed request (control characters, bad Host...), 413 for a JSON body over 64 KiB."""
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("400", _json("Error", "Malformed request (invalid_request)"))
                if "requestBody" in operation:
                    operation["responses"].setdefault("413", _json("Error", "The JSON body is too large"))
    return paths


@lru_cache(maxsize=8)
def _document(issuer: str) -> dict:
    new_client = {**CLIENT_METADATA, "required": ["client_name"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "idp admin API", "version": "1.0.0",
                 "description": "Manage OIDC clients, CAS services, SAML service providers and signing keys; read the CA trust "
                                "status. Authenticate with an access token "
                                "carrying the 'admin' scope (client_credentials of a client registered with "
                                "that scope). Every change is written to the audit log."},
        "servers": [{"url": issuer}],
        "security": [{"bearer": [ADMIN_SCOPE]}],
        "paths": _with_request_errors(_paths()),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "RFC 9068 access token with the admin scope"}},
            "schemas": {"ClientMetadata": CLIENT_METADATA, "NewClient": new_client, "Client": CLIENT,
                        "Key": KEY, "CasService": CAS_SERVICE, "NewCasService": NEW_CAS_SERVICE,
                        "CasServiceChanges": CAS_SERVICE_CHANGES, "TrustStatus": TRUST_STATUS, "Error": ERROR,
                        "Authorisation": AUTHORISATION, "SamlProvider": SAML_PROVIDER,
                        "NewSamlProvider": NEW_SAML_PROVIDER, "SamlProviderChanges": SAML_PROVIDER_CHANGES},
        },
    }



def openapi_document() -> dict:
    return _document(current_app.extensions["idp"].settings.issuer)
