"""Requests that once answered 500, sent over a real socket the way they were found: each is refused with
the protocol's error (JSON, ``Cache-Control: no-store``) or the readable error page, never a 5xx.

1. a client credentials token at /userinfo; 2. Basic credentials that are not base64 of UTF-8 "id:secret";
3. a Host header that is not a host name; 4. plain http for a non-loopback host, directly or through a
proxy that is not trusted; 5. a NUL in parameters (on SQLite and PostgreSQL); 6. deeply nested JSON.
"""
from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import socket
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import requests

from helpers import app_with_batch_client, csrf_token, free_port, make_settings, server_environ, serving
from live_server import LiveServer

REDIRECT = "http://127.0.0.1:9/cb"


def send(server, method, path, *, headers=(), body: bytes | None = None):
    """One request with exactly these headers (http.client adds no Host of its own)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {name.lower() for name, _ in headers}
        if "host" not in names:
            conn.putheader("Host", f"127.0.0.1:{server.port}")
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def assert_protocol_error(status, headers, body, expected_status, error):
    assert status == expected_status, body
    assert json.loads(body)["error"] == error
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"


def assert_error_page(status, headers, body, expected_status=400):
    assert status == expected_status, body
    assert headers["Content-Type"].startswith("text/html")
    assert b"Traceback" not in body and b"<h1>" in body


@pytest.fixture
def idp(tmp_path):
    with LiveServer(tmp_path) as server:
        server.seed_person()
        yield server


def basic(raw: bytes) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(raw).decode())


def form(**fields) -> tuple[tuple, bytes]:
    return (("Content-Type", "application/x-www-form-urlencoded"),), urlencode(fields).encode()


# 1 ----------------------------------------------------------------------------------------------------
def test_client_credentials_token_at_userinfo_is_invalid_token(idp):
    machine = idp.register_client(name="批量对账", redirect_uris=[], scopes=["openid", "profile"],
                                  grant_types=["client_credentials"])
    token = requests.post(idp.url("/token"), auth=(machine.client_id, machine.client_secret),
                          data={"grant_type": "client_credentials", "scope": "openid profile"})
    assert token.status_code == 200, token.text
    for method in ("GET", "POST"):
        status, headers, body = send(idp, method, "/userinfo",
                                     headers=[("Authorization", "Bearer " + token.json()["access_token"])])
        assert_protocol_error(status, headers, body, 401, "invalid_token")
        assert headers["WWW-Authenticate"].startswith("Bearer")


# 2 ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
@pytest.mark.parametrize("authorization", [
    basic(b"\xff\xfe\xfd:secret"),              # not UTF-8
    basic(b"client:\xc3\x28"),                  # the secret not UTF-8
    ("Authorization", "Basic %%%not-base64"),   # not base64
    ("Authorization", "Basic \x85"),           # whitespace to Python, no credentials
    basic(b"no-colon-here"),                    # no colon
    basic(b"%C3%28:secret"),                    # percent-encoded bytes that are not UTF-8
    basic(b"a\x00b:secret"),                    # a NUL in the client id
], ids=["id-not-utf8", "secret-not-utf8", "not-base64", "blank", "no-colon", "escaped-not-utf8", "nul"])
def test_malformed_basic_credentials_are_invalid_client(idp, path, authorization):
    headers, body = form(grant_type="client_credentials", token="x")
    status, response_headers, response_body = send(idp, "POST", path, headers=[authorization, *headers], body=body)
    assert_protocol_error(status, response_headers, response_body, 401, "invalid_client")
    assert response_headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect", "/userinfo"])
@pytest.mark.parametrize("value", ["Bearer \x85", "Bearer a b", "Bearer \xa0x", "Token\x1c"])
def test_an_authorization_header_that_is_no_credential_is_invalid_request(idp, path, value):
    headers, body = form(grant_type="client_credentials", token="x")
    status, response_headers, response_body = send(idp, "POST", path, body=body,
                                                   headers=[("Authorization", value), *headers])
    assert_protocol_error(status, response_headers, response_body, 400, "invalid_request")


def test_pages_ignore_a_basic_header_meant_for_a_proxy_in_front(idp):
    status, _, body = send(idp, "GET", "/login", headers=[basic(b"\xe9t\xe9:latin-1 password")])
    assert status == 200, body[:300]


# 3 ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/account", "/authorize?client_id=x", "/token"])
@pytest.mark.parametrize("host", ["a" * 64 + ".example.gov.cn", "a" * 64, "exa mple", "localhost:99999",
                                  "[::1", "a..b"])
def test_host_header_that_is_no_host_name_is_a_bad_request(idp, path, host):
    status, headers, body = send(idp, "GET" if path != "/token" else "POST", path, headers=[("Host", host)])
    if path == "/token":
        assert_protocol_error(status, headers, body, 400, "invalid_request")
    else:
        assert_error_page(status, headers, body)


def test_valid_host_names_still_reach_the_pages(idp):
    for host in ("localhost", f"127.0.0.1:{idp.port}", "[::1]:8000", "id.example.gov.cn", "a" * 63 + ".example"):
        status, _, body = send(idp, "GET", "/login", headers=[("Host", host)])
        assert status == 200, (host, body[:300])


# 4 ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,method", [("/token", "POST"), ("/introspect", "POST"), ("/userinfo", "GET")])
@pytest.mark.parametrize("proxy_headers", [(), (("X-Forwarded-Proto", "https"),)], ids=["direct", "untrusted-proxy"])
def test_plain_http_for_a_public_host_is_refused_with_https_required(idp, path, method, proxy_headers):
    rp = idp.register_client(name="门户", redirect_uris=[REDIRECT])
    headers, body = form(grant_type="client_credentials", token="x")
    status, response_headers, response_body = send(
        idp, method, path, body=body if method == "POST" else None,
        headers=[("Host", "id.example.gov.cn"), basic(f"{rp.client_id}:{rp.client_secret}".encode()),
                 *proxy_headers, *(headers if method == "POST" else ())])
    assert_protocol_error(status, response_headers, response_body, 400, "invalid_request")
    assert json.loads(response_body)["error_description"] == "HTTPS required"


def test_https_reported_by_a_trusted_proxy_is_believed(tmp_path):
    with LiveServer(tmp_path, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)) as idp:
        machine = idp.register_client(name="批量对账", redirect_uris=[], scopes=["profile"],
                                      grant_types=["client_credentials"])
        headers, body = form(grant_type="client_credentials", scope="profile")
        credentials = basic(f"{machine.client_id}:{machine.client_secret}".encode())
        status, _, response = send(idp, "POST", "/token", body=body, headers=[
            ("Host", "id.example.gov.cn"), ("X-Forwarded-Proto", "https"), credentials, *headers])
        assert status == 200, response
        assert json.loads(response)["token_type"] == "Bearer"
        status, _, response = send(idp, "POST", "/token", body=body, headers=[
            ("Host", "id.example.gov.cn"), credentials, *headers])
        assert status == 400 and json.loads(response)["error_description"] == "HTTPS required"


def test_loopback_http_stays_allowed_for_development(idp):
    machine = idp.register_client(name="批量对账", redirect_uris=[], scopes=["profile"],
                                  grant_types=["client_credentials"])
    response = requests.post(idp.url("/token"), auth=(machine.client_id, machine.client_secret),
                             data={"grant_type": "client_credentials", "scope": "profile"})
    assert response.status_code == 200, response.text


# 5 ----------------------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def idp_on_backend(request, tmp_path):
    if request.param == "sqlite":
        with LiveServer(tmp_path) as server:
            server.seed_person()
            yield server
        return
    with LiveServer(tmp_path, database_url=request.getfixturevalue("pg_database_url")) as server:
        server.seed_person()
        yield server


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "x\x1by", "z" * 70_000])
def test_nul_and_controls_in_parameters_are_bad_requests_on_every_backend(idp_on_backend, value):
    idp = idp_on_backend
    rp = idp.register_client(name="门户", redirect_uris=[REDIRECT])
    urls = () if len(value) > 1000 else (  # an HTTP request line is at most 64 KiB
                idp.url("/authorize?" + urlencode({"client_id": value, "response_type": "code",
                                                   "redirect_uri": REDIRECT})),
                idp.url("/authorize?" + urlencode({"client_id": rp.client_id, "response_type": "code",
                                                   "redirect_uri": REDIRECT, "state": value, "scope": "openid"})),
                idp.url("/logout?" + urlencode({"client_id": value, "post_logout_redirect_uri": REDIRECT})),
                idp.url("/login?" + urlencode({"next": "/account", "tx": value})))
    for url in urls:
        response = requests.get(url, allow_redirects=False)
        assert response.status_code == 400, (url[:120], response.text[:300])
        assert "text/html" in response.headers["Content-Type"] and "Traceback" not in response.text
    browser = requests.Session()
    page = browser.get(idp.url("/login"))
    response = browser.post(idp.url("/login"), data={"csrf_token": csrf_token(page.text), "username": value,
                                                     "password": "whatever"}, allow_redirects=False)
    assert response.status_code == 400, response.text[:300]
    response = requests.post(idp.url("/token"), data={"grant_type": "client_credentials", "client_id": value})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    if len(value) < 1000:  # in a path variable
        response = requests.get(idp.url("/api/admin/clients/" + quote(value, safe="")), headers=dict([admin_bearer(idp)]))
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
        response = requests.get(idp.url("/register/" + quote(value, safe="")),
                                headers={"Authorization": "Bearer x"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    # and the server still logs a person in afterwards
    page = browser.get(idp.url("/login"))
    response = browser.post(idp.url("/login"), data={"csrf_token": csrf_token(page.text), "username": "11010519491231002X",
                                                     "password": "correct horse battery"}, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")


def test_a_person_may_still_type_newlines_and_any_script(idp):
    browser = requests.Session()
    page = browser.get(idp.url("/login"))
    response = browser.post(idp.url("/login"), data={"csrf_token": csrf_token(page.text),
                                                     "username": "张三\t", "password": "密码\r\n😀"})
    assert response.status_code == 401  # wrong credentials, not a malformed request


# 6 ----------------------------------------------------------------------------------------------------
def deep(depth: int) -> bytes:
    return b'{"client_name": "x", "redirect_uris": ' + b"[" * depth + b"]" * depth + b"}"


def admin_bearer(idp) -> tuple[str, str]:
    from idp.clients.service import register_client
    with idp.app.app_context():
        registered = register_client(name="Automation", redirect_uris=[], scopes=["admin"],
                                     grant_types=["client_credentials"])
    token = requests.post(idp.url("/token"), auth=(registered.client.client_id, registered.client_secret),
                          data={"grant_type": "client_credentials", "scope": "admin"}).json()["access_token"]
    return ("Authorization", "Bearer " + token)


def initial_access_bearer(idp) -> tuple[str, str]:
    from idp.protocols.oidc.registration_tokens import issue_initial_token
    with idp.app.app_context():
        return ("Authorization", "Bearer " + issue_initial_token()["token"])


@pytest.mark.parametrize("path,method,authorization", [("/register", "POST", initial_access_bearer),
                                                       ("/api/admin/clients", "POST", admin_bearer)])
@pytest.mark.parametrize("depth", [100, 5_000, 50_000])
def test_deeply_nested_json_is_a_bad_request(idp, path, method, authorization, depth):
    status, headers, body = send(idp, method, path, body=deep(depth), headers=[
        ("Content-Type", "application/json"), authorization(idp)])
    expected = 413 if len(deep(depth)) > 64 * 1024 else 400
    assert_protocol_error(status, headers, body, expected, "invalid_request")


def test_reasonable_json_still_registers_a_client(idp):
    status, _, body = send(idp, "POST", "/register", headers=[("Content-Type", "application/json"),
                                                              initial_access_bearer(idp)],
                           body=json.dumps({"client_name": "门户", "redirect_uris": [REDIRECT]}).encode())
    assert status == 201, body


@pytest.mark.parametrize("query", ["next=%FF%FE", "tx=%C3%28", "%FF=1"])
def test_percent_encoded_bytes_that_are_not_utf8_are_a_bad_request(idp, query):
    status, headers, body = send(idp, "GET", "/login?" + query)
    assert_error_page(status, headers, body)
    headers, body = (("Content-Type", "application/x-www-form-urlencoded"),), query.encode()
    status, response_headers, response_body = send(idp, "POST", "/token", headers=headers, body=body)
    assert_protocol_error(status, response_headers, response_body, 400, "invalid_request")


# -- the same through gunicorn (which itself refuses raw bytes outside visible ASCII in the request line) --
class Gunicorn:
    def __init__(self, port, process, machine):
        self.port, self.process, self.machine = port, process, machine


@pytest.fixture(scope="module", params=["127.0.0.1", "192.0.2.1"], ids=["proxy-trusted", "proxy-untrusted"])
def gunicorn(request, tmp_path_factory):
    """gunicorn serving ``idp.wsgi:app`` on loopback; its ``--forwarded-allow-ips`` names either this
    test (a TLS proxy gunicorn trusts) or another address (a proxy it does not trust)."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    settings = make_settings(tmp_path, issuer=f"http://127.0.0.1:{port}")
    _app, machine = app_with_batch_client(settings)
    command = [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}", "--workers", "1",
               "--forwarded-allow-ips", request.param, "idp.wsgi:app"]
    with serving(command, server_environ(settings), settings.issuer) as process:
        yield Gunicorn(port, process, machine)

def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("request_bytes", [
    b"GET /login?next=%FF%FE HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET /authorize?client_id=%C3%28 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET /account HTTP/1.1\r\nHost: " + b"a" * 64 + b".example\r\nConnection: close\r\n\r\n",
], ids=["query-not-utf8", "client-id-not-utf8", "host-label-too-long"])
def test_raw_malformed_requests_through_gunicorn_are_bad_requests(gunicorn, request_bytes):
    answer = raw_request(gunicorn.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"Traceback" not in answer and b"text/html" in answer


def test_basic_credentials_not_utf8_through_gunicorn_are_invalid_client(gunicorn):
    response = requests.post(f"http://127.0.0.1:{gunicorn.port}/token", data={"grant_type": "client_credentials"},
                             headers=dict([basic(b"\xff\xfe:secret")]))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_public_host_through_gunicorn_needs_a_proxy_it_trusts(gunicorn):
    trusted = gunicorn.process.args[gunicorn.process.args.index("--forwarded-allow-ips") + 1] == "127.0.0.1"
    response = requests.post(f"http://127.0.0.1:{gunicorn.port}/token", auth=gunicorn.machine,
                             data={"grant_type": "client_credentials", "scope": "profile"},
                             headers={"Host": "id.example.gov.cn", "X-Forwarded-Proto": "https"})
    if trusted:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "invalid_request", "error_description": "HTTPS required"}
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("body", [b"[]", b"true", b"[[\"name\", \"x\"], [1]]", b"\"text\""])
def test_a_json_body_that_is_no_object_is_a_bad_request_also_for_a_page_form(idp, body):
    """Flask-WTF reads a JSON body as a form's fields: an administrator's console form got a 500 for any
    JSON body but an object."""
    from admin_support import ADMIN_ID, ADMIN_PASSWORD, create_admin
    create_admin(idp.app)
    browser = requests.Session()
    page = browser.get(idp.url("/login?next=/admin/"))
    browser.post(idp.url("/login"), data={"csrf_token": csrf_token(page.text), "username": ADMIN_ID,
                                          "password": ADMIN_PASSWORD, "next": "/admin/"})
    form = browser.get(idp.url("/admin/clients/new"))
    assert form.status_code == 200, form.text[:300]
    response = browser.post(idp.url("/admin/clients/new"), data=body, allow_redirects=False, headers={
        "Content-Type": "application/json", "X-CSRFToken": csrf_token(form.text)})
    assert response.status_code == 400, response.text[:300]
    assert "text/html" in response.headers["Content-Type"]
    from idp.protocols.oidc.registration_tokens import issue_initial_token
    with idp.app.app_context():
        token = issue_initial_token()["token"]
    response = requests.post(idp.url("/register"), data=body, headers={"Content-Type": "application/json",
                                                                     "Authorization": "Bearer " + token})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
