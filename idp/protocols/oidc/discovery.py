"""OpenID Provider metadata (OIDC Discovery 1.0) and RFC 8414 authorization server metadata."""
from __future__ import annotations

from ...authn.result import ACR_LEVELS
from ...clients.metadata import SUPPORTED_GRANT_TYPES, SUPPORTED_SCOPES


def provider_metadata(issuer: str, *, registration: bool = True) -> dict:
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo",
        "jwks_uri": issuer + "/jwks.json",
        "revocation_endpoint": issuer + "/revoke",
        "introspection_endpoint": issuer + "/introspect",
        "end_session_endpoint": issuer + "/logout",
        "device_authorization_endpoint": issuer + "/device_authorization",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": list(SUPPORTED_GRANT_TYPES),
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                       "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                          "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
                             "name", "email", "phone_number", "id_number", "id_type", "entity",
                             "representations"],
        "acr_values_supported": list(ACR_LEVELS),
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "ui_locales_supported": ["zh-CN", "en"],
    }
    if registration:
        metadata["registration_endpoint"] = issuer + "/register"
    return metadata
