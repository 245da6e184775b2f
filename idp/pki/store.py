"""``TrustStore``: the set of active trust profiles and the one call a login view needs.

    store = TrustStore.from_directory("certs/profiles")
    try:
        who = store.authenticate(request.form["certificate"], request.form.getlist("chain"))
        store.verify_challenge(who, challenge_bytes, base64.b64decode(request.form["signature"]))
    except CertificateError as err:
        return render_error(err.code, err.message_zh)
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import tomllib
from pathlib import Path

from cryptography import x509

from .chain import ChainValidator, key_algorithm
from .errors import CertificateError, MalformedCertificate, ProfileError, UntrustedCertificate
from .identity import CertificateIdentity, identify
from .loading import load_certificate, load_chain
from .profile import TrustProfile, is_stale, load_profile
from .revocation import RevocationChecker
from .signatures import verify_challenge_signature

log = logging.getLogger(__name__)


class TrustStore:
    def __init__(self, profiles=(), *, directory: str | os.PathLike | None = None,
                 revocation: RevocationChecker | None = None) -> None:
        self.directory = Path(directory).resolve() if directory else None
        self.revocation = revocation or RevocationChecker()
        self._lock = threading.RLock()
        self._profiles: dict[str, TrustProfile] = {}
        self._validators: dict[str, ChainValidator] = {}
        self._retired: set[str] = set()
        self.problems: list[str] = []
        self._seen_files: dict[str, float] = {}
        for profile in profiles:
            self.add(profile)

    @classmethod
    def from_directory(cls, path: str | os.PathLike, **kwargs) -> "TrustStore":
        store = cls(directory=path, **kwargs)
        store.reload()
        return store

    # -- profiles -----------------------------------------------------------------------
    @property
    def profiles(self) -> dict[str, TrustProfile]:
        return dict(self._profiles)

    def add(self, profile: TrustProfile | str | os.PathLike) -> TrustProfile:
        """Trust a profile (object or TOML path) from now on, replacing one of the same name."""
        if not isinstance(profile, TrustProfile):
            profile = load_profile(profile)
        with self._lock:
            self._profiles[profile.name] = profile
            self._validators[profile.name] = ChainValidator(profile)
            self._retired.discard(profile.name)
        return profile

    def retire(self, name: str) -> None:
        """Stop trusting a profile immediately; ``reload`` will not bring it back."""
        with self._lock:
            if name not in self._profiles:
                raise KeyError(f"no active trust profile named {name!r}")
            del self._profiles[name]
            del self._validators[name]
            self._retired.add(name)

    def reload(self) -> bool:
        """Re-read the directory: new, changed and removed profile files. Returns True if changed.

        A file marked ``retired = true`` is skipped; a broken file is reported in ``problems`` and
        the previously loaded version of it, if any, stays active.
        """
        if self.directory is None:
            return False
        changed, problems, seen = False, [], set()
        self._seen_files = self._snapshot()
        for path in sorted(self.directory.glob("*.toml")):
            name_by_source = {str(p.source): p for p in self._profiles.values() if p.source}
            current = name_by_source.get(str(path.resolve()))
            if current is not None and not is_stale(current):
                seen.add(current.name)
                continue
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                problems.append(str(exc))
                if current is not None:
                    seen.add(current.name)
                continue
            if _marked_retired(path) or profile.name in self._retired:
                continue
            self.add(profile)
            seen.add(profile.name)
            changed = True
        with self._lock:
            for name, profile in list(self._profiles.items()):
                if profile.source is not None and profile.source.parent == self.directory \
                        and name not in seen:
                    del self._profiles[name]
                    del self._validators[name]
                    changed = True
        self.problems = problems
        for problem in problems:
            log.error("%s", problem)
        return changed

    def reload_if_changed(self) -> bool:
        """Cheap check (directory listing and mtimes) suitable for calling before each request."""
        if self.directory is None:
            return False
        if self._snapshot() != self._seen_files or any(is_stale(p) for p in self._profiles.values()):
            return self.reload()
        return False

    def _snapshot(self) -> dict[str, float]:
        out = {}
        for path in self.directory.glob("*.toml"):
            try:
                out[str(path)] = path.stat().st_mtime
            except OSError:
                continue
        return out

    # -- login --------------------------------------------------------------------------
    def authenticate(self, cert: bytes | str | x509.Certificate, chain=(), *,
                     now: dt.datetime | None = None) -> CertificateIdentity:
        """Validate ``cert`` (PEM, DER or base64) against the trusted profiles and read who it is.

        Raises a ``CertificateError`` subclass (see ``.code``) and nothing else.
        """
        try:
            return self._authenticate(cert, chain, now)
        except CertificateError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, UnicodeError, x509.InvalidVersion) as exc:
            # a malformed certificate that got past parsing and broke a later step
            raise MalformedCertificate(detail=f"{type(exc).__name__}: {exc}") from None

    def _authenticate(self, cert, chain, now) -> CertificateIdentity:
        leaf = cert if isinstance(cert, x509.Certificate) else load_certificate(cert)
        supplied = load_chain(chain)
        now = now or dt.datetime.now(dt.timezone.utc)
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.timezone.utc)
        candidates = self._candidates(leaf, supplied)
        if not candidates:
            raise UntrustedCertificate(detail=f"no trust profile knows {leaf.issuer.rfc4514_string()}")
        first_error: CertificateError | None = None
        for profile, validator in candidates:
            try:
                path = validator.validate(leaf, supplied, now)
            except CertificateError as exc:
                if first_error is None or (first_error.code == "untrusted" and exc.code != "untrusted"):
                    first_error = exc
                continue
            self.revocation.check_path(path, profile, now)
            return identify(leaf, profile, key_algorithm(leaf))
        raise first_error

    def _candidates(self, leaf, supplied) -> list[tuple[TrustProfile, ChainValidator]]:
        issuers = {leaf.issuer} | {c.issuer for c in supplied}
        with self._lock:
            items = [(p, self._validators[n]) for n, p in self._profiles.items()]
        return [(p, v) for p, v in items if issuers & {a.subject for a in p.anchors}]

    def verify_challenge(self, identity: CertificateIdentity, data: bytes, signature: bytes) -> str:
        """Check the challenge signature made with the key of an authenticated certificate."""
        profile = self._profiles.get(identity.profile)
        if identity.certificate is None:
            raise MalformedCertificate(detail="identity carries no certificate")
        return verify_challenge_signature(identity.certificate, data, signature, profile)

    def warm(self, *, missing_only: bool = False) -> list[str]:
        """Load every configured CRL now (or only those not cached yet); returns the problems met."""
        problems = []
        for profile in self.profiles.values():
            if profile.revocation.mode == "crl":
                problems.extend(self.revocation.warm(profile, missing_only=missing_only))
        return problems


def _marked_retired(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return bool(tomllib.load(fh).get("retired", False))
    except (OSError, tomllib.TOMLDecodeError):
        return False
