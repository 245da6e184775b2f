"""The login page: CSRF, messages that do not reveal accounts, throttling, cookies, usernames."""
from __future__ import annotations

import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, csrf_token, make_settings
from idp import create_app
from idp.migrate import upgrade


def _post_login(browser, username, password, lang="en"):
    page = browser.client.get("/login?lang=" + lang)
    return browser.client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                               "username": username, "password": password})


def test_login_form_fields_and_chinese_default(browser):
    html = browser.client.get("/login").get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html and 'name="csrf_token"' in html
    assert "登录" in html


@pytest.mark.parametrize("username", [CITIZEN_ID, CITIZEN_ID.lower(), "13800138000", "+86 138 0013 8000",
                                      "ZhangSan@Example.gov.cn"])
def test_username_accepts_id_number_phone_or_email(browser, citizen, username):
    response = _post_login(browser, username, CITIZEN_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")


def test_wrong_password_and_unknown_user_get_the_same_message(browser, citizen, monkeypatch):
    from idp.authn import password
    burned = []
    original = password.burn_time
    monkeypatch.setattr(password, "burn_time", lambda p: (burned.append(1), original(p)))
    wrong = _post_login(browser, CITIZEN_ID, "not the password")
    unknown = _post_login(browser, "110101199003074477", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    assert "Wrong username or password." in unknown.get_data(as_text=True)
    assert burned == [1], "an unknown username must cost an argon2 verification too"


def test_login_without_csrf_token_is_refused(browser, citizen):
    response = browser.client.post("/login", data={"username": CITIZEN_ID, "password": CITIZEN_PASSWORD},
                                   headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert "idp_session" not in response.headers.get("Set-Cookie", "")


def test_account_lockout_after_repeated_failures(browser, citizen):
    for _ in range(5):
        assert _post_login(browser, CITIZEN_ID, "wrong password").status_code == 401
    locked = _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD)
    assert locked.status_code == 429 and "Too many failed attempts" in locked.get_data(as_text=True)


def test_ip_lockout_across_accounts(tmp_path, citizen):
    app = create_app(make_settings(tmp_path / "ip", login_ip_max_failures=3))
    upgrade(app)
    from helpers import Browser
    browser = Browser(app.test_client())
    for n in range(3):
        _post_login(browser, f"user{n}@example.gov.cn", "wrong password")
    assert _post_login(browser, "someone@example.gov.cn", "whatever1").status_code == 429


def test_successful_login_resets_the_failure_count(browser, citizen):
    for _ in range(4):
        _post_login(browser, CITIZEN_ID, "wrong password")
    assert _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD).status_code == 302
    for _ in range(4):
        _post_login(browser, CITIZEN_ID, "wrong password")
    assert _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD).status_code == 302


def test_session_cookie_flags_on_localhost(browser, citizen):
    response = _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("idp_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def _cookie_attributes(set_cookie: str) -> tuple[str, dict]:
    first, *attributes = [part.strip() for part in set_cookie.split(";")]
    name = first.split("=", 1)[0]
    return name, {a.split("=", 1)[0].lower(): (a.split("=", 1)[1] if "=" in a else True) for a in attributes}


def test_every_cookie_is_a_host_cookie_on_https(tmp_path, citizen):
    """ASVS 3.4.4: on https every cookie the server sets is ``__Host-`` (Secure, Path=/, no Domain), so
    neither a sibling subdomain nor a plain-http page can plant or overwrite one. Driven as found: the
    login page, the login, the account page read back through the cookie, then logging out."""
    host = "https://id.example.gov.cn"
    app = create_app(make_settings(tmp_path / "https", issuer=host))
    upgrade(app)
    from idp.identity.service import create_person
    with app.app_context():
        create_person(id_number=CITIZEN_ID, name="张三", password=CITIZEN_PASSWORD)
    client = app.test_client()
    same_origin = {"Referer": host + "/login"}
    set_cookies = []
    page = client.get("/login?lang=en", base_url=host)
    set_cookies += page.headers.getlist("Set-Cookie")
    response = client.post("/login", base_url=host, headers=same_origin,
                           data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                 "username": CITIZEN_ID, "password": CITIZEN_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    set_cookies += response.headers.getlist("Set-Cookie")
    account = client.get("/account", base_url=host)
    assert account.status_code == 200 and "张三" in account.get_data(as_text=True)  # the cookie is read back
    logout = client.post("/account/logout-all", base_url=host, headers={"Referer": host + "/account"},
                         data={"csrf_token": csrf_token(account.get_data(as_text=True))})
    assert logout.status_code == 200
    set_cookies += logout.headers.getlist("Set-Cookie")
    assert client.get("/account", base_url=host).status_code == 302  # the session cookie was cleared

    names = set()
    for set_cookie in set_cookies:
        name, attributes = _cookie_attributes(set_cookie)
        names.add(name)
        assert name.startswith("__Host-"), set_cookie
        assert attributes.get("secure") is True and attributes.get("path") == "/", set_cookie
        assert "domain" not in attributes, set_cookie
        assert attributes.get("httponly") is True and attributes.get("samesite") == "Lax", set_cookie
    assert names == {"__Host-idp_ui", "__Host-idp_session"}
    assert "same-origin" == response.headers["Referrer-Policy"]


def test_plain_cookie_names_for_http_localhost_development(browser, citizen):
    response = _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD)
    names = {_cookie_attributes(c)[0] for c in response.headers.getlist("Set-Cookie")}
    assert "idp_session" in names and not any(name.startswith("__Host-") for name in names)


def test_failed_and_successful_logins_are_audited(app, browser, citizen):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    _post_login(browser, CITIZEN_ID, "wrong password")
    _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD)
    with app.app_context():
        events = [(e.event, e.data) for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert [e for e, _ in events] == ["login.failure", "login.success"]
    assert events[0][1]["reason"] == "invalid_credentials" and events[0][1]["method"] == "password"
    assert CITIZEN_ID not in repr(events)


def test_expired_login_transaction_gets_a_readable_page(browser):
    response = browser.client.get("/login?tx=unknown&lang=en")
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_unknown_page_is_a_readable_page_not_a_traceback(browser):
    response = browser.client.get("/no-such-page?lang=en")
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_account_page_names_the_login_method_and_explains_the_level(browser, citizen):
    _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD)
    english = browser.client.get("/account?lang=en").get_data(as_text=True)
    assert "Password login" in english and "Level 1 of 3: a password." in english
    assert "urn:idp:loa" not in english and "password (" not in english
    chinese = browser.client.get("/account?lang=zh").get_data(as_text=True)
    assert "密码登录" in chinese and "安全等级 1（共 3 级）" in chinese


@pytest.mark.parametrize("query, open_panels", [
    ("", ["panel-person", "panel-person-password", "panel-enterprise-certificate"]),
    ("?tab=enterprise", ["panel-enterprise", "panel-enterprise-certificate", "panel-person-password"]),
    ("?tab=enterprise&method=usbkey", ["panel-enterprise", "panel-enterprise-usbkey", "panel-person-password"]),
    ("?tab=person&method=certificate", ["panel-person", "panel-person-certificate", "panel-enterprise-certificate"]),
    ("?tab=nonsense&method=password", ["panel-person", "panel-person-password", "panel-enterprise-certificate"]),
    ("?tab=enterprise&method=password", ["panel-enterprise", "panel-enterprise-certificate", "panel-person-password"]),
])
def test_tabs_open_from_the_address_without_javascript(browser, query, open_panels):
    import re
    html = browser.client.get("/login" + query).get_data(as_text=True)
    panels = dict(re.findall(r'<div class="tab-panel" id="([\w-]+)"\s*(hidden)?', html))
    assert sorted(p for p, hidden in panels.items() if not hidden) == sorted(open_panels)
    # each tab is a link to the page with that tab open, so it works without JavaScript
    assert 'href="/login?tab=enterprise&amp;method=usbkey"' in html


def test_step_up_opens_a_certificate_method_first():
    from idp.web.login_methods import open_panels
    assert open_panels(None, None, needs_certificate=True) == ("person", "certificate")
    assert open_panels("person", "password", needs_certificate=True) == ("person", "password")
    assert open_panels("enterprise", None, needs_certificate=True) == ("enterprise", "certificate")


def test_method_not_allowed_is_the_projects_page_with_an_allow_header(browser):
    response = browser.client.post("/account?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 405 and response.headers["Allow"]
    assert "This action is not possible here" in html and "Method Not Allowed" not in html
