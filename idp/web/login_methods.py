"""The login page's layout: who logs in (a person or an enterprise), then how.

The page shows one tab per audience and, inside it, one tab per method; every method is a panel of
its own in ``templates/login/``. A new way to log in (a second factor, a passkey, a QR code scanned
with the government app) is one more entry here and one more panel template, nothing else.

Which tab and method are open comes from the URL (``?tab=enterprise&method=usbkey``), so the page
works without JavaScript; ``static/login.js`` turns the links into ARIA tabs when it runs.
"""
from __future__ import annotations

PERSON, ENTERPRISE = "person", "enterprise"
PASSWORD, CERTIFICATE, USB_KEY, PASSKEY, QR = "password", "certificate", "usbkey", "passkey", "qr"

METHODS: dict[str, tuple[str, ...]] = {
    PERSON: (PASSWORD, CERTIFICATE, USB_KEY, PASSKEY, QR),
    ENTERPRISE: (CERTIFICATE, USB_KEY),
}


def open_panels(tab: str | None, method: str | None, *, needs_certificate: bool = False) -> tuple[str, str]:
    """The (audience, method) to show: the requested ones when they exist, else the defaults.

    When the portal asks for a higher assurance level, a password cannot give it: the certificate
    methods come first then.
    """
    audience = tab if tab in METHODS else PERSON
    methods = METHODS[audience]
    if method in methods:
        return audience, method
    if needs_certificate:
        return audience, next(m for m in methods if m != PASSWORD)
    return audience, methods[0]


def login_tabs(tab: str | None, method: str | None, *, needs_certificate: bool = False) -> dict:
    """The login page's tabs and which of them is open, as template variables."""
    open_tab, open_method = open_panels(tab, method, needs_certificate=needs_certificate)
    return {"login_methods": METHODS, "open_tab": open_tab, "open_method": open_method}
