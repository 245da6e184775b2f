"""A software WebAuthn authenticator for tests: answers ``navigator.credentials.create`` and ``.get``
options the way a platform authenticator would (``none`` attestation, ES256, a discoverable credential
holding the user handle), built from the WebAuthn spec's byte layouts with cryptography and cbor2.

Written here rather than taken from PyPI because the tests need to make it misbehave on purpose: sign for
another RP ID or origin, let its counter go backwards (a clone), withhold user verification.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    def __init__(self, *, user_verification: bool = True, synced: bool = False, counter: int = 0):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_verification, self.synced, self.counter = user_verification, synced, counter
        self.user_handle: bytes | None = None
        self.rp_id: str | None = None

    def _flags(self) -> int:
        flags = UP | (UV if self.user_verification else 0)
        return flags | (BE | BS if self.synced else 0)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def create(self, options: dict, origin: str, *, rp_id: str | None = None) -> dict:
        """The registration answer (``PublicKeyCredential.toJSON()``) to ``options``."""
        self.rp_id = rp_id or options["rp"]["id"]
        self.user_handle = unb64url(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = (hashlib.sha256(self.rp_id.encode()).digest() + bytes([self._flags() | AT])
                     + self.counter.to_bytes(4, "big") + bytes(16) + len(self.credential_id).to_bytes(2, "big")
                     + self.credential_id + self._cose_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "clientExtensionResults": {}, "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                             "transports": ["internal"]}}

    def get(self, options: dict, origin: str, *, rp_id: str | None = None, counter: int | None = None) -> dict:
        """The login answer to ``options``; the counter goes up by one unless ``counter`` is given."""
        self.counter = self.counter + 1 if counter is None else counter
        rp = rp_id or options.get("rpId") or self.rp_id
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([self._flags()]) + self.counter.to_bytes(4, "big")
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "clientExtensionResults": {}, "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(self.user_handle) if self.user_handle else None}}
