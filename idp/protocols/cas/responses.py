"""CAS response documents: the XML service response, the CAS 1.0 text answer, the SAML logout request."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

NS = "http://www.yale.edu/tp/cas"
XML_TYPE = "application/xml; charset=UTF-8"


def _document(body: str) -> str:
    return f'<cas:serviceResponse xmlns:cas="{NS}">\n{body}</cas:serviceResponse>\n'


def _name(key: str) -> str:
    return "".join(ch for ch in key if ch.isalnum() or ch in "_-.")


def authentication_success(user: str, attributes: dict | None = None) -> str:
    """A list value is a multi-valued attribute: one element per value (CAS 3.0 appendix)."""
    body = f"  <cas:authenticationSuccess>\n    <cas:user>{escape(user)}</cas:user>\n"
    if attributes:
        body += "    <cas:attributes>\n"
        for key, value in attributes.items():
            name = _name(key)
            for item in value if isinstance(value, list) else [value]:
                body += f"      <cas:{name}>{escape(str(item))}</cas:{name}>\n"
        body += "    </cas:attributes>\n"
    body += "  </cas:authenticationSuccess>\n"
    return _document(body)


def authentication_failure(code: str, description: str) -> str:
    return _document(f"  <cas:authenticationFailure code={quoteattr(code)}>{escape(description)}"
                     "</cas:authenticationFailure>\n")


def proxy_failure(code: str, description: str) -> str:
    return _document(f"  <cas:proxyFailure code={quoteattr(code)}>{escape(description)}</cas:proxyFailure>\n")


def cas1_answer(user: str | None) -> str:
    return f"yes\n{user}\n" if user else "no\n\n"


def saml_logout_request(ticket: str) -> str:
    """The SAML 2.0 LogoutRequest CAS single logout POSTs to a service as ``logoutRequest``."""
    instant = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="LR-{secrets.token_hex(16)}" Version="2.0" IssueInstant="{instant}">'
            "<saml:NameID>@NOT_USED@</saml:NameID>"
            f"<samlp:SessionIndex>{escape(ticket)}</samlp:SessionIndex>"
            "</samlp:LogoutRequest>")
