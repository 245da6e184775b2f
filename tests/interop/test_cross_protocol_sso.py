"""One login, three kinds of department site, one logout.

* an OIDC portal: the demo portal built on the idp-rp adapter;
* a CAS site: a static page behind real Apache with mod_auth_cas (adapters/apache template);
* a legacy site: behind real nginx with the forward-auth gateway (adapters/nginx template).

A single scripted browser signs in once at whichever site comes first and reaches the other two without
a login page. Logging out at any one of them ends all three: OIDC back-channel logout to the portal and
the gateway, a CAS SAML logout request to mod_auth_cas. Every server is on loopback and stopped at the end.
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import string
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from live_server import ServerThread

from .apache_server import ApacheServer, apache_missing, free_port, render

pytestmark = pytest.mark.interop
NGINX_TEMPLATE = Path(__file__).resolve().parents[2] / "adapters" / "nginx" / "legacy-site.conf.template"


def _missing() -> str | None:
    if not shutil.which("nginx"):
        return "nginx is not installed (Debian package nginx)"
    return apache_missing("auth_cas")


class Nginx:
    """nginx with the legacy-site template, plain http on a loopback port, in its own prefix directory."""

    def __init__(self, directory: Path, *, port: int, gateway: str, upstream: str):
        self.directory, self.port = directory, port
        directory.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(directory / "key.pem"), "-out", str(directory / "cert.pem"), "-days", "1",
                        "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        site = string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(
            SITE_HOST="127.0.0.1", SITE_LISTEN=f"127.0.0.1:{port}", TLS_CERT=str(directory / "cert.pem"),
            TLS_KEY=str(directory / "key.pem"), GATEWAY_ADDR=gateway, UPSTREAM_ADDR=upstream)
        (directory / "site.conf").write_text(site)
        temp_dirs = " ".join(f"{d}_temp_path {directory}/{d};" for d in
                             ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (directory / "nginx.conf").write_text(
            f"worker_processes 1; pid {directory}/nginx.pid; error_log {directory}/error.log;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{ access_log off; {temp_dirs} include {directory}/site.conf; }}\n")
        self.process = None

    def __enter__(self) -> "Nginx":
        self.process = subprocess.Popen(["nginx", "-c", str(self.directory / "nginx.conf"), "-p",
                                         str(self.directory), "-g", "daemon off;"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nginx exited: " + self.process.stderr.read().decode(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("nginx did not start listening")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process.stderr.close()
            self.process = None


def _upstream(environ, start_response):
    """The legacy application: shows the identity headers nginx passed on."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: v for k, v in environ.items() if k.startswith("HTTP_X_AUTH")}).encode()]


@pytest.fixture
def realm(live_idp, tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from demo_portal import create_app as create_portal
    from idp.protocols.cas.services import register_service
    from idp_gateway import create_app as create_gateway

    idp = live_idp
    with ExitStack() as stack:
        # OIDC portal (idp-rp)
        portal = stack.enter_context(ServerThread())
        portal_client = idp.register_client(
            name="社保门户 Portal", redirect_uris=[portal.base_url + "/oidc/callback"],
            post_logout_redirect_uris=[portal.base_url + "/"],
            backchannel_logout_uri=portal.base_url + "/oidc/backchannel-logout", scopes=["openid", "profile"])
        portal.app = create_portal(title="Portal", port=portal.port, base_url=portal.base_url, issuer=idp.issuer,
                                   client_id=portal_client.client_id, client_secret=portal_client.client_secret,
                                   secret_key="portal-" + secrets.token_hex(8))

        # CAS site (Apache + mod_auth_cas)
        apache = stack.enter_context(ApacheServer(modules=["auth_cas"]))
        with idp.app.app_context():
            cas_key = register_service(name="不动产 CAS site", service_url=apache.url("/"), match="prefix").session_key
        apache.start(render("dept-site-cas.conf.template", SITE_NAME="127.0.0.1", DOCUMENT_ROOT=str(apache.docroot),
                            IDP_URL=idp.issuer, CAS_CACHE_DIR=str(apache.cache_dir), CA_PATH="/etc/ssl/certs"))

        # Legacy site (nginx + forward-auth gateway)
        site_port = free_port()
        legacy = f"http://127.0.0.1:{site_port}"
        gateway_client = idp.register_client(
            name="Legacy OA", redirect_uris=[legacy + "/oidc/callback"],
            post_logout_redirect_uris=[legacy + "/oidc/signed-out"],
            backchannel_logout_uri=legacy + "/oidc/backchannel-logout", scopes=["openid", "profile"])
        gateway = stack.enter_context(ServerThread(create_gateway(
            issuer=idp.issuer, client_id=gateway_client.client_id, client_secret=gateway_client.client_secret,
            base_url=legacy + "/oidc", session_secret=secrets.token_hex(16), allowed_hosts="127.0.0.1")))
        upstream = stack.enter_context(ServerThread(_upstream))
        stack.enter_context(Nginx(tmp_path / "nginx", port=site_port, gateway=f"127.0.0.1:{gateway.port}",
                                  upstream=f"127.0.0.1:{upstream.port}"))
        yield {"idp": idp, "portal": portal.base_url + "/profile", "cas": apache.url("/"),
               "legacy": legacy + "/reports", "legacy_base": legacy,
               "clients": {portal_client.client_id, gateway_client.client_id}, "cas_key": cas_key}


def _login_form(page: requests.Response) -> dict:
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', page.text))
    assert "csrf_token" in fields and "tx" in fields, page.text[:500]
    return fields


def _signed_in_at(name: str, page: requests.Response, realm) -> None:
    person = realm["idp"].person
    assert page.status_code == 200, (name, page.status_code, page.url)
    if name == "portal":
        assert page.url == realm["portal"] and person.name in page.text
    elif name == "cas":
        assert page.url == realm["cas"]
        assert f'<span id="user">{person.public_id}</span>' in page.text
        assert f'<span id="name">{person.name}</span>' in page.text
    else:
        assert page.url == realm["legacy"]
        assert page.json()["HTTP_X_AUTH_SUBJECT"] == person.public_id


def _visit_without_login(browser, name, realm) -> None:
    page = browser.get(realm[name], timeout=15)
    login_page = realm["idp"].issuer + "/login"
    assert page.history, "the site let the browser in without asking the identity server"
    assert not any(r.url.startswith(login_page) for r in [*page.history, page]), [r.url for r in page.history]
    _signed_in_at(name, page, realm)


def _logout(browser, name, realm) -> None:
    idp = realm["idp"]
    if name == "portal":
        done = browser.get(realm["portal"].rsplit("/", 1)[0] + "/oidc/logout", timeout=15)
        assert done.status_code == 200 and done.url.startswith(realm["portal"].rsplit("/", 1)[0])
    elif name == "cas":
        done = browser.get(idp.url("/cas/logout"), params={"service": realm["cas"]}, allow_redirects=False,
                           timeout=15)
        assert done.status_code == 302 and done.headers["Location"] == realm["cas"]
    else:
        done = browser.get(realm["legacy_base"] + "/oidc/logout", timeout=15)
        assert done.status_code == 200 and done.url.startswith(realm["legacy_base"] + "/oidc/signed-out")


def _signed_out_everywhere(browser, realm) -> None:
    idp = realm["idp"]
    notifier = idp.app.extensions["idp"].notifier
    assert notifier.wait_idle(20)
    delivered = {client for client, _uri in notifier.delivered}
    assert realm["clients"] | {realm["cas_key"]} <= delivered, (notifier.delivered, notifier.failed)
    assert not notifier.failed, notifier.failed

    portal = browser.get(realm["portal"], allow_redirects=False, timeout=10)
    assert portal.status_code == 302 and portal.headers["Location"].startswith(idp.issuer + "/authorize?")
    cas = browser.get(realm["cas"], allow_redirects=False, timeout=10)
    assert cas.status_code == 302 and cas.headers["Location"].startswith(idp.issuer + "/cas/login?")
    legacy = browser.get(realm["legacy"], allow_redirects=False, timeout=10)
    assert legacy.status_code == 302 and legacy.headers["Location"].startswith(realm["legacy_base"] + "/oidc/login")
    # and the identity server itself asks for the password again
    assert browser.get(realm["portal"], timeout=15).url.startswith(idp.issuer + "/login?")


@pytest.mark.parametrize("first,logout_at", [("portal", "cas"), ("cas", "legacy"), ("legacy", "portal")])
def test_one_login_three_protocols_and_logout_everywhere(realm, first, logout_at):
    idp, person = realm["idp"], realm["idp"].person
    browser = requests.Session()
    browser.trust_env = False

    # The first site sends the browser to the login page: the one and only login.
    page = browser.get(realm[first], timeout=15)
    assert page.url.startswith(idp.issuer + "/login?"), page.url
    landed = browser.post(idp.url("/login"), data={**_login_form(page), "username": person.id_number,
                                                   "password": person.password}, timeout=15)
    _signed_in_at(first, landed, realm)

    for other in ("portal", "cas", "legacy"):
        if other != first:
            _visit_without_login(browser, other, realm)

    account = browser.get(idp.url("/account"), headers={"Accept-Language": "en"}, timeout=10)
    for name in ("社保门户 Portal", "不动产 CAS site", "Legacy OA"):
        assert name in account.text

    _logout(browser, logout_at, realm)
    _signed_out_everywhere(browser, realm)
