"""CAS 2.0/3.0 on the identity server, on every backend: login, tickets, validation, renew/gateway, SSO with
OIDC, single logout."""
from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from helpers import CITIZEN_ID, ISSUER, RP, Browser, query_of, register
from live_server import ServerThread

NS = {"cas": "http://www.yale.edu/tp/cas"}
SITE = "http://localhost:8081/app/"
OTHER = "http://localhost:8082/"

pytestmark = pytest.mark.every_backend


@pytest.fixture
def services(app, citizen):
    from idp.protocols.cas.services import register_service
    with app.app_context():
        site = register_service(name="不动产登记 Land Registry", service_url=SITE, match="prefix")
        other = register_service(name="Other Site", service_url=OTHER + "login", single_logout=False)
        trusted = register_service(name="Tax Office", service_url="http://localhost:8083/cas",
                                   release_id_number=True)
        return {"site": site.id, "other": other.id, "trusted": trusted.id}


def is_login_page(location: str) -> bool:
    return location.startswith(("/login?", ISSUER + "/login?"))


def cas_login(browser: Browser, service: str, **flags):
    """Open /cas/login for ``service``, logging in if the server asks; returns the final response."""
    response = browser.client.get("/cas/login?" + urlencode({"service": service, **flags}))
    if response.status_code == 302 and is_login_page(response.headers["Location"]):
        response = browser.login(response.headers["Location"])
        assert response.status_code == 302, response.get_data(as_text=True)
        assert urlsplit(response.headers["Location"]).path == "/cas/login/resume"
        response = browser.client.get(response.headers["Location"])
    return response


def ticket_for(browser: Browser, service: str, **flags) -> str:
    response = cas_login(browser, service, **flags)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(service)
    ticket = query_of(location)["ticket"]
    assert re.fullmatch(r"ST-[A-Za-z0-9-]{32,}", ticket)   # CAS 3.0 section 3.7 character set
    return ticket


def validate(client, ticket, service, path="/cas/serviceValidate", **extra):
    response = client.get(path + "?" + urlencode({"ticket": ticket, "service": service, **extra}))
    assert response.status_code == 200
    assert response.content_type.startswith("application/xml")
    return ET.fromstring(response.data)


def failure_code(root) -> str:
    failure = root.find("cas:authenticationFailure", NS)
    assert failure is not None, ET.tostring(root)
    assert failure.text.strip()
    return failure.get("code")


def test_login_ticket_and_service_validate(app, browser, services, citizen):
    service = SITE + "records?id=7"
    ticket = ticket_for(browser, service)
    root = validate(browser.client, ticket, service)
    success = root.find("cas:authenticationSuccess", NS)
    assert success.find("cas:user", NS).text == citizen          # the opaque public subject, never the ID number
    assert success.find("cas:attributes", NS) is None            # CAS 2.0 endpoint: no attributes
    assert CITIZEN_ID not in ET.tostring(root, encoding="unicode")

    account = browser.client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "不动产登记 Land Registry" in account


def test_p3_attributes_and_id_number_only_when_allowed(browser, services, citizen):
    ticket = ticket_for(browser, SITE)
    attributes = validate(browser.client, ticket, SITE, "/cas/p3/serviceValidate").find(
        "cas:authenticationSuccess/cas:attributes", NS)
    values = {child.tag.split("}")[1]: child.text for child in attributes}
    assert values["name"] == "张三"
    assert values["isFromNewLogin"] == "true" and values["authenticationMethod"] == "password"
    assert "id_number" not in values

    trusted = "http://localhost:8083/cas"
    ticket = ticket_for(browser, trusted)
    root = validate(browser.client, ticket, trusted, "/cas/p3/serviceValidate")
    assert root.find("cas:authenticationSuccess/cas:user", NS).text == citizen
    attributes = root.find("cas:authenticationSuccess/cas:attributes", NS)
    assert attributes.find("cas:id_number", NS).text == CITIZEN_ID
    assert attributes.find("cas:isFromNewLogin", NS).text == "false"   # single sign-on, no password typed


def test_replayed_ticket_refused(browser, services):
    ticket = ticket_for(browser, SITE)
    assert validate(browser.client, ticket, SITE).find("cas:authenticationSuccess", NS) is not None
    assert failure_code(validate(browser.client, ticket, SITE)) == "INVALID_TICKET"


def test_ticket_for_another_service_refused_and_spent(browser, services):
    ticket = ticket_for(browser, SITE)
    assert failure_code(validate(browser.client, ticket, OTHER + "login")) == "INVALID_SERVICE"
    assert failure_code(validate(browser.client, ticket, SITE)) == "INVALID_TICKET"
    # the same site under another URL is another service URL too
    ticket = ticket_for(browser, SITE + "a")
    assert failure_code(validate(browser.client, ticket, SITE + "b")) == "INVALID_SERVICE"


def test_expired_ticket_refused(browser, services, monkeypatch):
    from idp.protocols.cas import tickets
    monkeypatch.setattr(tickets, "TICKET_TTL", 1)
    ticket = ticket_for(browser, SITE)
    time.sleep(1.3)
    assert failure_code(validate(browser.client, ticket, SITE)) == "INVALID_TICKET"


def test_malformed_requests(browser, services):
    client = browser.client
    assert failure_code(validate(client, "", SITE)) == "INVALID_REQUEST"
    assert failure_code(ET.fromstring(client.get("/cas/serviceValidate?ticket=ST-x").data)) == "INVALID_REQUEST"
    assert failure_code(validate(client, "PT-123", SITE)) == "INVALID_TICKET"
    assert failure_code(validate(client, "ST-" + "a" * 40, SITE)) == "INVALID_TICKET"
    assert failure_code(validate(client, "ST-x", SITE, format="JSON")) == "INVALID_REQUEST"
    # proxy authentication is refused clearly, without spending a good ticket
    ticket = ticket_for(browser, SITE)
    for path in ("/cas/proxyValidate", "/cas/p3/proxyValidate"):
        assert failure_code(validate(client, ticket, SITE, path)) == "UNAUTHORIZED_SERVICE_PROXY"
    proxy = ET.fromstring(client.get("/cas/proxy?pgt=PGT-1&targetService=" + SITE).data)
    assert proxy.find("cas:proxyFailure", NS).get("code") == "UNAUTHORIZED_SERVICE_PROXY"
    assert validate(client, ticket, SITE).find("cas:authenticationSuccess", NS) is not None


def test_cas1_validate(browser, services, citizen):
    ticket = ticket_for(browser, SITE)
    answer = browser.client.get("/cas/validate?" + urlencode({"ticket": ticket, "service": SITE}))
    assert answer.get_data(as_text=True) == f"yes\n{citizen}\n"
    again = browser.client.get("/cas/validate?" + urlencode({"ticket": ticket, "service": SITE}))
    assert again.get_data(as_text=True) == "no\n\n"


@pytest.mark.parametrize("service", [
    "http://localhost:9999/app/",                 # unregistered host
    "http://localhost:8081/application",          # a prefix pattern ends at a "/"
    "http://localhost:8081/app/../admin",         # dot segments
    "http://localhost:8081/app/%2e%2e/admin",
    "http://user@localhost:8081/app/",            # user information
    "http://localhost:8082/login/more",           # exact registration: nothing under it
    "javascript:alert(1)",
])
def test_unregistered_service_gets_a_readable_page(browser, services, service):
    response = browser.client.get("/cas/login?" + urlencode({"service": service}),
                                  headers={"Accept-Language": "en"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "not registered for single sign-on" in page and "<html" in page.lower()


def test_unregistered_service_page_in_chinese(browser, services):
    response = browser.client.get("/cas/login?service=http%3A%2F%2Flocalhost%3A9999%2F")
    assert response.status_code == 400
    assert "CAS" in response.get_data(as_text=True)


def test_renew_forces_login_even_with_a_session(browser, services):
    ticket = ticket_for(browser, SITE)
    assert validate(browser.client, ticket, SITE).find("cas:authenticationSuccess", NS) is not None

    # single sign-on ticket: a site insisting on renew refuses it
    ticket = ticket_for(browser, SITE)
    assert failure_code(validate(browser.client, ticket, SITE, renew="true")) == "INVALID_TICKET"

    response = browser.client.get("/cas/login?" + urlencode({"service": SITE, "renew": "true"}))
    assert response.status_code == 302 and is_login_page(response.headers["Location"])
    # going straight to the resume URL without typing the password gets the login page again
    tx = query_of(response.headers["Location"])["tx"]
    skipped = browser.client.get(f"/cas/login/resume?tx={tx}")
    assert is_login_page(skipped.headers["Location"])
    time.sleep(1.05)  # authentication times have a one-second resolution; a person never re-types that fast
    ticket = ticket_for(browser, SITE, renew="true")
    assert validate(browser.client, ticket, SITE, renew="true").find("cas:authenticationSuccess", NS) is not None


def test_gateway(browser, services):
    response = browser.client.get("/cas/login?" + urlencode({"service": SITE, "gateway": "true"}))
    assert response.status_code == 302 and response.headers["Location"] == SITE   # no session: no ticket
    ticket_for(browser, SITE)                                                       # logs in
    response = browser.client.get("/cas/login?" + urlencode({"service": SITE, "gateway": "true"}))
    assert "ticket=ST-" in response.headers["Location"]


def test_cas_then_oidc_and_oidc_then_cas_without_login(app, services, citizen):
    rp_browser = Browser(app.test_client())
    rp = register(app, rp_browser)
    ticket_for(rp_browser, SITE)                                       # logs in through CAS
    params, _verifier = rp.auth_params()
    response = rp_browser.authorize(**params)                        # no login page on the way
    assert response.status_code == 302 and "code" in query_of(response.headers["Location"])

    other = Browser(app.test_client())
    rp_other = RPFor(rp, other)
    rp_other.get_code()                                              # logs in through OIDC
    response = other.client.get("/cas/login?" + urlencode({"service": SITE}))
    assert response.status_code == 302 and "ticket=ST-" in response.headers["Location"]


def RPFor(rp, browser):
    return RP(rp.app, browser, rp.client_id, rp.secret, rp.redirect_uri, rp.scope)


class SloReceiver:
    """A site's single logout endpoint on a loopback port, recording the POSTed logout requests."""

    def __init__(self):
        self.requests: list[dict] = []
        self.received = threading.Event()
        self.server = ServerThread(self)

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode()
        self.requests.append({"path": environ["PATH_INFO"], "form": parse_qs(body),
                              "type": environ.get("CONTENT_TYPE", "")})
        self.received.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.fixture
def slo_site(app, citizen):
    from idp.protocols.cas.services import register_service
    receiver = SloReceiver()
    with receiver.server:
        url = receiver.server.base_url + "/dept/"
        with app.app_context():
            register_service(name="SLO Site", service_url=url, match="prefix")
        yield receiver, url


def test_single_logout_posts_saml_logout_request(app, browser, services, slo_site):
    receiver, url = slo_site
    service = url + "page"
    ticket = ticket_for(browser, service)
    assert validate(browser.client, ticket, service).find("cas:authenticationSuccess", NS) is not None
    not_validated = ticket_for(browser, SITE)                         # never validated: nothing to end there
    other = ticket_for(browser, OTHER + "login")                      # single logout switched off
    assert validate(browser.client, other, OTHER + "login").find("cas:authenticationSuccess", NS) is not None

    response = browser.client.get("/cas/logout?" + urlencode({"service": service}))
    assert response.status_code == 302 and response.headers["Location"] == service
    assert receiver.received.wait(10)
    assert app.extensions["idp"].notifier.wait_idle(10)
    assert len(receiver.requests) == 1
    posted = receiver.requests[0]
    assert posted["path"] == "/dept/page" and posted["type"].startswith("application/x-www-form-urlencoded")
    root = ET.fromstring(posted["form"]["logoutRequest"][0])
    assert root.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutRequest"
    assert root.find("{urn:oasis:names:tc:SAML:2.0:assertion}NameID").text == "@NOT_USED@"
    assert root.find("{urn:oasis:names:tc:SAML:2.0:protocol}SessionIndex").text == ticket
    assert not_validated not in posted["form"]["logoutRequest"][0]

    # the session is gone: CAS asks for the password again, and validation of a late ticket fails
    again = browser.client.get("/cas/login?" + urlencode({"service": SITE}))
    assert is_login_page(again.headers["Location"])


def test_logout_without_service_shows_the_logged_out_page(browser, services):
    ticket_for(browser, SITE)
    response = browser.client.get("/cas/logout?service=http%3A%2F%2Fevil.example%2F",
                                  headers={"Accept-Language": "en"})
    assert response.status_code == 200 and "You have been logged out" in response.get_data(as_text=True)
    assert browser.client.get("/account").status_code == 302


def test_ticket_of_an_ended_session_refused(browser, services):
    ticket = ticket_for(browser, SITE)
    browser.client.get("/cas/logout")
    assert failure_code(validate(browser.client, ticket, SITE)) == "INVALID_TICKET"


def test_cli_registers_and_lists_services(app, monkeypatch):
    from click.testing import CliRunner

    import idp.cli
    from idp.cli.cas import cas
    monkeypatch.setattr(idp.cli.context, "_app", app)
    runner = CliRunner()
    added = runner.invoke(cas, ["add-service", "--name", "OA", "--service-url", "https://oa.example.gov.cn/cas",
                                "--pattern", "--json"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cas, ["list"])
    assert "OA\tprefix\thttps://oa.example.gov.cn/cas/" in listed.output
    bad = runner.invoke(cas, ["add-service", "--name", "X", "--service-url", "http://oa.example.gov.cn/"])
    assert bad.exit_code != 0 and "https" in str(bad.exception)
