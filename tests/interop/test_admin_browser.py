"""An administrator registers a department portal in the admin console in headless Chromium (Debian's
/usr/bin/chromium), copies the client secret shown once, and a relying party then uses that client_id
and secret to log a citizen in with the code flow (PKCE, Authlib's requests client) over real HTTP."""
from __future__ import annotations

import secrets

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from .login_form import login_and_capture_callback
from .browser import TIMEOUT_MS

pytestmark = pytest.mark.interop

ADMIN_ID = "110101199003074477"
ADMIN_PASSWORD = "admin pass phrase 2026"



def register_in_console(chromium, idp, redirect_uri, screenshots):
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(idp.url("/admin/"))
        page.wait_for_url(lambda url: url.startswith(idp.url("/login?next=")))
        page.fill("#username", ADMIN_ID)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("form[action$='/login'] button[type=submit]")
        page.wait_for_url(idp.url("/admin/"))
        assert "客户端" in page.inner_text("h1")
        page.click("#new-client")
        page.wait_for_url(idp.url("/admin/clients/new"))
        page.fill("#name", "人社局门户")
        page.fill("#redirect_uris", redirect_uri)
        page.check("input[name=scopes][value=openid]")
        page.check("input[name=scopes][value=profile]")
        page.screenshot(path=str(screenshots / "1-form.png"), full_page=True)
        page.click("#save")
        page.wait_for_selector("#client-secret")
        page.screenshot(path=str(screenshots / "2-secret.png"), full_page=True)
        client_id = page.inner_text("#client-id").strip()
        client_secret = page.inner_text("#client-secret").strip()
        # the secret is shown once: the client's own page does not show it again
        page.click("#to-client")
        page.wait_for_selector("#edit")
        assert client_secret not in page.content() and "人社局门户" in page.inner_text("h1")
        return client_id, client_secret
    finally:
        context.close()


def test_admin_registers_a_client_and_a_relying_party_logs_a_citizen_in(chromium, live_idp, tmp_path):
    from authlib.integrations.requests_client import OAuth2Session
    live_idp.seed_person(id_number=ADMIN_ID, name="管理员", password=ADMIN_PASSWORD, is_admin=True)
    redirect_uri = "http://127.0.0.1:9/oidc/callback"  # nothing listens: the callback URL is captured
    client_id, client_secret = register_in_console(chromium, live_idp, redirect_uri, tmp_path)
    assert len(client_secret) >= 32

    metadata = requests.get(live_idp.url("/.well-known/openid-configuration"), timeout=10).json()
    rp = OAuth2Session(client_id, client_secret, scope="openid profile", redirect_uri=redirect_uri,
                       code_challenge_method="S256")
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(12)
    authorization_url, state = rp.create_authorization_url(metadata["authorization_endpoint"],
                                                           code_verifier=verifier, nonce=nonce)
    citizen_browser = requests.Session()
    callback = login_and_capture_callback(citizen_browser, authorization_url, username=live_idp.person.id_number,
                                          password=live_idp.person.password, redirect_uri=redirect_uri)
    token = rp.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)

    claims = jwt.decode(token["id_token"], KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json()))
    assert claims.claims["aud"] in (client_id, [client_id]) and claims.claims["nonce"] == nonce
    assert claims.claims["name"] == live_idp.person.name
    userinfo = rp.get(metadata["userinfo_endpoint"], timeout=10).json()
    assert userinfo["name"] == "张三" == live_idp.person.name
    assert (tmp_path / "2-secret.png").stat().st_size > 1000
