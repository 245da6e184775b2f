"""Single sign-on across two department portals and single logout through back-channel logout.

The portals are the demo portal built on the idp-rp adapter; everything runs over real HTTP on
loopback ports, and every server is stopped by the test.
"""
from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
import requests

from live_server import LiveServer, ServerThread

pytestmark = pytest.mark.every_backend


def _portal(stack, idp, title):
    from demo_portal import create_app as create_portal
    server = stack.enter_context(ServerThread())
    client = idp.register_client(name=title, redirect_uris=[server.base_url + "/oidc/callback"],
                                 post_logout_redirect_uris=[server.base_url + "/"],
                                 backchannel_logout_uri=server.base_url + "/oidc/backchannel-logout",
                                 scopes=["openid", "profile"])
    server.app = create_portal(title=title, port=server.port, base_url=server.base_url, issuer=idp.issuer,
                               client_id=client.client_id, client_secret=client.client_secret,
                               secret_key="portal-secret-" + title)
    return server, client


def _login_form(page: requests.Response) -> dict:
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', page.text))
    assert "csrf_token" in fields and "tx" in fields, page.text[:500]
    return fields


@pytest.fixture
def realm(tmp_path, app_backend):
    with ExitStack() as stack:
        idp = stack.enter_context(LiveServer(tmp_path / "idp", store=app_backend.store, **app_backend.overrides))
        person = idp.seed_person()
        portal_a, client_a = _portal(stack, idp, "Portal A")
        portal_b, client_b = _portal(stack, idp, "Portal B")
        yield idp, person, (portal_a, client_a), (portal_b, client_b)


def test_one_login_two_portals_and_logout_everywhere(realm):
    idp, person, (portal_a, client_a), (portal_b, client_b) = realm
    browser = requests.Session()

    # Portal A sends the person to the identity server, which shows its login page.
    page = browser.get(portal_a.base_url + "/profile")
    assert page.url.startswith(idp.issuer + "/login")
    landed = browser.post(idp.url("/login"), data={**_login_form(page), "username": person.id_number,
                                                   "password": person.password})
    assert landed.url == portal_a.base_url + "/profile" and person.name in landed.text

    # Portal B: logged in without typing anything (no login page on the way).
    page_b = browser.get(portal_b.base_url + "/profile")
    assert page_b.url == portal_b.base_url + "/profile" and person.name in page_b.text
    assert not any("/login" in r.headers.get("Location", "") for r in page_b.history)

    # The identity server's account page lists both portals in the one session.
    account = browser.get(idp.url("/account"), headers={"Accept-Language": "en"})
    assert "Portal A" in account.text and "Portal B" in account.text

    # Logout at portal B ends the SSO session; portal A is told through back-channel logout.
    out = browser.get(portal_b.base_url + "/oidc/logout")
    assert out.url.startswith(portal_b.base_url + "/")
    notifier = idp.app.extensions["idp"].notifier
    assert notifier.wait_idle(10)
    delivered = {client_id for client_id, _ in notifier.delivered}
    assert {client_a.client_id, client_b.client_id} <= delivered
    assert not notifier.failed

    again_a = browser.get(portal_a.base_url + "/profile", allow_redirects=False)
    assert again_a.status_code == 302 and again_a.headers["Location"].startswith(idp.issuer + "/authorize")
    again_b = browser.get(portal_b.base_url + "/profile", allow_redirects=False)
    assert again_b.status_code == 302
    # and the identity server asks for the password again
    assert browser.get(portal_a.base_url + "/profile").url.startswith(idp.issuer + "/login")


def test_logout_of_all_sessions_from_the_account_page(realm):
    idp, person, (portal_a, client_a), _ = realm
    laptop, phone = requests.Session(), requests.Session()
    for browser in (laptop, phone):
        page = browser.get(portal_a.base_url + "/profile")
        browser.post(idp.url("/login"), data={**_login_form(page), "username": person.id_number,
                                              "password": person.password})
    account = laptop.get(idp.url("/account"))
    assert account.text.count('class="session') == 2
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', account.text).group(1)
    laptop.post(idp.url("/account/logout-all"), data={"csrf_token": csrf})
    assert idp.app.extensions["idp"].notifier.wait_idle(10)
    for browser in (laptop, phone):
        response = browser.get(portal_a.base_url + "/profile", allow_redirects=False)
        assert response.status_code == 302
        assert browser.get(idp.url("/account"), allow_redirects=False).status_code == 302


def test_backchannel_delivery_retries_without_blocking_logout(tmp_path, app_backend):
    """An unreachable back-channel endpoint is retried in the background; logout returns at once."""
    with LiveServer(tmp_path / "idp", backchannel_retries=2, backchannel_timeout=1, store=app_backend.store,
                    **app_backend.overrides) as idp:
        person = idp.seed_person()
        client = idp.register_client(name="Down", redirect_uris=["http://127.0.0.1:9/cb"],
                                     backchannel_logout_uri="http://127.0.0.1:9/bc")
        browser = requests.Session()
        params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": "http://127.0.0.1:9/cb",
                  "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                  "code_challenge_method": "S256"}
        page = browser.get(idp.url("/authorize"), params=params)
        done = browser.post(idp.url("/login"), data={**_login_form(page), "username": person.id_number,
                                                     "password": person.password}, allow_redirects=False)
        code_redirect = browser.get(idp.url(done.headers["Location"]), allow_redirects=False)
        assert code_redirect.headers["Location"].startswith("http://127.0.0.1:9/cb?code=")
        account = browser.get(idp.url("/account"))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', account.text).group(1)
        response = browser.post(idp.url("/account/logout-all"), data={"csrf_token": csrf}, timeout=3)
        assert response.status_code == 200
        notifier = idp.app.extensions["idp"].notifier
        assert notifier.wait_idle(15)
        assert [f[0] for f in notifier.failed] == [client.client_id]
