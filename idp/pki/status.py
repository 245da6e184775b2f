"""Trust status: every trusted CA certificate and cached CRL with days to expiry, as data.

Used by ``idp certs status``, the admin console's certificate page and banner, and the admin API.
"""
from __future__ import annotations

import datetime as dt

from .store import TrustStore

WARN_DAYS = 30


def days_until(until: dt.datetime | None, now: dt.datetime) -> int | None:
    return None if until is None else (until - now).days


def state(days: int | None) -> str:
    """ok, warning (fewer than WARN_DAYS days left) or expired."""
    if days is None:
        return "ok"
    return "expired" if days < 0 else ("warning" if days < WARN_DAYS else "ok")


def collect_status(store: TrustStore, now: dt.datetime, *, missing_only: bool = False) -> dict:
    """CA certificates and CRLs of ``store``. Configured CRLs are loaded first: all of them, or with
    ``missing_only`` only those not cached yet (a page view must not refetch every CRL)."""
    problems = list(store.problems) + store.warm(missing_only=missing_only)
    cas, crls = [], []
    for profile in store.profiles.values():
        for role, certs in (("root", profile.roots), ("intermediate", profile.intermediates)):
            for cert in certs:
                days = days_until(cert.not_valid_after_utc, now)
                cas.append({"profile": profile.name, "role": role,
                            "subject": cert.subject.rfc4514_string(),
                            "not_after": cert.not_valid_after_utc.isoformat(), "days_left": days,
                            "state": state(days)})
    for source, crl in sorted(store.revocation.cached_crls().items()):
        nxt = crl.next_update_utc
        days = days_until(nxt, now)
        crls.append({"source": source, "issuer": crl.issuer.rfc4514_string(),
                     "next_update": nxt.isoformat() if nxt else None, "days_left": days,
                     "revoked": sum(1 for _ in crl), "state": state(days)})
    return {"profiles": sorted(store.profiles), "ca_certificates": cas, "crls": crls,
            "problems": problems}


def needs_attention(report: dict) -> list[dict]:
    """The CA certificates and CRLs of a report that expire within WARN_DAYS days or have expired."""
    return [item for item in report["ca_certificates"] + report["crls"] if item["state"] != "ok"]
