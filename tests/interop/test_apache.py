"""Real Apache httpd in front of a static department page, configured from adapters/apache/ templates:
mod_auth_openidc (OpenID Connect) and mod_auth_cas (CAS, tickets validated against /cas/p3/serviceValidate).

A scripted browser (requests.Session with its cookie jar) posts the identity server's real login form.
Skipped only when apache2 or the module is not installed (scripts/install-peers.sh installs them).
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest
import requests

from .apache_server import ApacheServer, apache_missing, render

pytestmark = pytest.mark.interop


def login_form(page: requests.Response) -> dict:
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', page.text))
    assert "csrf_token" in fields and "tx" in fields, page.text[:500]
    return fields


def sign_in(browser: requests.Session, idp, url: str) -> requests.Response:
    """Open ``url``; the site sends the browser to the identity server's login page, where it signs in."""
    page = browser.get(url, timeout=15)
    assert page.url.startswith(idp.issuer + "/login?"), page.url
    person = idp.person
    return browser.post(idp.url("/login"), data={**login_form(page), "username": person.id_number,
                                                  "password": person.password}, timeout=15)


def shown(page: requests.Response, element: str) -> str:
    match = re.search(rf'<span id="{element}">([^<]*)</span>', page.text)
    assert match, page.text[:800]
    return match.group(1)


def logout_everywhere(browser: requests.Session, idp) -> None:
    account = browser.get(idp.url("/account"), timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', account.text).group(1)
    assert browser.post(idp.url("/account/logout-all"), data={"csrf_token": csrf}, timeout=10).status_code == 200
    assert idp.app.extensions["idp"].notifier.wait_idle(15)


def _openidc_site(live_idp, *, response_mode: str | None = None):
    reason = apache_missing("auth_openidc")
    if reason:
        pytest.skip(reason)
    with ApacheServer(modules=["auth_openidc"]) as apache:
        client = live_idp.register_client(
            name="Apache OIDC site", redirect_uris=[apache.url("/oidc/callback")],
            post_logout_redirect_uris=[apache.url("/")],
            backchannel_logout_uri=apache.url("/oidc/callback?logout=backchannel"))
        site = render("dept-site-openidc.conf.template", SITE_NAME="127.0.0.1", SITE_URL=apache.base_url,
                      DOCUMENT_ROOT=str(apache.docroot), ISSUER=live_idp.issuer,
                      CLIENT_ID=client.client_id, CLIENT_SECRET=client.client_secret,
                      CRYPTO_PASSPHRASE=secrets.token_hex(32))
        if response_mode:  # the directive the template's comment describes
            site = site.replace("    OIDCResponseType code\n",
                                f"    OIDCResponseType code\n    OIDCResponseMode {response_mode}\n", 1)
            assert f"OIDCResponseMode {response_mode}" in site
        apache.start(site)
        yield apache, client


@pytest.fixture
def oidc_site(live_idp):
    yield from _openidc_site(live_idp)


@pytest.fixture
def oidc_form_post_site(live_idp):
    yield from _openidc_site(live_idp, response_mode="form_post")


@pytest.fixture
def cas_site(live_idp):
    reason = apache_missing("auth_cas")
    if reason:
        pytest.skip(reason)
    from idp.protocols.cas.services import register_service
    with ApacheServer(modules=["auth_cas"]) as apache:
        with live_idp.app.app_context():
            service = register_service(name="Apache CAS site", service_url=apache.url("/"), match="prefix")
            service_key = service.session_key
        apache.start(render("dept-site-cas.conf.template", SITE_NAME="127.0.0.1", DOCUMENT_ROOT=str(apache.docroot),
                            IDP_URL=live_idp.issuer, CAS_CACHE_DIR=str(apache.cache_dir), CA_PATH="/etc/ssl/certs"))
        yield apache, service_key


def test_mod_auth_openidc_login_and_backchannel_logout(live_idp, oidc_site):
    apache, client = oidc_site
    browser = requests.Session()
    browser.trust_env = False

    anonymous = browser.get(apache.url("/"), allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith(live_idp.issuer + "/authorize?")

    page = sign_in(browser, live_idp, apache.url("/"))
    assert page.status_code == 200 and page.url == apache.url("/")
    assert any(urlsplit(r.url).path == "/oidc/callback" for r in page.history)   # code flow through the module
    assert shown(page, "user") == live_idp.person.public_id
    assert shown(page, "name") == live_idp.person.name

    again = browser.get(apache.url("/"), allow_redirects=False, timeout=10)
    assert again.status_code == 200 and shown(again, "user") == live_idp.person.public_id

    logout_everywhere(browser, live_idp)
    notifier = live_idp.app.extensions["idp"].notifier
    assert (client.client_id, apache.url("/oidc/callback?logout=backchannel")) in notifier.delivered, notifier.failed
    after = browser.get(apache.url("/"), allow_redirects=False, timeout=10)
    assert after.status_code == 302 and after.headers["Location"].startswith(live_idp.issuer + "/authorize?")


def test_mod_auth_openidc_login_with_form_post(csp_page, live_idp, oidc_form_post_site):
    """OIDCResponseMode form_post: Chromium, under the identity server's CSP, signs in; the form_post
    page posts the code to the module's redirect URI and the page shows the person. (Before, the
    server redirected with the code in the query, and the module, waiting for a POST, did not log in.)"""
    apache, _client = oidc_form_post_site
    page, person = csp_page, live_idp.person
    seen = []
    page.on("request", lambda r: seen.append((r.method, r.url)))
    page.goto(apache.url("/"))
    page.wait_for_url(live_idp.url("/login") + "*")
    assert any("response_mode=form_post" in url for _, url in seen if url.startswith(live_idp.url("/authorize?")))
    page.fill("#username", person.id_number)
    page.fill("#password", person.password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(apache.url("/"))
    assert page.inner_text("#user") == person.public_id
    assert page.inner_text("#name") == person.name
    callbacks = [(method, url) for method, url in seen if url.startswith(apache.url("/oidc/callback"))]
    assert callbacks == [("POST", apache.url("/oidc/callback"))], callbacks
    page.csp.check(page)


def test_mod_auth_cas_login_forged_headers_and_single_logout(live_idp, cas_site):
    apache, service_key = cas_site
    browser = requests.Session()
    browser.trust_env = False

    anonymous = browser.get(apache.url("/"), allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith(live_idp.issuer + "/cas/login?service=")

    page = sign_in(browser, live_idp, apache.url("/"))
    assert page.status_code == 200 and page.url == apache.url("/")
    assert any("ticket=ST-" in r.headers.get("Location", "") for r in page.history)
    # The subject and the name reached Apache only through mod_auth_cas's /cas/p3/serviceValidate call.
    assert shown(page, "user") == live_idp.person.public_id
    assert shown(page, "name") == live_idp.person.name

    forged = {"CAS-User": "admin", "CAS-name": "forged", "CAS_name": "forged"}
    again = browser.get(apache.url("/"), headers=forged, allow_redirects=False, timeout=10)
    assert again.status_code == 200
    assert shown(again, "user") == live_idp.person.public_id and shown(again, "name") == live_idp.person.name

    # Logout at the identity server: mod_auth_cas receives the SAML logout request and ends its session.
    out = browser.get(live_idp.url("/cas/logout"), params={"service": apache.url("/")}, allow_redirects=False,
                      timeout=10)
    assert out.status_code == 302 and out.headers["Location"] == apache.url("/")
    notifier = live_idp.app.extensions["idp"].notifier
    assert notifier.wait_idle(15)
    assert (service_key, apache.url("/")) in notifier.delivered, notifier.failed
    after = browser.get(apache.url("/"), allow_redirects=False, timeout=10)
    assert after.status_code == 302 and after.headers["Location"].startswith(live_idp.issuer + "/cas/login?")
