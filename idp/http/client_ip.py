"""The client's IP address, believing X-Forwarded-For only from configured trusted proxies."""
from __future__ import annotations

import ipaddress

from flask import current_app, request


def is_trusted_proxy(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in current_app.extensions["idp"].settings.trusted_proxies)


def client_ip() -> str:
    remote = request.remote_addr or ""
    if not is_trusted_proxy(remote):
        return remote
    forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(forwarded):
        if not is_trusted_proxy(hop):
            return hop
    return remote
