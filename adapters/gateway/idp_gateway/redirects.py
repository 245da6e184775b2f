"""Validation of the `rd` return URL: only allowed hosts, only http(s), no tricks."""

from __future__ import annotations

from urllib.parse import urlsplit

from idp_rp import RedirectNotAllowedError


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False


def checked_return_url(rd: str | None, allowed: tuple[str, ...], default: str, require_https: bool) -> str:
    """`rd` if it is safe to send the browser there, `default` when absent; raises otherwise."""
    if not rd:
        return default
    if any(ord(c) < 0x21 for c in rd) or "\\" in rd:
        raise RedirectNotAllowedError("The return URL contains characters that are not allowed")
    if rd.startswith("/") and not rd.startswith("//"):
        return rd
    parts = urlsplit(rd)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RedirectNotAllowedError("The return URL must be an absolute http(s) URL on an allowed host")
    if require_https and parts.scheme != "https":
        raise RedirectNotAllowedError("The return URL must use https")
    if parts.username is not None or parts.password is not None:
        raise RedirectNotAllowedError("The return URL must not carry credentials")
    if not host_allowed(parts.hostname, allowed):
        raise RedirectNotAllowedError(f"The return URL points to {parts.hostname}, which is not an allowed host")
    return rd
