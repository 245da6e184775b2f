"""The nginx template with real nginx, the gateway, a fake upstream and the fake provider.

Skipped when nginx is not installed.
"""

from __future__ import annotations

import json
import shutil
import socket
import string
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from helpers import free_port

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")]
TEMPLATE = Path(__file__).resolve().parents[2] / "adapters" / "nginx" / "legacy-site.conf.template"


def self_signed(tmp: Path) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)


@pytest.fixture
def stack(op, tmp_path):
    from idp_gateway import create_app

    site_port, gw_port, up_port = free_port(), free_port(), free_port()
    base = f"https://127.0.0.1:{site_port}"
    op.register("legacy-oa", [base + "/oidc/callback"])
    gateway = create_app(issuer=op.issuer, client_id="legacy-oa", client_secret="s3cret", base_url=base + "/oidc",
                         session_secret="k", allowed_hosts="127.0.0.1")

    def upstream(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({k: v for k, v in environ.items() if k.startswith("HTTP_X_AUTH")}).encode()]

    servers = [make_server("127.0.0.1", gw_port, gateway, threaded=True),
               make_server("127.0.0.1", up_port, upstream, threaded=True)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    self_signed(tmp_path)
    site = string.Template(TEMPLATE.read_text()).safe_substitute(
        SITE_HOST="127.0.0.1", SITE_LISTEN=f"127.0.0.1:{site_port} ssl", TLS_CERT=str(tmp_path / "cert.pem"),
        TLS_KEY=str(tmp_path / "key.pem"), GATEWAY_ADDR=f"127.0.0.1:{gw_port}", UPSTREAM_ADDR=f"127.0.0.1:{up_port}")
    (tmp_path / "site.conf").write_text(site)
    temp_dirs = " ".join(f"{d}_temp_path {tmp_path}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ access_log off; {temp_dirs} include {tmp_path}/site.conf; }}\n")
    nginx = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"],
                             stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", site_port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield base
    nginx.terminate()
    nginx.wait(timeout=10)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_login_through_nginx_and_forged_headers_dropped(op, stack, tmp_path):
    browser = requests.Session()
    browser.verify = str(tmp_path / "cert.pem")  # the site's self-signed certificate
    browser.trust_env = False
    forged = {"X-Auth-Subject": "admin", "X_Auth_Subject": "admin", "X-Auth-Id-Number": "110101190001011234"}

    resp = browser.get(stack + "/reports?a=1&b=2", headers=forged, allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith(stack + "/oidc/login?rd=")
    resp = browser.get(resp.headers["Location"], allow_redirects=False)
    assert resp.headers["Location"].startswith(op.issuer + "/authorize?")
    resp = requests.get(resp.headers["Location"], allow_redirects=False, timeout=5)
    resp = browser.get(resp.headers["Location"], allow_redirects=False)
    assert resp.headers["Location"] == stack + "/reports?a=1&b=2"

    seen = browser.get(resp.headers["Location"], headers=forged, allow_redirects=False).json()
    assert seen == {"HTTP_X_AUTH_SUBJECT": "user-42", "HTTP_X_AUTH_NAME": "%E5%BC%A0%E4%B8%89",
                    "HTTP_X_AUTH_ACR": "urn:idp:loa:2"}
    assert browser.get(stack + "/oidc/auth").status_code == 404

    assert browser.post(stack + "/oidc/backchannel-logout",
                        data={"logout_token": op.logout_token("legacy-oa")}).status_code == 200
    assert browser.get(stack + "/reports", allow_redirects=False).status_code == 302
