"""QR cross-device login (扫码登录) in real Chromium, with two browser contexts: a desktop that opens a
portal's login page and shows a QR code, and a phone already logged in to idp that opens the code's link,
confirms it is her and approves. The desktop's page (``static/qr_login.js``) notices the approval by
itself and ends at the portal, logged in at the phone session's level; no page breaks the CSP, and the
pages have no serious axe-core violation.
"""
from __future__ import annotations

import pytest

from helpers import audit_events

from .browser import TIMEOUT_MS, CspViolations
from .test_accessibility import axe_script, axe_violations  # noqa: F401 (a fixture)
from .test_passkey_browser import localhost_idp, log_in_with_password, portal  # noqa: F401 (fixtures)

pytestmark = pytest.mark.interop


def open_context(chromium, **options):
    context = chromium.new_context(locale="zh-CN", **options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def show_code(desktop, portal, idp) -> str:
    """The desktop opens the portal's login, chooses the QR tab and shows a code; returns its link."""
    desktop.goto(portal.base_url + "/login")
    desktop.wait_for_url(idp.url("/login") + "*")
    desktop.click("#tab-person-qr")
    desktop.click("#panel-person-qr a.qr-show")
    desktop.wait_for_selector(".qr-code svg")
    return desktop.get_attribute("a.qr-link", "href")


def test_a_phone_approves_the_desktop_login(chromium, localhost_idp, portal, tmp_path):
    idp = localhost_idp
    desktop_context, desktop = open_context(chromium, user_agent="Mozilla/5.0 (X11; Linux x86_64) DesktopChromium")
    phone_context, phone = open_context(chromium)
    csp = [CspViolations(desktop_context), CspViolations(phone_context)]
    try:
        log_in_with_password(phone, idp)
        link = show_code(desktop, portal, idp)
        assert link.startswith(idp.url("/login/qr/"))
        assert desktop.get_attribute(".qr-login .qr-continue button", "hidden") is not None  # the poller continues
        desktop.screenshot(path=str(tmp_path / "1-desktop-code.png"), full_page=True)

        phone.goto(link)
        shown = phone.inner_text("dl.qr-request")
        assert "部门网站" in phone.inner_text("h1") and "127.0.0.1" in shown and "DesktopChromium" in shown
        phone.click("form[action$='/confirm'] button")
        desktop.wait_for_function("() => document.querySelector('.qr-status').textContent.includes('已扫描')")
        phone.click("button[value=approve]")
        phone.wait_for_selector("text=已批准登录")
        phone.screenshot(path=str(tmp_path / "2-phone-approved.png"), full_page=True)

        desktop.wait_for_url(portal.base_url + "/")
        assert desktop.inner_text("#name").strip() == idp.person.name
        assert desktop.inner_text("#acr").strip() == "urn:idp:loa:1"  # the phone's password session's level
        event, data = audit_events(idp.app, "login.success")[-1]
        assert data["method"] == "qr" and data["amr"] == ["pwd"] and data["person"] == idp.person.public_id
        assert [e for e, _d in audit_events(idp.app, "qr.")] == ["qr.created", "qr.confirmed", "qr.approved",
                                                                 "qr.used"]
        # the used code cannot be opened again
        phone.goto(link)
        assert "已被使用" in phone.inner_text("[role=alert]")
        for violations, page in zip(csp, (desktop, phone)):
            violations.check(page)
    finally:
        desktop_context.close()
        phone_context.close()


def test_a_denied_login_offers_a_new_code(chromium, localhost_idp, portal):
    idp = localhost_idp
    desktop_context, desktop = open_context(chromium)
    phone_context, phone = open_context(chromium)
    csp = CspViolations(desktop_context)
    try:
        log_in_with_password(phone, idp)
        link = show_code(desktop, portal, idp)
        phone.goto(link)
        phone.click("form[action$='/confirm'] button")
        phone.click("button[value=deny]")
        desktop.wait_for_selector(".qr-new:not([hidden])")
        assert "被拒绝" in desktop.inner_text(".qr-status")
        assert desktop.is_hidden(".qr-code")
        desktop.click(".qr-new a")
        desktop.wait_for_selector(".qr-code svg")
        assert desktop.get_attribute("a.qr-link", "href") != link
        csp.check(desktop)
    finally:
        desktop_context.close()
        phone_context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_qr_pages_have_no_serious_axe_violations(chromium, localhost_idp, portal, axe_script, locale):  # noqa: F811
    idp = localhost_idp
    desktop_context = chromium.new_context(locale=locale, bypass_csp=True)  # axe is injected as a script
    phone_context = chromium.new_context(locale=locale, bypass_csp=True)
    problems = []
    try:
        desktop, phone = desktop_context.new_page(), phone_context.new_page()
        for page in (desktop, phone):
            page.set_default_timeout(TIMEOUT_MS)
        log_in_with_password(phone, idp)
        link = show_code(desktop, portal, idp)
        problems += axe_violations(desktop, axe_script, "login, QR code")
        phone.goto(link)
        problems += axe_violations(phone, axe_script, "QR code scanned")
        phone.click("form[action$='/confirm'] button")
        problems += axe_violations(phone, axe_script, "QR login to approve")
        phone.click("button[value=approve]")
        problems += axe_violations(phone, axe_script, "QR login approved")
        phone.goto(link)
        problems += axe_violations(phone, axe_script, "QR code used")
    finally:
        desktop_context.close()
        phone_context.close()
    assert not problems, "\n".join(problems)
