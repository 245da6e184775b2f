"""The pysaml2 identity provider of this server: its configuration (endpoints, signing key, the
registered service providers' metadata), built once and rebuilt when a key or a registration changes."""
from __future__ import annotations

import shutil
import threading

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_UNSPECIFIED
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from .attributes import converters
from .providers import enabled_providers
from .signing_keys import active_key

NAME_ID_FORMATS = (NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_UNSPECIFIED)
CLOCK_SKEW = 60  # seconds of clock difference tolerated with a service provider
ASSERTION_MINUTES = 5
XMLSEC = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"

_lock = threading.Lock()
_cache: dict = {}


def entity_id(settings) -> str:
    return settings.issuer + "/saml/metadata"


def endpoints(settings) -> dict:
    base = settings.issuer + "/saml"
    return {"single_sign_on_service": [(base + "/sso", BINDING_HTTP_REDIRECT), (base + "/sso", BINDING_HTTP_POST)],
            "single_logout_service": [(base + "/slo", BINDING_HTTP_REDIRECT), (base + "/slo", BINDING_HTTP_POST)]}


def _config(settings, key, providers, strict: bool) -> IdPConfig:
    config = IdPConfig()
    config.load({
        "entityid": entity_id(settings),
        "service": {"idp": {
            "name": settings.issuer,
            "endpoints": endpoints(settings),
            "name_id_format": list(NAME_ID_FORMATS),
            # Per service provider: a request is checked strictly when its SP requires signed requests
            # or when it carries a signature (see requests.parse_request).
            "want_authn_requests_signed": strict,
            "sign_response": True,
            "sign_assertion": True,
            "policy": {"default": {"lifetime": {"minutes": ASSERTION_MINUTES}, "attribute_restrictions": None,
                                   "name_form": NAME_FORMAT_URI, "fail_on_missing_requested": False}},
        }},
        "key_file": key.key_file,
        "cert_file": key.cert_file,
        "xmlsec_binary": XMLSEC,
        "accepted_time_diff": CLOCK_SKEW,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "metadata": {"inline": [p.metadata_xml for p in providers]},
    })
    config.attribute_converters = converters()
    return config


def saml_server(core, *, strict: bool = False) -> Server:
    """The identity provider, lax (signatures checked when present) or strict (a signature required)."""
    settings = core.settings
    key = active_key(settings)
    providers = enabled_providers()
    fingerprint = (key.kid, key.published, tuple((p.id, p.updated_at, p.metadata_xml) for p in providers))
    with _lock:
        cached = _cache.get((id(core), strict))
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    server = Server(config=_config(settings, key, providers, strict))
    with _lock:
        _cache[(id(core), strict)] = (fingerprint, server)
    return server
