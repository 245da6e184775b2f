"""express-openid-connect (npm), Auth0's Express middleware, logs a person in through the identity server
with response_type=code and response_mode=form_post, in Chromium under the server's CSP.

The middleware sends the browser to /authorize asking for form_post and expects the code as a POST to
its /callback. Before the identity server honoured the response mode it redirected with the code in
the query (into the URL, the history and the site's access log) whatever was asked; the test checks
that the code reached the site as a POST only, and that the site shows the person it validated.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import free_port

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).resolve().parent / "node"


@pytest.fixture(scope="module")
def node():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed (scripts/install-peers.sh installs them)")
    if not (NODE_DIR / "node_modules" / "express-openid-connect" / "package.json").is_file():
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return node


@pytest.fixture
def express_site(node, live_idp):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    client = live_idp.register_client(name="express-openid-connect 网站", redirect_uris=[base_url + "/callback"],
                                      scopes=["openid", "profile"], auth_method="client_secret_basic")
    env = {**os.environ, "RP_ISSUER": live_idp.issuer, "RP_BASE_URL": base_url, "RP_PORT": str(port),
           "RP_CLIENT_ID": client.client_id, "RP_CLIENT_SECRET": client.client_secret,
           "RP_SESSION_SECRET": secrets.token_urlsafe(32)}
    proc = subprocess.Popen([node, "express_rp.mjs"], cwd=NODE_DIR, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line and json.loads(line) == {"step": "listening"}, \
            f"express site did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield base_url
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_login_with_form_post(csp_page, live_idp, express_site):
    page, person = csp_page, live_idp.person
    requests_seen = []
    page.on("request", lambda r: requests_seen.append((r.method, r.url)))

    page.goto(express_site + "/")
    page.wait_for_url(live_idp.url("/login") + "*")
    authorize = next(url for method, url in requests_seen if url.startswith(live_idp.url("/authorize?")))
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["response_mode"] == ["form_post"] and asked["response_type"] == ["code"]

    page.fill("#username", person.id_number)
    page.fill("#password", person.password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(express_site + "/")
    assert page.inner_text("#name") == person.name
    assert page.inner_text("#sub")

    callbacks = [(method, url) for method, url in requests_seen if url.startswith(express_site + "/callback")]
    assert callbacks == [("POST", express_site + "/callback")], callbacks  # the code never was in a URL
    page.csp.check(page)
