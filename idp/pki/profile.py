"""Trust profiles: one TOML file per certificate authority, in ``certs/profiles/``.

A profile names the CA's trust anchors, the key algorithms and key usages it must use, how to find
the identity in its certificates, what a successful login is worth (acr/amr), how revocation is
checked, and whether a first login may create the person. See ``certs/profiles/README.md``.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from .errors import ProfileError
from .extractors import Extractor
from .loading import load_pem_bundle
from .sm2 import DEFAULT_ID

KEY_ALGORITHMS = {"rsa", "ecdsa-p256", "sm2"}
KEY_USAGES = {"digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement"}
EKU_NAMES = {"client_auth": "1.3.6.1.5.5.7.3.2", "email_protection": "1.3.6.1.5.5.7.3.4",
             "code_signing": "1.3.6.1.5.5.7.3.3", "server_auth": "1.3.6.1.5.5.7.3.1"}
REVOCATION_MODES = {"crl", "ocsp", "none"}


@dataclass(frozen=True)
class RevocationConfig:
    mode: str = "crl"
    crl_urls: tuple[str, ...] = ()          # http(s) URLs or file paths (resolved)
    use_distribution_points: bool = True
    ocsp_url: str | None = None
    use_aia: bool = True
    refresh_seconds: int = 3600
    timeout_seconds: float = 3.0
    fail_open: bool = False


@dataclass(frozen=True)
class TrustProfile:
    name: str
    display_name: str
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    key_algorithms: frozenset[str]
    extractors: tuple[Extractor, ...]
    acr: str
    amr: tuple[str, ...]
    revocation: RevocationConfig
    allow_create: bool = False
    sm2_id: bytes = DEFAULT_ID
    key_usage: frozenset[str] = frozenset({"digital_signature"})
    extended_key_usage: frozenset[str] = frozenset()
    max_chain_depth: int = 4
    source: Path | None = None
    watched: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @property
    def anchors(self) -> tuple[x509.Certificate, ...]:
        return self.roots + self.intermediates


def _read_anchor_list(items, base: Path, what: str, watched: list) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for item in items:
        if not isinstance(item, str):
            raise ProfileError(f"{what}: entries must be strings (a path or inline PEM)")
        if "-----BEGIN" in item:
            data = item.encode()
        else:
            path = (base / item).resolve()
            try:
                data = path.read_bytes()
                watched.append((str(path), path.stat().st_mtime))
            except OSError as exc:
                raise ProfileError(f"{what}: cannot read {path}: {exc.strerror}") from None
        try:
            certs.extend(load_pem_bundle(data))
        except Exception as exc:  # noqa: BLE001 - any parse failure is a profile error
            raise ProfileError(f"{what}: {item[:60]!r} is not a PEM certificate: {exc}") from None
    return certs


def parse_profile(raw: dict, *, base: Path, source: Path | None = None) -> TrustProfile:
    """Build a profile from a parsed TOML document. Reports every problem at once."""
    problems: list[str] = []
    watched: list[tuple[str, float]] = []
    if source is not None:
        watched.append((str(source), source.stat().st_mtime))
    name = raw.get("name") or (source.stem if source else "")
    if not name:
        problems.append("name is required")
    trust = raw.get("trust", {})
    roots, inter = [], []
    try:
        roots = _read_anchor_list(trust.get("roots", []), base, "trust.roots", watched)
        inter = _read_anchor_list(trust.get("intermediates", []), base, "trust.intermediates", watched)
    except ProfileError as exc:
        problems.append(str(exc))
    if not roots and not problems:
        problems.append("trust.roots must name at least one root certificate")
    algs = frozenset(raw.get("key_algorithms", ["rsa", "ecdsa-p256"]))
    if algs - KEY_ALGORITHMS:
        problems.append(f"key_algorithms: unknown {sorted(algs - KEY_ALGORITHMS)}")
    extractors = []
    for i, ex in enumerate(raw.get("extractors", [])):
        try:
            extractors.append(Extractor.from_config(ex))
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"extractors[{i}]: {exc}")
    if not raw.get("extractors"):
        problems.append("at least one extractor is required")
    ku = raw.get("key_usage", {})
    usages = frozenset(ku.get("required", ["digital_signature"]))
    if usages - KEY_USAGES:
        problems.append(f"key_usage.required: unknown {sorted(usages - KEY_USAGES)}")
    ekus = frozenset(EKU_NAMES.get(e, e) for e in ku.get("extended", []))
    for e in ekus:
        if not all(p.isdigit() for p in e.split(".")):
            problems.append(f"key_usage.extended: {e!r} is neither a known name nor an OID")
    rev = raw.get("revocation", {})
    mode = rev.get("mode", "crl")
    if mode not in REVOCATION_MODES:
        problems.append(f"revocation.mode must be one of {sorted(REVOCATION_MODES)}")
    crl_urls = tuple(u if "://" in u else str((base / u).resolve()) for u in rev.get("crl_urls", []))
    amr = tuple(raw.get("amr", ["swk", "x509"]))
    sm2_id = raw.get("sm2_id", DEFAULT_ID.decode())
    if problems:
        where = f" in {source}" if source else ""
        raise ProfileError(f"trust profile {name or '?'}{where}: " + "; ".join(problems))
    return TrustProfile(
        name=name, display_name=raw.get("display_name", name), roots=tuple(roots),
        intermediates=tuple(inter), key_algorithms=algs, extractors=tuple(extractors),
        acr=raw.get("acr", "urn:idp:loa:2"), amr=amr,
        revocation=RevocationConfig(
            mode=mode, crl_urls=crl_urls,
            use_distribution_points=bool(rev.get("use_distribution_points", True)),
            ocsp_url=rev.get("ocsp_url") or None, use_aia=bool(rev.get("use_aia", True)),
            refresh_seconds=int(rev.get("refresh_seconds", 3600)),
            timeout_seconds=float(rev.get("timeout_seconds", 3.0)),
            fail_open=bool(rev.get("fail_open", False))),
        allow_create=bool(raw.get("allow_create", False)),
        sm2_id=sm2_id.encode() if isinstance(sm2_id, str) else bytes(sm2_id),
        key_usage=usages, extended_key_usage=ekus,
        max_chain_depth=int(raw.get("max_chain_depth", 4)), source=source,
        watched=tuple(watched))


def load_profile(path: str | os.PathLike) -> TrustProfile:
    path = Path(path).resolve()
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ProfileError(f"cannot read trust profile {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"trust profile {path} is not valid TOML: {exc}") from None
    return parse_profile(raw, base=path.parent, source=path)


def is_stale(profile: TrustProfile) -> bool:
    """True if the profile file or one of its anchor files changed on disk."""
    for name, mtime in profile.watched:
        try:
            if os.stat(name).st_mtime != mtime:
                return True
        except OSError:
            return True
    return False
