"""SAML single logout joined to the SSO session: an SP-initiated LogoutRequest ends the session at every
site (OIDC and CAS too); a logout anywhere sends each SAML SP a signed SOAP LogoutRequest."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from saml2 import BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.samlp import STATUS_SUCCESS
from saml2.xmldsig import SIG_RSA_SHA256

from helpers import ISSUER, query_of
from test_saml import ServiceProvider, sso

SLO = ISSUER + "/saml/slo"


class SoapLogoutEndpoint:
    """The SP's SOAP single logout service: answers every LogoutRequest it can verify with Success."""

    def __init__(self):
        self.received = []
        self.sp = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                request = endpoint.sp.client.parse_logout_request(body, BINDING_SOAP)  # verifies idp's signature
                endpoint.received.append(request.message)
                answer = endpoint.sp.client.create_logout_response(request.message, [BINDING_SOAP])
                data = endpoint.sp.client.apply_binding(BINDING_SOAP, str(answer), response=True)["data"].encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/soap"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def soap_endpoint():
    endpoint = SoapLogoutEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def sps(app, tmp_path, citizen, soap_endpoint):
    first = ServiceProvider(app, tmp_path, name="first")
    first.register(name="OA")
    second = ServiceProvider(app, tmp_path, name="second", soap_logout=soap_endpoint.url)
    second.register(name="Archives")
    soap_endpoint.sp = second
    return first, second


def logged_in(browser, sp, login=True):
    req_id, request = sp.authn_request()
    response, _ = sp.parse(sso(browser, request, login=login).get_data(as_text=True), req_id)
    return response


def test_sp_initiated_logout_ends_the_session_everywhere(app, browser, sps, soap_endpoint, rp):
    first, second = sps
    answer = logged_in(browser, first)
    at_second = logged_in(browser, second, login=False)
    rp_code = rp_logged_in_without_password(browser, rp)
    assert rp_code

    session_index = answer.assertion.authn_statement[0].session_index
    _id, request = first.client.create_logout_request(SLO, "http://localhost/saml/metadata", name_id=answer.name_id,
                                                      session_indexes=[session_index], sign=False)
    http = first.client.apply_binding(BINDING_HTTP_REDIRECT, str(request), SLO, relay_state="bye", sign=True,
                                      sigalg=SIG_RSA_SHA256)
    location = urlsplit(dict(http["headers"])["Location"])
    done = browser.client.get(location.path + "?" + location.query)
    assert done.status_code == 302
    back = done.headers["Location"]
    assert back.startswith("http://localhost:9100/first/slo?")
    params = query_of(back)
    assert params["RelayState"] == "bye" and "Signature" in params
    logout_response = first.client.parse_logout_request_response(params["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert logout_response.response.status.status_code.value == STATUS_SUCCESS

    # the other SAML SP hears of it over SOAP, for the NameID and session it was given
    sender = app.extensions["idp"].notifier
    assert sender.wait_idle(10)
    assert not sender.failed, sender.failed
    assert [m.name_id.text for m in soap_endpoint.received] == [at_second.name_id.text]
    assert soap_endpoint.received[0].session_index[0].text == at_second.assertion.authn_statement[0].session_index
    # the OIDC portal and the SAML sites need a password again
    response = browser.authorize(**rp.auth_params()[0])
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    req_id, request = first.authn_request()
    from test_saml import send
    again = send(browser, request)
    assert again.status_code == 302 and urlsplit(again.headers["Location"]).path == "/login"


def rp_logged_in_without_password(browser, rp):
    params, _verifier = rp.auth_params()
    response = browser.authorize(**params)
    assert response.status_code == 302, response.get_data(as_text=True)
    return query_of(response.headers["Location"]).get("code")


def test_logout_elsewhere_sends_soap_logout_to_saml_sps(app, browser, sps, soap_endpoint):
    first, second = sps
    logged_in(browser, first)                          # an SP without a SOAP endpoint does not stop the others
    answer = logged_in(browser, second, login=False)
    assert browser.client.get("/cas/logout").status_code == 200      # any logout ends the SSO session
    sender = app.extensions["idp"].notifier
    assert sender.wait_idle(10)
    assert sender.delivered and not sender.failed, (sender.delivered, sender.failed)
    assert [m.name_id.text for m in soap_endpoint.received] == [answer.name_id.text]
    # it went through the database queue, as a raw SOAP body whose answer SAML checks
    from idp.extensions import db
    from idp.sessions.delivery_models import LogoutDelivery
    with app.app_context():
        rows = db.session.execute(db.select(LogoutDelivery.kind, LogoutDelivery.content_type,
                                            LogoutDelivery.answer_check, LogoutDelivery.delivered)
                                  .where(LogoutDelivery.kind == "raw")).all()
    assert [tuple(r) for r in rows] == [("raw", "text/xml; charset=utf-8", "saml-logout", True)]


def test_unsigned_logout_request_from_a_signing_sp_is_refused(app, browser, tmp_path, citizen):
    signing = ServiceProvider(app, tmp_path, name="signing", sign_requests=True)
    signing.register(name="Signing")
    answer = logged_in(browser, signing)
    _id, request = signing.client.create_logout_request(SLO, "http://localhost/saml/metadata",
                                                        name_id=answer.name_id, sign=False)
    http = signing.client.apply_binding(BINDING_HTTP_REDIRECT, str(request), SLO, sign=False)
    location = urlsplit(dict(http["headers"])["Location"])
    page = browser.client.get(location.path + "?" + location.query)
    assert page.status_code == 400
    req_id, request = signing.authn_request()
    assert sso(browser, request, login=False).status_code == 200     # still logged in


def test_an_sp_without_soap_is_logged_out_through_a_frame_of_the_logged_out_page(app, browser, sps):
    """The first SP has only an HTTP-Redirect logout endpoint: the logged-out page loads its signed
    LogoutRequest in a hidden frame (allowed by the page's CSP); its LogoutResponse comes back to
    /saml/slo in that frame and gets an empty 204."""
    import html as html_lib
    import re

    from helpers import audit_events
    first, _second = sps
    answer = logged_in(browser, first)
    page = browser.client.get("/cas/logout")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    [src] = re.findall(r'<iframe class="front-channel-logout" src="([^"]+)"', text)
    src = html_lib.unescape(src)
    assert src.startswith("http://localhost:9100/first/slo?SAMLRequest=")
    assert "frame-src 'self' http://localhost:9100" in page.headers["Content-Security-Policy"]
    params = query_of(src)
    request = first.client.parse_logout_request(params["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                                sigalg=params["SigAlg"], signature=params["Signature"])
    assert request.message.name_id.text == answer.name_id.text
    assert params["SigAlg"] == SIG_RSA_SHA256
    # the SP answers in the frame
    reply = first.client.handle_logout_request(params["SAMLRequest"], request.message.name_id,
                                               BINDING_HTTP_REDIRECT, sign=True, sigalg=SIG_RSA_SHA256)
    back = urlsplit(dict(reply["headers"])["Location"])
    done = browser.client.get(back.path + "?" + back.query)
    assert done.status_code == 204 and "frame-ancestors 'self'" in done.headers["Content-Security-Policy"]
    assert [data.get("channel") for _e, data in audit_events(app, "saml.logout_request")] == ["front"]
    assert [data["status"] for _e, data in audit_events(app, "saml.logout_response")] == [STATUS_SUCCESS]
    assert browser.client.get("/saml/slo?SAMLResponse=AAAA").status_code == 400   # unreadable: the page


def test_a_logout_without_front_channel_sites_shows_no_frames(app, browser, sps):
    _first, second = sps
    logged_in(browser, second)                          # SOAP: told in the background
    page = browser.client.get("/cas/logout")
    assert "<iframe" not in page.get_data(as_text=True)
    assert "frame-src" not in page.headers["Content-Security-Policy"]
