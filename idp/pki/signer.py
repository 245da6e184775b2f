"""``idp-sign``: sign a login challenge with a certificate's private key, print JSON.

    idp-sign --p12 zhangsan.p12 --challenge "$CHALLENGE"
    echo -n "$CHALLENGE" | idp-sign --key user.key.pem --cert user.pem --chain ca.pem --password-file pw.txt

The password of an encrypted bundle or key is asked for at the terminal (not shown), or read from the
first line of --password-file; never an argument, which the shell history and every process listing
would keep.

Output: {"certificate": PEM, "chain": [PEM...], "signature": base64, "algorithm": "RS256|ES256|SM2-SM3"}
"""
from __future__ import annotations

import argparse
import base64
import getpass
import json
import sys
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from . import sm2
from .loading import spki_of
from .signatures import challenge_algorithm


class SignerError(Exception):
    pass


class PasswordNeeded(SignerError):
    """The bundle or key could not be read without a password (it is encrypted, or not a bundle)."""


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _load_key(data: bytes, password: bytes | None):
    try:
        return serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as first:
        try:
            return sm2.private_key_from_pem(data, password)
        except sm2.SM2Error:
            error = PasswordNeeded if password is None else SignerError
            raise error(f"cannot read the private key: {first}") from None


def sign_challenge(challenge: bytes, *, p12: bytes | None = None, key: bytes | None = None,
                   cert: bytes | None = None, chain: list[bytes] = (),
                   password: str | bytes | None = None, sm2_id: bytes = sm2.DEFAULT_ID) -> dict:
    """Sign ``challenge`` with a PKCS#12 bundle or a PEM key and certificate."""
    pw = password.encode() if isinstance(password, str) else password
    extra: list[x509.Certificate] = []
    try:
        if p12 is not None:
            private, certificate, extra = pkcs12.load_key_and_certificates(p12, pw)
            extra = list(extra or [])
            if private is None or certificate is None:
                raise SignerError("the PKCS#12 bundle holds no key and certificate")
        else:
            if key is None or cert is None:
                raise SignerError("give either a PKCS#12 bundle or both a key and a certificate")
            private = _load_key(key, pw)
            certificate = x509.load_pem_x509_certificate(cert)
        for item in chain:
            extra.extend(x509.load_pem_x509_certificates(item))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        error = PasswordNeeded if pw is None else SignerError
        raise error(f"cannot read the key or certificates: {exc}") from None
    algorithm = challenge_algorithm(certificate)
    if isinstance(private, int):
        if algorithm != "SM2-SM3" or sm2.public_point(private) != sm2.point_from_spki(
                spki_of(certificate)):
            raise SignerError("the private key does not belong to the certificate")
        signature = sm2.sign(private, challenge, sm2_id)
    elif isinstance(private, rsa.RSAPrivateKey) and algorithm == "RS256":
        signature = private.sign(challenge, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(private, ec.EllipticCurvePrivateKey) and algorithm == "ES256":
        signature = private.sign(challenge, ec.ECDSA(hashes.SHA256()))
    else:
        raise SignerError("the private key does not match the certificate's key type")
    if not isinstance(private, int) and private.public_key().public_numbers() != \
            certificate.public_key().public_numbers():
        raise SignerError("the private key does not belong to the certificate")
    return {"certificate": _pem(certificate), "chain": [_pem(c) for c in extra],
            "signature": base64.b64encode(signature).decode(), "algorithm": algorithm}


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SignerError(f"cannot read {path}: {exc.strerror}") from None


def _first_line(path: str) -> str:
    lines = _read(path).decode("utf-8", errors="strict").splitlines()
    if not lines or not lines[0]:
        raise SignerError(f"the password file {path} is empty")
    return lines[0]


def _ask_password() -> str:
    """Asked at the terminal without echo (getpass reads /dev/tty, so a challenge on stdin stays apart)."""
    try:
        password = getpass.getpass("password of the bundle or key: ")
    except (EOFError, KeyboardInterrupt):
        raise SignerError("the bundle or key is encrypted: type its password, or give --password-file") from None
    if not password:
        raise SignerError("the password is empty")
    return password


def main(argv: list[str] | None = None) -> int:
    # no abbreviations: "--password SECRET" must be refused, not taken for --password-file
    parser = argparse.ArgumentParser(prog="idp-sign", description="Sign a login challenge.", allow_abbrev=False)
    parser.add_argument("--p12", help="PKCS#12 bundle with key, certificate and chain")
    parser.add_argument("--key", help="PEM private key (PKCS#8; SM2 keys need tongsuopy)")
    parser.add_argument("--cert", help="PEM certificate for --key")
    parser.add_argument("--chain", action="append", default=[], help="PEM chain file (repeatable)")
    parser.add_argument("--password-file", help="file whose first line is the password of the bundle or key "
                                                "(without it, an encrypted one's password is asked for)")
    parser.add_argument("--challenge", help="challenge text; '-' or absent reads stdin")
    parser.add_argument("--sm2-id", default=sm2.DEFAULT_ID.decode(), help="SM2 distinguishing ID")
    args = parser.parse_args(argv)
    try:
        if args.challenge is None or args.challenge == "-":
            challenge = sys.stdin.buffer.read()
        else:
            challenge = args.challenge.encode()
        if not challenge:
            raise SignerError("the challenge is empty")
        material = dict(p12=_read(args.p12) if args.p12 else None, key=_read(args.key) if args.key else None,
                        cert=_read(args.cert) if args.cert else None, chain=[_read(p) for p in args.chain],
                        sm2_id=args.sm2_id.encode())
        password = _first_line(args.password_file) if args.password_file else None
        try:
            result = sign_challenge(challenge, password=password, **material)
        except PasswordNeeded:
            if args.password_file:
                raise
            result = sign_challenge(challenge, password=_ask_password(), **material)
    except SignerError as exc:
        print(f"idp-sign: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for anything unexpected, no traceback
        print(f"idp-sign: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
