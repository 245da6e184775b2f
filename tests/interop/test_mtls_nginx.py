"""Certificate login by mutual TLS through real nginx, rendered from adapters/nginx/mtls.conf.template.

nginx asks for a client certificate (``ssl_verify_client optional_no_ca``) and forwards it in
X-SSL-Client-Cert to the identity server, which trusts that header from 127.0.0.1 only.
Skipped when nginx is not installed.
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import shutil
import string
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from helpers import free_port
from idp.pki import demo
from live_server import LiveServer

from .nginx_server import client_credentials, nginx_serving, server_certificate

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")]
TEMPLATE = Path(__file__).resolve().parents[2] / "adapters" / "nginx" / "mtls.conf.template"
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("mtls-pki")
    return root, demo.generate(root, root / "profiles")


@pytest.fixture
def idp(tmp_path, pki):
    root, _ = pki
    with LiveServer(tmp_path / "idp", trust_profiles_dir=str(root / "profiles"),
                    trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)) as server:
        yield server


@pytest.fixture
def nginx(tmp_path, idp):
    port = free_port()
    tls_cert, tls_key = server_certificate(tmp_path)
    site = string.Template(TEMPLATE.read_text()).safe_substitute(
        IDP_HOST="127.0.0.1", IDP_LISTEN=f"127.0.0.1:{port} ssl", TLS_CERT=str(tls_cert), TLS_KEY=str(tls_key),
        IDP_ADDR=f"127.0.0.1:{idp.port}")
    assert "$ssl_client_escaped_cert" in site and "optional_no_ca" in site
    with nginx_serving(tmp_path, site, port) as url:
        yield url


@pytest.fixture
def session(tmp_path):
    with requests.Session() as s:
        s.trust_env = False                     # loopback only: no proxies, no CA bundle from the env
        s.verify = str(tmp_path / "server.pem")  # the server certificate the nginx fixture generates
        s.headers["Accept-Language"] = "en"
        yield s


@pytest.mark.parametrize("ca", ["demo-cn", "demo-serial"])
def test_client_certificate_through_nginx_logs_in(tmp_path, pki, idp, nginx, session, ca):
    root, manifest = pki
    session.cert = client_credentials(root, manifest, ca, "person", tmp_path)
    response = session.get(nginx + "/login/certificate/tls", timeout=10)
    assert response.status_code == 200 and response.url == nginx + "/account", response.text
    assert demo.CITIZEN_NAME in response.text
    assert session.get(nginx + "/account", allow_redirects=False, timeout=10).status_code == 200


def test_code_flow_with_certificate_acr_through_nginx(tmp_path, pki, idp, nginx, session):
    root, manifest = pki
    idp.seed_person(id_number=demo.CITIZEN_ID, name=demo.CITIZEN_NAME)
    client = idp.register_client(name="部门门户", redirect_uris=[REDIRECT])
    session.cert = client_credentials(root, manifest, "demo-cn", "person", tmp_path)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
              "scope": "openid profile", "state": "s1", "nonce": "n1", "acr_values": "urn:idp:loa:3",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    response = session.get(nginx + "/authorize?" + urlencode(params), allow_redirects=False, timeout=10)
    login = urlsplit(response.headers["Location"])
    assert login.path == "/login"
    tx = parse_qs(login.query)["tx"][0]
    response = session.post(nginx + "/login/certificate/tls", data={"tx": tx}, allow_redirects=False, timeout=10)
    assert response.status_code == 302 and "/authorize/resume" in response.headers["Location"], response.text
    response = session.get(nginx + response.headers["Location"], allow_redirects=False, timeout=10)
    callback = parse_qs(urlsplit(response.headers["Location"]).query)
    assert callback["state"] == ["s1"] and callback["code"]
    token = requests.post(idp.url("/token"), timeout=10, auth=(client.client_id, client.client_secret), data={
        "grant_type": "authorization_code", "code": callback["code"][0], "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    assert token.status_code == 200, token.text
    from joserfc import jwt
    with idp.app.app_context():
        claims = jwt.decode(token.json()["id_token"], idp.app.extensions["idp"].keys.public_key_set()).claims
    assert claims["acr"] == "urn:idp:loa:3" and claims["amr"] == ["hwk", "x509"]


def test_forged_header_without_client_certificate_is_dropped_by_nginx(pki, idp, nginx, session):
    root, _ = pki
    forged = (root / "demo-cn" / "users" / "person.pem").read_text()
    response = session.get(nginx + "/login/certificate/tls", timeout=10,
                           headers={"X-SSL-Client-Cert": requests.utils.quote(forged, safe=""),
                                    "Accept": "application/json"})
    assert response.status_code == 401 and response.json()["error"] == "no_certificate"
    assert session.get(nginx + "/account", allow_redirects=False, timeout=10).status_code == 302


def test_revoked_client_certificate_is_refused_through_nginx(tmp_path, pki, idp, nginx, session):
    root, manifest = pki
    session.cert = client_credentials(root, manifest, "demo-serial", "revoked", tmp_path)
    response = session.get(nginx + "/login/certificate/tls", timeout=10)
    assert response.status_code == 401 and "The certificate has been revoked." in response.text
