"""Demo PKI: three certificate authorities that put the same citizen's ID in three different places.

* ``demo-gmt0015``  SM2 root, identity in GM/T 0015-2012 extensions (1.2.156.10260.4.1.x)
* ``demo-cn``       RSA root and intermediate, identity in the CN: ``041@0<id>@<name>@<seq>``
* ``demo-serial``   ECDSA P-256 root, identity in subject serialNumber (``SF<id>`` / ``QY<uscc>``)

Each CA issues the demo citizen 张三 (11010519491231002X) a login certificate, an enterprise
certificate (USCC 91350100M000100Y43), a revoked certificate listed on its CRL and certificates
for negative tests (expired, not yet valid, wrong key usage, bad check character, no identity).
A fourth, untrusted CA and a rogue intermediate exist only for negative tests.

``generate(out_dir)`` writes public certificates and CRLs to ``out_dir``, keys and PKCS#12
bundles (password ``demo``) to ``out_dir/private``, trust profiles to ``profiles_dir`` and a
``manifest.json`` describing every certificate.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from . import demo_sm2, der, sm2
from .extractors import GMT0015

CITIZEN_ID = "11010519491231002X"
CITIZEN_NAME = "张三"
BAD_CHECK_ID = "110105194912310021"
COMPANY_USCC = "91350100M000100Y43"
COMPANY_NAME = "福州示例科技有限公司"
PASSWORD = b"demo"
DAY = dt.timedelta(days=1)

KU_SIGN = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
KU_ENCRYPT = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
KU_CA = x509.KeyUsage(True, False, False, False, False, True, True, False, False)


def _name(cn: str, o: str | None = None, serial: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


@dataclass
class Issuer:
    """A CA certificate and its key (``key`` is a cryptography key, or an int for SM2)."""
    cert: x509.Certificate
    key: object
    sm2_point: sm2.Point | None = None
    serial: int = 0x1000
    revoked: list[int] = field(default_factory=list)

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


def _new_key(kind: str):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return sm2.generate_private_key()


def _issue(builder: x509.CertificateBuilder, subject_key, issuer: Issuer | None) -> x509.Certificate:
    """Sign ``builder`` for ``subject_key`` by ``issuer`` (self-signed when ``issuer`` is None)."""
    if isinstance(subject_key, int):
        point = sm2.public_point(subject_key)
        signer, signer_point = (subject_key, point) if issuer is None else (issuer.key, issuer.sm2_point)
        return demo_sm2.sign_certificate(builder, point, signer, signer_point)
    public = subject_key.public_key()
    builder = builder.public_key(public).add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    signer = subject_key if issuer is None else issuer.key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_ca(cn: str, kind: str, now: dt.datetime, parent: Issuer | None = None,
            path_length: int | None = None, key=None) -> Issuer:
    key = key if key is not None else _new_key(kind)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(cn, "Demo PKI"))
               .issuer_name(parent.cert.subject if parent else _name(cn, "Demo PKI"))
               .serial_number(parent.next_serial() if parent else 1)
               .not_valid_before(now - DAY).not_valid_after(now + 3650 * DAY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(KU_CA, critical=True))
    cert = _issue(builder, key, parent)
    return Issuer(cert=cert, key=key, sm2_point=sm2.public_point(key) if isinstance(key, int) else None)


def make_leaf(issuer: Issuer, key, subject: x509.Name, *, now: dt.datetime,
              extensions: list[x509.ExtensionType] = (), ku: x509.KeyUsage = KU_SIGN,
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
              serial: int | None = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.cert.subject)
               .serial_number(serial or issuer.next_serial())
               .not_valid_before(not_before or now - DAY)
               .not_valid_after(not_after or now + 730 * DAY)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(ku, critical=True)
               .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]),
                              critical=False))
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return _issue(builder, key, issuer)


def make_crl(issuer: Issuer, now: dt.datetime, days: int = 365) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
               .last_update(now - DAY).next_update(now + days * DAY)
               .add_extension(x509.CRLNumber(1), critical=False))
    for serial in issuer.revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - DAY).build())
    if issuer.sm2_point is not None:
        return demo_sm2.sign_crl(builder, issuer.key, issuer.sm2_point)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    return builder.sign(issuer.key, hashes.SHA256())


def gmt0015_extensions(id_card: str | None = None, org_code: str | None = None):
    """GM/T 0015 IdentityCode ([0] explicit PrintableString) and OrganizationCode."""
    exts = []
    if id_card is not None:
        value = der.explicit(0, der.encode(0x13, id_card.encode()))
        exts.append(x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{GMT0015}.1"), value))
    if org_code is not None:
        exts.append(x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{GMT0015}.4"),
                                               der.encode(0x13, org_code.encode())))
    return exts


# -- the three styles of identity encoding ---------------------------------------------------

def _subject(style: str, kind: str, number: str | None, name: str):
    """(subject name, extensions) for a person or entity certificate in a CA's style."""
    if style == "gmt0015":
        if kind == "entity":
            return _name(name, o=name), gmt0015_extensions(id_card=CITIZEN_ID, org_code=number)
        return _name(name), gmt0015_extensions(id_card=number)
    if style == "cn":
        if number is None:
            return _name(name), []
        code = "N" if kind == "entity" else "0"
        return _name(f"041@{code}{number}@{name}@00000001", o=name if kind == "entity" else None), []
    if number is None:
        return _name(name), []
    prefix = "QY" if kind == "entity" else "SF"
    return _name(name, o=name if kind == "entity" else None, serial=prefix + number), []


CAS = {
    "demo-gmt0015": {"style": "gmt0015", "key": "sm2", "intermediate": False,
                     "display": "Demo GM/T 0015 CA (SM2)", "amr": ["hwk", "x509"],
                     "acr": "urn:idp:loa:3", "algs": ["sm2"]},
    "demo-cn": {"style": "cn", "key": "rsa", "intermediate": True,
                "display": "Demo CN-pattern CA (RSA, with intermediate)", "amr": ["hwk", "x509"],
                "acr": "urn:idp:loa:3", "algs": ["rsa"]},
    "demo-serial": {"style": "serial", "key": "ec", "intermediate": False,
                    "display": "Demo serialNumber CA (ECDSA P-256)", "amr": ["swk", "x509"],
                    "acr": "urn:idp:loa:2", "algs": ["ecdsa-p256"]},
}

EXTRACTORS = {
    "gmt0015": '[[extractors]]\npreset = "gmt0015_organization_code"\nsubject_kind = "entity"\n\n'
               '[[extractors]]\npreset = "gmt0015_identity_code"\n',
    "cn": '[[extractors]]\npreset = "cn_041"\n',
    "serial": "[[extractors]]\nsource = \"subject:2.5.4.5\"\n"
              "pattern = '^(?P<type>SF|QY)(?P<id>[0-9A-Za-z]+)$'\n"
              'type_codes = { SF = "id_card", QY = "uscc" }\n',
}


class _Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.private = out / "private"

    def public(self, rel: str, data: bytes) -> str:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return rel

    def secret(self, rel: str, data: bytes) -> str:
        path = self.private / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o600)
        return f"private/{rel}"


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    if isinstance(key, int):
        return sm2.private_key_to_pem(key, PASSWORD)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(PASSWORD))


def _save_leaf(w: _Writer, ca: str, role: str, cert, key, chain: list, expected: str) -> dict:
    entry = {"ca": ca, "role": role, "expected": expected,
             "cert": w.public(f"{ca}/users/{role}.pem", _pem(cert)),
             "chain": [f"{ca}/{c}" for c in chain],
             "key": w.secret(f"{ca}/{role}.key.pem", _key_pem(key))}
    if not isinstance(key, int):
        extra = [x509.load_pem_x509_certificate((w.out / c).read_bytes()) for c in entry["chain"]]
        p12 = pkcs12.serialize_key_and_certificates(
            role.encode(), key, cert, extra or None, serialization.BestAvailableEncryption(PASSWORD))
        entry["p12"] = w.secret(f"{ca}/{role}.p12", p12)
    return entry


def _profile_text(ca: str, spec: dict, files: dict, profiles_dir: Path, out: Path) -> str:
    def rel(p: str) -> str:
        return os.path.relpath(out / p, profiles_dir)
    lines = [f'name = "{ca}"', f'display_name = "{spec["display"]}"',
             f"key_algorithms = {json.dumps(spec['algs'])}", f'acr = "{spec["acr"]}"',
             f"amr = {json.dumps(spec['amr'])}", "allow_create = true",
             'sm2_id = "1234567812345678"', "", "[trust]",
             f"roots = {json.dumps([rel(files['root'])])}",
             f"intermediates = {json.dumps([rel(p) for p in files['intermediates']])}", "",
             "[key_usage]", 'required = ["digital_signature"]', 'extended = ["client_auth"]', "",
             "[revocation]", 'mode = "crl"',
             f"crl_urls = {json.dumps([rel(p) for p in files['crls']])}",
             "use_distribution_points = false", "refresh_seconds = 3600",
             "timeout_seconds = 3", "fail_open = false", "", EXTRACTORS[spec["style"]]]
    return "# Generated by `idp certs demo`; demo PKI only, never trust in production.\n" + \
        "\n".join(lines)


def generate(out_dir: str | os.PathLike, profiles_dir: str | os.PathLike | None = None,
             now: dt.datetime | None = None) -> dict:
    """Write the demo PKI; returns the manifest (also written to ``out_dir/manifest.json``)."""
    out = Path(out_dir).resolve()
    profiles = Path(profiles_dir).resolve() if profiles_dir else out / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    w = _Writer(out)
    manifest: dict = {"generated": now.isoformat(), "password": PASSWORD.decode(),
                      "citizen": {"id": CITIZEN_ID, "name": CITIZEN_NAME},
                      "company": {"uscc": COMPANY_USCC, "name": COMPANY_NAME},
                      "cas": {}, "certificates": []}
    for ca, spec in CAS.items():
        root = make_ca(f"{spec['display']} Root", spec["key"], now, path_length=None)
        files = {"root": w.public(f"{ca}/root.pem", _pem(root.cert)), "intermediates": [], "crls": []}
        w.secret(f"{ca}/root.key.pem", _key_pem(root.key))
        issuer, chain = root, []
        if spec["intermediate"]:
            issuer = make_ca(f"{spec['display']} Issuing CA", spec["key"], now, parent=root,
                             path_length=0)
            files["intermediates"].append(w.public(f"{ca}/intermediate.pem", _pem(issuer.cert)))
            w.secret(f"{ca}/intermediate.key.pem", _key_pem(issuer.key))
            chain = ["intermediate.pem"]
            # same name as the real issuing CA, different key, self-signed: trusted by nobody
            rogue = make_ca(f"{spec['display']} Issuing CA", spec["key"], now)
            w.public(f"{ca}/rogue-intermediate.pem", _pem(rogue.cert))
            subject, exts = _subject(spec["style"], "person", CITIZEN_ID, CITIZEN_NAME)
            leaf_key = _new_key(spec["key"])
            cert = make_leaf(rogue, leaf_key, subject, now=now, extensions=exts)
            manifest["certificates"].append(
                _save_leaf(w, ca, "rogue_issued", cert, leaf_key, ["rogue-intermediate.pem"], "untrusted"))
        style = spec["style"]
        key = _new_key(spec["key"])          # one key for the person's certificates
        cases = [
            ("person", "person", CITIZEN_ID, CITIZEN_NAME, {}, "ok"),
            ("entity", "entity", COMPANY_USCC, COMPANY_NAME, {}, "ok"),
            ("revoked", "person", CITIZEN_ID, CITIZEN_NAME, {}, "revoked"),
            ("expired", "person", CITIZEN_ID, CITIZEN_NAME,
             {"not_before": now - 800 * DAY, "not_after": now - 30 * DAY}, "expired"),
            ("not_yet_valid", "person", CITIZEN_ID, CITIZEN_NAME,
             {"not_before": now + 30 * DAY, "not_after": now + 400 * DAY}, "not_yet_valid"),
            ("bad_key_usage", "person", CITIZEN_ID, CITIZEN_NAME, {"ku": KU_ENCRYPT}, "bad_key_usage"),
            ("bad_id_check", "person", BAD_CHECK_ID, CITIZEN_NAME, {}, "bad_id_check"),
            ("no_identity", "person", None, CITIZEN_NAME, {}, "no_identity"),
        ]
        for role, kind, number, name, opts, expected in cases:
            subject, exts = _subject(style, kind, number, name)
            leaf_key = key if role != "entity" else _new_key(spec["key"])
            cert = make_leaf(issuer, leaf_key, subject, now=now, extensions=exts, **opts)
            if role == "revoked":
                issuer.revoked.append(cert.serial_number)
            manifest["certificates"].append(_save_leaf(w, ca, role, cert, leaf_key, chain, expected))
        for who, name in [(root, "root")] + ([(issuer, "intermediate")] if issuer is not root else []):
            crl = make_crl(who, now)
            files["crls"].append(w.public(f"{ca}/{name}.crl",
                                          crl.public_bytes(serialization.Encoding.PEM)))
        profile_path = profiles / f"{ca}.toml"
        profile_path.write_text(_profile_text(ca, spec, files, profiles, out), encoding="utf-8")
        manifest["cas"][ca] = {**files, "profile": str(profile_path), "style": style,
                               "key": spec["key"]}
    # a CA nobody trusts, issuing the citizen a certificate in the GM/T 0015 style
    stranger = make_ca("Untrusted Demo CA", "ec", now)
    w.public("untrusted/root.pem", _pem(stranger.cert))
    subject, exts = _subject("gmt0015", "person", CITIZEN_ID, CITIZEN_NAME)
    leaf_key = _new_key("ec")
    cert = make_leaf(stranger, leaf_key, subject, now=now, extensions=exts)
    manifest["certificates"].append(_save_leaf(w, "untrusted", "person", cert, leaf_key, [], "untrusted"))
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                       encoding="utf-8")
    return manifest
