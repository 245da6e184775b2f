"""How many device codes one client and one IP address may ask for (POST /device_authorization).

Each issued code lives in the ephemeral store until it expires, so without a limit a client (or
anyone holding its credentials, or any IP address for a public client) could fill the store. Counts
are per fixed window (the key carries the window number) so the answer can say when to retry.

RFC 8628 3.2 answers errors of this endpoint like the token endpoint (RFC 6749 5.2); of the error
codes registered for the token endpoint, ``slow_down`` (RFC 8628 3.5, IANA OAuth Extensions Error
Registry) is the one that tells a device to wait and ask again, so it is used with HTTP 429 and a
Retry-After header (RFC 6585 4).
"""
from __future__ import annotations

import time

from authlib.consts import default_json_headers
from authlib.oauth2.rfc8628 import SlowDownError

from ...storage.token_hash import token_hash

RATE = "device_rate"
WINDOW = 600  # seconds of one counting window; the limits per window are settings (IDP_DEVICE_CODES_PER_*)


class TooManyDeviceCodes(SlowDownError):
    status_code = 429

    def __init__(self, limited: str, retry_after: int):
        super().__init__(f"Too many device codes were asked for from this {limited}; "
                         f"try again in {retry_after} seconds.")
        self.limited = limited
        self.retry_after = retry_after

    def get_headers(self):
        return [*default_json_headers, ("Retry-After", str(self.retry_after))]


def count_issue(store, client_id: str, ip: str | None, *, per_ip: int, per_client: int) -> None:
    """Count one device code for ``ip`` and ``client_id``; raise TooManyDeviceCodes past ``per_ip``
    codes from the address or ``per_client`` codes of the client in the current window.

    The IP address is counted first and a refused IP is not charged to the client, so one noisy
    address cannot use up the allowance of a client whose other devices are elsewhere.
    """
    now = time.time()
    window = int(now // WINDOW)
    retry_after = max(1, int(WINDOW - now % WINDOW))
    if ip and store.incr(RATE, f"ip:{token_hash(ip)}:{window}", WINDOW * 2) > per_ip:
        raise TooManyDeviceCodes("address", retry_after)
    if store.incr(RATE, f"client:{token_hash(client_id)}:{window}", WINDOW * 2) > per_client:
        raise TooManyDeviceCodes("client", retry_after)
