"""deploy/compose/nginx.conf, the load balancer of the compose topology, run by real nginx in front of
three identity servers on loopback (its upstream host names and certificate paths rewritten to
them, nothing else): requests are spread over every node, the nodes see https and the client
certificate from the trusted proxy, a certificate login on one node holds on the others, and a node
that dies is skipped. Skipped when nginx is not installed."""
from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

import pytest
import requests

from helpers import free_port
from idp.pki import demo
from live_server import LiveServer

from .nginx_server import client_credentials, nginx_serving, server_certificate

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")]
CONF = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "nginx.conf"
NODES = 3


def render(conf: str, nodes: list[LiveServer], https_port: int, http_port: int, cert: Path, key: Path) -> str:
    for number, node in enumerate(nodes, 1):
        conf, replaced = re.subn(rf"\bserver idp-{number}:8000\b", f"server 127.0.0.1:{node.port}", conf)
        assert replaced == 1, f"idp-{number} is not in the upstream"
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = re.sub(r"^\s*listen \[::\]:\d+( ssl)?;\n", "", conf, flags=re.M)  # no IPv6 on every test host
    conf = conf.replace("/etc/nginx/tls/server.crt", str(cert)).replace("/etc/nginx/tls/server.key", str(key))
    assert "idp-" not in conf.split("upstream", 1)[1].split("}", 1)[0] and "/etc/nginx" not in conf
    return conf


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy-pki")
    return root, demo.generate(root, root / "profiles")


@pytest.fixture
def cluster(tmp_path, pki):
    """(nginx's https URL, its http URL, the nodes): one shared database, nginx trusted by every node."""
    https_port, http_port = free_port(), free_port()
    shared = dict(issuer=f"https://127.0.0.1:{https_port}", database_url=f"sqlite:///{tmp_path}/shared.db",
                  session_backend="sql", trust_profiles_dir=str(pki[0] / "profiles"),
                  trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    nodes = [LiveServer(tmp_path / f"idp-{n}", **shared) for n in range(1, NODES + 1)]
    try:
        for node in nodes:
            node.start()
        cert, key = server_certificate(tmp_path)
        site = render(CONF.read_text(), nodes, https_port, http_port, cert, key)
        with nginx_serving(tmp_path, site, https_port) as url:
            yield url, f"http://127.0.0.1:{http_port}", nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def session(tmp_path):
    with requests.Session() as s:
        s.trust_env = False
        s.verify = str(tmp_path / "server.pem")
        s.headers["Accept-Language"] = "en"
        yield s


def healthz_served(node: LiveServer) -> float:
    """How many /healthz requests `node` answered, from its own Prometheus metrics."""
    text = requests.get(node.url("/metrics"), timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("idp_http_requests_total{") and "healthz" in line)


def test_requests_are_spread_over_every_node(cluster, session):
    url, _, nodes = cluster
    for _ in range(6 * NODES):
        assert session.get(url + "/healthz", timeout=10).status_code == 200
    served = [healthz_served(node) for node in nodes]
    assert sum(served) == 6 * NODES and all(count > 0 for count in served), served


def test_nodes_see_https_from_the_trusted_proxy(cluster, session):
    url, http_url, _ = cluster
    assert session.get(url + "/.well-known/openid-configuration", timeout=10).json()["issuer"] == url
    for _ in range(NODES):  # every node: 401 invalid_client, not 400 "HTTPS required"
        response = session.post(url + "/token", data={"grant_type": "authorization_code"}, timeout=10)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.text
    redirect = session.get(http_url + "/authorize?x=1", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://127.0.0.1")


def test_a_certificate_login_through_one_node_holds_on_every_node(cluster, session, pki, tmp_path):
    url, _, nodes = cluster
    nodes[0].seed_person(id_number=demo.CITIZEN_ID, name=demo.CITIZEN_NAME)
    session.cert = client_credentials(pki[0], pki[1], "demo-cn", "person", tmp_path)
    response = session.get(url + "/login/certificate/tls", timeout=10)
    assert response.status_code == 200 and response.url == url + "/account", response.text
    for _ in range(2 * NODES):
        page = session.get(url + "/account", allow_redirects=False, timeout=10)
        assert page.status_code == 200 and demo.CITIZEN_NAME in page.text


def test_a_forged_certificate_header_is_replaced_by_nginx(cluster, session):
    url, _, _ = cluster
    forged = "-----BEGIN%20CERTIFICATE-----%0AMIIB-----END%20CERTIFICATE-----%0A"
    response = session.get(url + "/login/certificate/tls", headers={"X-SSL-Client-Cert": forged}, timeout=10)
    assert response.status_code in (400, 401, 403) or "/account" not in response.url
    assert session.get(url + "/account", allow_redirects=False, timeout=10).status_code == 302


def test_a_node_that_dies_is_skipped(cluster, session):
    url, _, nodes = cluster
    for _ in range(NODES):  # keep-alive connections to every node
        assert session.get(url + "/jwks.json", timeout=10).status_code == 200
    nodes[1].stop()
    statuses = [session.get(url + "/.well-known/openid-configuration", timeout=10).status_code
                for _ in range(4 * NODES)]
    assert statuses == [200] * (4 * NODES)
