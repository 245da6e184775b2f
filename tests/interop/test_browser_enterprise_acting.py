"""A real browser (Debian's Chromium, headless): a legal representative logged in by password, with an
authenticator app set up, opens a portal that asks for the enterprise context (Authlib's Flask client,
scope ``entity``). The chooser offers her enterprise; picking it steps her session up with a code of her
authenticator app, and the portal's ID token then names the enterprise with her role."""
from __future__ import annotations

import pyotp
import pytest

from .test_browser_login import authlib_portal
from .test_browser_second_factor import clock, password, totp_code  # noqa: F401 (clock: a fixture)

pytestmark = pytest.mark.interop
USCC, NAME = "91110000100000000R", "示例科技有限公司"


@pytest.fixture
def enterprise_portal(live_idp):
    from idp.identity.service import create_entity, link_representative
    with live_idp.app.app_context():
        entity = create_entity(uscc=USCC, name=NAME)
        link_representative(uscc=USCC, id_number=live_idp.person.id_number, role="legal_representative")
        live_idp.entity = entity.public_id
    with authlib_portal(live_idp, "企业服务网", scopes=("openid", "profile", "entity")) as server:
        yield server


def test_password_session_steps_up_to_act_for_her_enterprise(csp_page, live_idp, enterprise_portal, clock,
                                                              tmp_path):
    page = csp_page
    page.goto(live_idp.url("/login"))
    password(page, live_idp)
    page.wait_for_url(live_idp.url("/account"))
    page.click("#enrol-totp")
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#code", pyotp.TOTP(secret).at(clock[0]))
    page.click("#confirm")
    assert page.locator("#recovery-codes li").count() == 10

    page.goto(enterprise_portal.base_url + "/login")
    page.wait_for_url(live_idp.url("/account/acting-for") + "*")
    assert NAME in page.inner_text("#choose-context")
    page.screenshot(path=str(tmp_path / "1-chooser.png"), full_page=True)
    page.check(f"input[name=acting_for][value='{live_idp.entity}']")
    page.click("#choose-context button[type=submit]")
    totp_code(page, secret, clock)  # her password session is below certificate level: a step-up first
    page.wait_for_url(enterprise_portal.base_url + "/**")
    assert page.inner_text("#entity") == f"{USCC} legal_representative"
    assert page.inner_text("#acr") == "urn:idp:loa:2"
    page.goto(live_idp.url("/account"))
    assert NAME in page.inner_text("#acting-for")
    page.csp.check(page)
