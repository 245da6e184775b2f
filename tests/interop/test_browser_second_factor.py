"""A real browser (Debian's Chromium, headless) with each second factor. An authenticator app: a person logged in with a
password enrols TOTP from the account page (QR code rendered by the server), a portal then demands
urn:idp:loa:2 and the session steps up with a code, the person logs out, logs in with password + code,
and removes the second factor. Codes come from pyotp with the server's clock moved by the test, so a
fresh time step is used each time (a code is accepted once). The same with SMS codes, sent through a
recording gateway."""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from idp.authn import totp as totp_module

from .test_browser_login import authlib_portal

pytestmark = pytest.mark.interop


@pytest.fixture
def clock(monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(totp_module, "_clock", lambda: now[0])
    return now


@pytest.fixture
def portal(live_idp):
    with authlib_portal(live_idp, "社保网站") as server:
        yield server


def password(page, live_idp):
    page.fill("#username", live_idp.person.id_number)
    page.fill("#password", live_idp.person.password)
    page.click("form[action$='/login'] button[type=submit]")


def totp_code(page, secret, clock):
    clock[0] += 30  # the next time step: the last one was used
    page.wait_for_url("**/login/second-factor*")
    page.fill("#code", pyotp.TOTP(secret).at(clock[0]))
    page.click("#verify")


class RecordingSender:
    """The SMS gateway of the test: keeps the messages the server sends."""

    def __init__(self):
        self.sent = []

    def send(self, phone, message):
        self.sent.append((phone, message))

    def last_code(self) -> str:
        return re.search(r"\d{6}", self.sent[-1][1]).group(0)


def sms_code(page, sender):
    page.wait_for_url("**/login/second-factor*")
    page.click("#method-sms")
    page.click("#send-sms")
    page.wait_for_selector("p.notice")
    page.fill("#code", sender.last_code())
    page.click("#verify")


def test_totp_enrol_step_up_login_remove(csp_page, live_idp, portal, clock, tmp_path):
    page = csp_page
    # a password login at the portal: level 1
    page.goto(portal.base_url + "/login")
    page.wait_for_url(live_idp.url("/login") + "*")
    password(page, live_idp)
    page.wait_for_url(portal.base_url + "/**")
    assert page.inner_text("#acr") == "urn:idp:loa:1"

    # enrol an authenticator app from the account page
    page.goto(live_idp.url("/account"))
    page.click("#enrol-totp")
    assert page.locator(".qr svg").is_visible()
    page.screenshot(path=str(tmp_path / "1-enrol.png"), full_page=True)
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#code", pyotp.TOTP(secret).at(clock[0]))
    page.click("#confirm")
    assert page.locator("#recovery-codes li").count() == 10

    # the portal demands level 2: the password session steps up with a code
    page.goto(portal.base_url + "/login?acr=urn:idp:loa:2")
    totp_code(page, secret, clock)
    page.wait_for_url(portal.base_url + "/**")
    assert page.inner_text("#acr") == "urn:idp:loa:2"

    # log out everywhere, then log in with password + code
    page.goto(live_idp.url("/account"))
    page.click("#logout-all")
    page.goto(live_idp.url("/login"))
    password(page, live_idp)
    page.screenshot(path=str(tmp_path / "2-second-step.png"), full_page=True)
    totp_code(page, secret, clock)
    page.wait_for_url(live_idp.url("/account"))
    assert page.locator("#totp-status").inner_text() == "已开启"

    # remove it: the account page offers to set it up again
    page.click("#remove-totp")
    page.wait_for_selector("#enrol-totp")
    page.csp.check(page)


def test_sms_enrol_step_up_login_remove(csp_page, live_idp, portal, tmp_path):
    page = csp_page
    sender = RecordingSender()
    live_idp.app.extensions["idp"].sms.sender = sender
    page.goto(portal.base_url + "/login")
    page.wait_for_url(live_idp.url("/login") + "*")
    password(page, live_idp)
    page.wait_for_url(portal.base_url + "/**")

    page.goto(live_idp.url("/account"))
    page.click("#enrol-sms")
    page.fill("#phone", "13900139000")
    page.click("#send-sms")
    page.fill("#code", sender.last_code())
    page.click("#confirm")
    assert page.locator("#recovery-codes li").count() == 10
    assert sender.sent[-1][0] == "13900139000"

    page.goto(portal.base_url + "/login?acr=urn:idp:loa:2")
    sms_code(page, sender)
    page.wait_for_url(portal.base_url + "/**")
    assert page.inner_text("#acr") == "urn:idp:loa:2"

    page.goto(live_idp.url("/account"))
    page.click("#logout-all")
    page.goto(live_idp.url("/login"))
    password(page, live_idp)
    sms_code(page, sender)
    page.wait_for_url(live_idp.url("/account"))
    page.screenshot(path=str(tmp_path / "sms-account.png"), full_page=True)
    assert "139****9000" in page.inner_text("#sms-status")
    page.click("#remove-sms")
    page.wait_for_selector("#enrol-sms")
    page.csp.check(page)
