"""CA trust status for the console and the API: ``idp.pki.status`` over the application's trust store."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..pki.status import WARN_DAYS, collect_status, needs_attention

__all__ = ["WARN_DAYS", "expiring", "trust_status"]


def trust_status() -> dict:
    """Every trusted CA certificate and cached CRL with days to expiry; CRLs never fetched are loaded."""
    store = current_app.extensions["idp"].trust
    return collect_status(store, dt.datetime.now(dt.timezone.utc), missing_only=True)


def expiring() -> list[dict]:
    """The CA certificates and CRLs that expire within WARN_DAYS days (or have expired)."""
    return needs_attention(trust_status())
