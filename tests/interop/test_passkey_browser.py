"""Passkeys in a real browser: Debian's Chromium with a CDP virtual authenticator (a CTAP2 platform
authenticator with user verification, ``WebAuthn.addVirtualAuthenticator``) runs the WebAuthn ceremonies
of ``static/passkey.js`` against the identity server; nothing of the ceremony is mocked.

A person adds a passkey on the account page, logs out, logs in at a portal with the passkey alone (the
portal's ID token says ``urn:idp:loa:2``), sees a passkey from another authenticator refused, and removes
the passkey. The issuer is http://localhost:<port>: a WebAuthn RP ID must be a domain, not an address.
"""
from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpers import audit_events
from live_server import LiveServer

from .browser import TIMEOUT_MS, CspViolations
from .test_browser_login import authlib_portal

pytestmark = pytest.mark.interop

AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}


@pytest.fixture
def localhost_idp(tmp_path):
    with LiveServer(tmp_path / "idp", issuer_host="localhost") as server:
        server.person = server.seed_person(phone="13800138000", email="zhangsan@example.gov.cn")
        yield server


@pytest.fixture
def portal(localhost_idp):
    with authlib_portal(localhost_idp, "部门网站") as server:
        yield server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def log_in_with_password(page, idp) -> None:
    page.goto(idp.url("/login"))
    page.fill("#username", idp.person.id_number)
    page.fill("#password", idp.person.password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(idp.url("/account"))


def log_out(page, idp) -> None:
    page.goto(idp.url("/account"))
    page.click("#logout-all")
    page.wait_for_load_state("load")


def passkey_login(page) -> None:
    page.click("#tab-person-passkey")
    page.click("#person-passkey-form .passkey-start")


def test_register_log_in_with_passkey_alone_then_remove(chromium, localhost_idp, portal, tmp_path):
    idp = localhost_idp
    context = chromium.new_context(locale="zh-CN")
    csp = CspViolations(context)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        first = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})["authenticatorId"]

        # 1. add a passkey on the account page
        log_in_with_password(page, idp)
        page.fill("#passkey-name", "笔记本电脑")
        page.click("#passkey-add")
        page.wait_for_selector("tr.passkey")
        assert page.inner_text("tr.passkey .passkey-name") == "笔记本电脑"
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": first})["credentials"]
        assert len(credentials) == 1 and credentials[0]["isResidentCredential"] and credentials[0]["rpId"] == "localhost"
        page.screenshot(path=str(tmp_path / "1-registered.png"), full_page=True)
        log_out(page, idp)

        # 2. log in at the portal with the passkey alone: no username, no password
        page.goto(portal.base_url + "/login")
        page.wait_for_url(idp.url("/login") + "*")
        passkey_login(page)
        page.wait_for_url(portal.base_url + "/")
        assert page.inner_text("#name").strip() == idp.person.name
        assert page.inner_text("#acr").strip() == "urn:idp:loa:2"
        event, data = audit_events(idp.app, "login.success")[-1]
        assert data["method"] == "passkey" and data["amr"] == ["hwk", "user", "mfa"]
        assert data["person"] == idp.person.public_id
        signed = cdp.send("WebAuthn.getCredentials", {"authenticatorId": first})["credentials"][0]["signCount"]
        assert signed >= 1
        page.screenshot(path=str(tmp_path / "2-portal.png"), full_page=True)

        # 3. a passkey of another authenticator, never registered here, is refused
        cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": first})
        other = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})["authenticatorId"]
        key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        cdp.send("WebAuthn.addCredential", {"authenticatorId": other, "credential": {
            "credentialId": b64(os.urandom(32)), "isResidentCredential": True, "rpId": "localhost",
            "privateKey": b64(key), "userHandle": b64(idp.person.public_id.encode()), "signCount": 0}})
        log_out(page, idp)
        page.goto(idp.url("/login"))
        passkey_login(page)
        page.wait_for_selector("p.error[role=alert]")
        assert "此通行密钥未在本站登记" in page.inner_text("p.error[role=alert]")
        assert audit_events(idp.app, "login.failure")[-1][1]["reason"] == "passkey_unknown"
        page.screenshot(path=str(tmp_path / "3-refused.png"), full_page=True)

        # 4. remove the passkey
        log_in_with_password(page, idp)
        page.click("tr.passkey .passkey-remove")
        page.wait_for_selector("#no-passkeys")
        assert page.locator("tr.passkey").count() == 0
        assert audit_events(idp.app, "passkey.removed")
        csp.check(page)
    finally:
        context.close()
