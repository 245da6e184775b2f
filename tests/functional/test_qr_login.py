"""QR cross-device login (扫码登录) over HTTP, with two browsers: a desktop that logs in to a portal by
showing a QR code, and a phone where the person is logged in that opens the code's link, confirms it is
her and approves. Every refusal is a clear page (or JSON for the desktop's poller) and an audit record.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, RP, Browser, audit_events, csrf_token, decode_jwt, query_of

OTHER_ID, OTHER_PASSWORD = "110101199003077571", "another good password"
DESKTOP_AGENT = "Mozilla/5.0 (Windows NT 10.0) DesktopBrowser/1.0"


def english(app, agent: str = "") -> Browser:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    if agent:
        client.environ_base["HTTP_USER_AGENT"] = agent
    return Browser(client)


class Desktop:
    """The browser logging in: the portal's login page with the QR panel open."""

    def __init__(self, app, portal: RP):
        self.app, self.browser = app, english(app, DESKTOP_AGENT)
        self.client = self.browser.client
        self.portal = RP(app, self.browser, portal.client_id, portal.secret, portal.redirect_uri, portal.scope)
        self.tx = self.verifier = None

    def start(self, **extra) -> str:
        """Open the portal's authorization request, land on the login page; returns the QR code's path."""
        params, self.verifier = self.portal.auth_params(**extra)
        to_login = self.browser.authorize(**params)
        assert to_login.status_code == 302 and "/login" in to_login.headers["Location"]
        self.tx = query_of(to_login.headers["Location"])["tx"]
        return self.show_code()

    def show_code(self) -> str:
        page = self.client.get(f"/login?tx={self.tx}&method=qr")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        self.csrf = csrf_token(html)
        assert "<svg" in html
        link = re.search(r'class="qr-link" href="([^"]+)"', html).group(1)
        assert link.startswith("http://localhost/login/qr/")
        return urlsplit(link).path

    def status(self, path: str):
        return self.client.get(path + "/status")

    def continue_login(self, path: str, tx: str | None = None):
        return self.client.post(path + "/continue", data={"csrf_token": self.csrf, "tx": tx or self.tx})

    def finish(self, continued):
        assert continued.status_code == 302, continued.get_data(as_text=True)
        back = self.client.get(continued.headers["Location"])
        assert back.status_code == 302 and back.headers["Location"].startswith(self.portal.redirect_uri), \
            back.headers.get("Location")
        tokens = self.portal.exchange(query_of(back.headers["Location"])["code"], self.verifier)
        assert tokens.status_code == 200, tokens.get_json()
        return decode_jwt(self.app, tokens.get_json()["id_token"]).claims


class Phone:
    """A browser where a person is logged in, opening the QR code's link."""

    def __init__(self, app, username=None, password=None, *, browser: Browser | None = None):
        """A new browser logged in with the password, or ``browser`` as it is."""
        self.browser = browser or english(app)
        self.client = self.browser.client
        if browser is None:
            credentials = {"username": username, "password": password} if username else {}
            assert self.browser.login("/login", **credentials).status_code == 302

    def open(self, path: str):
        return self.client.get(path)

    def _post(self, path: str, action: str, **form):
        page = self.client.get("/account")
        return self.client.post(f"{path}/{action}", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                          **form})

    def confirm(self, path: str):
        return self._post(path, "confirm")

    def decide(self, path: str, decision: str):
        return self._post(path, "decision", decision=decision)

    def approve(self, path: str):
        assert self.open(path).status_code == 200
        assert self.confirm(path).status_code == 302
        done = self.decide(path, "approve")
        assert done.status_code == 200, done.get_data(as_text=True)
        return done


@pytest.fixture
def desktop(app, rp):
    return Desktop(app, rp)


@pytest.fixture
def phone(app, citizen):
    return Phone(app)


@pytest.fixture
def other_person(app):
    from idp.identity.service import create_person
    with app.app_context():
        return create_person(id_number=OTHER_ID, name="李四", password=OTHER_PASSWORD).public_id


def refusals(app) -> list[str]:
    return [data["reason"] for _event, data in audit_events(app, "qr.refused")]


def age(app, path: str, seconds: float) -> None:
    """Move a request ``seconds`` into the past, as if the desktop had shown it that long ago."""
    from idp.authn import cross_device
    from idp.storage.token_hash import token_hash
    store = app.extensions["idp"].store
    key = token_hash(path.rsplit("/", 1)[1])
    with app.app_context():
        record = store.get(cross_device.REQUEST, key)
        record["created_at"] -= seconds
        record["expires_at"] -= seconds
        store.put(cross_device.REQUEST, key, record, cross_device.KEEP)


def test_the_phone_approves_and_the_desktop_continues_to_the_portal(app, desktop, phone, citizen):
    path = desktop.start()
    assert desktop.status(path).get_json() == {"status": "pending", "interval": 2}

    page = phone.open(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Portal A" in html and "127.0.0.1" in html and "DesktopBrowser/1.0" in html
    assert 'value="approve"' not in html  # "it is me" comes first
    assert phone.confirm(path).status_code == 302
    assert desktop.status(path).get_json()["status"] == "confirmed"
    assert 'value="approve"' in phone.open(path).get_data(as_text=True)
    done = phone.decide(path, "approve")
    assert done.status_code == 200 and "Portal A" in done.get_data(as_text=True)
    assert desktop.status(path).get_json()["status"] == "approved"

    claims = desktop.finish(desktop.continue_login(path))
    # the approving session's assurance, carried over unchanged
    assert claims["acr"] == "urn:idp:loa:1" and claims["amr"] == ["pwd"]
    with app.app_context():
        from idp.extensions import db
        from idp.identity.models import Person
        phone_session = app.extensions["idp"].sessions.load(
            phone.client.get_cookie("idp_session").value)
        assert claims["auth_time"] == phone_session.auth_time
        assert claims["sub"] and db.session.scalar(db.select(Person.public_id)) == citizen
    events = [event for event, _data in audit_events(app, "qr.")]
    assert events == ["qr.created", "qr.confirmed", "qr.approved", "qr.used"]
    event, data = audit_events(app, "login.success")[-1]
    assert data["method"] == "qr" and data["person"] == citizen and data["acr"] == "urn:idp:loa:1"
    assert desktop.status(path).get_json()["status"] == "used"


def test_the_level_is_never_raised(app, desktop, phone):
    """A portal asking for the second level is not given it by a password session's approval."""
    path = desktop.start(acr_values="urn:idp:loa:2")
    phone.approve(path)
    continued = desktop.continue_login(path)
    assert continued.status_code == 302
    again = desktop.client.get(continued.headers["Location"])
    assert again.status_code == 302 and "/login" in again.headers["Location"]  # a step-up is still needed
    with app.app_context():
        session = app.extensions["idp"].sessions.load(desktop.client.get_cookie("idp_session").value)
    assert session.acr == "urn:idp:loa:1" and session.amr == ["pwd"]


def test_a_stale_code_is_refused(app, desktop, phone):
    path = desktop.start()
    age(app, path, 121)
    page = phone.open(path)
    assert page.status_code == 400 and "This QR code has expired" in page.get_data(as_text=True)
    assert phone.confirm(path).status_code == 400
    assert desktop.status(path).get_json()["status"] == "expired"
    refused = desktop.continue_login(path)
    assert refused.status_code == 400 and "This QR code has expired" in refused.get_data(as_text=True)
    assert "<svg" in refused.get_data(as_text=True)  # a new code, right away
    assert refusals(app) == ["qr_expired", "qr_expired", "qr_expired"]
    assert audit_events(app, "qr.expired")


def test_a_code_approved_just_in_time_can_still_be_continued(app, desktop, phone):
    path = desktop.start()
    phone.approve(path)
    age(app, path, 150)  # approved before it expired; the desktop's poll comes a little later
    desktop.finish(desktop.continue_login(path))


def test_a_used_code_and_a_replayed_approval_are_refused(app, desktop, phone):
    path = desktop.start()
    phone.approve(path)
    replay = phone.decide(path, "approve")
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)
    desktop.finish(desktop.continue_login(path))
    assert desktop.status(path).get_json()["status"] == "used"
    again = desktop.continue_login(path)  # its login transaction ended with the first one
    assert again.status_code == 400 and "This login request has expired" in again.get_data(as_text=True)
    reopened = phone.open(path)
    assert reopened.status_code == 400 and "already been used" in reopened.get_data(as_text=True)
    assert refusals(app) == ["qr_used", "login_expired", "qr_used"]


def test_only_the_person_who_confirmed_can_approve(app, desktop, phone, other_person):
    path = desktop.start()
    assert phone.open(path).status_code == 200 and phone.confirm(path).status_code == 302
    stranger = Phone(app, OTHER_ID, OTHER_PASSWORD)
    page = stranger.open(path)
    assert page.status_code == 401 and "Someone else has already confirmed" in page.get_data(as_text=True)
    assert stranger.confirm(path).status_code == 401
    assert stranger.decide(path, "approve").status_code == 401
    assert desktop.status(path).get_json()["status"] == "confirmed"  # still the citizen's to answer
    assert refusals(app) == ["qr_different_person"] * 3
    assert all(data["person"] == other_person for _e, data in audit_events(app, "qr.refused"))
    phone.decide(path, "approve")
    claims = desktop.finish(desktop.continue_login(path))
    assert claims["name"] == "张三"


def test_approval_needs_a_confirmation_first(app, desktop, phone):
    path = desktop.start()
    refused = phone.decide(path, "approve")
    assert refused.status_code == 400 and "Confirm first" in refused.get_data(as_text=True)
    assert refusals(app) == ["qr_not_confirmed"]


def test_another_browser_learns_nothing_and_cannot_continue(app, desktop, phone):
    path = desktop.start()
    phone.approve(path)
    intruder = english(app)
    token = csrf_token(intruder.client.get("/login").get_data(as_text=True))
    polled = intruder.client.get(path + "/status")
    assert polled.status_code == 404 and polled.get_json()["status"] == "unknown"
    continued = intruder.client.post(path + "/continue", data={"csrf_token": token, "tx": desktop.tx})
    assert continued.status_code == 400 and "This QR code is not known here" in continued.get_data(as_text=True)
    assert intruder.client.get_cookie("idp_session") is None
    assert refusals(app) == ["qr_unknown"]
    desktop.finish(desktop.continue_login(path))  # the desktop itself still can


def test_a_code_continues_only_its_own_login(app, desktop, phone):
    path = desktop.start()
    first_tx = desktop.tx
    params, _verifier = desktop.portal.auth_params()
    other_tx = query_of(desktop.browser.authorize(**params).headers["Location"])["tx"]
    phone.approve(path)
    refused = desktop.continue_login(path, tx=other_tx)
    assert refused.status_code == 400 and "belongs to another login" in refused.get_data(as_text=True)
    assert refusals(app) == ["qr_other_login"]
    desktop.tx = first_tx
    desktop.finish(desktop.continue_login(path))


def test_a_denied_login(app, desktop, phone):
    path = desktop.start()
    assert phone.open(path).status_code == 200 and phone.confirm(path).status_code == 302
    done = phone.decide(path, "deny")
    assert done.status_code == 200 and "Login denied" in done.get_data(as_text=True)
    assert desktop.status(path).get_json()["status"] == "denied"
    refused = desktop.continue_login(path)
    assert refused.status_code == 401 and "denied on the other device" in refused.get_data(as_text=True)
    assert desktop.client.get_cookie("idp_session") is None
    assert "qr.denied" in [e for e, _d in audit_events(app, "qr.")] and refusals(app) == ["qr_denied"]


def test_continuing_before_the_approval_keeps_the_same_code(app, desktop, phone):
    path = desktop.start()
    early = desktop.continue_login(path)
    html = early.get_data(as_text=True)
    assert early.status_code == 400 and "has not been approved" in html and path in html
    phone.approve(path)
    desktop.finish(desktop.continue_login(path))


def test_an_unknown_code(app, phone):
    page = phone.open("/login/qr/" + secrets.token_urlsafe(32))
    assert page.status_code == 404 and "This QR code is not known here" in page.get_data(as_text=True)
    assert refusals(app) == ["qr_unknown"]


def test_the_phone_logs_in_first_then_comes_back(app, desktop, citizen):
    path = desktop.start()
    phone = english(app)
    opened = phone.client.get(path)
    assert opened.status_code == 302 and opened.headers["Location"] == "/login?next=" + path
    page = phone.client.get(opened.headers["Location"])
    logged_in = phone.client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                  "username": CITIZEN_ID, "password": CITIZEN_PASSWORD,
                                                  "next": path})
    assert logged_in.status_code == 302 and logged_in.headers["Location"] == path
    assert phone.client.get(path).status_code == 200


def test_the_desktop_cannot_poll_too_fast(app, desktop):
    path = desktop.start()
    answers = [desktop.status(path).status_code for _ in range(12)]
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429]
    assert desktop.status(path).headers["Retry-After"] == "4"


def test_one_network_cannot_ask_for_codes_without_end(app, desktop):
    desktop.start()
    for _ in range(29):
        desktop.show_code()
    page = desktop.client.get(f"/login?tx={desktop.tx}&method=qr")
    assert page.status_code == 200 and "Too many QR codes" in page.get_data(as_text=True)
    assert refusals(app) == ["qr_throttled"]


def test_the_pages_are_in_chinese_by_default(app, desktop, citizen):
    path = desktop.start()
    phone = Browser(app.test_client())
    assert phone.login("/login").status_code == 302
    html = phone.client.get(path).get_data(as_text=True)
    assert "Portal A" in html and "是我本人" in html
    age(app, path, 200)
    assert "二维码已过期" in phone.client.get(path).get_data(as_text=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.text(min_size=1, max_size=80).filter(lambda text: text not in (".", "..")))
@example(garbage="/")
def test_any_id_gets_a_page_never_a_500(app, phone, garbage):
    # "." and ".." are dot-segments: the URL itself names another path (RFC 3986 5.2.4), not an id
    path = "/login/qr/" + quote(garbage, safe="")
    token = csrf_token(phone.client.get("/account").get_data(as_text=True))
    answers = [phone.client.get(path), phone.client.get(path + "/status"),
               phone.client.post(path + "/confirm", data={"csrf_token": token}),
               phone.client.post(path + "/decision", data={"csrf_token": token, "decision": "approve"}),
               phone.client.post(path + "/continue", data={"csrf_token": token, "tx": garbage})]
    for answer in answers:
        # Werkzeug decodes %2F and merges the doubled slashes: a 308 to the cleaned path, or, when the
        # cleaned path is another route's (POST /login/qr//confirm is the page of the id "confirm"), 405
        assert answer.status_code in (400, 404) or (answer.status_code in (308, 405) and "/" in garbage), \
            (answer.status_code, garbage)


@pytest.mark.parametrize("language, passkey", [("en", "passkey that verifies you"), ("zh", "验证本人")])
def test_the_step_up_notice_names_passkeys_and_second_factors(app, citizen, language, passkey):
    client = app.test_client()
    page = client.get("/login?next=/account&acr=urn:idp:loa:2", headers={"Accept-Language": language})
    notice = re.search(r'<p class="notice" role="alert">([^<]+)</p>', page.get_data(as_text=True)).group(1)
    assert passkey in notice
    assert ("second factor" if language == "en" else "第二因素") in notice


def test_a_passkey_session_carries_its_level_to_the_desktop(app, desktop, citizen):
    """A phone logged in with a passkey (level 2) gives the desktop level 2, with the passkey's amr."""
    from passkey_authenticator import SoftAuthenticator
    from test_passkeys import PasskeyUser, fresh_browser
    owner = PasskeyUser(app, english(app))
    assert owner.browser.login("/login").status_code == 302
    authenticator = SoftAuthenticator()
    assert owner.register(authenticator).status_code == 200
    phone = fresh_browser(app)
    assert phone.login(authenticator)[0].status_code == 302
    path = desktop.start(acr_values="urn:idp:loa:2")
    Phone(app, browser=phone.browser).approve(path)
    claims = desktop.finish(desktop.continue_login(path))
    assert claims["acr"] == "urn:idp:loa:2" and claims["amr"] == ["hwk", "user", "mfa"]


def test_without_a_portal_the_desktop_returns_to_the_local_page_it_came_for(app, phone):
    desktop = english(app, DESKTOP_AGENT)
    html = desktop.client.get("/login?next=/account&method=qr").get_data(as_text=True)
    path = urlsplit(re.search(r'class="qr-link" href="([^"]+)"', html).group(1)).path
    phone.approve(path)
    elsewhere = desktop.client.post(path + "/continue", data={"csrf_token": csrf_token(html), "next": "/device"})
    assert elsewhere.status_code == 400 and "belongs to another login" in elsewhere.get_data(as_text=True)
    continued = desktop.client.post(path + "/continue", data={"csrf_token": csrf_token(html), "next": "/account"})
    assert continued.status_code == 302 and continued.headers["Location"] == "/account"
    assert "Approved on another device (QR code)" in desktop.client.get("/account").get_data(as_text=True)


def test_a_step_up_is_approved_by_the_person_logged_in_only(app, desktop, other_person):
    """The desktop is logged in as the citizen; a portal asks for more; another person's approval is refused."""
    desktop.browser.login("/login")
    path = desktop.start(acr_values="urn:idp:loa:2")
    Phone(app, OTHER_ID, OTHER_PASSWORD).approve(path)
    refused = desktop.continue_login(path)
    assert refused.status_code == 401 and "approved by someone else" in refused.get_data(as_text=True)
    assert refusals(app) == ["qr_step_up_other_person"]
    with app.app_context():
        session = app.extensions["idp"].sessions.load(desktop.client.get_cookie("idp_session").value)
    assert session.method == "password" and session.acr == "urn:idp:loa:1"  # the citizen's session as it was
