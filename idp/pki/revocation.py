"""Revocation checking with caches that keep the network out of the login path.

CRLs are cached per source (URL or file) and OCSP answers per (issuer, serial). A cached entry
older than the profile's ``refresh_seconds`` is still served while it is within its own
``nextUpdate`` and a refresh runs in the background; only a cold cache fetches inline (bounded
by ``timeout_seconds``). A CRL or OCSP response whose signature does not verify is never used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from . import ocsp
from .errors import CertificateRevoked, RevocationUnknown
from .fetch import FetchError, fetch
from .profile import TrustProfile
from .signatures import verify_by

log = logging.getLogger(__name__)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@dataclass
class CrlEntry:
    crl: x509.CertificateRevocationList
    fetched: float
    revoked: frozenset[int]
    verified_by: set[str] = field(default_factory=set)   # issuer fingerprints that verified it


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    crl = (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----")
           else x509.load_der_x509_crl(data))
    crl.issuer, crl.last_update_utc, crl.next_update_utc   # force lazy parsing errors now
    return crl


def crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate,
                  sm2_id: bytes) -> bool:
    if crl.issuer != issuer.subject:
        return False
    try:
        ku = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.crl_sign:
            return False
    except x509.ExtensionNotFound:
        pass
    try:
        hash_alg = crl.signature_hash_algorithm
    except UnsupportedAlgorithm:   # SM3
        hash_alg = None
    return verify_by(issuer, crl.signature, crl.tbs_certlist_bytes,
                     algorithm_oid=crl.signature_algorithm_oid.dotted_string,
                     hash_algorithm=hash_alg, sm2_id=sm2_id)


def crl_sources(cert: x509.Certificate, profile: TrustProfile) -> list[str]:
    sources = list(profile.revocation.crl_urls)
    if profile.revocation.use_distribution_points:
        try:
            dps = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except (x509.ExtensionNotFound, ValueError):
            dps = []
        for dp in dps:
            for name in dp.full_name or []:
                if isinstance(name, x509.UniformResourceIdentifier) and \
                        name.value.startswith(("http://", "https://")) and name.value not in sources:
                    sources.append(name.value)
    return sources


class RevocationChecker:
    def __init__(self, fetcher=fetch, clock=time.monotonic, background: bool = True) -> None:
        self.fetcher = fetcher
        self.clock = clock
        self.background = background
        self._crls: dict[str, CrlEntry] = {}
        self._ocsp: dict[tuple[str, int], ocsp.OcspAnswer] = {}
        self._lock = threading.Lock()
        self._inflight: set = set()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pki-revocation")

    # -- public ---------------------------------------------------------------------------
    def check_path(self, path: list[x509.Certificate], profile: TrustProfile,
                   now: dt.datetime) -> None:
        """Check every certificate in ``path`` except the trust anchor at its end."""
        if profile.revocation.mode == "none":
            return
        for cert, issuer in zip(path, path[1:]):
            try:
                if profile.revocation.mode == "crl":
                    self._check_crl(cert, issuer, profile, now)
                else:
                    self._check_ocsp(cert, issuer, profile, now)
            except RevocationUnknown as exc:
                if not profile.revocation.fail_open:
                    raise
                log.warning("revocation status unknown, accepted (fail_open) for %s: %s",
                            cert.subject.rfc4514_string(), exc.detail)

    def warm(self, profile: TrustProfile, now: dt.datetime | None = None, *,
             missing_only: bool = False) -> list[str]:
        """Load the profile's configured CRLs now (at start-up, on a schedule), or with ``missing_only``
        only those not cached yet. Returns the problems found; a failed load keeps the cached CRL."""
        problems = []
        for source in profile.revocation.crl_urls:
            if missing_only:
                with self._lock:
                    if source in self._crls:
                        continue
            try:
                self._load_crl(source, profile)
            except (FetchError, ValueError) as exc:
                problems.append(str(exc))
        return problems

    def cached_crls(self) -> dict[str, x509.CertificateRevocationList]:
        with self._lock:
            return {k: v.crl for k, v in self._crls.items()}

    def clear(self) -> None:
        with self._lock:
            self._crls.clear()
            self._ocsp.clear()

    # -- CRL ------------------------------------------------------------------------------
    def _load_crl(self, source: str, profile: TrustProfile) -> CrlEntry:
        data = self.fetcher(source, timeout=profile.revocation.timeout_seconds)
        crl = parse_crl(data)
        entry = CrlEntry(crl=crl, fetched=self.clock(),
                         revoked=frozenset(r.serial_number for r in crl))
        with self._lock:
            old = self._crls.get(source)
            self._crls[source] = entry
        if old is not None and old.crl.tbs_certlist_bytes == crl.tbs_certlist_bytes:
            entry.verified_by = set(old.verified_by)
        return entry

    def _refresh_later(self, key, fn) -> None:
        with self._lock:
            if key in self._inflight:
                return
            self._inflight.add(key)

        def run():
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the old entry
                log.warning("background revocation refresh of %s failed: %s", key, exc)
            finally:
                with self._lock:
                    self._inflight.discard(key)
        if self.background:
            self._pool.submit(run)
        else:
            run()

    def _crl_for(self, source: str, issuer: x509.Certificate, profile: TrustProfile,
                 now: dt.datetime) -> CrlEntry | None:
        with self._lock:
            entry = self._crls.get(source)
        if entry is None:
            try:
                entry = self._load_crl(source, profile)
            except (FetchError, ValueError) as exc:
                log.warning("cannot load CRL %s: %s", source, exc)
                return None
        elif self.clock() - entry.fetched > profile.revocation.refresh_seconds:
            self._refresh_later(("crl", source), lambda: self._load_crl(source, profile))
        fp = fingerprint(issuer)
        if fp not in entry.verified_by:
            if not crl_signed_by(entry.crl, issuer, profile.sm2_id):
                return None
            entry.verified_by.add(fp)
        nxt = entry.crl.next_update_utc
        if entry.crl.last_update_utc > now + dt.timedelta(minutes=5) or (nxt is not None and nxt < now):
            return None
        return entry

    def _check_crl(self, cert, issuer, profile, now) -> None:
        sources = crl_sources(cert, profile)
        usable = [e for e in (self._crl_for(s, issuer, profile, now) for s in sources) if e]
        if not usable:
            raise RevocationUnknown(detail=f"no current, verified CRL for {cert.issuer.rfc4514_string()}"
                                           f" (tried {', '.join(sources) or 'nothing'})")
        if any(cert.serial_number in e.revoked for e in usable):
            raise CertificateRevoked(detail=f"serial {cert.serial_number:x} is on the CRL")

    # -- OCSP -----------------------------------------------------------------------------
    def _check_ocsp(self, cert, issuer, profile, now) -> None:
        key = (fingerprint(issuer), cert.serial_number)
        with self._lock:
            answer = self._ocsp.get(key)

        def query():
            fresh = ocsp.query(cert, issuer, profile, now, self.fetcher)
            fresh.fetched = self.clock()
            with self._lock:
                self._ocsp[key] = fresh
            return fresh
        if answer is None or not answer.usable(now):
            answer = query()
        elif self.clock() - answer.fetched > profile.revocation.refresh_seconds:
            self._refresh_later(("ocsp",) + key, query)
        if answer.status == "revoked":
            raise CertificateRevoked(detail=f"OCSP: serial {cert.serial_number:x} revoked")
        if answer.status != "good":
            raise RevocationUnknown(detail=f"OCSP: {answer.detail}")
