"""AES-256-GCM encryption of private keys at rest under the master key."""
from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.exceptions import InvalidTag

from ..errors import ConfigError

_PREFIX = "v1:"


def derive_master_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"idp master key",
                info=b"signing keys at rest").derive(secret_key.encode("utf-8"))


def load_master_key(settings) -> bytes:
    if settings.master_key:
        return settings.master_key
    if settings.master_key_file:
        raw = open(settings.master_key_file, "rb").read().strip()
        try:
            key = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigError(f"IDP_MASTER_KEY_FILE={settings.master_key_file!r} must hold a base64url 32-byte key")
        return key
    return derive_master_key(settings.secret_key)


def seal(master_key: bytes, plaintext: bytes, context: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(master_key).encrypt(nonce, plaintext, context.encode("utf-8"))
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(master_key: bytes, token: str, context: str) -> bytes:
    if not token.startswith(_PREFIX):
        raise ConfigError(f"signing key {context!r} is not sealed in a known format")
    raw = base64.urlsafe_b64decode(token[len(_PREFIX):])
    try:
        return AESGCM(master_key).decrypt(raw[:12], raw[12:], context.encode("utf-8"))
    except InvalidTag:
        raise ConfigError(f"signing key {context!r} cannot be decrypted: wrong master key") from None
