"""Accessibility of the pages a person and an administrator use, checked in headless Chromium with
axe-core (the npm package pinned in tests/interop/node), plus the keyboard behaviour of the login
tabs: no serious or critical axe violation on the login page (both tabs, every method), the account
page, the consent page, an error page and the admin console, in Chinese and in English."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from .browser import TIMEOUT_MS

pytestmark = pytest.mark.interop

AXE = Path(__file__).resolve().parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN_ID = "110101199003074477"
ADMIN_PASSWORD = "admin pass phrase 2026"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_script():
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run scripts/install-peers.sh (npm ci in tests/interop/node)")
    return str(AXE)


def axe_violations(page, axe_script: str, what: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=axe_script)
    result = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                             targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
    }""")
    return [f"{what}: {v['id']} ({v['impact']}) {v['help']} at {v['targets']}"
            for v in result if v["impact"] in BLOCKING]


def new_page(chromium, locale):
    # axe is injected as a script element: the page's Content-Security-Policy must not block the checker
    context = chromium.new_context(locale=locale, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def log_in(page, idp, id_number, password, start="/login"):
    page.goto(idp.url(start))
    page.fill("#username", id_number)
    page.fill("#password", password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_login_account_consent_and_error_pages_have_no_serious_violations(chromium, live_idp, axe_script, locale):
    portal = live_idp.register_client(name="社保查询", redirect_uris=["http://127.0.0.1:9/cb"], first_party=False,
                                      scopes=["openid", "profile", "phone"])
    context, page = new_page(chromium, locale)
    problems = []
    try:
        page.goto(live_idp.url("/login"))
        problems += axe_violations(page, axe_script, "login, individual, password")
        for tab in ("#tab-person-certificate", "#tab-person-usbkey", "#tab-enterprise",
                    "#tab-enterprise-usbkey"):
            page.click(tab)
            problems += axe_violations(page, axe_script, f"login after choosing {tab}")
        page.click("#panel-enterprise-usbkey details summary")
        problems += axe_violations(page, axe_script, "login, enterprise USB key, help open")

        page.goto(live_idp.url("/login?tab=enterprise"))  # the same page without JavaScript's help
        problems += axe_violations(page, axe_script, "login, enterprise tab from the URL")

        log_in(page, live_idp, live_idp.person.id_number, live_idp.person.password)
        page.wait_for_url(live_idp.url("/account"))
        problems += axe_violations(page, axe_script, "account")

        page.goto(live_idp.url("/authorize?" + urlencode({
            "response_type": "code", "client_id": portal.client_id, "redirect_uri": "http://127.0.0.1:9/cb",
            "scope": "openid profile phone", "state": "s", "code_challenge": "x" * 43,
            "code_challenge_method": "S256"})))
        page.wait_for_url(live_idp.url("/consent") + "*")
        problems += axe_violations(page, axe_script, "consent")

        page.goto(live_idp.url("/no-such-page"))
        problems += axe_violations(page, axe_script, "404 page")
        page.goto(live_idp.url("/authorize?client_id=nope&response_type=code"))
        problems += axe_violations(page, axe_script, "authorization error page")
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_serious_violation(chromium, live_idp, axe_script):
    context, page = new_page(chromium, "zh-CN")
    try:
        page.goto(live_idp.url("/login"))
        page.evaluate("""() => document.querySelector("#username").insertAdjacentHTML("afterend",
                                                                                     '<input id="unlabelled">')""")
        found = axe_violations(page, axe_script, "login with an input without a label")
        assert any(" label (critical)" in problem for problem in found), found
    finally:
        context.close()


def test_admin_console_has_no_serious_violations(chromium, live_idp, axe_script):
    live_idp.seed_person(id_number=ADMIN_ID, name="管理员", password=ADMIN_PASSWORD, is_admin=True)
    live_idp.register_client(name="人社局门户", redirect_uris=["https://portal.example.gov.cn/cb"])
    context, page = new_page(chromium, "zh-CN")
    problems = []
    try:
        log_in(page, live_idp, ADMIN_ID, ADMIN_PASSWORD, start="/login?next=/admin/")
        page.wait_for_url(live_idp.url("/admin/"))
        problems += axe_violations(page, axe_script, "admin clients")
        page.click("a.client-link, tr.client a")
        page.wait_for_selector("#client-id")
        problems += axe_violations(page, axe_script, "admin client")
        for path in ("/admin/clients/new", "/admin/keys", "/admin/certificates", "/admin/cas/", "/admin/cas/new"):
            page.goto(live_idp.url(path))
            problems += axe_violations(page, axe_script, path)
        page.goto(live_idp.url("/admin/clients/new"))
        page.click("#save")  # nothing filled in: the form comes back with its errors
        page.wait_for_load_state("load")
        problems += axe_violations(page, axe_script, "admin client form with errors")
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_login_tabs_work_with_the_keyboard(chromium, live_idp):
    context, page = new_page(chromium, "zh-CN")
    try:
        page.goto(live_idp.url("/login"))
        person, enterprise = page.locator("#tab-person"), page.locator("#tab-enterprise")
        assert page.get_attribute("#tab-person", "role") == "tab"
        assert person.get_attribute("aria-selected") == "true" and enterprise.get_attribute("tabindex") == "-1"
        # keyboard order: the open audience tab, the open method tab, then the form's fields and button
        person.focus()
        order = [page.evaluate("() => document.activeElement.id")]
        for _ in range(3):
            page.keyboard.press("Tab")
            order.append(page.evaluate("() => document.activeElement.id"))
        assert order == ["tab-person", "tab-person-password", "username", "password"]
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), "keyboard focus must be visible"

        person.focus()
        page.keyboard.press("ArrowRight")
        assert page.evaluate("() => document.activeElement.id") == "tab-enterprise"
        assert enterprise.get_attribute("aria-selected") == "true" and person.get_attribute("tabindex") == "-1"
        assert page.locator("#panel-enterprise").is_visible() and not page.locator("#panel-person").is_visible()
        assert page.url.endswith("/login?tab=enterprise"), "the address keeps the open tab"
        assert "tab=enterprise" in page.get_attribute("nav.lang a[hreflang=en]", "href")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "tab-enterprise-certificate"
        page.keyboard.press("End")
        assert page.evaluate("() => document.activeElement.id") == "tab-enterprise-usbkey"
        assert page.locator("#enterprise-signed").is_visible()
        page.keyboard.press("Home")
        assert page.locator("#enterprise-tls-login").is_visible()
        page.locator("#tab-enterprise").focus()
        page.keyboard.press("ArrowLeft")
        assert page.locator("#username").is_visible()
    finally:
        context.close()


def test_signing_software_receives_the_challenge_and_its_answer_is_sent(chromium, live_idp):
    """A USB key's signing software (here a stand-in listening for the page's event) gets the challenge
    and answers; the page puts the answer into the signature field and submits the form."""
    context, page = new_page(chromium, "en-US")
    try:
        page.goto(live_idp.url("/login?tab=person&method=usbkey"))
        challenge = page.get_attribute("#person-usbkey-form", "data-challenge")
        page.evaluate("""() => document.addEventListener("idp-sign-request", event => {
            sessionStorage.setItem("requested", JSON.stringify(event.detail));
            event.target.dispatchEvent(new CustomEvent("idp-signed", {detail: {challenge_id: "x",
                certificate: "not a certificate", signature: "AAAA"}}));
        })""")
        with page.expect_navigation():
            page.click("#person-usbkey-form .sign-with-agent")
        requested = page.evaluate("() => JSON.parse(sessionStorage.getItem('requested'))")
        assert requested["challenge"] == challenge and challenge.startswith("idp-login:")
        assert requested["challengeId"] and requested["expiresIn"] == 120
        # the answer reached the server, which refused the stand-in's certificate on the USB-key tab
        assert page.url == live_idp.url("/login/certificate/challenge")
        assert "malformed" in page.inner_text("p.error[role=alert]") and page.locator("#person-signed").is_visible()
        page.goto(live_idp.url("/login?tab=person&method=usbkey"))
        page.click("#person-usbkey-form .sign-with-agent")  # nobody answers
        page.wait_for_selector("#person-usbkey-form .agent-missing", state="visible", timeout=10_000)
    finally:
        context.close()
