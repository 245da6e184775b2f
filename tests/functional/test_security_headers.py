"""Headers every response carries: anti-framing, no MIME sniffing, same-origin referrers; no-store on
tokens; a strict Content-Security-Policy on every HTML page (ASVS 14.4.3), whose form-action lets a
login or consent form continue only to the relying party of its own login transaction."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import Headers

from admin_support import console_login, create_admin
from helpers import csrf_token, query_of, register
from idp.http.headers import SECURITY_HEADERS, add_missing

EXPECTED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@pytest.mark.parametrize("path,status", [("/login", 200), ("/jwks.json", 200), ("/healthz", 200),
                                         ("/no-such-page", 404), ("/token", 405)])
def test_every_response_carries_the_security_headers(app, path, status):
    response = app.test_client().get(path)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.getlist(name) == [value]


def test_published_documents_keep_their_own_cache_policy(app):
    client = app.test_client()
    assert client.get("/jwks.json").headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert client.get("/.well-known/openid-configuration").headers.getlist("Cache-Control") == [
        "public, max-age=300"]


def test_token_responses_are_not_cached(rp):
    code, verifier, _ = rp.get_code()
    response = rp.exchange(code, verifier)
    assert response.status_code == 200
    assert response.headers.getlist("Cache-Control") == ["no-store"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]
    assert "Content-Security-Policy" not in response.headers  # JSON renders nothing to restrict


def test_a_value_set_by_the_view_is_kept_whatever_its_case():
    headers = Headers([("content-type", "text/html"), ("x-frame-options", "SAMEORIGIN")])
    add_missing(headers, SECURITY_HEADERS)
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
    assert len(headers) == 4


def test_a_policy_set_by_the_view_is_kept_and_only_markup_gets_one(app):
    from flask import Response
    from idp.http.headers import add_security_headers
    with app.test_request_context("/"):
        own = Response("<p>", headers=[("content-type", "text/html; charset=utf-8"),
                                       ("content-security-policy", "sandbox")])
        add_security_headers(own)
        assert own.headers.getlist("Content-Security-Policy") == ["sandbox"]
        assert own.headers["X-Frame-Options"] == "DENY"
        for content_type in ("text/html", "text/xml; charset=UTF-8", "application/xml"):  # CAS answers XML
            page = Response("<p/>", headers=[("CONTENT-TYPE", content_type)])
            add_security_headers(page)
            assert page.headers["Content-Security-Policy"].startswith("default-src 'none'"), content_type
        for mimetype in ("application/json", "application/jwk-set+json", "text/plain"):
            other = Response("{}", mimetype=mimetype)
            add_security_headers(other)
            assert "Content-Security-Policy" not in other.headers and other.headers["X-Frame-Options"] == "DENY"


# -- Content-Security-Policy ----------------------------------------------------------------------

def directives(response) -> dict[str, list[str]]:
    (policy,) = response.headers.getlist("Content-Security-Policy")
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


class InlineCode(HTMLParser):
    """What a strict policy would block in a page: style attributes, event handler attributes,
    javascript: URLs, and <script>/<style> elements without the response's nonce."""

    def __init__(self, html: str, nonce: str | None):
        super().__init__()
        self.nonce, self.blocked = nonce, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.blocked.append(f"<{tag} {name}={value}>")
        if tag == "style" or (tag == "script" and "src" not in attrs):
            if not self.nonce or attrs.get("nonce") != self.nonce:
                self.blocked.append(f"<{tag}> without this response's nonce")


def assert_strict_page(response) -> dict[str, list[str]]:
    assert response.mimetype == "text/html"
    policy = directives(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive]
        assert all(source == "'self'" or source.startswith("'nonce-") for source in policy[directive])
    assert policy["form-action"][0] == "'self'"
    nonces = {s[len("'nonce-"):-1] for s in policy["script-src"] if s.startswith("'nonce-")}
    assert len(nonces) <= 1
    page = InlineCode(response.get_data(as_text=True), next(iter(nonces), None))
    assert not page.blocked, page.blocked
    return policy


def test_json_and_jwks_answers_carry_no_policy(app):
    client = app.test_client()
    for path in ("/jwks.json", "/.well-known/openid-configuration", "/healthz"):
        assert "Content-Security-Policy" not in client.get(path).headers, path


def test_every_page_of_a_login_is_strict_and_free_of_inline_code(app, browser, citizen):
    """The pages a person sees, as found: every one carries the policy, and nothing in it needs more."""
    rp = register(app, browser, name="Third party", first_party=False)
    client = browser.client
    assert assert_strict_page(client.get("/login"))["form-action"] == ["'self'"]
    assert_strict_page(client.get("/login?lang=en"))
    assert_strict_page(client.get("/no-such-page"))
    assert_strict_page(client.get("/authorize?client_id=nobody&response_type=code"))  # error page

    params, _ = rp.auth_params()
    login = browser.authorize(**params)
    login_page = client.get(login.headers["Location"])
    # The login form's answer redirects, through /authorize/resume, to the client: allowed, and only it.
    assert assert_strict_page(login_page)["form-action"] == ["'self'", "http://localhost:9001"]
    assert_strict_page(client.get("/login/certificate/challenge?tx=" + query_of(login.headers["Location"])["tx"],
                                  headers={"Accept": "text/html"}))
    after = browser.login(login.headers["Location"])
    consent = client.get(client.get(after.headers["Location"]).headers["Location"])
    assert "/consent" in consent.request.path
    assert assert_strict_page(consent)["form-action"] == ["'self'", "http://localhost:9001"]

    account = client.get("/account")
    assert assert_strict_page(account)["form-action"] == ["'self'"]
    assert_strict_page(client.get("/logout"))  # the confirmation page (no id_token_hint)
    logged_out = client.post("/account/logout-all", data={"csrf_token": csrf_token(account.get_data(as_text=True))})
    assert_strict_page(logged_out)


def test_a_cas_login_may_continue_to_its_service_only(app, browser, citizen):
    from idp.protocols.cas.services import register_service
    with app.app_context():
        register_service(name="Land Registry", service_url="https://land.example.gov.cn/", match="prefix")
    start = browser.client.get("/cas/login?service=https://land.example.gov.cn/app")
    page = browser.client.get(start.headers["Location"])
    assert assert_strict_page(page)["form-action"] == ["'self'", "https://land.example.gov.cn"]


def test_admin_console_pages_are_strict(app, browser, citizen):
    create_admin(app)
    client = browser.client
    assert console_login(client).status_code == 302
    rp = register(app, browser)
    for path in ("/admin/", "/admin/clients/new", f"/admin/clients/{rp.client_id}",
                 f"/admin/clients/{rp.client_id}/edit", "/admin/keys", "/admin/certificates",
                 "/admin/cas/", "/admin/cas/new"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert assert_strict_page(response)["form-action"] == ["'self'"], path


def test_an_origin_that_is_no_source_expression_is_not_allowed(app):
    from idp.http.headers import allow_form_action, content_security_policy
    with app.test_request_context("/"):
        for url in ("https://*.example.gov.cn/cb", "javascript:alert(1)", "https://a.example;script-src */cb",
                    "data:text/html,x", "https://user@rp.example.gov.cn:8443/cb", "https://[::1]:9/cb",
                    "https://政务.example/cb"):
            allow_form_action(url)
        form_action = content_security_policy().split("form-action ")[1].split()
        assert form_action == ["'self'", "https://rp.example.gov.cn:8443", "https://[::1]:9",
                               "https://xn--zfr164b.example"]
