"""Silent login (prompt=none) on a first page view: a person logged in at the provider is shown at once,
a person who is not lands on the page as "not signed in" — without a loop — and the site asks again after
logout. Driven through the Flask extension and the WSGI middleware against the fake provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client

from idp_rp import RelyingParty, RPConfig
from idp_rp.web import is_page_navigation
from idp_rp.wsgi import OIDCMiddleware

from .conftest import CLIENT_ID, SITE, make_site, provider_redirect

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def params_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def silent_site(op):
    app, ext = make_site(op, silent_login=True)
    return app.test_client()


def test_off_by_default(op):
    app, _ = make_site(op)
    resp = app.test_client().get("/", headers=PAGE)
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "anonymous"


def test_first_visit_signs_in_a_person_with_a_provider_session(op, silent_site):
    resp = silent_site.get("/", headers=PAGE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(op.issuer + "/authorize?")
    params = params_of(resp.headers["Location"])
    assert params["prompt"] == "none" and params["client_id"] == CLIENT_ID
    back = silent_site.get(provider_redirect(resp.headers["Location"]), headers=PAGE)
    assert back.status_code == 302 and back.headers["Location"] == "/"
    assert silent_site.get("/", headers=PAGE).get_data(as_text=True) == "hello 张三"


def test_login_required_lands_on_the_page_not_signed_in_without_a_loop(op, silent_site):
    op.has_session = False
    resp = silent_site.get("/?tab=news", headers=PAGE)
    assert params_of(resp.headers["Location"])["prompt"] == "none"
    back = silent_site.get(provider_redirect(resp.headers["Location"]), headers=PAGE)
    assert back.status_code == 302 and back.headers["Location"] == "/?tab=news"
    page = silent_site.get("/?tab=news", headers=PAGE)
    assert page.status_code == 200 and page.get_data(as_text=True) == "anonymous"
    # the attempt is remembered: other pages are served at once, and the provider was asked once
    assert silent_site.get("/", headers=PAGE).status_code == 200
    assert len([r for r in op.requests if r[0] == "authorize"]) == 1

    # a page that needs a login still sends the person to the provider's login (not prompt=none)
    resp = silent_site.get("/profile", headers=PAGE)
    assert resp.status_code == 302 and "prompt" not in params_of(resp.headers["Location"])


def test_after_logout_the_next_visit_tries_again(op, silent_site):
    first = silent_site.get("/", headers=PAGE)
    silent_site.get(provider_redirect(first.headers["Location"]))
    assert silent_site.get("/", headers=PAGE).get_data(as_text=True) == "hello 张三"
    silent_site.get("/oidc/logout")
    op.has_session = False
    again = silent_site.get("/", headers=PAGE)
    assert again.status_code == 302 and params_of(again.headers["Location"])["prompt"] == "none"
    back = silent_site.get(provider_redirect(again.headers["Location"]), headers=PAGE)
    assert silent_site.get(back.headers["Location"], headers=PAGE).get_data(as_text=True) == "anonymous"


def test_other_errors_of_a_silent_login_are_shown(op, silent_site):
    resp = silent_site.get("/", headers=PAGE)
    state = params_of(resp.headers["Location"])["state"]
    page = silent_site.get(f"/oidc/callback?error=access_denied&state={state}&iss={op.issuer}")
    assert page.status_code == 400 and "access_denied" in page.get_data(as_text=True)


@pytest.mark.parametrize("method, headers", [
    ("GET", {"Accept": "application/json"}),
    ("GET", {**PAGE, "Sec-Fetch-Mode": "cors"}),
    ("GET", {**PAGE, "Sec-Fetch-Dest": "iframe"}),
    ("GET", {}),
    ("POST", PAGE),
])
def test_only_page_navigations_try_it(op, silent_site, method, headers):
    resp = silent_site.open("/", method=method, headers=headers)
    assert resp.status_code in (200, 405)
    assert not [r for r in op.requests if r[0] == "authorize"]


def test_unreachable_provider_serves_the_page_once_redirected(op):
    app, _ = make_site(op, silent_login=True, issuer="http://127.0.0.1:9", http_timeout=2)
    client = app.test_client()
    resp = client.get("/?tab=news", headers=PAGE)
    assert resp.status_code == 302 and resp.headers["Location"] == "/?tab=news"
    page = client.get("/?tab=news", headers=PAGE)  # served, no new attempt
    assert page.status_code == 200 and page.get_data(as_text=True) == "anonymous"


def test_navigation_detection():
    assert is_page_navigation("GET", PAGE["Accept"], "navigate", "document")
    assert is_page_navigation("GET", "text/html", None, None)  # browsers without Fetch Metadata
    assert not is_page_navigation("HEAD", "text/html")
    assert not is_page_navigation("GET", "*/*")


def test_wsgi_middleware(op):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        user = environ["idp_rp.user"]
        return [f"hello {user['name']}".encode() if user else b"anonymous"]

    rp = RelyingParty(RPConfig(issuer=op.issuer, client_id=CLIENT_ID, client_secret="s3cret", base_url=SITE,
                               session_secret="x" * 32, silent_login=True))
    client = Client(OIDCMiddleware(app, rp))
    op.has_session = False
    resp = client.get("/", headers=PAGE)
    assert params_of(resp.headers["Location"])["prompt"] == "none"
    back = client.get(provider_redirect(resp.headers["Location"]), headers=PAGE)
    assert back.headers["Location"] == "/"
    assert client.get("/", headers=PAGE).get_data(as_text=True) == "anonymous"
    client.get("/oidc/logout")
    op.has_session = True
    resp = client.get("/", headers=PAGE)
    back = client.get(provider_redirect(resp.headers["Location"]), headers=PAGE)
    assert client.get("/", headers=PAGE).get_data(as_text=True) == "hello 张三"
