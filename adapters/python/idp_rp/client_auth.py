"""Client authentication at the token endpoint: client_secret_basic, client_secret_post, private_key_jwt."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from typing import Any
from urllib.parse import quote

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key

from .config import RPConfig
from .errors import ConfigurationError

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def load_private_key(value: Any, alg: str) -> Key:
    """A joserfc key from PEM text/bytes, a path to a PEM or JWK file, a JWK dict or JSON, or a joserfc key."""
    if isinstance(value, (RSAKey, ECKey, OKPKey)):
        return value
    if isinstance(value, str) and not value.lstrip().startswith(("-----", "{")) and os.path.exists(value):
        with open(value, "rb") as fh:
            value = fh.read()
    if isinstance(value, bytes):
        value = value.decode("ascii")
    try:
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)
        if isinstance(value, dict):
            return import_key(value)
        key_cls = {"RS": RSAKey, "PS": RSAKey, "ES": ECKey, "Ed": OKPKey}.get(alg[:2])
        if key_cls is None:
            raise ConfigurationError(f"private_key_alg {alg!r} is not supported")
        return key_cls.import_key(value)
    except (JoseError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"private_key could not be loaded: {exc}") from exc


class ClientAuthenticator:
    """Adds client credentials to a token-endpoint request."""

    def __init__(self, config: RPConfig):
        self.config = config
        self.method = config.auth_method
        self._key = load_private_key(config.private_key, config.private_key_alg) if self.method == "private_key_jwt" else None
        if self._key is not None and not self._key.is_private:
            raise ConfigurationError("private_key must contain the private part of the key")

    def apply(self, form: dict[str, str], headers: dict[str, str], token_endpoint: str) -> None:
        cfg = self.config
        if self.method == "client_secret_basic":
            # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
            raw = f"{quote(cfg.client_id, safe='')}:{quote(cfg.client_secret or '', safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode("ascii")
        elif self.method == "client_secret_post":
            form["client_id"] = cfg.client_id
            form["client_secret"] = cfg.client_secret or ""
        else:
            form["client_id"] = cfg.client_id
            form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            form["client_assertion"] = self.assertion(token_endpoint)

    def assertion(self, audience: str) -> str:
        assert self._key is not None
        now = int(time.time())
        header = {"alg": self.config.private_key_alg}
        kid = self.config.private_key_id or self._key.kid
        if kid:
            header["kid"] = kid
        claims = {
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + 60,
        }
        return jwt.encode(header, claims, self._key, algorithms=[self.config.private_key_alg])
