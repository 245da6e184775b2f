"""Response headers every response carries unless its view chose its own value, and the
Content-Security-Policy of every HTML page."""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import g

SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # CSRF checks need a same-origin Referer on https
)

# No inline script or style unless it carries this response's nonce, nothing from other origins, no
# framing, no <base>, no plugins. Forms go to this server only, unless the page lets one continue to a
# relying party (``allow_form_action``); frames show nothing unless the page names a site's origin
# (``allow_frame``: the logged-out page's front-channel logout frames).
_POLICY = ("default-src 'none'; script-src 'self'{nonce}; style-src 'self'{nonce}; img-src 'self'; "
           "font-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
           "form-action 'self'{targets}{frames}")
_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")
# Documents a browser renders and could run script in (XML too: an XHTML <script> in it runs).
_MARKUP = ("text/html", "text/xml", "application/xml", "application/xhtml+xml", "image/svg+xml")


def add_missing(headers, defaults) -> None:
    """Add each (name, value) of ``defaults`` whose name ``headers`` lacks (case-insensitively).

    Werkzeug's ``Headers.setdefault`` and ``in`` raise and catch a ``BadRequestKeyError`` for every
    absent name, which is most of their cost on every response; one pass over the names is enough."""
    present = {name.lower() for name in headers.keys()}
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)


def add_security_headers(response) -> None:
    """The security headers on every response, and the Content-Security-Policy on HTML (and XML) ones
    only: a JSON or JWKS answer renders nothing a policy could restrict. One pass reads the names and
    the content type; ``response.mimetype`` would parse the header again."""
    headers = response.headers
    present = set()
    markup = False
    for name, value in headers.items():
        lower = name.lower()
        present.add(lower)
        if lower == "content-type":
            markup = value.startswith(_MARKUP)
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if markup and "content-security-policy" not in present:
        headers.add("Content-Security-Policy", content_security_policy())


def csp_nonce() -> str:
    """This response's nonce for an inline ``<script>`` or ``<style>`` (templates call ``csp_nonce()``)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def allow_form_action(url: str | None) -> None:
    """Let this page's forms lead to ``url``'s origin: a form posted there, or a form whose answer
    redirects there (Chromium checks every redirect of a form submission against form-action)."""
    _allow("csp_form_targets", url)


def allow_frame(url: str | None) -> None:
    """Let this page show ``url``'s origin in a frame (front-channel logout of a site); the frame may
    come back to this server ('self': the site's answer is redirected here)."""
    _allow("csp_frame_targets", url)


def _allow(key: str, url: str | None) -> None:
    origin = _origin(url) if url else None
    if origin is None:
        return
    origins = g.setdefault(key, [])
    if origin not in origins:
        origins.append(origin)


def content_security_policy() -> str:
    nonce = g.get("csp_nonce")
    targets = g.get("csp_form_targets") or ()
    frames = g.get("csp_frame_targets") or ()
    return _POLICY.format(nonce=f" 'nonce-{nonce}'" if nonce else "", targets="".join(" " + t for t in targets),
                          frames=("; frame-src 'self' " + " ".join(frames)) if frames else "")


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` as a CSP source expression, or None when ``url`` has no such origin."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        if parts.scheme not in ("http", "https") or not host:
            return None
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except (ValueError, UnicodeError):
        return None
    if ":" in host:
        host = f"[{host}]"
    if not _HOST.fullmatch(host):
        return None  # a wildcard or a character a policy cannot hold: the browser then refuses the form
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
