"""A device built on openid-client (npm), a library written elsewhere, logs a person in with the device
authorization grant (RFC 8628) knowing only the issuer: it discovers the endpoints, shows the code and
polls, while the person approves or denies in real Chromium under the pages' Content-Security-Policy.
The device pages are also checked with axe-core, in Chinese and in English."""
from __future__ import annotations

import pytest
import requests

from .test_accessibility import axe_script, axe_violations, log_in, new_page  # noqa: F401  (axe_script: a fixture)
from .test_openid_client import NodeRP, openid_client_script  # noqa: F401  (openid_client_script: a fixture)

pytestmark = pytest.mark.interop

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def run_device(openid_client_script):  # noqa: F811
    node, script = openid_client_script
    started = []

    def run(idp, client) -> NodeRP:
        device = NodeRP(node, script.parent / "device.mjs", {
            "RP_ISSUER": idp.issuer, "RP_CLIENT_ID": client.client_id,
            "RP_CLIENT_SECRET": client.client_secret or "", "RP_SCOPE": "openid profile"})
        started.append(device)
        return device

    yield run
    for device in started:
        device.close()


def _log_in(page, idp):
    page.wait_for_url(idp.url("/login") + "**")
    page.fill("#username", idp.person.id_number)
    page.fill("#password", idp.person.password)
    page.click("form[action*='/login'] button[type=submit]")
    page.wait_for_url(idp.url("/device") + "**")


def test_approved_in_the_browser(csp_page, live_idp, run_device):
    page, idp = csp_page, live_idp
    client = idp.register_client(name="政务服务大厅自助机", redirect_uris=[], public=True, first_party=False,
                                 scopes=["openid", "profile"], grant_types=[DEVICE_GRANT, "refresh_token"])
    device = run_device(idp, client)
    shown = device.read("device")
    assert shown["device_authorization_endpoint"] == idp.url("/device_authorization")
    assert shown["verification_uri"] == idp.url("/device")
    assert shown["interval"] == 5 and shown["expires_in"] == 600

    # The person scans the kiosk's link: logs in first, then finds the code filled in.
    page.goto(shown["verification_uri_complete"])
    _log_in(page, idp)
    assert page.input_value("#user_code") == shown["user_code"]
    page.click("form[action$='/device'] button[type=submit]")
    page.wait_for_selector("button[name=decision][value=allow]")
    assert "政务服务大厅自助机" in page.inner_text("h1")
    assert shown["user_code"] in page.inner_text(".user-code")
    page.click("button[name=decision][value=allow]")
    assert page.inner_text("h1") == "设备已连接"

    tokens = device.read("tokens")
    claims = tokens["id_token_claims"]
    assert claims["iss"] == idp.issuer and claims["aud"] in (client.client_id, [client.client_id])
    assert claims["name"] == idp.person.name
    assert claims["acr"] == "urn:idp:loa:1" and claims["amr"] == ["pwd"]  # the approving session's
    assert tokens["userinfo"]["sub"] == claims["sub"] and tokens["userinfo"]["name"] == idp.person.name
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    assert device.close() == 0
    page.csp.check(page)


def test_denied_in_the_browser(csp_page, live_idp, run_device):
    page, idp = csp_page, live_idp
    client = idp.register_client(name="会议室电视", redirect_uris=[], scopes=["openid", "profile"],
                                 grant_types=[DEVICE_GRANT], auth_method="client_secret_basic")
    device = run_device(idp, client)
    shown = device.read("device")

    # The person types the code from the screen, loosely (lower case, no dash), into the empty form.
    page.goto(shown["verification_uri"])
    _log_in(page, idp)
    assert page.input_value("#user_code") == ""
    page.fill("#user_code", "bcdfghjk")  # a code no device holds
    page.click("form[action$='/device'] button[type=submit]")
    assert "设备码无效" in page.inner_text("p.error")
    page.fill("#user_code", shown["user_code"].replace("-", "").lower())
    page.click("form[action$='/device'] button[type=submit]")
    page.click("button[name=decision][value=deny]")
    assert page.inner_text("h1") == "已拒绝请求"

    refused = device.read("error")
    assert refused["error"]["error"] == "access_denied", refused
    assert device.close() == 1
    page.csp.check(page)


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_device_pages_have_no_serious_accessibility_violations(chromium, live_idp, axe_script, locale):  # noqa: F811
    idp = live_idp
    client = idp.register_client(name="自助机", redirect_uris=[], public=True, grant_types=[DEVICE_GRANT])
    context, page = new_page(chromium, locale)
    problems = []
    try:
        log_in(page, idp, idp.person.id_number, idp.person.password, start="/login?next=/device")
        page.wait_for_url(idp.url("/device"))
        problems += axe_violations(page, axe_script, "device code entry")
        page.fill("#user_code", "BCDF-GHJK")
        page.click("form[action$='/device'] button[type=submit]")
        problems += axe_violations(page, axe_script, "unknown device code")
        for decision in ("deny", "allow"):
            user_code = requests.post(idp.url("/device_authorization"), data={"client_id": client.client_id},
                                      timeout=10).json()["user_code"]
            page.goto(idp.url("/device?user_code=" + user_code))  # verification_uri_complete
            page.click("form[action$='/device'] button[type=submit]")
            problems += axe_violations(page, axe_script, "device confirmation")
            page.click(f"button[name=decision][value={decision}]")
            problems += axe_violations(page, axe_script, f"device {decision}")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
